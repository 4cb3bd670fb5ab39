# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Bilinear resize with TF1's legacy mapping, written as row gathers so every runtime agrees.

TF1 `tf.image.resize_images(align_corners=False)` maps output pixel i to input coordinate
i * in / out (no half-pixel offset), which PyTorch's `interpolate` does not offer
(lfnet-reference.md §1.11). Writing it as gathers plus a lerp keeps the release's mapping and
makes ONNX Runtime agree with PyTorch to float32 rounding; ONNX `Resize` differed by up to 7e-5
on score maps. Gathers run along rows only (the width pass works on the transposed map):
ONNX Runtime's gather along the last axis was 10x slower.
"""

import torch

_FIXED_POINT_BITS = 40  # exact int(size / s + 0.5) for sides up to 8192 (tested to 4096)


def scaled_size(size: int, factor: float) -> int:
    """round(size / factor) in integer arithmetic, so it stays symbolic under torch.export."""
    multiplier = int(round((1 << _FIXED_POINT_BITS) / factor))
    return (size * multiplier + (1 << (_FIXED_POINT_BITS - 1))) // (1 << _FIXED_POINT_BITS)


def resize_rows(x: torch.Tensor, out_size: int) -> torch.Tensor:
    """Resize axis 2 of a (B, C, H, W) tensor to out_size rows."""
    in_size = x.shape[2]
    source = torch.arange(out_size, device=x.device).to(x.dtype) * (in_size / out_size)
    lower = source.floor()
    weight = (source - lower).view(1, 1, -1, 1)
    index0 = lower.long()
    index1 = torch.clamp(index0 + 1, max=in_size - 1)
    values0 = x.index_select(2, index0)
    values1 = x.index_select(2, index1)
    return values0 + (values1 - values0) * weight


def resize_bilinear(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize (B, C, H, W) to (B, C, height, width) with TF1's legacy bilinear mapping."""
    x = resize_rows(x, height)
    return resize_rows(x.transpose(2, 3), width).transpose(2, 3)
