# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""RGB-D warps: pixels of one image into another with depth and pose, with visibility masks.

Also stereo disparity to depth. Pixel convention: `lfnet_core.pinhole`'s (integer coordinates
are pixel centres).
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from lfnet_core.array_checks import as_depth_map, as_image_shape, as_points, \
    as_rigid_transform
from lfnet_core.pinhole import as_intrinsics, backproject, CameraLike, in_image, project, \
    sample_depth
from lfnet_core.rigid_poses import transform_points


@dataclass(frozen=True, eq=False)
class PixelWarp:
    """Result of `warp_pixels_rgbd` for N pixels of image 0.

    Attributes:
        uv1: (N, 2) float64 pixel coordinates in image 1; NaN where depth0 is invalid or the
            point is not in front of camera 1.
        z1: (N,) float64 depth of the point in camera 1 (NaN where depth0 is invalid).
        valid_depth0: (N,) bool, depth0 at the pixel is finite and > 0.
        in_front: (N,) bool, z1 > 0.
        in_bounds: (N,) bool, uv1 inside image 1 (0 <= u <= W1 - 1, 0 <= v <= H1 - 1).
        unoccluded: (N,) bool, depth1 agrees with z1 (all True when depth1 is not given).
        visible: (N,) bool, all of the above.

    """

    uv1: np.ndarray
    z1: np.ndarray
    valid_depth0: np.ndarray
    in_front: np.ndarray
    in_bounds: np.ndarray
    unoccluded: np.ndarray
    visible: np.ndarray


def warp_pixels_rgbd(uv0: np.ndarray, depth0: np.ndarray, K0: CameraLike, T_0to1: np.ndarray,
                     K1: CameraLike, shape1: Tuple[int, int], depth1: Optional[np.ndarray] = None,
                     depth_thresh: float = 0.05, depth_rel_thresh: float = 0.0) -> PixelWarp:
    """Warp pixels of image 0 into image 1 with depth and pose, with visibility masks.

    Depth at uv0 is read by nearest neighbour (the release reads its xy maps at integer
    keypoints); the point is back-projected at uv0 itself, moved with T_0to1 and projected
    with K1. Occlusion test (only when depth1 is given): depth1 is sampled at uv1 bilinearly,
    falling back to nearest where a bilinear neighbour is invalid, and the point is unoccluded
    iff that depth is valid and |depth1(uv1) - z1| < max(depth_thresh, depth_rel_thresh * z1).

    The defaults (5 cm, no relative term) suit clean or synthetic depth; for structured-light or
    time-of-flight sensors add depth_rel_thresh of about 0.02-0.05, whose noise grows with range.

    Args:
        uv0: (N, 2) pixel coordinates in image 0.
        depth0: (H0, W0) depth of image 0 in metres (0, negative, NaN, inf invalid).
        K0: (3, 3) intrinsics of camera 0 or a PinholeCamera.
        T_0to1: (4, 4) transform from camera-0 to camera-1 coordinates.
        K1: (3, 3) intrinsics of camera 1 or a PinholeCamera.
        shape1: (H1, W1) of image 1.
        depth1: optional (H1, W1) depth of image 1 in metres, for the occlusion test.
        depth_thresh: absolute depth agreement threshold in metres (>= 0).
        depth_rel_thresh: relative threshold as a fraction of z1 (>= 0); a point passes when it
            is within either threshold.

    Returns:
        PixelWarp with uv1 (N, 2), z1 (N,) and the boolean masks (N,).

    """
    uv0 = as_points(uv0, 'uv0', 2)
    depth0 = as_depth_map(depth0, 'depth0')
    K0 = as_intrinsics(K0, 'K0')
    K1 = as_intrinsics(K1, 'K1')
    T_0to1 = as_rigid_transform(T_0to1, 'T_0to1')
    shape1 = as_image_shape(shape1, 'shape1')
    if not (np.isfinite(depth_thresh) and depth_thresh >= 0):
        raise ValueError(f'depth_thresh: must be finite and >= 0, got {depth_thresh}')
    if not (np.isfinite(depth_rel_thresh) and depth_rel_thresh >= 0):
        raise ValueError(f'depth_rel_thresh: must be finite and >= 0, got {depth_rel_thresh}')
    if depth1 is not None:
        depth1 = as_depth_map(depth1, 'depth1')
        if depth1.shape != shape1:
            raise ValueError(f'depth1: shape {depth1.shape} does not match shape1 {shape1}')

    z0 = sample_depth(depth0, uv0, 'nearest')
    valid_depth0 = np.isfinite(z0)
    points1 = transform_points(T_0to1, backproject(uv0, z0, K0))
    uv1, z1 = project(points1, K1)
    in_front = z1 > 0
    in_bounds = in_image(uv1, shape1)

    if depth1 is None:
        unoccluded = np.ones(uv0.shape[0], dtype=bool)
    else:
        # Geometrically correct test: compare depth1 with the reprojected depth z1. The release
        # compared against depth0 instead ("not correct ... but it works well practically";
        # docs/network.md, "Training pairs: warps and visibility"), which fails under any motion
        # along the optical axis.
        d1 = sample_depth(depth1, uv1, 'bilinear')
        missing = ~np.isfinite(d1)
        d1[missing] = sample_depth(depth1, uv1[missing], 'nearest')
        with np.errstate(invalid='ignore'):
            tol = np.maximum(depth_thresh, depth_rel_thresh * z1)
            unoccluded = np.isfinite(d1) & (np.abs(d1 - z1) < tol)

    visible = valid_depth0 & in_front & in_bounds & unoccluded
    return PixelWarp(uv1=uv1, z1=z1, valid_depth0=valid_depth0, in_front=in_front,
                     in_bounds=in_bounds, unoccluded=unoccluded, visible=visible)


