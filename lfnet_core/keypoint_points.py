# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""3D points of keypoints: their pixels back-projected with a registered depth map."""

from typing import Optional

import numpy as np

from lfnet_core.pinhole import backproject, sample_depth
from lfnet_core.vo import check_intrinsics

__all__ = ['keypoint_points']


def keypoint_points(keypoints: np.ndarray, depth: Optional[np.ndarray], K: Optional[np.ndarray],
                    depth_min: float, depth_max: float) -> np.ndarray:
    """Back-project keypoints to 3D with a depth map registered to their image.

    The depth is read by nearest neighbour at the rounded keypoint (pixel centres at integers,
    round half up, as `pinhole.sample_depth(mode='nearest')`). The depth map must have the
    resolution of the image the keypoints are in; the caller checks that (the keypoints alone do
    not carry the image size), keypoints outside the depth map give NaN.

    Args:
        keypoints: (N, 2) pixel coordinates (x, y).
        depth: (H, W) depth in metres along the optical axis (0, negative, NaN and inf are
            invalid), or None.
        K: (3, 3) intrinsics of the image, or None.
        depth_min: smallest valid depth in metres (>= 0).
        depth_max: largest valid depth in metres (> depth_min; may be inf).

    Returns:
        (N, 3) float64 points (x, y, z) in the camera optical frame; rows are NaN where the
        depth is unknown, invalid or outside [depth_min, depth_max], and all rows are NaN when
        depth or K is None.

    Raises:
        ValueError: bad shapes, bad intrinsics or a bad depth range.

    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 2 or keypoints.shape[1] != 2:
        raise ValueError(f'keypoints: expected shape (N, 2), got {keypoints.shape}')
    if not (np.isfinite(depth_min) and depth_min >= 0 and depth_max > depth_min):
        raise ValueError(f'depth_min, depth_max: need 0 <= depth_min < depth_max, got '
                         f'{depth_min}, {depth_max}')
    n = keypoints.shape[0]
    if depth is None or K is None:
        return np.full((n, 3), np.nan)
    depth = np.asarray(depth)
    if depth.ndim != 2 or depth.size == 0:
        raise ValueError(f'depth: expected a non-empty (H, W) depth map, got {depth.shape}')
    K = check_intrinsics(K)
    if n == 0:
        return np.zeros((0, 3))
    z = sample_depth(depth, keypoints, mode='nearest')
    with np.errstate(invalid='ignore'):
        z[~((z >= depth_min) & (z <= depth_max))] = np.nan
    return backproject(keypoints, z, K)
