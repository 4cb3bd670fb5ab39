# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Domain-size pooling of the descriptor (`DescriptorConfig.pool_scales`)."""

from dataclasses import replace

import numpy as np
import pytest
import skimage.data
import torch

from lfnet_core.config import DescriptorConfig, LFNetConfig
from lfnet_core.export import (check_parity, config_for_metadata, export_onnx, model_fingerprint,
                               parity_images)
from lfnet_core.inference.base import prepare_image
from lfnet_core.model.lfnet import DEFAULT_WEIGHTS, LFNet
from lfnet_core.ops.sampling import extract_patches
from model_helpers import randomised_model

POOL = (2 ** -0.5, 1.0, 2 ** 0.5)


def pooled(model: LFNet, pool_scales=POOL) -> LFNet:
    """Return the same weights with another `pool_scales`."""
    config = replace(model.config, descriptor=replace(model.config.descriptor,
                                                      pool_scales=pool_scales))
    other = LFNet(config)
    other.load_state_dict(model.state_dict())
    return other.eval()


def dense_and_keypoints(model: LFNet, image: np.ndarray, count: int = 64):
    batch = torch.from_numpy(prepare_image(image))[None, None]
    with torch.no_grad():
        score, scale, orientation, peaks = model.dense(batch)
    order = peaks.flatten().argsort(descending=True)[:count]
    width = peaks.shape[-1]
    keypoints_int = torch.stack([order % width, order // width], dim=-1)[None]
    return batch, score, scale, orientation, keypoints_int


@pytest.mark.parametrize('pool_scales', [(), (0.0,), (1.0, -2.0), (float('inf'),), [1.0],
                                         (1.0,) * 9])
def test_bad_pool_scales_are_refused(pool_scales):
    with pytest.raises(ValueError, match='pool_scales'):
        DescriptorConfig(pool_scales=pool_scales)


def test_pool_scales_round_trip_through_a_dict():
    config = LFNetConfig(descriptor=DescriptorConfig(pool_scales=POOL))
    assert LFNetConfig.from_dict(config.to_dict()) == config
    assert LFNetConfig.from_dict({'descriptor': {'pool_scales': [1.0, 2.0]}}
                                 ).descriptor.pool_scales == (1.0, 2.0)


def test_the_pooled_descriptor_is_the_normalised_sum_over_the_scales():
    model = randomised_model(3, scale_source='dog')
    inputs = dense_and_keypoints(model, skimage.data.camera()[::2, ::2])
    with torch.no_grad():
        keypoints, scales, orientations, single = model.describe(*inputs)
        normalized = model.normalize_input(inputs[0])
        side = model.config.descriptor.patch_size
        patches = extract_patches(normalized, keypoints, scales, orientations, side)
        assert torch.equal(single, model.describe_patches(patches))
        _, scales_pooled, _, descriptors = pooled(model).describe(*inputs)
        total = sum(model.describe_patches(extract_patches(normalized, keypoints, scales * factor,
                                                           orientations, side))
                    for factor in POOL)
    assert torch.equal(scales_pooled, scales)  # pooling changes the descriptor only
    expected = total / total.norm(dim=-1, keepdim=True)
    assert torch.allclose(descriptors, expected, atol=1e-6)
    assert torch.allclose(descriptors.norm(dim=-1), torch.ones(1), atol=1e-5)
    assert (descriptors - single).norm(dim=-1).min() > 1e-3


@pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(), reason='no shipped weights')
def test_pooling_brings_the_descriptors_of_a_wrongly_sized_patch_closer():
    """A keypoint described at 1.3x its scale: pooled descriptors move less than single ones."""
    model = LFNet.from_pretrained(DEFAULT_WEIGHTS).eval()
    inputs = dense_and_keypoints(model, skimage.data.astronaut()[::2, ::2].mean(-1) / 255, 200)
    image, score, scale, orientation, keypoints_int = inputs
    moved = []
    for variant in (model, pooled(model)):
        with torch.no_grad():
            true = variant.describe(*inputs)[3]
            wrong = variant.describe(image, score, scale * 1.3, orientation, keypoints_int)[3]
        moved.append(float((true - wrong).norm(dim=-1).median()))
    assert moved[1] < 0.8 * moved[0]


def test_pooled_model_exports_with_parity(tmp_path):
    model = pooled(randomised_model(4, scale_source='dog'))
    paths = export_onnx(model, tmp_path / 'onnx')
    check_parity(model, paths, parity_images()[:2], top_k=200)


def test_one_pool_scale_leaves_fingerprint_and_metadata_as_before_the_option():
    model = randomised_model(5)
    assert 'pool_scales' not in config_for_metadata(model)['descriptor']
    assert LFNetConfig.from_dict(config_for_metadata(model)) == model.config
    other = pooled(model)
    assert config_for_metadata(other)['descriptor']['pool_scales'] == POOL
    assert model_fingerprint(other) != model_fingerprint(model)
