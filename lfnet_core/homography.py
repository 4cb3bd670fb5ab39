# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Homographies between two images: mapped points, visibility and the corner error of an estimate.

Pixel convention: `lfnet_core.pinhole`'s (integer coordinates are pixel centres).
"""

from typing import Optional, Tuple

import numpy as np

from lfnet_core.array_checks import as_homography, as_image_shape, as_points
from lfnet_core.pinhole import in_image


def warp_points_homography(uv: np.ndarray, H_0to1: np.ndarray) -> np.ndarray:
    """Map points with a homography.

    Args:
        uv: (N, 2) pixel coordinates in image 0.
        H_0to1: (3, 3) homography from image 0 to image 1.

    Returns:
        (N, 2) float64 coordinates in image 1; NaN where the homogeneous scale is 0.

    """
    uv = as_points(uv, 'uv', 2)
    H = as_homography(H_0to1, 'H_0to1')
    uvw = uv @ H[:, :2].T + H[:, 2]
    with np.errstate(divide='ignore', invalid='ignore'):
        out = uvw[:, :2] / uvw[:, 2:3]
    out[~np.all(np.isfinite(out), axis=1)] = np.nan
    return out


def homography_visibility(uv0: np.ndarray, H_0to1: np.ndarray,
                          shape1: Tuple[int, int]) -> np.ndarray:
    """Whether points of image 0 land inside image 1 under a homography (see `in_image`).

    Args:
        uv0: (N, 2) pixel coordinates in image 0.
        H_0to1: (3, 3) homography from image 0 to image 1.
        shape1: (H1, W1) of image 1.

    Returns:
        (N,) bool mask.

    """
    return in_image(warp_points_homography(uv0, H_0to1), shape1)


def homography_corner_error(H_est: Optional[np.ndarray], H_true: np.ndarray,
                            shape: Tuple[int, int]) -> float:
    """Mean distance between the image corners mapped by an estimate and by the truth.

    The corners are the centres of the corner pixels, (0, 0), (W-1, 0), (W-1, H-1), (0, H-1).

    Args:
        H_est: (3, 3) estimated homography from image 0 to image 1, or None (failed estimate).
        H_true: (3, 3) ground-truth homography.
        shape: (H, W) of image 0.

    Returns:
        Mean corner distance in pixels; inf when H_est is None or maps a corner to infinity.

    """
    h, w = as_image_shape(shape, 'shape')
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64)
    true = warp_points_homography(corners, as_homography(H_true, 'H_true'))
    if not np.all(np.isfinite(true)):
        raise ValueError('H_true: maps an image corner to infinity')
    if H_est is None:
        return float('inf')
    est = warp_points_homography(corners, as_homography(H_est, 'H_est'))
    if not np.all(np.isfinite(est)):
        return float('inf')
    return float(np.mean(np.linalg.norm(est - true, axis=1)))
