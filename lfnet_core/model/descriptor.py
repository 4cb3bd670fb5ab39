# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""LF-Net patch descriptor: 32x32 patch to a 256-d unit vector.

Port of `models/simple_desc.py` of vcg-uvic/lf-net-release (docs/network.md, "Descriptor").
"""

from typing import Dict, Sequence, Tuple

import torch
from torch import nn
import torch.nn.functional as F

from lfnet_core.config import DescriptorConfig
from lfnet_core.ops.sampling import extract_patches


def unit_length(descriptors: torch.Tensor) -> torch.Tensor:
    """Return `descriptors` scaled to unit L2 norm along the last axis (1e-12 keeps 0 finite)."""
    return descriptors / torch.sqrt((descriptors * descriptors).sum(dim=-1, keepdim=True) + 1e-12)


def pool_descriptors(per_factor: Sequence[torch.Tensor]) -> torch.Tensor:
    """Return the unit sum of the unit descriptors of each pooling factor (one: itself)."""
    if len(per_factor) == 1:
        return per_factor[0]
    return unit_length(sum(per_factor[1:], per_factor[0]))


def patch_factors(config: DescriptorConfig) -> Tuple[float, ...]:
    """Scale factors of the patches stacked as the descriptor's input channels, in order."""
    return (1.0,) + tuple(float(f) for f in config.stack_scales)


def stacked_patches(image: torch.Tensor, keypoints: torch.Tensor, scales: torch.Tensor,
                    orientations: torch.Tensor, config: DescriptorConfig) -> torch.Tensor:
    """Return (B, N, C, P, P) patches at the scales times each of `patch_factors(config)`.

    `image` is the normalised (B, 1, H, W) image; C is 1 without `config.stack_scales`.
    """
    side = config.patch_size
    channels = [extract_patches(image, keypoints, scales if f == 1.0 else scales * f,
                                orientations, side)
                for f in patch_factors(config)]
    # one channel (the release): a view, so the describe graph gains no copy
    return channels[0].unsqueeze(2) if len(channels) == 1 else torch.stack(channels, dim=2)


def widen_first_convolution(state: Dict[str, torch.Tensor], model: nn.Module
                            ) -> Dict[str, torch.Tensor]:
    """Return an LFNet `state` dict whose descriptor takes `model`'s stacked patch channels.

    Where `model`'s first descriptor convolution has more input channels than the state's
    (`DescriptorConfig.stack_scales`), the new channels get zero weights, so `model` describes
    as the state does; otherwise `state` is returned unchanged.
    """
    key = 'descriptor.convs.1.weight'
    ours, theirs = model.state_dict()[key], state[key]
    if theirs.shape[1] >= ours.shape[1] or theirs.shape[0] != ours.shape[0]:
        return state
    widened = torch.zeros_like(ours)
    widened[:, :theirs.shape[1]] = theirs
    return {**state, key: widened}


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions (BN; ReLU between), added to the input, then ReLU.

    The last BatchNorm's scale starts at 0, so a new block is the identity on the non-negative
    features it follows (in training and in evaluation mode) until training moves it.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)
        nn.init.zeros_(self.bn2.weight)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return ReLU(features + bn2(conv2(ReLU(bn1(conv1(features))))))."""
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(features)))))
        return F.relu(features + residual)


class DescriptorNet(nn.Module):
    """Three 3x3 stride-2 convs (BN, ReLU), FC 512 (BN, ReLU), FC 256, L2 normalisation.

    The strided convolutions pad like TF's "SAME" (0 before, 1 after), as the release does.
    About 2.6M parameters with the release's defaults. `config.residual_blocks` (not in the
    release) adds residual blocks after the strided convolutions; they are kept apart from
    `convs` so that the release's parameter names stay as they are. `config.stack_scales`
    (not in the release) adds input channels: patches of other sizes around the keypoint.
    """

    def __init__(self, config: DescriptorConfig = DescriptorConfig()) -> None:
        super().__init__()
        self.config = config
        layers = []
        in_ch = len(patch_factors(config))
        for out_ch in config.conv_channels:
            layers += [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(in_ch, out_ch, 3, stride=2),
                       nn.BatchNorm2d(out_ch, eps=1e-5, momentum=0.1), nn.ReLU()]
            in_ch = out_ch
        self.convs = nn.Sequential(*layers)
        counts = config.residual_blocks or (0,) * len(config.conv_channels)
        self.blocks = nn.ModuleList(
            nn.Sequential(*(ResidualBlock(channels) for _ in range(count)))
            for channels, count in zip(config.conv_channels, counts))
        side = config.patch_size // (2 ** len(config.conv_channels))
        self.fc1 = nn.Linear(in_ch * side * side, config.fc_dim)
        self.fc1_bn = nn.BatchNorm1d(config.fc_dim, eps=1e-5, momentum=0.1)
        self.fc2 = nn.Linear(config.fc_dim, config.descriptor_dim)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """Describe patches.

        Args:
            patches: (N, C, P, P) patches (P = patch_size, C = len(patch_factors)).

        Returns:
            (N, D) unit-length descriptors.

        """
        x = patches
        for stage, blocks in enumerate(self.blocks):
            x = blocks(self.convs[4 * stage:4 * stage + 4](x))
        x = x.flatten(1)
        x = self.fc2(F.relu(self.fc1_bn(self.fc1(x))))
        return unit_length(x)
