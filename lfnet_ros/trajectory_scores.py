# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Trajectory scores of the ROS tools, from evo's Python API, on TUM files.

:func:`score_trajectory` reads ``groundtruth.tum`` and ``estimate.tum`` with
``file_interface.read_tum_trajectory_file``, associates them with
``sync.associate_trajectories`` (10 ms), aligns the estimate with ``align(correct_scale=False)``
(SE(3), no scale) and computes ``metrics.APE`` (translation) for the ATE; ``metrics.RPE`` on
the unaligned pair (RPE is invariant to the alignment) per frame (``delta`` 1 frame,
translation and rotation) and per metre (``delta`` 1 m of path, all pairs; None when the path
is shorter than 1 m). The same files give the same numbers with
``evo_ape tum groundtruth.tum estimate.tum -a``. The drift (final-position error over the
ground-truth path length, both relative to their first pose; evo has no such metric) comes from
:func:`lfnet_core.trajectory.drift` on the associated poses.

evo writes its settings under ``$HOME``: :func:`evo_home` gives a temporary one where
``$HOME`` is missing or read-only.
"""

import copy
from dataclasses import dataclass
import os
from pathlib import Path
import tempfile
from typing import Dict, Mapping, Optional

import numpy as np

from lfnet_core import trajectory

MAX_DIFF_S = 0.01  # evo association tolerance


@dataclass
class TrajectoryCurves:
    """
    The associated trajectories and their errors, for plots.

    Attributes:
        stamps: (N,) seconds of the associated poses.
        ground_truth: (N, 4, 4) ground-truth poses.
        estimate: (N, 4, 4) estimated poses, not aligned.
        aligned: (N, 4, 4) the estimate after SE(3) alignment (= ``estimate`` when the alignment
            failed).
        ate: (N,) ATE per pose, metres.
        rpe: (N - 1,) per-frame RPE translation, metres.
        rpe_rot: (N - 1,) per-frame RPE rotation (the error of each frame-to-frame rotation
            against the ground truth), degrees.

    """

    stamps: np.ndarray
    ground_truth: np.ndarray
    estimate: np.ndarray
    aligned: np.ndarray
    ate: np.ndarray
    rpe: np.ndarray
    rpe_rot: np.ndarray

    @property
    def seconds(self) -> np.ndarray:
        """Return the stamps relative to the first one."""
        return self.stamps - self.stamps[0]


@dataclass
class TrajectoryScore:
    """
    The report entry and, when the scores could be computed, the curves behind them.

    ``report`` keys: ``frames`` (associated poses), ``path_length_m``, ``ate`` (``rmse_m``,
    ``mean_m``, ``median_m``, ``max_m``), ``ate_aligned`` (False: the estimate barely moved and
    the ATE is unaligned), ``rpe_per_frame`` (``trans_rmse_m``, ``trans_mean_m``,
    ``rot_rmse_deg``), ``rpe_per_metre`` (``trans_rmse_m``, ``trans_percent``,
    ``rot_rmse_deg_per_m``, ``pairs``), ``drift`` (``final_error_m``, ``path_length_m``,
    ``drift_percent``), and ``error`` / ``ate_alignment_error`` / ``rpe_per_metre_error`` saying
    why a score is missing.
    """

    report: Dict[str, object]
    curves: Optional[TrajectoryCurves] = None


def score_trajectory(groundtruth: Path, estimate: Path) -> TrajectoryScore:
    """Score the TUM file ``estimate`` against ``groundtruth`` with evo (see the module doc)."""
    from evo.core import metrics, sync  # evo: optional, heavy
    from evo.core.metrics import PoseRelation, Unit
    from evo.tools import file_interface

    ref = file_interface.read_tum_trajectory_file(str(groundtruth))
    est = file_interface.read_tum_trajectory_file(str(estimate))
    result: Dict[str, object] = {'frames': 0, 'path_length_m': None, 'ate': None,
                                 'rpe_per_frame': None, 'rpe_per_metre': None, 'drift': None}
    try:
        ref, est = sync.associate_trajectories(ref, est, max_diff=MAX_DIFF_S)
    except Exception as exc:  # noqa: B902 - evo raises SyncException and others
        result['error'] = f'association failed: {exc}'
        return TrajectoryScore(result)
    result['frames'] = int(est.num_poses)
    result['path_length_m'] = float(ref.path_length)
    ref_poses = np.array(ref.poses_se3).reshape(-1, 4, 4)
    est_poses = np.array(est.poses_se3).reshape(-1, 4, 4)
    if est.num_poses:
        result['drift'] = trajectory.drift(est_poses, ref_poses)
    if est.num_poses < 3:
        result['error'] = f'{est.num_poses} associated poses: too few to align'
        return TrajectoryScore(result)
    aligned = copy.deepcopy(est)
    try:
        aligned.align(ref, correct_scale=False)
        result['ate_aligned'] = True
    except Exception as exc:  # noqa: B902 - evo GeometryException: estimate barely moved
        # A front-end that lost track on nearly every frame holds its pose, so the estimate
        # is (almost) one point and SE(3) alignment is undefined: report the ATE unaligned
        # (both trajectories start at the first camera) and say so.
        result['ate_aligned'] = False
        result['ate_alignment_error'] = str(exc)
        aligned = copy.deepcopy(est)
    ape = metrics.APE(PoseRelation.translation_part)
    ape.process_data((ref, aligned))
    s = ape.get_all_statistics()
    result['ate'] = {'rmse_m': s['rmse'], 'mean_m': s['mean'], 'median_m': s['median'],
                     'max_m': s['max']}
    rpe_t = metrics.RPE(PoseRelation.translation_part, delta=1, delta_unit=Unit.frames)
    rpe_t.process_data((ref, est))
    rpe_r = metrics.RPE(PoseRelation.rotation_angle_deg, delta=1, delta_unit=Unit.frames)
    rpe_r.process_data((ref, est))
    result['rpe_per_frame'] = {'trans_rmse_m': rpe_t.get_statistic(metrics.StatisticsType.rmse),
                               'trans_mean_m': rpe_t.get_statistic(metrics.StatisticsType.mean),
                               'rot_rmse_deg': rpe_r.get_statistic(metrics.StatisticsType.rmse)}
    if ref.path_length >= 1.0:
        try:
            per_m_t = metrics.RPE(PoseRelation.translation_part, delta=1.0,
                                  delta_unit=Unit.meters, all_pairs=True)
            per_m_t.process_data((ref, est))
            per_m_r = metrics.RPE(PoseRelation.rotation_angle_deg, delta=1.0,
                                  delta_unit=Unit.meters, all_pairs=True)
            per_m_r.process_data((ref, est))
            rmse = per_m_t.get_statistic(metrics.StatisticsType.rmse)
            result['rpe_per_metre'] = {
                'trans_rmse_m': rmse, 'trans_percent': 100.0 * rmse,
                'rot_rmse_deg_per_m': per_m_r.get_statistic(metrics.StatisticsType.rmse),
                'pairs': int(len(per_m_t.error))}
        except Exception as exc:  # noqa: B902 - evo: no pairs 1 m apart, etc.
            result['rpe_per_metre_error'] = str(exc)
    else:
        result['rpe_per_metre_error'] = f'path {ref.path_length:.3f} m is shorter than 1 m'
    curves = TrajectoryCurves(
        stamps=np.asarray(ref.timestamps, np.float64), ground_truth=ref_poses,
        estimate=est_poses, aligned=np.array(aligned.poses_se3).reshape(-1, 4, 4),
        ate=np.asarray(ape.error), rpe=np.asarray(rpe_t.error), rpe_rot=np.asarray(rpe_r.error))
    return TrajectoryScore(result, curves)


def evo_home(environ: Mapping[str, str]) -> Dict[str, str]:
    """Return ``{'HOME': a temporary folder}`` when $HOME is missing or read-only, else {}.

    evo writes its settings file under $HOME when it is first imported.
    """
    home = environ.get('HOME')
    if home and os.path.isdir(home) and os.access(home, os.W_OK):
        return {}
    return {'HOME': tempfile.mkdtemp(prefix='lfnet_eval_home_')}
