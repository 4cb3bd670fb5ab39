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
    # min_depth_agreement 0 turns the check off: no pruning, no gate
    off = estimate_motion(points, uv, K, RansacConfig(min_depth_agreement=0.0),
                          points_cur=measured)
    assert off.ok and off.depth_checked == 0 and off.num_inliers > 100


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


def test_rigid_hypotheses_recover_the_pose_that_pnp_misses():
    # Repeated texture: 120 matches follow a wrong motion in the pixels (PnP's consensus), while
    # the depth measured at their pixels belongs to the true scene; 80 matches are right.
    points, uv, measured, T = _scene(5, m=80)
    rng = np.random.default_rng(6)
    R_wrong, _ = cv2.Rodrigues(np.array([0.0, 0.25, 0.0]))
    T_wrong = make_pose(R_wrong, [0.6, 0.0, 0.1])
    decoys, decoy_uv = np.zeros((0, 3)), np.zeros((0, 2))
    while len(decoys) < 120:
        p = np.c_[rng.uniform(-1.5, 1.5, (400, 2)), rng.uniform(1.0, 4.0, 400)]
        q, _ = project(transform_points(T_wrong, p), K)
        keep = np.isfinite(q).all(axis=1) & (q[:, 0] >= 0) & (q[:, 0] <= WIDTH - 1) \
            & (q[:, 1] >= 0) & (q[:, 1] <= HEIGHT - 1)
        decoys, decoy_uv = np.r_[decoys, p[keep]], np.r_[decoy_uv, q[keep]]
    decoys, decoy_uv = decoys[:120], decoy_uv[:120]
    decoy_depth = rng.uniform(1.0, 4.0, 120)  # the true scene's depth at those pixels
    decoy_measured = np.c_[(decoy_uv - K[:2, 2]) / K[[0, 1], [0, 1]] * decoy_depth[:, None],
                           decoy_depth]
    all_points, all_uv = np.r_[points, decoys], np.r_[uv, decoy_uv]
    all_measured = np.r_[measured, decoy_measured]

    pnp = estimate_motion(all_points, all_uv, K)
    assert pnp.ok and np.linalg.norm(pnp.T_prev_to_cur[:3, 3] - T[:3, 3]) > 0.3
    est = estimate_motion(all_points, all_uv, K, points_cur=all_measured)
    assert est.ok
    np.testing.assert_allclose(est.T_prev_to_cur, T, atol=0.01)
    assert est.inliers[:80].mean() > 0.9 and est.inliers[80:].mean() < 0.1


def test_a_few_depth_readings_do_not_decide_a_pose():
    # fewer than min_inliers depth-checked inliers: no agreement gate, no rigid fallback
    points, uv, measured, T = _scene(7)
    sparse = np.full_like(measured, np.nan)
    sparse[:3] = measured[:3] * 1.5  # three readings, all behind an edge
    est = estimate_motion(points, uv, K, points_cur=sparse)
    assert est.ok and est.depth_checked == 3 and est.depth_agreement == 0.0
    assert not est.inliers[:3].any()  # still pruned
    np.testing.assert_allclose(est.T_prev_to_cur, T, atol=0.01)


def test_the_inlier_ratio_gate_counts_the_inliers_before_the_depth_check():
    points, uv, measured, _ = _scene(8)
    measured[np.arange(len(points)) % 5 < 2] *= 1.5  # 40 % read the depth behind an edge
    config = RansacConfig(min_inlier_ratio=0.8)
    est = estimate_motion(points, uv, K, config, points_cur=measured)
    assert est.ok and est.depth_agreement == pytest.approx(0.6, abs=0.03)
    assert est.num_inliers < 0.8 * len(points)
