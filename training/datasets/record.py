# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The training pair record: dense warps, visibility, angle and scale targets, augmentation.

Every dataset of `lfnet_training.datasets` returns the same dict (docs/network.md, "Training
pairs"); the keys, for a crop size S (all torch tensors, float32 unless said):

- ``image0``, ``image1``: (1, S, S) grey in [0, 1].
- ``depth0``, ``depth1``: (S, S) metres, 0 where invalid (no depth, or outside the source image).
- ``K0``, ``K1``: (3, 3) pinhole intrinsics of the cropped / augmented images.
- ``T_0to1``: (4, 4) camera-0 to camera-1 transform of the cameras *as seen by the record*: the
  in-plane rotation augmentation of image 1 is a roll of camera 1 about its optical axis and is
  folded in (T_0to1 = Rz(theta) @ T_physical), and the scale augmentation multiplies K1's focal
  lengths, so ``warp_depth_map(depth0, K0, T_0to1, K1, ...)`` reproduces ``xy_0to1`` (exact when
  fx == fy, which every dataset here guarantees). Identity for homography pairs.
- ``xy_0to1``: (S, S, 2) for each pixel (x, y) of image 0 its position (u, v) in image 1; entries
  that are not finite are set to -1e4, the rest are clipped to [-1e4, 1e4]. Never NaN.
- ``vis_0to1``: (S, S) bool: inside image 1, valid depth in both, in front, unoccluded.
- ``angle_0to1``: (S, S) radians, in [-pi, pi): the in-plane rotation a local feature at that pixel
  undergoes in image 1, as a change of atan2(dy, dx) in pixel coordinates (x right, y down, so
  positive is clockwise on screen). Rigid pairs: z-component of log(R_0to1) (physical pose) plus
  the augmentation angle, constant over the image; homographies: from the local Jacobian.
- ``scale_0to1``: (S, S) expected feature scale ratio s1 / s0: (fx1 / fx0) * aug_scale1 *
  depth0(p0) / z1 (z1: the warped point's depth in camera 1); sqrt|det J| for homographies;
  1.0 where not visible.
- ``xy_1to0``, ``vis_1to0``, ``angle_1to0``, ``scale_1to0``: the same from image 1 to image 0.
- ``name``: str, source and index.

Augmentation (release section 2.2): only image 1 is augmented, by a similarity A about the view
centre (rotation theta, scale s: content looks s times larger), resampled to S x S; image 0 is a
plain centre crop. A with theta = 0, s = 1 is exactly the same centre crop.
"""

from dataclasses import dataclass
import math
from typing import Dict, Tuple

import cv2
import numpy as np
import torch

from lfnet_core.pinhole import in_image, sample_depth
from lfnet_core.rgbd_warp import warp_pixels_rgbd
from lfnet_core.rigid_poses import invert_pose, relative_pose

INVALID_XY = -1e4
RECORD_KEYS = ('image0', 'image1', 'depth0', 'depth1', 'K0', 'K1', 'T_0to1', 'xy_0to1',
               'vis_0to1', 'xy_1to0', 'vis_1to0', 'angle_0to1', 'angle_1to0', 'scale_0to1',
               'scale_1to0', 'name')


@dataclass(frozen=True, eq=False)
class RgbdView:
    """One posed RGB-D view, before cropping.

    Attributes:
        image: (H, W) float32 grey in [0, 1] (see `to_grey`).
        depth: (H, W) float32 metres, 0 where invalid.
        K: (3, 3) float64 intrinsics (pixel centres at integer coordinates).
        T_world_cam: (4, 4) float64 camera-to-world pose (camera optical frame).

    """

    image: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    T_world_cam: np.ndarray


def raw_size(size: int) -> int:
    """Side of the views a record of crop size `size` is cut from: ceil(size * sqrt(2))."""
    return int(math.ceil(size * math.sqrt(2.0) - 1e-9))


def to_grey(image: np.ndarray) -> np.ndarray:
    """Convert an RGB or grey image (uint8 or float in [0, 1]) to (H, W) float32 grey in [0, 1]."""
    image = np.asarray(image)
    scale = 1.0 / 255.0 if image.dtype == np.uint8 else 1.0
    image = image.astype(np.float32) * np.float32(scale)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2:
        raise ValueError(f'image: expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), '
                         f'got {image.shape}')
    return np.clip(image, 0.0, 1.0)


def sample_augmentation(rng: np.random.Generator, max_degree: float,
                        max_scale: float) -> Tuple[float, float]:
    """Draw the release's augmentation (angle in radians, scale).

    The angle is ~ U[-max_degree, max_degree] degrees, the scale log-uniform in
    [1 / max_scale, max_scale]; 0 / 1 disable them.
    """
    angle = math.radians(rng.uniform(-max_degree, max_degree)) if max_degree > 0 else 0.0
    log_s = math.log(max_scale) if max_scale > 1 else 0.0
    scale = math.exp(rng.uniform(-log_s, log_s)) if log_s > 0 else 1.0
    return angle, scale


def similarity(angle: float, scale: float, center_in: np.ndarray,
               center_out: np.ndarray) -> np.ndarray:
    """Return the (3, 3) similarity mapping center_in to center_out.

    It rotates by `angle` (radians, y-down pixel coordinates: the x axis goes to (cos, sin),
    clockwise on screen for angle > 0) and scales by `scale`.
    """
    c, s = math.cos(angle), math.sin(angle)
    A = np.eye(3)
    A[:2, :2] = scale * np.array([[c, -s], [s, c]])
    A[:2, 2] = np.asarray(center_out, np.float64) - A[:2, :2] @ np.asarray(center_in, np.float64)
    return A


def apply_affine(A: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Apply the affine part of a (3, 3) matrix to (N, 2) points."""
    return uv @ A[:2, :2].T + A[:2, 2]


def pixel_grid(height: int, width: int) -> np.ndarray:
    """(H * W, 2) float64 pixel centres (u, v), row-major."""
    v, u = np.mgrid[0:height, 0:width]
    return np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float64)


def wrap_angle(angle: np.ndarray) -> np.ndarray:
    """Wrap radians to [-pi, pi)."""
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


def inplane_rotation(R: np.ndarray) -> float:
    """z-component of log(R) (release `get_inplane_rotation`), in radians."""
    rvec, _ = cv2.Rodrigues(np.asarray(R, np.float64))
    return float(rvec[2, 0])


def _crop_offset(height: int, width: int, size: int) -> Tuple[int, int]:
    if height < size or width < size:
        raise ValueError(f'view of {width}x{height} is smaller than the crop size {size}')
    return (width - size) // 2, (height - size) // 2


def _augmented_intrinsics(K: np.ndarray, A: np.ndarray, angle: float,
                          scale: float) -> Tuple[np.ndarray, np.ndarray]:
    """Upright K of the augmented image and the camera roll Rz(angle) (point transform)."""
    K_aug = np.diag([scale * K[0, 0], scale * K[1, 1], 1.0])
    K_aug[:2, 2] = apply_affine(A, K[:2, 2][None])[0]
    c, s = math.cos(angle), math.sin(angle)
    roll = np.eye(4)
    roll[:2, :2] = [[c, -s], [s, c]]
    return K_aug, roll


def build_rgbd_record(view0: RgbdView, view1: RgbdView, size: int, angle1: float = 0.0,
                      scale1: float = 1.0, name: str = '', depth_thresh: float = 0.05,
                      depth_rel_thresh: float = 0.0) -> Dict[str, object]:
    """Build the pair record (module docstring) from two posed RGB-D views.

    Args:
        view0: view 0 (any size >= size; centre-cropped).
        view1: view 1 (any size >= size; augmented about its centre and resampled to size).
        size: crop size S.
        angle1: augmentation rotation of image 1 in radians.
        scale1: augmentation scale of image 1 (> 0).
        name: the record's name.
        depth_thresh: occlusion test threshold in metres (see `warp_pixels_rgbd`).
        depth_rel_thresh: relative occlusion threshold (fraction of depth).

    Returns:
        The record dict of torch tensors (and ``name``).

    """
    S = int(size)
    h0, w0 = view0.depth.shape
    h1, w1 = view1.depth.shape
    ox, oy = _crop_offset(h0, w0, S)
    image0 = np.ascontiguousarray(view0.image[oy:oy + S, ox:ox + S], np.float32)
    depth0 = np.ascontiguousarray(view0.depth[oy:oy + S, ox:ox + S], np.float32)
    K0 = np.asarray(view0.K, np.float64).copy()
    K0[0, 2] -= ox
    K0[1, 2] -= oy
    K1_raw = np.asarray(view1.K, np.float64)

    ox1, oy1 = _crop_offset(h1, w1, S)
    center = np.array([(S - 1) / 2.0, (S - 1) / 2.0])
    A = similarity(angle1, scale1, center + (ox1, oy1), center)
    image1 = cv2.warpAffine(np.asarray(view1.image, np.float32), A[:2], (S, S),
                            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=0.0)
    grid = pixel_grid(S, S)
    uv1_raw = apply_affine(np.linalg.inv(A), grid)
    # Nearest resampling of depth through the same sampler the warp uses, so depth1 and the
    # reverse warp agree pixel for pixel (what cv2.warpAffine INTER_NEAREST does, up to ties).
    depth1 = np.nan_to_num(sample_depth(view1.depth, uv1_raw, 'nearest'), nan=0.0)
    depth1 = depth1.reshape(S, S).astype(np.float32)

    T_phys = relative_pose(np.asarray(view0.T_world_cam, np.float64),
                           np.asarray(view1.T_world_cam, np.float64))
    kw = {'depth_thresh': depth_thresh, 'depth_rel_thresh': depth_rel_thresh}
    fwd = warp_pixels_rgbd(grid, depth0, K0, T_phys, K1_raw, (h1, w1), view1.depth, **kw)
    # Rounding to 1e-6 px removes float noise that would push exact border pixels outside.
    xy01 = np.round(apply_affine(A, fwd.uv1), 6)
    vis01 = (fwd.valid_depth0 & fwd.in_front & fwd.unoccluded & in_image(xy01, (S, S))
             & np.isfinite(sample_depth(depth1, xy01, 'nearest')))
    bwd = warp_pixels_rgbd(uv1_raw, view1.depth, K1_raw, invert_pose(T_phys), K0, (S, S),
                           depth0, **kw)
    xy10 = np.round(bwd.uv1, 6)
    vis10 = bwd.valid_depth0 & bwd.in_front & bwd.unoccluded & in_image(xy10, (S, S))

    focal_ratio = K1_raw[0, 0] / K0[0, 0] * scale1
    with np.errstate(divide='ignore', invalid='ignore'):
        s01 = focal_ratio * depth0.ravel() / fwd.z1
        s10 = depth1.ravel() / (focal_ratio * bwd.z1)
    angle = float(wrap_angle(inplane_rotation(T_phys[:3, :3]) + angle1))
    K1, roll = _augmented_intrinsics(K1_raw, A, angle1, scale1)
    arrays = {
        'image0': image0, 'image1': image1, 'depth0': depth0, 'depth1': depth1,
        'K0': K0, 'K1': K1, 'T_0to1': roll @ T_phys,
        'xy_0to1': xy01.reshape(S, S, 2), 'vis_0to1': vis01.reshape(S, S),
        'xy_1to0': xy10.reshape(S, S, 2), 'vis_1to0': vis10.reshape(S, S),
        'angle_0to1': np.full((S, S), angle), 'angle_1to0': np.full((S, S), -angle),
        'scale_0to1': np.where(vis01, s01, 1.0).reshape(S, S),
        'scale_1to0': np.where(vis10, s10, 1.0).reshape(S, S),
    }
    return pack_record(arrays, name)


def pack_record(arrays: Dict[str, np.ndarray], name: str) -> Dict[str, object]:
    """Convert numpy record arrays to the record's torch tensors, dtypes and fill values."""
    out: Dict[str, object] = {}
    for key in RECORD_KEYS[:-1]:
        value = np.asarray(arrays[key])
        if key.startswith('vis'):
            out[key] = torch.from_numpy(np.ascontiguousarray(value, dtype=bool))
            continue
        value = value.astype(np.float64)
        if key.startswith('xy'):
            value = np.where(np.isfinite(value), np.clip(value, INVALID_XY, -INVALID_XY),
                             INVALID_XY)
        elif key.startswith('angle'):
            value = wrap_angle(np.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0))
        elif key.startswith('scale'):
            value = np.where(np.isfinite(value) & (value > 0), value, 1.0)
        else:
            value = np.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0)
        if key.startswith('image'):
            value = value[None]
        out[key] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    out['name'] = str(name)
    return out
