# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Trajectory evaluation: association by stamp, SE(3) alignment, ATE, drift, RPE, TUM files, plot.

Poses are (N, 4, 4) camera-to-frame rigid transforms (``T_frame_cam``), stamps are seconds.

* :func:`associate` pairs estimate and ground-truth poses by nearest stamp (one-to-one).
* :func:`align_se3` is Umeyama's least-squares rotation + translation (no scale) that maps the
  estimated positions onto the ground-truth positions.
* :func:`ate` is the absolute trajectory error (RMSE of position differences, after alignment).
* :func:`drift` is the final-position error as a percentage of the ground-truth path length,
  both trajectories expressed relative to their first pose (no alignment: what odometry that
  starts at identity accumulates).
* :func:`rpe` is the relative pose error per frame (``delta`` = 1): the error of each
  frame-to-frame motion, translation in metres and rotation in radians.
* :func:`plot_trajectories` draws a top view of estimate vs ground truth and the error over time
  with matplotlib's Agg canvas (no display, no pyplot state).

Numpy only (matplotlib is imported inside the plot function).
"""

from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from lfnet_core.rigid_poses import invert_pose, pose_from_tum, pose_to_tum, rotation_angle

PathLike = Union[str, Path]


def _poses(T: np.ndarray) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if T.ndim != 3 or T.shape[1:] != (4, 4):
        raise ValueError(f'poses must be (N, 4, 4), got {T.shape}')
    return T


def associate(stamps_est: Sequence[float], stamps_gt: Sequence[float],
              max_difference: float = 0.01) -> Tuple[np.ndarray, np.ndarray]:
    """
    Pair estimate and ground-truth stamps by nearest stamp, one to one, within a tolerance.

    Candidate pairs are taken greedily in order of increasing stamp difference, so every
    estimate and every ground-truth pose is used at most once (as TUM's ``associate.py``).

    Args:
        stamps_est: (N,) estimate stamps in seconds.
        stamps_gt: (M,) ground-truth stamps in seconds.
        max_difference: largest accepted stamp difference in seconds.

    Returns:
        (index_est, index_gt): int arrays of equal length, sorted by estimate stamp.

    """
    est = np.asarray(stamps_est, dtype=np.float64).reshape(-1)
    gt = np.asarray(stamps_gt, dtype=np.float64).reshape(-1)
    if est.size == 0 or gt.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    diff = np.abs(est[:, None] - gt[None, :])
    rows, cols = np.nonzero(diff <= max_difference)
    order = np.argsort(diff[rows, cols], kind='stable')
    used_est, used_gt, pairs = set(), set(), []
    for k in order:
        i, j = int(rows[k]), int(cols[k])
        if i not in used_est and j not in used_gt:
            used_est.add(i)
            used_gt.add(j)
            pairs.append((i, j))
    pairs.sort(key=lambda p: est[p[0]])
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    index = np.asarray(pairs, dtype=np.int64)
    return index[:, 0], index[:, 1]


def align_se3(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """
    Return the rigid transform T (4x4, no scale) minimising sum ||target - (R source + t)||^2.

    Umeyama (1991) without the scale factor; a reflection is never returned. With one point the
    rotation is the identity; with collinear points the rotation about the line is arbitrary but
    the fit is still optimal.

    Args:
        source: (N, 3) points, e.g. estimated positions.
        target: (N, 3) corresponding points, e.g. ground-truth positions.

    Raises:
        ValueError: shapes differ or there is no point.

    """
    source = np.asarray(source, dtype=np.float64).reshape(-1, 3)
    target = np.asarray(target, dtype=np.float64).reshape(-1, 3)
    if source.shape != target.shape or source.shape[0] == 0:
        raise ValueError(f'need equal non-empty (N, 3) point sets, got {source.shape} and '
                         f'{target.shape}')
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    R = np.eye(3)
    if source.shape[0] > 1:
        covariance = (target - mu_t).T @ (source - mu_s) / source.shape[0]
        U, _, Vt = np.linalg.svd(covariance)
        S = np.eye(3)
        if np.linalg.det(U) * np.linalg.det(Vt) < 0:
            S[2, 2] = -1.0
        R = U @ S @ Vt
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = mu_t - R @ mu_s
    return T


def apply_transform(T: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """Return ``T @ poses[i]`` for every (4, 4) pose."""
    return np.asarray(T, dtype=np.float64) @ _poses(poses)


def relative_to_first(poses: np.ndarray) -> np.ndarray:
    """Return the poses expressed in the frame of the first one (the first becomes identity)."""
    poses = _poses(poses)
    return invert_pose(poses[0]) @ poses


def path_length(positions: np.ndarray) -> float:
    """Return the length in metres of the polyline through (N, 3) positions."""
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    if len(positions) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(positions, axis=0), axis=1).sum())


def ate(T_est: np.ndarray, T_gt: np.ndarray, align: bool = True) -> Dict[str, object]:
    """
    Return the absolute trajectory error of associated poses (same length, same order).

    Args:
        T_est: (N, 4, 4) estimated poses.
        T_gt: (N, 4, 4) ground-truth poses.
        align: first align the estimate to the ground truth with :func:`align_se3`.

    Returns:
        ``rmse``, ``mean``, ``median``, ``max`` (metres), ``errors`` ((N,) metres),
        ``T_align`` (4x4, identity without alignment) and ``aligned`` ((N, 4, 4) estimate).

    """
    T_est, T_gt = _poses(T_est), _poses(T_gt)
    if len(T_est) != len(T_gt) or len(T_est) == 0:
        raise ValueError(f'need equal non-empty trajectories, got {len(T_est)} and {len(T_gt)}')
    T_align = align_se3(T_est[:, :3, 3], T_gt[:, :3, 3]) if align else np.eye(4)
    aligned = apply_transform(T_align, T_est)
    errors = np.linalg.norm(aligned[:, :3, 3] - T_gt[:, :3, 3], axis=1)
    return {'rmse': float(np.sqrt(np.mean(errors ** 2))), 'mean': float(errors.mean()),
            'median': float(np.median(errors)), 'max': float(errors.max()), 'errors': errors,
            'T_align': T_align, 'aligned': aligned}


def drift(T_est: np.ndarray, T_gt: np.ndarray) -> Dict[str, float]:
    """
    Return the translation drift: final-position error as a % of the ground-truth path length.

    Both trajectories are first expressed relative to their own first pose (odometry starts at
    identity), so no alignment is involved.

    Returns:
        ``final_error_m``, ``path_length_m`` and ``drift_percent`` (NaN for a zero-length path).

    """
    est, gt = relative_to_first(T_est), relative_to_first(T_gt)
    if len(est) != len(gt):
        raise ValueError(f'need equal trajectories, got {len(est)} and {len(gt)}')
    final = float(np.linalg.norm(est[-1, :3, 3] - gt[-1, :3, 3]))
    length = path_length(gt[:, :3, 3])
    percent = 100.0 * final / length if length > 0 else float('nan')
    return {'final_error_m': final, 'path_length_m': length, 'drift_percent': percent}


def rpe(T_est: np.ndarray, T_gt: np.ndarray, delta: int = 1) -> Dict[str, object]:
    """
    Return the relative pose error over ``delta`` frames (1: per frame).

    For each i, ``E_i = inv(inv(gt_i) gt_{i+d}) @ inv(est_i) est_{i+d}``; its translation norm
    and rotation angle are the errors of the motion from frame i to i + d.

    Returns:
        ``trans_rmse`` / ``trans_mean`` (metres), ``rot_rmse`` / ``rot_mean`` (radians) and the
        per-pair arrays ``trans_errors``, ``rot_errors`` (length N - delta; NaN stats if empty).

    """
    T_est, T_gt = _poses(T_est), _poses(T_gt)
    if len(T_est) != len(T_gt):
        raise ValueError(f'need equal trajectories, got {len(T_est)} and {len(T_gt)}')
    if delta < 1:
        raise ValueError(f'delta must be >= 1, got {delta}')
    trans, rot = [], []
    for i in range(len(T_est) - delta):
        motion_gt = invert_pose(T_gt[i]) @ T_gt[i + delta]
        motion_est = invert_pose(T_est[i]) @ T_est[i + delta]
        error = invert_pose(motion_gt) @ motion_est
        trans.append(np.linalg.norm(error[:3, 3]))
        rot.append(rotation_angle(error[:3, :3]))
    trans, rot = np.asarray(trans, np.float64), np.asarray(rot, np.float64)
    nan = float('nan')
    return {
        'trans_rmse': float(np.sqrt(np.mean(trans ** 2))) if trans.size else nan,
        'trans_mean': float(trans.mean()) if trans.size else nan,
        'rot_rmse': float(np.sqrt(np.mean(rot ** 2))) if rot.size else nan,
        'rot_mean': float(rot.mean()) if rot.size else nan,
        'trans_errors': trans, 'rot_errors': rot,
    }


def write_tum(path: PathLike, stamps: Sequence[float], poses: np.ndarray) -> None:
    """Write poses as TUM lines ``timestamp tx ty tz qx qy qz qw`` (one per pose)."""
    poses = _poses(poses)
    stamps = np.asarray(stamps, dtype=np.float64).reshape(-1)
    if len(stamps) != len(poses):
        raise ValueError(f'{len(stamps)} stamps for {len(poses)} poses')
    lines = ['# timestamp tx ty tz qx qy qz qw']
    for stamp, T in zip(stamps, poses):
        values = ' '.join(f'{v:.9f}' for v in pose_to_tum(T))
        lines.append(f'{stamp:.9f} {values}')
    Path(path).write_text('\n'.join(lines) + '\n')


def read_tum(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """Read a TUM trajectory file; return (stamps (N,), poses (N, 4, 4))."""
    rows = [line.split() for line in Path(path).read_text().splitlines()
            if line.strip() and not line.lstrip().startswith('#')]
    values = np.asarray(rows, dtype=np.float64).reshape(-1, 8)
    poses = np.array([pose_from_tum(v[1:]) for v in values]).reshape(-1, 4, 4)
    return values[:, 0], poses


def top_view_axes(positions: np.ndarray) -> Tuple[int, int]:
    """Return the two axes to plot: all but the one along which ``positions`` vary least."""
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    spread = positions.max(axis=0) - positions.min(axis=0) if len(positions) else np.ones(3)
    keep = sorted(int(a) for a in np.argsort(spread)[1:])
    return keep[0], keep[1]


def plot_trajectories(path: PathLike, stamps: Sequence[float], T_gt: np.ndarray,
                      T_est_aligned: np.ndarray, T_est_raw: Optional[np.ndarray] = None,
                      rpe_errors: Optional[np.ndarray] = None, title: str = '') -> None:
    """
    Write a PNG: top view of estimate vs ground truth (left) and error over time (right).

    Args:
        path: output .png.
        stamps: (N,) seconds.
        T_gt: (N, 4, 4) ground truth.
        T_est_aligned: (N, 4, 4) estimate after SE(3) alignment to the ground truth.
        T_est_raw: optional (N, 4, 4) estimate without alignment (same frame as T_gt).
        rpe_errors: optional (N - 1,) per-frame RPE translation in metres.
        title: figure title.

    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    stamps = np.asarray(stamps, dtype=np.float64).reshape(-1)
    gt, est = _poses(T_gt)[:, :3, 3], _poses(T_est_aligned)[:, :3, 3]
    a, b = top_view_axes(gt)
    names = 'xyz'
    figure = Figure(figsize=(12, 5.5), dpi=100)
    FigureCanvasAgg(figure)
    top, err = figure.subplots(1, 2, gridspec_kw={'width_ratios': [1.1, 1]})
    top.plot(gt[:, a], gt[:, b], '-', color='black', lw=2, label='ground truth')
    top.plot(est[:, a], est[:, b], '-', color='tab:blue', lw=1.5,
             label='estimate (SE(3)-aligned)')
    if T_est_raw is not None:
        raw = _poses(T_est_raw)[:, :3, 3]
        top.plot(raw[:, a], raw[:, b], '--', color='tab:orange', lw=1,
                 label='estimate (unaligned)')
    top.plot(gt[:1, a], gt[:1, b], 'o', color='black', label='start')
    for i in range(len(gt)):
        top.plot([gt[i, a], est[i, a]], [gt[i, b], est[i, b]], '-', color='tab:red', lw=0.5,
                 alpha=0.5)
    top.set_xlabel(f'{names[a]} (m)')
    top.set_ylabel(f'{names[b]} (m)')
    top.set_aspect('equal', adjustable='datalim')
    top.grid(True, alpha=0.3)
    top.legend(loc='best', fontsize=8)
    top.set_title('top view')
    t = stamps - stamps[0] if len(stamps) else stamps
    ate_errors = np.linalg.norm(est - gt, axis=1)
    err.plot(t, ate_errors * 100.0, '.-', color='tab:blue', label='ATE (aligned), cm')
    if rpe_errors is not None and len(rpe_errors):
        err.plot(t[1:len(rpe_errors) + 1], np.asarray(rpe_errors) * 100.0, '.-',
                 color='tab:green', label='RPE per frame, cm')
    err.set_xlabel('time (s)')
    err.set_ylabel('translation error (cm)')
    err.grid(True, alpha=0.3)
    err.legend(loc='best', fontsize=8)
    err.set_title('error over time')
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(str(path))
