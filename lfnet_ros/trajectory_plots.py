# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Trajectory figures of the ROS tools, drawn from :class:`TrajectoryCurves` (evo's scores).

* :func:`overview_figure` / :func:`plot_overview`: one method (``lfnet-demo``'s
  ``trajectory.png``): the top view (aligned and unaligned estimate against the ground truth)
  beside the ATE / per-frame RPE translation over time; under them, the per-frame tracking state
  (ok / init / lost markers over time) and the per-frame rotation error (evo's RPE rotation,
  degrees, against the ground truth).
* :func:`top_view_figure` / :func:`plot_top_view`: several methods (``lfnet-eval``'s
  ``trajectory.png``): the top view of the ground truth and every SE(3)-aligned estimate, under
  it the tracking state of the methods whose states are given and every method's per-frame
  rotation error. :func:`plot_errors`: ATE and per-frame RPE translation (``errors.png``).

Times are seconds from the first associated pose of the (first) method. matplotlib's Agg canvas,
no pyplot state; matplotlib is imported when a figure is drawn.
"""

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Tuple

import numpy as np

from lfnet_core import trajectory
from lfnet_ros.recorded_outputs import TRACKING_STATES
from lfnet_ros.trajectory_scores import TrajectoryCurves

COLOURS = {'lfnet': 'tab:blue', 'orb': 'tab:orange'}
STATE_COLOURS = {'ok': 'tab:green', 'init': 'tab:blue', 'lost': 'tab:red'}
TrackingStates = Tuple[Sequence[float], Sequence[str]]  # (stamps in seconds, state per frame)


def new_figure(width: float, height: float) -> Any:
    """Return a matplotlib Figure on an Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def draw_top_view(axes: Any, curves: Mapping[str, TrajectoryCurves],
                  unaligned: bool = False) -> None:
    """Draw the ground truth and every method's SE(3)-aligned estimate seen from above."""
    gt = next(iter(curves.values())).ground_truth[:, :3, 3]
    a, b = trajectory.top_view_axes(gt)
    axes.plot(gt[:, a], gt[:, b], '-', color='black', lw=2, label='ground truth')
    axes.plot(gt[:1, a], gt[:1, b], 'o', color='black', label='start')
    for name, method in curves.items():
        est = method.aligned[:, :3, 3]
        axes.plot(est[:, a], est[:, b], '.-', color=COLOURS.get(name), lw=1.2, ms=3,
                  label=f'{name} (SE(3)-aligned)')
        if unaligned:
            raw = method.estimate[:, :3, 3]
            axes.plot(raw[:, a], raw[:, b], '--', color='tab:orange', lw=1,
                      label=f'{name} (unaligned)')
    axes.set_xlabel(f'{"xyz"[a]} (m)')
    axes.set_ylabel(f'{"xyz"[b]} (m)')
    axes.set_aspect('equal', adjustable='datalim')
    axes.grid(True, alpha=0.3)
    axes.legend(loc='best', fontsize=8)
    axes.set_title('top view', fontsize=9)


