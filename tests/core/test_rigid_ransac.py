# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for lfnet_core.rigid_ransac: batched Kabsch motions and their RANSAC."""

import cv2
import numpy as np
import pytest

from lfnet_core.rigid_ransac import best_rigid_hypothesis, rigid_transforms


def _motion(seed: int):
    rng = np.random.default_rng(seed)
    R, _ = cv2.Rodrigues(rng.normal(0.0, 0.3, 3))
    return R, rng.normal(0.0, 0.5, 3)


def test_rigid_transforms_recover_exact_motions_in_a_batch():
    rng = np.random.default_rng(0)
    motions = [_motion(seed) for seed in range(5)]
    points_a = rng.uniform(-1.0, 1.0, (5, 4, 3))
    points_b = np.stack([a @ R.T + t for a, (R, t) in zip(points_a, motions)])
    R_est, t_est = rigid_transforms(points_a, points_b)
    for k, (R, t) in enumerate(motions):
        np.testing.assert_allclose(R_est[k], R, atol=1e-9)
        np.testing.assert_allclose(t_est[k], t, atol=1e-9)
        assert np.linalg.det(R_est[k]) == pytest.approx(1.0)


def test_rigid_transforms_never_return_a_reflection():
    rng = np.random.default_rng(1)
    points_a = rng.uniform(-1.0, 1.0, (1, 6, 3))
    points_b = points_a * np.array([1.0, 1.0, -1.0])  # a mirror image
    R, _ = rigid_transforms(points_a, points_b)
    assert np.linalg.det(R[0]) == pytest.approx(1.0)


def test_best_rigid_hypothesis_finds_the_motion_among_outliers():
    rng = np.random.default_rng(2)
    R, t = _motion(3)
    points_a = rng.uniform(-2.0, 2.0, (120, 3))
    points_b = points_a @ R.T + t + rng.normal(0.0, 0.002, (120, 3))
    outliers = rng.random(120) < 0.6
    points_b[outliers] = rng.uniform(-2.0, 2.0, (int(outliers.sum()), 3))

    def inlier_test(R_h, t_h):
        moved = np.einsum('hij,nj->hni', R_h, points_a) + t_h[:, None]
        return np.linalg.norm(moved - points_b, axis=2) < 0.01

    R_est, t_est = best_rigid_hypothesis(points_a, points_b, inlier_test, 300, seed=0)
    np.testing.assert_allclose(R_est, R, atol=0.01)
    np.testing.assert_allclose(t_est, t, atol=0.01)
    again = best_rigid_hypothesis(points_a, points_b, inlier_test, 300, seed=0)
    np.testing.assert_array_equal(again[0], R_est)
    assert best_rigid_hypothesis(points_a[:2], points_b[:2], inlier_test, 10) is None


def test_rigid_transforms_check_shapes():
    with pytest.raises(ValueError, match='points_a, points_b'):
        rigid_transforms(np.zeros((2, 3, 3)), np.zeros((2, 4, 3)))
