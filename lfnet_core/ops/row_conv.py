# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A k x k convolution with few output channels, computed as one 1 x k convolution + row sums.

The detector's score and orientation heads map 16 channels to 1 or 2 with a 5 x 5 kernel. CPU
convolution kernels pad the output channels to their vector width (8 in ONNX Runtime's NCHWc
layout), so these heads cost 8x their FLOPs: 197 ms of a 612 ms dense pass at 640x480 on 2
cores. Computing the kernel's k rows as k * C_out channels of a 1 x k convolution and summing
the k row outputs shifted by their row offset is the same convolution (same FLOPs, float
rounding aside) in a shape the kernels handle well: 18 ms instead of 120 ms for one head on a
905x679 map. Several heads reading the same input are computed by one call.
"""

from typing import Callable, List, Optional, Sequence

import torch
import torch.nn.functional as F


def conv2d_rows(x: torch.Tensor, weights: Sequence[torch.Tensor],
                biases: Sequence[torch.Tensor],
                row_resize: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
                transposed: bool = False) -> List[torch.Tensor]:
    """Apply several stride-1, 'same'-padded k x k convolutions to one input.

    Args:
        x: (B, C_in, H, W) input.
        weights: (C_out_i, C_in, k, k) kernels, all of one odd size k.
        biases: (C_out_i,) biases.
        row_resize: optional linear map along axis 2 (a resize of the rows), with `transposed`
            only. The result is then the convolution of ``row_resize(x)``: the 1 x k stage acts
            along the width only, so it commutes with a map of the rows, and running it first
            leaves k * C_out channels instead of C_in for the resize to touch.
        transposed: x is given as (B, C_in, W, H); the 1 x k stage then runs as k x 1 on it
            and only its k * C_out output channels are transposed back (not the C_in input).

    Returns:
        One (B, C_out_i, H', W) tensor per kernel (H' = H, or the resized height), equal to
        ``F.conv2d(row_resize(x), w, b, padding=k // 2)`` up to float rounding.

    """
    ksize = int(weights[0].shape[-1])
    if any(w.shape[-2:] != (ksize, ksize) for w in weights) or ksize % 2 == 0:
        raise ValueError('conv2d_rows needs square kernels of one odd size')
    weight = torch.cat(list(weights), dim=0)  # (C_out, C_in, k, k)
    out_channels, in_channels = weight.shape[0], weight.shape[1]
    pad = ksize // 2
    # Output channel dy * C_out + o holds row dy of kernel o.
    rows = weight.permute(2, 0, 1, 3).reshape(ksize * out_channels, in_channels, 1, ksize)
    if transposed:
        partial = F.conv2d(x, rows.transpose(2, 3), padding=(pad, 0)).transpose(2, 3)
        if row_resize is not None:
            partial = row_resize(partial)
        height = partial.shape[2]
        partial = F.pad(partial, (0, 0, pad, pad))  # (B, k * C_out, H' + 2 pad, W)
    elif row_resize is not None:
        raise ValueError('conv2d_rows: row_resize needs the transposed input layout')
    else:
        partial = F.conv2d(x, rows, padding=(pad, pad))  # (B, k * C_out, H + 2 pad, W)
        height = x.shape[2]
    out = partial[:, 0:out_channels, 0:height, :]
    for dy in range(1, ksize):
        out = out + partial[:, dy * out_channels:(dy + 1) * out_channels, dy:dy + height, :]
    out = out + torch.cat(list(biases)).view(1, -1, 1, 1)
    return list(torch.split(out, [int(w.shape[0]) for w in weights], dim=1))
