# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The depth check of PnP inliers (lfnet_core.vo): a pose must also fit the current depth."""

import cv2
import numpy as np
import pytest

from lfnet_core.pinhole import project
from lfnet_core.rigid_poses import make_pose, transform_points
from lfnet_core.vo import estimate_motion, RansacConfig

K = np.array([[262.5, 0.0, 159.5], [0.0, 262.5, 119.5], [0.0, 0.0, 1.0]])
WIDTH, HEIGHT = 320, 240


def _scene(seed: int, m: int = 200, depth_noise_m: float = 0.005):
    """Points seen by both cameras: (points_prev, uv_cur, points_cur measured, T_prev_to_cur)."""
    rng = np.random.default_rng(seed)
    R, _ = cv2.Rodrigues(np.array([0.03, -0.06, 0.01]))
    T = make_pose(R, [0.10, -0.02, 0.12])
    points = np.c_[rng.uniform(-1.5, 1.5, (4 * m, 2)), rng.uniform(1.0, 4.0, 4 * m)]
    cur = transform_points(T, points)
    uv, _ = project(cur, K)
    inside = np.isfinite(uv).all(axis=1) & (uv[:, 0] >= 0) & (uv[:, 0] <= WIDTH - 1) \
        & (uv[:, 1] >= 0) & (uv[:, 1] <= HEIGHT - 1)
    points, cur, uv = points[inside][:m], cur[inside][:m], uv[inside][:m]
    uv = uv + rng.normal(0.0, 0.3, uv.shape)
    measured = cur * (1.0 + rng.normal(0.0, depth_noise_m, (len(cur), 1)) / cur[:, 2:3])
    return points, uv, measured, T


def test_a_correct_pose_agrees_with_the_depth():
    points, uv, measured, T = _scene(0)
    plain = estimate_motion(points, uv, K)
    checked = estimate_motion(points, uv, K, points_cur=measured)
    assert plain.ok and checked.ok
    assert plain.depth_checked == 0 and np.isnan(plain.depth_agreement)
    assert checked.depth_checked == plain.num_inliers and checked.depth_agreement > 0.99
    np.testing.assert_allclose(checked.T_prev_to_cur, T, atol=0.01)


def test_inliers_at_the_wrong_depth_are_dropped_and_counted():
    points, uv, measured, _ = _scene(1)
    edge = np.arange(len(points)) % 4 == 0  # a quarter read the depth behind an edge
    measured[edge] *= 1.5
    unknown = np.arange(len(points)) % 4 == 1  # a quarter without depth in the current frame
    measured[unknown] = np.nan
    est = estimate_motion(points, uv, K, points_cur=measured)
    assert est.ok
    assert not est.inliers[edge].any()
    assert est.inliers[unknown].mean() > 0.95  # not checked, still inliers
    assert est.depth_checked == int((~unknown).sum())
    assert est.depth_agreement == pytest.approx(2 / 3, abs=0.02)


def test_a_pose_that_fits_the_pixels_but_not_the_depth_is_rejected():
    # the current depth says every point is 30 cm further away than the PnP pose puts it
    points, uv, measured, _ = _scene(2)
    measured = measured * (1.0 + 0.3 / measured[:, 2:3])
    est = estimate_motion(points, uv, K, points_cur=measured)
    assert not est.ok
    assert est.reason.startswith('inliers disagree with the depth (0.00 of ')
    np.testing.assert_array_equal(est.T_prev_to_cur, np.eye(4))
    assert est.depth_checked > 100 and est.depth_agreement == 0.0
    # within a tolerance that covers the offset it is accepted
    loose = estimate_motion(points, uv, K, RansacConfig(depth_tolerance_m=0.35),
                            points_cur=measured)
    assert loose.ok and loose.depth_agreement == 1.0


def test_depth_check_validates_its_settings():
    points, uv, measured, _ = _scene(3, m=20)
    with pytest.raises(ValueError, match='points_cur'):
        estimate_motion(points, uv, K, points_cur=measured[:-1])
    with pytest.raises(ValueError, match='depth_tolerance_m'):
        RansacConfig(depth_tolerance_m=-0.01)
    with pytest.raises(ValueError, match='depth_tolerance_ratio'):
        RansacConfig(depth_tolerance_ratio=float('nan'))
    with pytest.raises(ValueError, match='min_depth_agreement'):
        RansacConfig(min_depth_agreement=1.5)
