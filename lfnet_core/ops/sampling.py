# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Bilinear spatial-transformer sampling: oriented, scaled patches and soft-argmax refinement.

Follows `spatial_transformer.transformer_crop` of vcg-uvic/lf-net-release (docs/network.md,
"Keypoint selection and refinement" and "Patch sampling"). Pixel centres sit at integer
coordinates; samples outside the image are clamped to it.
"""

import torch
import torch.nn.functional as F


def unit_grid(size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Regular size x size grid on [-1, 1]^2 as (size * size, 2) (x, y), row-major (y outer)."""
    ticks = torch.linspace(-1.0, 1.0, size, dtype=dtype, device=device)
    grid_y, grid_x = torch.meshgrid(ticks, ticks, indexing='ij')
    return torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=-1)


def sample_bilinear(image: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Sample `image` bilinearly at pixel coordinates, clamping to the image.

    Args:
        image: (B, C, H, W).
        xy: (B, N, P, 2) pixel coordinates (x, y), pixel centres at integers.

    Returns:
        (B, C, N, P) samples; differentiable with respect to image and xy.

    """
    height, width = image.shape[-2], image.shape[-1]
    grid_x = xy[..., 0] * (2.0 / (width - 1.0)) - 1.0
    grid_y = xy[..., 1] * (2.0 / (height - 1.0)) - 1.0
    grid = torch.stack([grid_x, grid_y], dim=-1)
    return F.grid_sample(image, grid, mode='bilinear', padding_mode='border', align_corners=True)


def gather_at(maps: torch.Tensor, keypoints_int: torch.Tensor) -> torch.Tensor:
    """Read per-pixel maps at integer keypoints.

    Args:
        maps: (B, C, H, W).
        keypoints_int: (B, N, 2) integer (x, y) pixel positions inside the image.

    Returns:
        (B, N, C) values.

    """
    batch, channels, _, width = maps.shape
    index = keypoints_int[..., 1] * width + keypoints_int[..., 0]  # (B, N)
    index = index.unsqueeze(1).expand(batch, channels, index.shape[1])
    return maps.flatten(2).gather(2, index).transpose(1, 2)


def extract_patches(image: torch.Tensor, keypoints: torch.Tensor, scales: torch.Tensor,
                    orientations: torch.Tensor, patch_size: int = 32) -> torch.Tensor:
    """Crop oriented, scaled square patches with a spatial transformer.

    The unit grid is transformed by diag(s, s) R(theta), multiplied by patch_size / 2 and added to
    the keypoint, so a patch spans patch_size * s pixels, rotated by theta (counter-clockwise in
    a y-down image means from +x towards +y).

    Args:
        image: (B, 1, H, W) source image.
        keypoints: (B, N, 2) float pixel positions (x, y).
        scales: (B, N) scale factors s.
        orientations: (B, N, 2) unit (cos theta, sin theta).
        patch_size: output side in samples.

    Returns:
        (B, N, patch_size, patch_size) patches.

    """
    grid = unit_grid(patch_size, keypoints.dtype, keypoints.device)  # (P, 2)
    cos, sin = orientations[..., 0:1], orientations[..., 1:2]  # (B, N, 1)
    radius = scales.unsqueeze(-1) * (patch_size / 2.0)  # (B, N, 1)
    gx, gy = grid[:, 0], grid[:, 1]  # (P,)
    x = keypoints[..., 0:1] + radius * (cos * gx - sin * gy)  # (B, N, P)
    y = keypoints[..., 1:2] + radius * (sin * gx + cos * gy)
    samples = sample_bilinear(image, torch.stack([x, y], dim=-1))  # (B, 1, N, P)
    batch, count = keypoints.shape[0], keypoints.shape[1]
    return samples.reshape(batch, count, patch_size, patch_size)


def soft_argmax_refine(score: torch.Tensor, keypoints_int: torch.Tensor, scales: torch.Tensor,
                       window: int = 9, strength: float = 1.0) -> torch.Tensor:
    """Sub-pixel keypoints by a soft-argmax over a scaled window of the score map.

    A window x window crop of the score map, spanning +-window/2 * s pixels (not rotated), is
    turned into weights by softmax(strength * score); the expected grid offset in [-1, 1]^2 times
    s * window / 2 is added to the integer keypoint.

    Args:
        score: (B, 1, H, W) score map.
        keypoints_int: (B, N, 2) integer keypoints (x, y), any dtype.
        scales: (B, N) scale factors.
        window: crop size (`kp_loc_size`).
        strength: softmax strength (`kp_com_strength`).

    Returns:
        (B, N, 2) refined keypoints (x, y).

    """
    grid = unit_grid(window, score.dtype, score.device)  # (P, 2)
    centre = keypoints_int.to(score.dtype)
    radius = (scales * (window / 2.0)).unsqueeze(-1).unsqueeze(-1)  # (B, N, 1, 1)
    xy = centre.unsqueeze(2) + radius * grid  # (B, N, P, 2)
    samples = sample_bilinear(score, xy)[:, 0]  # (B, N, P)
    weights = torch.softmax(strength * samples, dim=-1)
    offset = torch.matmul(weights, grid)  # (B, N, 2)
    return centre + offset * radius.squeeze(-1)


def quadratic_refine(score: torch.Tensor, keypoints_int: torch.Tensor) -> torch.Tensor:
    """Sub-pixel keypoints by a parabola through the peak and its two neighbours on each axis.

    As SIFT refines its extrema: the offset on an axis is (l - r) / (2 (l - 2c + r)) for the
    score c at the peak and l, r either side, clamped to [-0.5, 0.5]; 0 where the three are
    not concave or a neighbour lies outside the map. Keypoints outside the map are moved onto
    its edge first. (At inference keypoints lie 16 px inside; training also refines padding
    keypoints, which can sit on any pixel when there are fewer peaks than K.)

    Args:
        score: (B, 1, H, W) score map.
        keypoints_int: (B, N, 2) integer keypoints (x, y), int64.

    Returns:
        (B, N, 2) refined keypoints (x, y).

    """
    height, width = score.shape[-2:]
    upper = torch.tensor([width - 1, height - 1], device=keypoints_int.device)
    keypoints_int = torch.minimum(keypoints_int.clamp(min=0), upper)
    centre = gather_at(score, keypoints_int)[..., 0]
    offsets = []
    for axis in (0, 1):
        step = torch.zeros_like(keypoints_int)
        step[..., axis] = 1
        before = gather_at(score, torch.minimum((keypoints_int - step).clamp(min=0), upper))
        after = gather_at(score, torch.minimum(keypoints_int + step, upper))
        before, after = before[..., 0], after[..., 0]
        inside = (keypoints_int[..., axis] > 0) & (keypoints_int[..., axis] < upper[axis])
        curvature = before - 2.0 * centre + after
        concave = (curvature < 0) & inside
        safe = torch.where(concave, curvature, torch.full_like(curvature, -1.0))
        offset = torch.where(concave, 0.5 * (before - after) / safe, torch.zeros_like(safe))
        offsets.append(offset.clamp(-0.5, 0.5))
    return keypoints_int.to(score.dtype) + torch.stack(offsets, dim=-1)