def warp_depth_map(depth0: np.ndarray, K0: CameraLike, T_0to1: np.ndarray, K1: CameraLike,
                   shape1: Tuple[int, int], depth1: Optional[np.ndarray] = None,
                   depth_thresh: float = 0.05,
                   depth_rel_thresh: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """Dense warp of every pixel of image 0 into image 1 (training targets).

    Same maths and thresholds as `warp_pixels_rgbd`, applied to the integer pixel grid.

    Args:
        depth0: (H0, W0) depth of image 0 in metres.
        K0: (3, 3) intrinsics of camera 0 or a PinholeCamera.
        T_0to1: (4, 4) transform from camera-0 to camera-1 coordinates.
        K1: (3, 3) intrinsics of camera 1 or a PinholeCamera.
        shape1: (H1, W1) of image 1.
        depth1: optional (H1, W1) depth of image 1 for the occlusion test.
        depth_thresh: absolute depth threshold in metres.
        depth_rel_thresh: relative depth threshold (fraction of z1).

    Returns:
        xy_map: (H0, W0, 2) float32 pixel coordinates (u, v) in image 1; NaN where depth0 is
            invalid or the point is behind camera 1 (replace NaN before feeding grid samplers).
        visible: (H0, W0) bool visibility mask.

    """
    depth0 = as_depth_map(depth0, 'depth0')
    h, w = depth0.shape
    v, u = np.mgrid[0:h, 0:w]
    uv0 = np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float64)
    warp = warp_pixels_rgbd(uv0, depth0, K0, T_0to1, K1, shape1, depth1=depth1,
                            depth_thresh=depth_thresh, depth_rel_thresh=depth_rel_thresh)
    return warp.uv1.reshape(h, w, 2).astype(np.float32), warp.visible.reshape(h, w)


def disparity_to_depth(disparity: np.ndarray, f: float, baseline: float,
                       doffs: float = 0.0) -> np.ndarray:
    """Convert stereo disparity to depth, Z = f * B / (d + doffs).

    Args:
        disparity: array of any shape, disparity in pixels.
        f: focal length in pixels (> 0).
        baseline: stereo baseline B (> 0); the depth comes out in B's unit.
        doffs: difference of the principal points' x, cx_right - cx_left (Middlebury's doffs).

    Returns:
        float64 depth of disparity's shape; NaN where d + doffs is not finite or <= 0.

    """
    if not (np.isfinite(f) and f > 0):
        raise ValueError(f'f: must be finite and > 0, got {f}')
    if not (np.isfinite(baseline) and baseline > 0):
        raise ValueError(f'baseline: must be finite and > 0, got {baseline}')
    if not np.isfinite(doffs):
        raise ValueError(f'doffs: must be finite, got {doffs}')
    denom = np.asarray(disparity, dtype=np.float64) + doffs
    with np.errstate(divide='ignore', invalid='ignore'):
        ok = np.isfinite(denom) & (denom > 0)
        return np.where(ok, f * baseline / np.where(ok, denom, 1.0), np.nan)
