# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The pinhole camera: intrinsics, projection, back-projection and depth lookup at pixels.

Pixel convention everywhere: integer coordinates are pixel centres, so pixel (u, v) covers
[u - 0.5, u + 0.5) x [v - 0.5, v + 0.5) and an image of width W spans [-0.5, W - 0.5).
"""

from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np

from lfnet_core.array_checks import as_depth_map, as_image_shape, as_points, as_vector
from lfnet_core.image_scaling import scale_pixels

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
        K = as_intrinsics(K, 'K')
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
        cx, cy = (float(c) for c in scale_pixels([self.cx, self.cy], sx, sy)[0])
        return PinholeCamera(self.fx * sx, self.fy * sy, cx, cy, width, height)

    def resized(self, width: int, height: int) -> 'PinholeCamera':
        """Intrinsics for the image resized to exactly (width, height) (see `scaled`)."""
        if int(width) != width or int(height) != height or width <= 0 or height <= 0:
            raise ValueError(f'width, height: must be positive integers, got {width}, {height}')
        cam = self.scaled(width / self.width, height / self.height)
        return PinholeCamera(cam.fx, cam.fy, cam.cx, cam.cy, int(width), int(height))


def as_intrinsics(K: CameraLike, name: str) -> np.ndarray:
    """Return `K` (a PinholeCamera or a (3, 3) matrix) as a checked (3, 3) float64 matrix."""
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


def _valid_depth(z: np.ndarray) -> np.ndarray:
    with np.errstate(invalid='ignore'):
        return np.isfinite(z) & (z > 0)


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
    uv = as_points(uv, 'uv', 2)
    z = as_vector(z, 'z', uv.shape[0])
    K = as_intrinsics(K, 'K')
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
    depth = as_depth_map(depth, 'depth')
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
    points = as_points(points, 'points', 3)
    K = as_intrinsics(K, 'K')
    z = points[:, 2].copy()
    with np.errstate(divide='ignore', invalid='ignore'):
        front = z > 0
        uvw = points @ K.T
        uv = uvw[:, :2] / uvw[:, 2:3]
    uv[~front] = np.nan
    return uv, z


def in_image(uv: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """Whether pixels lie inside an image, bilinear-safe: 0 <= u <= W-1 and 0 <= v <= H-1.

    This is the release's test (floor and floor + 1 both in bounds). NaN gives False.

    Args:
        uv: (N, 2) pixel coordinates.
        shape: (H, W) of the image.

    Returns:
        (N,) bool mask.

    """
    uv = as_points(uv, 'uv', 2)
    h, w = as_image_shape(shape, 'shape')
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
    depth = as_depth_map(depth, 'depth')
    uv = as_points(uv, 'uv', 2)
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
