# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Trajectory figures of the ROS tools, drawn from :class:`TrajectoryCurves` (evo's scores).

* :func:`plot_overview`: one method, top view (aligned and unaligned estimate against the
  ground truth) beside the ATE / per-frame RPE over time (``lfnet-demo``'s
  ``trajectory.png``, :func:`lfnet_core.trajectory.plot_trajectories`).
* :func:`plot_top_view` and :func:`plot_errors`: several methods side by side, top view and
  errors in two files (``lfnet-eval``'s ``trajectory.png`` and ``errors.png``).

matplotlib's Agg canvas, no pyplot state; matplotlib is imported when a figure is drawn.
"""

from pathlib import Path
from typing import Mapping

from lfnet_core import trajectory
from lfnet_ros.trajectory_scores import TrajectoryCurves

COLOURS = {'lfnet': 'tab:blue', 'orb': 'tab:orange'}


def plot_overview(path: Path, curves: TrajectoryCurves, title: str) -> None:
    """Write one method's top view and errors over time (see the module doc)."""
    trajectory.plot_trajectories(path, curves.stamps, curves.ground_truth, curves.aligned,
                                 curves.estimate, curves.rpe, title=title)


def plot_top_view(path: Path, curves: Mapping[str, TrajectoryCurves], title: str) -> None:
    """Write the top view: ground truth and every method's SE(3)-aligned estimate."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(7, 6.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    gt = next(iter(curves.values())).ground_truth[:, :3, 3]
    a, b = trajectory.top_view_axes(gt)
    axes.plot(gt[:, a], gt[:, b], '-', color='black', lw=2, label='ground truth')
    axes.plot(gt[:1, a], gt[:1, b], 'o', color='black', label='start')
    for name, method in curves.items():
        est = method.aligned[:, :3, 3]
        axes.plot(est[:, a], est[:, b], '.-', color=COLOURS.get(name), lw=1.2, ms=3,
                  label=f'{name} (SE(3)-aligned)')
    axes.set_xlabel(f'{"xyz"[a]} (m)')
    axes.set_ylabel(f'{"xyz"[b]} (m)')
    axes.set_aspect('equal', adjustable='datalim')
    axes.grid(True, alpha=0.3)
    axes.legend(loc='best', fontsize=8)
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(str(path))


def plot_errors(path: Path, curves: Mapping[str, TrajectoryCurves], title: str) -> None:
    """Write ATE (aligned) and per-frame RPE translation over time for every method."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(9, 6), dpi=100)
    FigureCanvasAgg(figure)
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
