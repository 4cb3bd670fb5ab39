# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Eval-mode BatchNorms before a LeakyReLU, exported as depthwise 1x1 convolutions.

The detector is a pre-activation ResNet: each block, and the feature head, starts with
BatchNorm -> LeakyReLU -> conv on the residual sum, so that BatchNorm cannot be folded into a
convolution before it. ONNX Runtime's CPU provider turns such a BatchNormalization into a
depthwise convolution in its blocked (NCHWc) layout only after its Conv + activation fusion
has run, and its layout pass does not take LeakyReLU: each of the four left the blocked layout
and came back (ReorderOutput, LeakyRelu, ReorderInput on a 16-channel full-size map). Exported
as a depthwise 1x1 Conv in the first place, the BatchNorm is fused with its LeakyReLU into one
blocked convolution (the dense graph ran 1.08x faster at 640x480 and 1.05x at 320x240,
cabinet frames in turn with the previous export).

The per-channel map is the same, x * scale + shift with scale = gamma / sqrt(var + eps) and
shift = beta - mean * scale, which is also how ONNX Runtime computes BatchNormalization.
"""

import copy

import torch
from torch import nn


class DepthwiseAffine(nn.Module):
    """An eval-mode `BatchNorm2d` as a depthwise 1x1 convolution with the same output."""

    def __init__(self, batchnorm: nn.BatchNorm2d) -> None:
        super().__init__()
        channels = batchnorm.num_features
        with torch.no_grad():
            scale = batchnorm.weight / torch.sqrt(batchnorm.running_var + batchnorm.eps)
            shift = batchnorm.bias - batchnorm.running_mean * scale
            self.conv = nn.Conv2d(channels, channels, 1, groups=channels, dtype=scale.dtype,
                                  device=scale.device)
            self.conv.weight.copy_(scale.view(channels, 1, 1, 1))
            self.conv.bias.copy_(shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def with_depthwise_preactivation_batchnorms(model: nn.Module) -> nn.Module:
    """Return a copy of an eval-mode LFNet with its pre-activation BatchNorms as convolutions.

    Each residual block's first BatchNorm and the feature head's (`fin_bn`) become
    `DepthwiseAffine` modules. The BatchNorms that follow a convolution stay: ONNX Runtime
    folds those into it. The model passed in is not changed.
    """
    if model.detector.training:
        raise ValueError('fold BatchNorms of an eval-mode model only (running statistics)')
    folded = copy.deepcopy(model).eval()
    detector = folded.detector
    for block in detector.blocks:
        block.bn1 = DepthwiseAffine(block.bn1)
    detector.fin_bn = DepthwiseAffine(detector.fin_bn)
    return folded
