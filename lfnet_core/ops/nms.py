# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Scale-space soft NMS, soft scale merge, strict hard NMS and border masks.

Follows `det_tools.soft_nms_3d` and `soft_max_and_argmax_1d` of vcg-uvic/lf-net-release
(docs/network.md, "Soft NMS and scale merge" and "Keypoint selection and refinement"). Every
operation here exports to ONNX with dynamic H and W.
"""

from typing import Sequence, Tuple

import torch
import torch.nn.functional as F


def _box_max(x: torch.Tensor, ksize: int) -> torch.Tensor:
    """Separable ksize x ksize max filter, stride 1, padded cells ignored."""
    pad = ksize // 2
    x = F.max_pool2d(x, (1, ksize), stride=1, padding=(0, pad))
    return F.max_pool2d(x, (ksize, 1), stride=1, padding=(pad, 0))


def _box_sum(x: torch.Tensor, ksize: int) -> torch.Tensor:
    """Separable ksize x ksize box sum, stride 1, zero padding."""
    pad = ksize // 2
    x = F.avg_pool2d(x, (1, ksize), stride=1, padding=(0, pad), count_include_pad=True)
    x = F.avg_pool2d(x, (ksize, 1), stride=1, padding=(pad, 0), count_include_pad=True)
    return x * float(ksize * ksize)


def soft_nms_3d(logits: torch.Tensor, ksize: int = 15, strength: float = 3.0) -> torch.Tensor:
    """Soft non-maximum suppression over a (scale x ksize x ksize) window.

    `M = maxpool3d(L)`, `E = exp(strength * (L - M))`, `P = E / (boxsum3d(E) + 1e-6)`, where the
    window spans all scales, so M and the box sum are one value per pixel. The 3D max and box sum
    are computed as a max/sum over scales followed by separable 2D filters, which is exact.

    Args:
        logits: (B, S, H, W) per-scale score logits.
        ksize: spatial window size (odd).
        strength: exponent strength (`com_strength`).

    Returns:
        (B, S, H, W) soft-NMS responses in [0, 1].

    """
    window_max = _box_max(logits.amax(dim=1, keepdim=True), ksize)
    exp = torch.exp(strength * (logits - window_max))
    window_sum = _box_sum(exp.sum(dim=1, keepdim=True), ksize)
    return exp / (window_sum + 1e-6)


def soft_merge_scales(responses: torch.Tensor, scales: Sequence[float],
                      strength: float = 100.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Soft max and soft argmax over the scale axis.

    Args:
        responses: (B, S, H, W) soft-NMS responses.
        scales: the S scale factors.
        strength: softmax strength (`score_com_strength`, `scale_com_strength`).

    Returns:
        score (B, 1, H, W) in [0, 1] and scale (B, 1, H, W) in [min(scales), max(scales)].

    """
    # softmax over the scale axis, written out: ONNX Runtime's Softmax on a non-last axis
    # transposes the whole map (52 ms of a 612 ms dense pass at 640x480).
    logits = strength * responses
    exp = torch.exp(logits - logits.amax(dim=1, keepdim=True))
    weights = exp / exp.sum(dim=1, keepdim=True)
    score = (responses * weights).sum(dim=1, keepdim=True)
    factors = torch.tensor(list(scales), dtype=responses.dtype, device=responses.device)
    scale = (weights * factors.view(1, -1, 1, 1)).sum(dim=1, keepdim=True)
    return score, scale


def border_mask(like: torch.Tensor, border: int) -> torch.Tensor:
    """Return a (1, 1, H, W) mask of `like`'s dtype: 1 inside, 0 within `border` px of an edge."""
    height, width = like.shape[-2], like.shape[-1]
    rows = torch.arange(height, device=like.device)
    cols = torch.arange(width, device=like.device)
    inside_rows = (rows >= border) & (rows < height - border)
    inside_cols = (cols >= border) & (cols < width - border)
    mask = inside_rows.view(-1, 1) & inside_cols.view(1, -1)
    return mask.to(like.dtype).view(1, 1, height, width)


def strict_nms_mask(score: torch.Tensor, ksize: int = 5, thresh: float = 0.0) -> torch.Tensor:
    """Mask of pixels strictly greater than all their ksize x ksize neighbours and than thresh.

    Out-of-image neighbours count as 0 (zero padding), as in the release.

    Args:
        score: (B, 1, H, W) score map.
        ksize: window size (odd).
        thresh: minimum score (`nms_thresh`).

    Returns:
        (B, 1, H, W) boolean mask.

    """
    pad = ksize // 2
    padded = F.pad(score, (pad, pad, pad, pad))
    height, width = score.shape[-2], score.shape[-1]
    # Rows other than the centre row: full ksize-wide row maxima, shifted vertically.
    row_max = F.max_pool2d(padded, (1, ksize), stride=1)  # (B, 1, H + 2 pad, W)
    neighbour_max = None
    for dy in range(ksize):
        if dy == pad:
            continue
        shifted = row_max[:, :, dy:dy + height, :]
        neighbour_max = shifted if neighbour_max is None else torch.maximum(neighbour_max, shifted)
    # The centre row: the ksize - 1 horizontal neighbours.
    centre_row = padded[:, :, pad:pad + height, :]
    for dx in range(ksize):
        if dx == pad:
            continue
        neighbour_max = torch.maximum(neighbour_max, centre_row[:, :, :, dx:dx + width])
    return (score > neighbour_max) & (score > thresh)
