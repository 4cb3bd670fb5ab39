# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Argument checks of the geometry functions: each returns a float64 array or raises ValueError.

Every message starts with the argument's name as the caller gave it, so an error points at the
argument that was wrong.
"""

from typing import Tuple

import numpy as np


def as_points(x: np.ndarray, name: str, dim: int) -> np.ndarray:
    """Return `x` as an (N, dim) float64 array of points."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f'{name}: expected shape (N, {dim}), got {x.shape}')
    return x


def as_vector(x: np.ndarray, name: str, n: int) -> np.ndarray:
    """Return `x` as an (n,) float64 vector."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (n,):
        raise ValueError(f'{name}: expected shape ({n},), got {x.shape}')
    return x


def as_rigid_transform(T: np.ndarray, name: str) -> np.ndarray:
    """Return `T` as a finite (4, 4) float64 transform whose last row is [0, 0, 0, 1]."""
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4):
        raise ValueError(f'{name}: expected a (4, 4) transform, got shape {T.shape}')
    if not np.all(np.isfinite(T)) or not np.allclose(T[3], [0.0, 0.0, 0.0, 1.0]):
        raise ValueError(f'{name}: expected a finite transform with last row [0, 0, 0, 1]')
    return T


def as_homography(H: np.ndarray, name: str) -> np.ndarray:
    """Return `H` as a (3, 3) float64 homography."""
    H = np.asarray(H, dtype=np.float64)
    if H.shape != (3, 3):
        raise ValueError(f'{name}: expected a (3, 3) homography, got shape {H.shape}')
    return H


def as_depth_map(depth: np.ndarray, name: str) -> np.ndarray:
    """Return `depth` as a non-empty (H, W) float64 depth map (values unchecked)."""
    depth = np.asarray(depth)
    if depth.ndim != 2 or depth.size == 0:
        raise ValueError(f'{name}: expected a non-empty (H, W) depth map, got {depth.shape}')
    return depth.astype(np.float64, copy=False)


def as_image_shape(shape: Tuple[int, int], name: str) -> Tuple[int, int]:
    """Return `shape` as a positive integer (height, width)."""
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f'{name}: expected (height, width), got {shape!r}') from None
    if h <= 0 or w <= 0 or (h, w) != tuple(shape):
        raise ValueError(f'{name}: expected positive integer (height, width), got {shape!r}')
    return h, w