def draw_tracking(axes: Any, states: Mapping[str, TrackingStates], origin: float) -> None:
    """Draw one row of per-frame tracking-state markers per method (ok / init / lost)."""
    names = list(states)
    for row, name in enumerate(names):
        seconds = np.asarray(states[name][0], np.float64) - origin
        labels = np.asarray(list(states[name][1]), dtype=object)
        for state in TRACKING_STATES:
            mask = labels == state
            axes.plot(seconds[mask], np.full(int(mask.sum()), row), '|' if state == 'ok' else 'o',
                      color=STATE_COLOURS[state], ms=9 if state == 'ok' else 5, mew=2,
                      label=f'{state} ({int(mask.sum())})' if len(names) == 1 else state,
                      linestyle='none')
    axes.set_yticks(range(len(names)))
    axes.set_yticklabels(names)
    axes.set_ylim(-0.7, len(names) - 0.3)
    axes.set_ylabel('tracking')
    axes.grid(True, axis='x', alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    axes.legend(unique.values(), unique.keys(), loc='center left', bbox_to_anchor=(1.0, 0.5),
                fontsize=8, frameon=False)
    axes.set_title('tracking state per frame', fontsize=9)


def draw_rotation_error(axes: Any, curves: Mapping[str, TrajectoryCurves],
                        origin: float) -> None:
    """Draw every method's per-frame rotation error (evo RPE, degrees) over time."""
    for name, method in curves.items():
        t = method.stamps - origin
        axes.plot(t[1:len(method.rpe_rot) + 1], method.rpe_rot, '.-', color=COLOURS.get(name),
                  label=f'{name} (RMSE {np.sqrt(np.mean(method.rpe_rot ** 2)):.2f} deg)'
                  if len(method.rpe_rot) else name)
    axes.set_xlabel('time (s)')
    axes.set_ylabel('rotation error (deg)')
    axes.grid(True, alpha=0.3)
    axes.legend(loc='center left', bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    axes.set_title('per-frame rotation error against the ground truth (RPE)', fontsize=9)


def overview_figure(curves: TrajectoryCurves, title: str,
                    states: Optional[TrackingStates] = None) -> Any:
    """Return the one-method figure (see the module doc); no tracking row without ``states``."""
    figure = new_figure(12, 10)
    grid = figure.add_gridspec(3, 2, height_ratios=[3.2, 0.7, 1.5], width_ratios=[1.1, 1])
    top = figure.add_subplot(grid[0, 0])
    draw_top_view(top, {'lfnet': curves}, unaligned=True)
    err = figure.add_subplot(grid[0, 1])
    t = curves.seconds
    err.plot(t, curves.ate * 100.0, '.-', color='tab:blue', label='ATE (aligned), cm')
    if len(curves.rpe):
        err.plot(t[1:len(curves.rpe) + 1], curves.rpe * 100.0, '.-', color='tab:green',
                 label='RPE per frame, cm')
    err.set_xlabel('time (s)')
    err.set_ylabel('translation error (cm)')
    err.grid(True, alpha=0.3)
    err.legend(loc='best', fontsize=8)
    err.set_title('translation error over time', fontsize=9)
    rot = figure.add_subplot(grid[2, :])
    if states is not None:
        draw_tracking(figure.add_subplot(grid[1, :], sharex=rot), {'lfnet': states},
                      float(curves.stamps[0]))
    draw_rotation_error(rot, {'lfnet': curves}, float(curves.stamps[0]))
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def plot_overview(path: Path, curves: TrajectoryCurves, title: str,
                  states: Optional[TrackingStates] = None) -> None:
    """Write :func:`overview_figure` to ``path``."""
    overview_figure(curves, title, states).savefig(str(path))


def top_view_figure(curves: Mapping[str, TrajectoryCurves], title: str,
                    states: Optional[Mapping[str, TrackingStates]] = None) -> Any:
    """Return the several-methods figure (see the module doc)."""
    states = dict(states or {})
    figure = new_figure(8, 10)
    grid = figure.add_gridspec(3, 1, height_ratios=[3.5, 0.5 + 0.3 * max(len(states), 1), 1.5])
    draw_top_view(figure.add_subplot(grid[0]), curves)
    figure.axes[0].set_title(title, fontsize=9)
    rot = figure.add_subplot(grid[2])
    origin = float(next(iter(curves.values())).stamps[0])
    if states:
        draw_tracking(figure.add_subplot(grid[1], sharex=rot), states, origin)
    draw_rotation_error(rot, curves, origin)
    figure.tight_layout()
    return figure


def plot_top_view(path: Path, curves: Mapping[str, TrajectoryCurves], title: str,
                  states: Optional[Mapping[str, TrackingStates]] = None) -> None:
    """Write :func:`top_view_figure` to ``path``."""
    top_view_figure(curves, title, states).savefig(str(path))


def plot_errors(path: Path, curves: Mapping[str, TrajectoryCurves], title: str) -> None:
    """Write ATE (aligned) and per-frame RPE translation over time for every method."""
    figure = new_figure(9, 6)
    ate_axes, rpe_axes = figure.subplots(2, 1, sharex=True)
    for name, method in curves.items():
        colour = COLOURS.get(name)
        t = method.seconds
        ate_axes.plot(t, method.ate * 100.0, '.-', color=colour, label=name)
        rpe_axes.plot(t[1:len(method.rpe) + 1], method.rpe * 100.0, '.-', color=colour,
                      label=name)
    ate_axes.set_ylabel('ATE (cm)')
    rpe_axes.set_ylabel('RPE per frame (cm)')
    rpe_axes.set_xlabel('time (s)')
    for axes in (ate_axes, rpe_axes):
        axes.grid(True, alpha=0.3)
        axes.legend(loc='best', fontsize=8)
    ate_axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(str(path))
