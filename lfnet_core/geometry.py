# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Pinhole cameras, depth back-projection, RGB-D and homography warps, and visibility.

Pixel convention everywhere: integer coordinates are pixel centres, so pixel (u, v) covers
[u - 0.5, u + 0.5) x [v - 0.5, v + 0.5) and an image of width W spans [-0.5, W - 0.5).
"""

from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np

CameraLike = Union[np.ndarray, 'PinholeCamera']


@dataclass(frozen=True)
class PinholeCamera:
    """Pinhole intrinsics (no skew, no distortion) and the image size they belong to.

    Attributes:
        fx, fy: focal lengths in pixels (> 0).
        cx, cy: principal point in pixels, pixel-centre convention.
        width, height: image size in pixels (> 0).

    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        values = (self.fx, self.fy, self.cx, self.cy)
        if not all(np.isfinite(v) for v in values):
            raise ValueError(f'PinholeCamera: fx, fy, cx, cy must be finite, got {values}')
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f'PinholeCamera: fx and fy must be > 0, got {self.fx}, {self.fy}')
        for name in ('width', 'height'):
            value = getattr(self, name)
            if int(value) != value or value <= 0:
                raise ValueError(f'PinholeCamera: {name} must be a positive integer, got {value}')

    @property
    def K(self) -> np.ndarray:
        """(3, 3) float64 intrinsic matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def shape(self) -> Tuple[int, int]:
        """Image shape as (height, width)."""
        return int(self.height), int(self.width)

    @classmethod
    def from_matrix(cls, K: np.ndarray, width: int, height: int) -> 'PinholeCamera':
        """Build a camera from a (3, 3) intrinsic matrix (zero skew required).

        Args:
            K: (3, 3) intrinsics [[fx, 0, cx], [0, fy, cy], [0, 0, 1]].
            width: image width in pixels.
            height: image height in pixels.

        Returns:
            The camera.

        """
        K = _as_K(K, 'K')
        if K[0, 1] != 0.0:
            raise ValueError(f'K: PinholeCamera has no skew term, got K[0, 1] = {K[0, 1]}')
        return cls(float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]),
                   int(width), int(height))

    def scaled(self, sx: float, sy: Optional[float] = None) -> 'PinholeCamera':
        """Intrinsics for the image resized by factors (sx, sy), as cv2.resize does.

        With pixel centres at integer coordinates, a point maps as u' = (u + 0.5) * sx - 0.5
        (and likewise for v), so fx' = fx * sx and cx' = (cx + 0.5) * sx - 0.5. The new size is
        round(width * sx) x round(height * sy); for an exact target size use `resized`.

        Args:
            sx: horizontal scale factor (> 0), new_width / width.
            sy: vertical scale factor (> 0); defaults to sx.

        Returns:
            The camera of the resized image.

        """
        sy = sx if sy is None else sy
        if not (np.isfinite(sx) and np.isfinite(sy) and sx > 0 and sy > 0):
            raise ValueError(f'sx, sy: scale factors must be finite and > 0, got {sx}, {sy}')
        width = max(1, int(round(self.width * sx)))
        height = max(1, int(round(self.height * sy)))
        return PinholeCamera(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5,
                             (self.cy + 0.5) * sy - 0.5, width, height)

    def resized(self, width: int, height: int) -> 'PinholeCamera':
        """Intrinsics for the image resized to exactly (width, height) (see `scaled`)."""
        if int(width) != width or int(height) != height or width <= 0 or height <= 0:
            raise ValueError(f'width, height: must be positive integers, got {width}, {height}')
        cam = self.scaled(width / self.width, height / self.height)
        return PinholeCamera(cam.fx, cam.fy, cam.cx, cam.cy, int(width), int(height))


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


# --------------------------------------------------------------------------- input checks


def _as_points(x: np.ndarray, name: str, dim: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f'{name}: expected shape (N, {dim}), got {x.shape}')
    return x


def _as_vector(x: np.ndarray, name: str, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (n,):
        raise ValueError(f'{name}: expected shape ({n},), got {x.shape}')
    return x


def _as_K(K: CameraLike, name: str) -> np.ndarray:
    if isinstance(K, PinholeCamera):
        return K.K
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise ValueError(f'{name}: expected a (3, 3) intrinsic matrix, got shape {K.shape}')
    if not np.all(np.isfinite(K)):
        raise ValueError(f'{name}: intrinsic matrix must be finite')
    if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0.0:
        raise ValueError(f'{name}: expected [[fx, s, cx], [0, fy, cy], [0, 0, 1]], got {K}')
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f'{name}: focal lengths must be > 0, got {K[0, 0]}, {K[1, 1]}')
    return K


def _as_pose(T: np.ndarray, name: str) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4):
        raise ValueError(f'{name}: expected a (4, 4) transform, got shape {T.shape}')
    if not np.all(np.isfinite(T)) or not np.allclose(T[3], [0.0, 0.0, 0.0, 1.0]):
        raise ValueError(f'{name}: expected a finite transform with last row [0, 0, 0, 1]')
    return T


def _as_homography(H: np.ndarray, name: str) -> np.ndarray:
    H = np.asarray(H, dtype=np.float64)
    if H.shape != (3, 3):
        raise ValueError(f'{name}: expected a (3, 3) homography, got shape {H.shape}')
    return H


def _as_depth(depth: np.ndarray, name: str) -> np.ndarray:
    depth = np.asarray(depth)
    if depth.ndim != 2 or depth.size == 0:
        raise ValueError(f'{name}: expected a non-empty (H, W) depth map, got {depth.shape}')
    return depth.astype(np.float64, copy=False)


def _as_shape(shape: Tuple[int, int], name: str) -> Tuple[int, int]:
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f'{name}: expected (height, width), got {shape!r}') from None
    if h <= 0 or w <= 0 or (h, w) != tuple(shape):
        raise ValueError(f'{name}: expected positive integer (height, width), got {shape!r}')
    return h, w


def _valid_depth(z: np.ndarray) -> np.ndarray:
    with np.errstate(invalid='ignore'):
        return np.isfinite(z) & (z > 0)


# --------------------------------------------------------------------------- pinhole maths


def backproject(uv: np.ndarray, z: np.ndarray, K: CameraLike) -> np.ndarray:
    """Lift pixels with known depth to 3D points in the camera frame.

    Pure maths: z is used as given (NaN propagates; no validity masking).

    Args:
        uv: (N, 2) pixel coordinates.
        z: (N,) depth along the optical axis (metres).
        K: (3, 3) intrinsics or a PinholeCamera.

    Returns:
        (N, 3) float64 points (x, y, z) in the camera optical frame.

    """
    uv = _as_points(uv, 'uv', 2)
    z = _as_vector(z, 'z', uv.shape[0])
    K = _as_K(K, 'K')
    rays = np.concatenate([uv, np.ones((uv.shape[0], 1))], axis=1) @ np.linalg.inv(K).T
    return rays * z[:, None]


def backproject_depth(depth: np.ndarray, K: CameraLike) -> np.ndarray:
    """Back-project every pixel of a depth map.

    Args:
        depth: (H, W) depth in metres; 0, negative, NaN and inf are invalid.
        K: (3, 3) intrinsics or a PinholeCamera.

    Returns:
        (H, W, 3) float64 points in the camera frame, NaN where the depth is invalid.

    """
    depth = _as_depth(depth, 'depth')
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w]
    uv = np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float64)
    z = np.where(_valid_depth(depth), depth, np.nan).ravel()
    return backproject(uv, z, K).reshape(h, w, 3)


def project(points: np.ndarray, K: CameraLike) -> Tuple[np.ndarray, np.ndarray]:
    """Project 3D camera-frame points to pixels.

    Args:
        points: (N, 3) points in the camera optical frame.
        K: (3, 3) intrinsics or a PinholeCamera.

    Returns:
        uv: (N, 2) float64 pixel coordinates, NaN where z <= 0 or z is NaN.
        z: (N,) float64 depth of each point (the points' z, unchanged).

    """
    points = _as_points(points, 'points', 3)
    K = _as_K(K, 'K')
    z = points[:, 2].copy()
    with np.errstate(divide='ignore', invalid='ignore'):
        front = z > 0
        uvw = points @ K.T
        uv = uvw[:, :2] / uvw[:, 2:3]
    uv[~front] = np.nan
    return uv, z


def transform_points(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 rigid transform to points.

    Args:
        T: (4, 4) transform, e.g. T_0to1 maps camera-0 coordinates to camera-1 coordinates.
        points: (N, 3) points.

    Returns:
        (N, 3) float64 transformed points, R @ p + t.

    """
    T = _as_pose(T, 'T')
    points = _as_points(points, 'points', 3)
    return points @ T[:3, :3].T + T[:3, 3]


def in_image(uv: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """Whether pixels lie inside an image, bilinear-safe: 0 <= u <= W-1 and 0 <= v <= H-1.

    This is the release's test (floor and floor + 1 both in bounds). NaN gives False.

    Args:
        uv: (N, 2) pixel coordinates.
        shape: (H, W) of the image.

    Returns:
        (N,) bool mask.

    """
    uv = _as_points(uv, 'uv', 2)
    h, w = _as_shape(shape, 'shape')
    u, v = uv[:, 0], uv[:, 1]
    return (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)


def sample_depth(depth: np.ndarray, uv: np.ndarray, mode: str = 'nearest') -> np.ndarray:
    """Read a depth map at (sub-pixel) locations.

    'nearest' reads the pixel containing uv (round half up), defined on [-0.5, W - 0.5).
    'bilinear' interpolates the four neighbours, defined on [0, W - 1] x [0, H - 1], and only
    where all four neighbours (with a non-zero or zero weight alike) hold valid depth.

    Args:
        depth: (H, W) depth in metres; 0, negative, NaN and inf are invalid.
        uv: (N, 2) pixel coordinates.
        mode: 'nearest' or 'bilinear'.

    Returns:
        (N,) float64 depth, NaN where outside the image or invalid.

    """
    depth = _as_depth(depth, 'depth')
    uv = _as_points(uv, 'uv', 2)
    h, w = depth.shape
    u, v = uv[:, 0], uv[:, 1]
    out = np.full(uv.shape[0], np.nan)
    if mode == 'nearest':
        inside = (u >= -0.5) & (u < w - 0.5) & (v >= -0.5) & (v < h - 0.5)
        ui = np.floor(u[inside] + 0.5).astype(np.intp)
        vi = np.floor(v[inside] + 0.5).astype(np.intp)
        out[inside] = depth[vi, ui]
    elif mode == 'bilinear':
        inside = (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
        us, vs = u[inside], v[inside]
        x0 = np.clip(np.floor(us), 0, max(w - 2, 0)).astype(np.intp)
        y0 = np.clip(np.floor(vs), 0, max(h - 2, 0)).astype(np.intp)
        x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
        ax, ay = us - x0, vs - y0
        d00, d01 = depth[y0, x0], depth[y0, x1]
        d10, d11 = depth[y1, x0], depth[y1, x1]
        ok = _valid_depth(d00) & _valid_depth(d01) & _valid_depth(d10) & _valid_depth(d11)
        with np.errstate(invalid='ignore'):
            val = ((1 - ay) * ((1 - ax) * d00 + ax * d01) + ay * ((1 - ax) * d10 + ax * d11))
        out[inside] = np.where(ok, val, np.nan)
    else:
        raise ValueError(f"mode: expected 'nearest' or 'bilinear', got {mode!r}")
    out[~_valid_depth(out)] = np.nan
    return out


# --------------------------------------------------------------------------- RGB-D warps


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
    uv0 = _as_points(uv0, 'uv0', 2)
    depth0 = _as_depth(depth0, 'depth0')
    K0 = _as_K(K0, 'K0')
    K1 = _as_K(K1, 'K1')
    T_0to1 = _as_pose(T_0to1, 'T_0to1')
    shape1 = _as_shape(shape1, 'shape1')
    if not (np.isfinite(depth_thresh) and depth_thresh >= 0):
        raise ValueError(f'depth_thresh: must be finite and >= 0, got {depth_thresh}')
    if not (np.isfinite(depth_rel_thresh) and depth_rel_thresh >= 0):
        raise ValueError(f'depth_rel_thresh: must be finite and >= 0, got {depth_rel_thresh}')
    if depth1 is not None:
        depth1 = _as_depth(depth1, 'depth1')
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
    depth0 = _as_depth(depth0, 'depth0')
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


# --------------------------------------------------------------------------- homographies


def warp_points_homography(uv: np.ndarray, H_0to1: np.ndarray) -> np.ndarray:
    """Map points with a homography.

    Args:
        uv: (N, 2) pixel coordinates in image 0.
        H_0to1: (3, 3) homography from image 0 to image 1.

    Returns:
        (N, 2) float64 coordinates in image 1; NaN where the homogeneous scale is 0.

    """
    uv = _as_points(uv, 'uv', 2)
    H = _as_homography(H_0to1, 'H_0to1')
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
    h, w = _as_shape(shape, 'shape')
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64)
    true = warp_points_homography(corners, _as_homography(H_true, 'H_true'))
    if not np.all(np.isfinite(true)):
        raise ValueError('H_true: maps an image corner to infinity')
    if H_est is None:
        return float('inf')
    est = warp_points_homography(corners, _as_homography(H_est, 'H_est'))
    if not np.all(np.isfinite(est)):
        return float('inf')
    return float(np.mean(np.linalg.norm(est - true, axis=1)))
