# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Descriptor growth options: residual blocks and stacked patch scales (`DescriptorConfig`)."""

from dataclasses import replace
from typing import Tuple

import pytest
import skimage.data
import torch
from torch import nn

from lfnet_core.config import DescriptorConfig, LFNetConfig
from lfnet_core.export import (check_parity, config_for_metadata, export_onnx, model_fingerprint,
                               parity_images)
from lfnet_core.model.descriptor import stacked_patches, widen_first_convolution
from lfnet_core.model.lfnet import LFNet
from lfnet_core.ops.sampling import extract_patches
from model_helpers import randomised_model

BLOCKS = (0, 1, 0)


def with_blocks(model: LFNet, blocks: Tuple[int, ...] = BLOCKS) -> LFNet:
    """Return `model`'s weights in a model with descriptor residual blocks, as they start."""
    config = replace(model.config, descriptor=replace(model.config.descriptor,
                                                      residual_blocks=blocks))
    grown = LFNet(config)
    result = grown.load_state_dict(model.state_dict(), strict=False)
    assert not result.unexpected_keys
    assert result.missing_keys and all(key.startswith('descriptor.blocks.1.0.')
                                       for key in result.missing_keys)
    return grown.eval()


@pytest.mark.parametrize('blocks', [(1,), (0, 1, 0, 0), (0, -1, 0), (0, 1.0, 0), (0, 5, 0),
                                    [0, 1, 0], (0, True, 0)])
def test_residual_blocks_need_one_small_count_per_strided_convolution(blocks):
    with pytest.raises(ValueError, match='residual_blocks'):
        DescriptorConfig(residual_blocks=blocks)


def test_no_blocks_has_one_spelling():
    assert DescriptorConfig(residual_blocks=(0, 0, 0)) == DescriptorConfig()


def test_residual_blocks_round_trip_through_the_checkpoint_dict():
    config = LFNetConfig(descriptor=DescriptorConfig(residual_blocks=(0, 2, 1)))
    assert LFNetConfig.from_dict(config.to_dict()) == config
    model = LFNet(config)
    assert len(model.descriptor.blocks[1]) == 2 and len(model.descriptor.blocks[2]) == 1
    assert not list(model.descriptor.blocks[0].parameters())


@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_a_new_block_starts_as_the_identity(mode):
    model = randomised_model(0)
    grown = with_blocks(model)
    patches = torch.randn(16, 1, 32, 32)
    getattr(model.descriptor, mode)()
    getattr(grown.descriptor, mode)()
    torch.testing.assert_close(grown.descriptor(patches), model.descriptor(patches),
                               rtol=0, atol=1e-6)


def test_a_new_block_learns():
    grown = with_blocks(randomised_model(0))
    grown.descriptor.train()
    descriptors = grown.descriptor(torch.randn(16, 1, 32, 32))
    (descriptors[:8] * descriptors[8:]).sum().backward()
    block = grown.descriptor.blocks[1][0]
    assert block.bn2.weight.grad.abs().max() > 0  # so the block does not stay the identity
    optimiser = torch.optim.SGD(grown.descriptor.parameters(), lr=0.1)
    optimiser.step()
    optimiser.zero_grad()
    descriptors = grown.descriptor(torch.randn(16, 1, 32, 32))
    (descriptors[:8] * descriptors[8:]).sum().backward()
    assert block.conv1.weight.grad.abs().max() > 0  # once moved, the whole block trains


def test_blocks_export_with_parity_and_their_own_fingerprint(tmp_path):
    model = randomised_model(0)
    grown = with_blocks(model)
    assert model_fingerprint(grown) != model_fingerprint(model)
    with torch.no_grad():  # a trained block: not the identity
        for module in grown.descriptor.blocks.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.running_var.uniform_(0.5, 1.5)
    check_parity(grown, export_onnx(grown, tmp_path / 'onnx'), parity_images(), top_k=200)
    assert config_for_metadata(grown)['descriptor']['residual_blocks'] == BLOCKS
    # none is the neutral value: exports made before the option keep their metadata
    assert 'residual_blocks' not in config_for_metadata(model)['descriptor']


STACK = (0.7071, 1.4142)


def with_stack(model: LFNet, stack: Tuple[float, ...] = STACK) -> LFNet:
    """Return `model`'s weights in a model with stacked patch scales, the new channels at 0."""
    config = replace(model.config, descriptor=replace(model.config.descriptor,
                                                      stack_scales=stack))
    grown = LFNet(config)
    state = widen_first_convolution(model.state_dict(), grown)
    assert state['descriptor.convs.1.weight'].shape[1] == 1 + len(stack)
    grown.load_state_dict(state)
    assert widen_first_convolution(state, grown) is state  # nothing left to widen
    return grown.eval()


@pytest.mark.parametrize('stack', [[0.7], (0.0,), (-1.0,), (float('inf'),), (True,),
                                   (1.0, 1.0, 1.0, 1.0, 1.0)])
def test_stack_scales_need_up_to_four_finite_positive_factors(stack):
    with pytest.raises(ValueError, match='stack_scales'):
        DescriptorConfig(stack_scales=stack)


def test_stacked_patches_are_the_patches_at_each_scale_in_order():
    config = DescriptorConfig(stack_scales=STACK)
    assert LFNetConfig.from_dict(LFNetConfig(descriptor=config).to_dict()).descriptor == config
    torch.manual_seed(0)
    image = torch.rand(2, 1, 40, 50)
    keypoints = torch.rand(2, 5, 2) * 30 + 5
    scales = torch.rand(2, 5) + 0.5
    orientations = torch.nn.functional.normalize(torch.randn(2, 5, 2), dim=-1)
    patches = stacked_patches(image, keypoints, scales, orientations, config)
    assert patches.shape == (2, 5, 3, 32, 32)
    for channel, factor in enumerate((1.0,) + STACK):
        torch.testing.assert_close(
            patches[:, :, channel],
            extract_patches(image, keypoints, scales * factor, orientations, 32))


def test_new_patch_channels_at_zero_describe_as_before_and_export_with_parity(tmp_path):
    model = randomised_model(0)
    grown = with_stack(model)
    image = skimage.data.camera()[::2, ::2]
    before, after = model.extract(image, 100), grown.extract(image, 100)
    torch.testing.assert_close(torch.from_numpy(after['descriptors']),
                               torch.from_numpy(before['descriptors']), rtol=0, atol=1e-6)
    with torch.no_grad():  # trained channels: the larger and smaller patches count
        grown.descriptor.convs[1].weight[:, 1:].normal_(0.0, 0.2)
    assert model_fingerprint(grown) != model_fingerprint(model)
    check_parity(grown, export_onnx(grown, tmp_path / 'onnx'), parity_images(), top_k=200)
    assert config_for_metadata(grown)['descriptor']['stack_scales'] == STACK
    assert 'stack_scales' not in config_for_metadata(model)['descriptor']
