# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""RANSAC over rigid motions from 3D-3D point pairs (RGB-D: depth in both frames).

Each hypothesis is the least-squares rotation and translation (Kabsch / Umeyama without scale)
of three point pairs, all of them solved at once in a batch; every hypothesis is scored on all
pairs with an inlier test, and the one with most inliers wins. `rigid_pose_hypothesis` scores
camera motions by pixels and depth together; `lfnet_core.vo` uses it when a PnP pose fits the
pixels but not the depth.
"""

from typing import Callable, Optional, Tuple

import numpy as np

__all__ = ['best_rigid_hypothesis', 'depth_agreement', 'rigid_pose_hypothesis',
           'rigid_transforms']

# Inlier test: rotations (H, 3, 3) and translations (H, 3) -> (H, N) bool over all pairs.
InlierTest = Callable[[np.ndarray, np.ndarray], np.ndarray]


def rigid_transforms(points_a: np.ndarray,
                     points_b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Least-squares rigid motions with b = R a + t, one per set of point pairs.

    Args:
        points_a, points_b: (H, k, 3) k >= 3 point pairs per set.

    Returns:
        R (H, 3, 3) proper rotations and t (H, 3).

    """
    points_a = np.asarray(points_a, dtype=np.float64)
    points_b = np.asarray(points_b, dtype=np.float64)
    if points_a.shape != points_b.shape or points_a.ndim != 3 or points_a.shape[2] != 3:
        raise ValueError(f'points_a, points_b: expected equal (H, k, 3) shapes, got '
                         f'{points_a.shape} and {points_b.shape}')
    centre_a, centre_b = points_a.mean(axis=1), points_b.mean(axis=1)
    covariance = np.einsum('hki,hkj->hij', points_a - centre_a[:, None],
                           points_b - centre_b[:, None])
    U, _, Vt = np.linalg.svd(covariance)
    V = np.swapaxes(Vt, 1, 2)
    sign = np.sign(np.linalg.det(V @ np.swapaxes(U, 1, 2)))
    V[:, :, 2] *= sign[:, None]
    R = V @ np.swapaxes(U, 1, 2)
    t = centre_b - np.einsum('hij,hj->hi', R, centre_a)
    return R, t


def _fits_depth(predicted_z: np.ndarray, measured_z: np.ndarray,
                depth_tolerance: Tuple[float, float]) -> np.ndarray:
    """|predicted - measured| <= max(metres, fraction x measured), broadcast."""
    tolerance = np.maximum(depth_tolerance[0], depth_tolerance[1] * measured_z)
    return np.abs(predicted_z - measured_z) <= tolerance


def depth_agreement(points_prev: np.ndarray, points_cur: np.ndarray, R: np.ndarray,
                    t: np.ndarray, depth_tolerance: Tuple[float, float]) -> np.ndarray:
    """Per row: 1.0 when R X_prev + t lies at the measured depth, 0.0 when not, NaN unknown.

    Args:
        points_prev: (N, 3) points in the previous camera's frame.
        points_cur: (N, 3) the same points measured in the current camera's frame; rows with a
            non-finite value are unknown.
        R, t: (3, 3), (3,) the motion, X_cur = R X_prev + t.
        depth_tolerance: (metres, fraction): agreement within the larger of the two of the
            measured depth.

    """
    predicted_z = points_prev @ R[2] + float(t[2])
    with np.errstate(invalid='ignore'):
        agree = _fits_depth(predicted_z, points_cur[:, 2], depth_tolerance).astype(np.float64)
    agree[~np.isfinite(points_cur).all(axis=1)] = np.nan
    return agree


def best_rigid_hypothesis(points_a: np.ndarray, points_b: np.ndarray, inlier_test: InlierTest,
                          iterations: int, seed: int = 0,
                          batch: int = 100) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """Return the (R, t) of three-pair samples with the most inliers under `inlier_test`.

    Args:
        points_a, points_b: (N, 3) finite point pairs to sample from.
        inlier_test: scores a batch of hypotheses on the caller's rows (see `InlierTest`).
        iterations: number of samples (>= 1).
        seed: seed of the sampler (equal inputs give equal outputs).
        batch: hypotheses solved and scored at once.

    Returns:
        (R (3, 3), t (3,)) of the best hypothesis, or None with fewer than 3 pairs or no
        sample of three distinct, non-collinear points.

    """
    points_a = np.asarray(points_a, dtype=np.float64)
    points_b = np.asarray(points_b, dtype=np.float64)
    n = len(points_a)
    if n < 3:
        return None
    rng = np.random.default_rng(seed)
    batch = max(1, min(int(batch), 2_000_000 // (3 * n)))  # bounds the (batch, N, 3) scoring
    best, best_count = None, -1
    for start in range(0, int(iterations), batch):
        samples = rng.integers(0, n, (min(batch, int(iterations) - start), 3))
        triangle = points_a[samples]
        # distinct, non-collinear samples only (twice the triangle area > 1e-6 m^2)
        area = np.linalg.norm(np.cross(triangle[:, 1] - triangle[:, 0],
                                       triangle[:, 2] - triangle[:, 0]), axis=1)
        usable = area > 1e-6
        if not usable.any():
            continue
        R, t = rigid_transforms(triangle[usable], points_b[samples[usable]])
        counts = inlier_test(R, t).sum(axis=1)
        k = int(np.argmax(counts))
        if counts[k] > best_count:
            best, best_count = (R[k], t[k]), int(counts[k])
    return best


def rigid_pose_hypothesis(points_prev: np.ndarray, uv_cur: np.ndarray, points_cur: np.ndarray,
                          K: np.ndarray, reprojection_px: float,
                          depth_tolerance: Tuple[float, float], iterations: int, seed: int = 0
                          ) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Find the camera motion under which most correspondences fit both pixel and depth.

    Args:
        points_prev: (N, 3) finite points in the previous camera's frame.
        uv_cur: (N, 2) their pixels in the current image.
        points_cur: (N, 3) the same points measured in the current camera's frame; NaN rows
            (no depth) are not sampled and are scored by their pixel alone.
        K: (3, 3) intrinsics of the current image.
        reprojection_px: pixel inlier threshold.
        depth_tolerance: (metres, fraction): a moved point must lie within the larger of the
            two of the measured depth.
        iterations: three-pair samples drawn.
        seed: sampler seed.

    Returns:
        (R (3, 3), t (3,), inliers (N,) bool) with X_cur = R X_prev + t, or None with fewer
        than 3 pairs that have depth in both frames.

    """
    both = np.isfinite(points_cur).all(axis=1)

    def inlier_test(R: np.ndarray, t: np.ndarray) -> np.ndarray:
        moved = np.einsum('hij,nj->hni', R, points_prev) + t[:, None, :]
        z = moved[..., 2]
        with np.errstate(divide='ignore', invalid='ignore'):
            uv = (moved @ K.T)[..., :2] / z[..., None]
            pixel_ok = (z > 1e-9) & (np.linalg.norm(uv - uv_cur, axis=2) <= reprojection_px)
            depth_ok = ~both | _fits_depth(z, points_cur[:, 2], depth_tolerance)
        return pixel_ok & depth_ok

    best = best_rigid_hypothesis(points_prev[both], points_cur[both], inlier_test, iterations,
                                 seed)
    if best is None:
        return None
    R, t = best
    return R, t, inlier_test(R[None], t[None])[0]
