# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Bilinear resize with TF1's legacy mapping, written as gathers so every runtime agrees.

TF1 `tf.image.resize_images(align_corners=False)` maps output pixel i to input coordinate
i * in / out (no half-pixel offset), which PyTorch's `interpolate` does not offer
(lfnet-reference.md §1.11). Writing it as index gathers plus a lerp also makes ONNX Runtime and
PyTorch agree to float32 rounding, which ONNX `Resize` does not (about 5e-5 relative here).
"""

import torch

_FIXED_POINT_BITS = 20


def scaled_size(size: int, factor: float) -> int:
    """round(size / factor) in integer arithmetic, so it stays symbolic under torch.export."""
    multiplier = int(round((1 << _FIXED_POINT_BITS) / factor))
    return (size * multiplier + (1 << (_FIXED_POINT_BITS - 1))) // (1 << _FIXED_POINT_BITS)


def _resize_axis(x: torch.Tensor, out_size: int, dim: int) -> torch.Tensor:
    in_size = x.shape[dim]
    source = torch.arange(out_size, device=x.device).to(x.dtype) * (in_size / out_size)
    lower = source.floor()
    weight = source - lower
    index0 = lower.long()
    index1 = torch.clamp(index0 + 1, max=in_size - 1)
    values0 = x.index_select(dim, index0)
    values1 = x.index_select(dim, index1)
    shape = [1] * x.dim()
    shape[dim] = -1
    return values0 + (values1 - values0) * weight.view(shape)


def resize_bilinear(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize (B, C, H, W) to (B, C, height, width) with TF1's legacy bilinear mapping."""
    return _resize_axis(_resize_axis(x, height, 2), width, 3)
