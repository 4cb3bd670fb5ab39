# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Trajectory maths on hand-made cases: association, SE(3) alignment, ATE, drift, RPE, files."""

import numpy as np
import pytest

from lfnet_core import trajectory
from lfnet_core.rigid_poses import make_pose, quaternion_to_rotation


def _rotation(axis, angle):
    axis = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    return quaternion_to_rotation(np.concatenate([axis * np.sin(angle / 2), [np.cos(angle / 2)]]))


def _trajectory(count=20, seed=0):
    """Return a wiggly 3D path with changing orientation."""
    rng = np.random.default_rng(seed)
    poses = []
    for i in range(count):
        R = _rotation([0.1, 1.0, 0.2], 0.05 * i)
        t = np.array([0.1 * i, 0.05 * np.sin(i), 0.02 * i ** 1.2]) + rng.normal(0, 0.01, 3)
        poses.append(make_pose(R, t))
    return np.array(poses)


def test_alignment_recovers_a_known_se3_exactly():
    gt = _trajectory()
    T = make_pose(_rotation([0.3, -0.5, 0.8], 1.1), [1.0, -2.0, 0.5])
    est = np.linalg.inv(T) @ gt  # the estimate lives in another frame
    T_align = trajectory.align_se3(est[:, :3, 3], gt[:, :3, 3])
    np.testing.assert_allclose(T_align, T, atol=1e-9)
    result = trajectory.ate(est, gt)
    assert result['rmse'] < 1e-9
    np.testing.assert_allclose(result['aligned'], gt, atol=1e-9)
    assert abs(np.linalg.det(T_align[:3, :3]) - 1.0) < 1e-12


def test_alignment_never_returns_a_reflection():
    points = np.random.default_rng(1).normal(size=(10, 3))
    mirrored = points * np.array([1.0, 1.0, -1.0])
    T = trajectory.align_se3(points, mirrored)
    assert np.linalg.det(T[:3, :3]) == pytest.approx(1.0)


def test_alignment_of_one_point_is_a_translation():
    T = trajectory.align_se3(np.array([[1.0, 2.0, 3.0]]), np.array([[0.0, 0.0, 1.0]]))
    np.testing.assert_allclose(T[:3, :3], np.eye(3))
    np.testing.assert_allclose(T[:3, 3], [-1.0, -2.0, -2.0])
    with pytest.raises(ValueError):
        trajectory.align_se3(np.zeros((0, 3)), np.zeros((0, 3)))


def test_ate_is_zero_for_identical_trajectories():
    gt = _trajectory()
    for align in (True, False):
        result = trajectory.ate(gt, gt, align=align)
        assert result['rmse'] == pytest.approx(0.0, abs=1e-12)
        assert result['max'] == pytest.approx(0.0, abs=1e-12)
    rel = trajectory.rpe(gt, gt)
    assert rel['trans_rmse'] == pytest.approx(0.0, abs=1e-12)
    assert rel['rot_rmse'] == pytest.approx(0.0, abs=1e-6)
    assert len(rel['trans_errors']) == len(gt) - 1


def test_ate_of_a_constant_offset_without_alignment():
    gt = _trajectory()
    est = gt.copy()
    est[:, :3, 3] += [0.3, 0.0, 0.4]
    assert trajectory.ate(est, gt, align=False)['rmse'] == pytest.approx(0.5)
    assert trajectory.ate(est, gt)['rmse'] == pytest.approx(0.0, abs=1e-9)
    # a constant offset does not change frame-to-frame motion
    assert trajectory.rpe(est, gt)['trans_rmse'] == pytest.approx(0.0, abs=1e-9)


def test_drift_and_rpe_of_a_hand_made_trajectory():
    # ground truth: 10 steps of 1 m along x (path length 10 m); the estimate makes every step
    # 1.1 m long, so it ends 1 m too far (10 %) and each step is 0.1 m off
    gt = np.array([make_pose(np.eye(3), [i, 0.0, 0.0]) for i in range(11)])
    est = np.array([make_pose(np.eye(3), [1.1 * i, 0.0, 0.0]) for i in range(11)])
    result = trajectory.drift(est, gt)
    assert result['path_length_m'] == pytest.approx(10.0)
    assert result['final_error_m'] == pytest.approx(1.0)
    assert result['drift_percent'] == pytest.approx(10.0)
    rel = trajectory.rpe(est, gt)
    np.testing.assert_allclose(rel['trans_errors'], 0.1, atol=1e-12)
    assert rel['trans_rmse'] == pytest.approx(0.1)
    np.testing.assert_allclose(rel['rot_errors'], 0.0, atol=1e-7)


def test_drift_is_measured_relative_to_the_first_pose():
    # the same motion, started from different world poses: no drift
    gt = _trajectory()
    T = make_pose(_rotation([0, 0, 1], 0.7), [5.0, 1.0, 0.0])
    assert trajectory.drift(T @ gt, gt)['final_error_m'] == pytest.approx(0.0, abs=1e-9)


def test_rpe_of_a_rotation_error():
    gt = np.array([make_pose(np.eye(3), [0.0, 0.0, 0.0]), make_pose(np.eye(3), [1.0, 0, 0])])
    est = np.array([np.eye(4), make_pose(_rotation([0, 0, 1], 0.1), [1.0, 0.0, 0.0])])
    rel = trajectory.rpe(est, gt)
    assert rel['rot_errors'][0] == pytest.approx(0.1)
    assert rel['trans_errors'][0] == pytest.approx(0.0, abs=1e-12)


def test_association_by_stamp():
    est = [1.000, 1.101, 1.200, 1.500]
    gt = [0.9, 1.0, 1.1, 1.2, 1.3, 1.4]
    i_est, i_gt = trajectory.associate(est, gt, max_difference=0.01)
    assert i_est.tolist() == [0, 1, 2]  # 1.5 has no ground truth within 10 ms
    assert i_gt.tolist() == [1, 2, 3]
    # one-to-one: two estimates near one ground-truth stamp take it once, the closer one wins
    i_est, i_gt = trajectory.associate([1.004, 1.001], [1.0], max_difference=0.01)
    assert i_est.tolist() == [1] and i_gt.tolist() == [0]
    empty = trajectory.associate([], gt)
    assert len(empty[0]) == 0 and len(empty[1]) == 0


def test_tum_round_trip_and_plot(tmp_path):
    gt = _trajectory(8)
    stamps = 1000.0 + np.arange(8) / 30.0
    trajectory.write_tum(tmp_path / 'gt.tum', stamps, gt)
    lines = (tmp_path / 'gt.tum').read_text().splitlines()
    assert lines[0].startswith('#') and len(lines[1].split()) == 8
    read_stamps, read_poses = trajectory.read_tum(tmp_path / 'gt.tum')
    np.testing.assert_allclose(read_stamps, stamps, atol=1e-9)
    np.testing.assert_allclose(read_poses, gt, atol=1e-8)
    result = trajectory.ate(gt, gt)
    out = tmp_path / 'trajectory.png'
    trajectory.plot_trajectories(out, stamps, gt, result['aligned'], gt,
                                 trajectory.rpe(gt, gt)['trans_errors'], title='test')
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_top_view_drops_the_flattest_axis():
    positions = np.array([[0.0, 0.0, 1.0], [1.0, 0.01, 2.0], [2.0, 0.0, 0.5]])
    assert trajectory.top_view_axes(positions) == (0, 2)
