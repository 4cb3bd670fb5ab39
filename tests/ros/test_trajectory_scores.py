# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The ROS tools' evo trajectory scores: aligned, unaligned when the estimate never moved."""

import numpy as np
import pytest

pytest.importorskip('evo', reason='evo is not installed')

from lfnet_core import trajectory  # noqa: E402
from lfnet_ros.trajectory_scores import score_trajectory  # noqa: E402

STAMPS = 1000.0 + np.arange(10) * 0.1


def _write_tum(path, positions):
    poses = np.tile(np.eye(4), (len(positions), 1, 1))
    poses[:, :3, 3] = positions
    trajectory.write_tum(path, STAMPS, poses)


def test_constant_estimate_gives_unaligned_ate(tmp_path):
    truth = np.stack([np.linspace(0, 0.5, 10), np.zeros(10), np.zeros(10)], 1)
    _write_tum(tmp_path / 'gt.tum', truth)
    _write_tum(tmp_path / 'est.tum', np.zeros((10, 3)))
    result = score_trajectory(tmp_path / 'gt.tum', tmp_path / 'est.tum').report
    assert result['ate_aligned'] is False
    assert abs(result['ate']['max_m'] - 0.5) < 1e-6


def test_moving_estimate_is_aligned(tmp_path):
    truth = np.stack([np.linspace(0, 0.5, 10), np.linspace(0, 0.2, 10) ** 2, np.zeros(10)], 1)
    _write_tum(tmp_path / 'gt.tum', truth)
    _write_tum(tmp_path / 'est.tum', truth + np.array([1.0, 2.0, 3.0]))
    score = score_trajectory(tmp_path / 'gt.tum', tmp_path / 'est.tum')
    result = score.report
    assert result['ate_aligned'] is True
    assert result['ate']['rmse_m'] < 1e-6
    assert result['frames'] == 10 and result['rpe_per_frame']['trans_rmse_m'] < 1e-6
    # drift: both relative to their first pose, so a constant offset is no drift
    assert result['drift']['final_error_m'] < 1e-6
    assert result['drift']['path_length_m'] == pytest.approx(result['path_length_m'])
    curves = score.curves
    assert curves.ground_truth.shape == curves.aligned.shape == (10, 4, 4)
    assert len(curves.ate) == 10 and len(curves.rpe) == 9
    np.testing.assert_allclose(curves.aligned[:, :3, 3], truth, atol=1e-6)


def test_too_few_poses_are_reported_not_raised(tmp_path):
    truth = np.stack([np.linspace(0, 0.5, 10), np.zeros(10), np.zeros(10)], 1)
    _write_tum(tmp_path / 'gt.tum', truth)
    poses = np.tile(np.eye(4), (2, 1, 1))
    trajectory.write_tum(tmp_path / 'est.tum', STAMPS[:2], poses)
    score = score_trajectory(tmp_path / 'gt.tum', tmp_path / 'est.tum')
    assert score.curves is None and score.report['ate'] is None
    assert 'too few' in score.report['error'] and score.report['frames'] == 2
