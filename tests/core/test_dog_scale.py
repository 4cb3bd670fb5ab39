# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The DoG characteristic scale: blob sizes, zoom covariance, intensity invariance, the model."""

from dataclasses import replace

import numpy as np
import pytest
from skimage import data
from skimage.transform import resize
import torch

from lfnet_core.config import DetectorConfig, LFNetConfig
from lfnet_core.model.lfnet import LFNet
from lfnet_core.ops.dog_scale import (cached_gaussian_kernel, characteristic_sigma,
                                      dog_responses, dog_scale_selection, dog_sigmas,
                                      gaussian_blur, level_log2_sigmas)


def _blob(sigma, size=96):
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    image = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
    return torch.from_numpy(image.astype(np.float32))[None, None]


def _centre(sigma_map):
    size = sigma_map.shape[-1]
    return float(sigma_map[0, 0, size // 2 - 1:size // 2 + 1, size // 2 - 1:size // 2 + 1]
                 .mean())


@pytest.mark.parametrize('blob_sigma', [2.0, 3.0, 5.0])
def test_a_gaussian_blobs_scale_is_its_size(blob_sigma):
    # The scale-normalised Laplacian of a Gaussian blob of std t peaks at sigma = t at its
    # centre; a sharp soft argmax (temperature 50) finds it.
    found = _centre(characteristic_sigma(_blob(blob_sigma), 1.0, 12, 3, temperature=50.0))
    assert found == pytest.approx(blob_sigma, rel=0.05)


def test_scale_follows_a_zoom():
    small, large = (_centre(characteristic_sigma(_blob(s), 1.0, 12, 3, temperature=50.0))
                    for s in (2.0, 4.0))
    assert large / small == pytest.approx(2.0, rel=0.05)
    # the default, softer argmax still orders them, less than proportionally
    small, large = (_centre(characteristic_sigma(_blob(s), 1.0, 12, 3)) for s in (2.0, 4.0))
    assert 1.2 < large / small < 2.0


def test_an_edge_falls_back_to_the_given_sigma():
    # d px from a straight edge |DoG| peaks at sigma = d: beyond the coarsest level (8 px) it
    # still grows there, so those pixels have no characteristic scale within the range
    edge = torch.zeros(1, 1, 64, 96)
    edge[..., 48:] = 1.0
    near = (slice(None), slice(None), slice(16, 48), slice(62, 67))  # 14-18 px away
    free = characteristic_sigma(edge, temperature=50.0)[near]
    held = characteristic_sigma(edge, temperature=50.0, fallback_sigma=1.5)[near]
    assert free.median() > 4.0
    assert (held - 1.5).abs().median() < 0.5


def test_the_coarsest_level_weighs_most_near_an_edge_and_least_on_a_blob():
    edge = torch.zeros(1, 1, 64, 96)
    edge[..., 48:] = 1.0
    edge_weight = dog_scale_selection(edge, fallback_sigma=1.5).coarsest
    blob_weight = dog_scale_selection(_blob(2.0), fallback_sigma=1.5).coarsest
    near_edge = edge_weight[..., 16:48, 62:67].median()
    blob_centre = _centre(blob_weight)
    assert near_edge > 0.3 and blob_centre < 0.1
    assert ((edge_weight >= 0) & (edge_weight <= 1)).all()


def test_affine_intensity_changes_leave_the_scale_unchanged():
    image = gaussian_blur(torch.rand(1, 1, 40, 56, generator=torch.Generator().manual_seed(0)),
                          1.5)
    image = (image - image.mean()) / image.std()  # unit variance, as the model's input
    base = characteristic_sigma(image)
    changed = characteristic_sigma(3.0 * image - 0.7)
    # float32 rounding may flip the peak level at a near-tie: allow a few pixels
    assert torch.isclose(base, changed, rtol=1e-3).float().mean() > 0.99


def _camera(shape):
    image = resize(data.camera().astype(np.float32), shape, anti_aliasing=True)
    return torch.from_numpy(((image - image.mean()) / image.std()).astype(np.float32))[None, None]


@pytest.mark.parametrize('shape', [(120, 160), (121, 161)])
def test_half_size_levels_agree_with_full_size_blurs(shape):
    # The first octave is exact; the half-size levels approximate full-size blurs closely enough
    # that the scale moves by well under a level (a third of an octave), odd sizes included.
    image = _camera(shape)
    sigmas = dog_sigmas(1.0, 9, 3)
    blurred = [gaussian_blur(image, sigma) for sigma in sigmas]
    full_size = torch.cat([(a - b).abs() for a, b in zip(blurred[:-1], blurred[1:])], 1)
    responses = dog_responses(image, sigmas)
    inner = (slice(None), slice(None), slice(16, -16), slice(16, -16))
    error = ((responses - full_size).abs()[inner].mean((0, 2, 3))
             / full_size[inner].mean((0, 2, 3)))
    assert error[:4].max() < 0.02  # blurred at the input size (cascade against direct)
    assert error[4:].max() < 0.08  # subsampled: a few % of aliasing and interpolation
    peak = full_size.amax(1, keepdim=True)
    weights = torch.softmax(2.0 * full_size / peak.clamp(min=1e-2), 1)
    log2_levels = torch.tensor([(i + 0.5) / 3 for i in range(9)]).view(1, -1, 1, 1)
    reference = (weights * log2_levels).sum(1, keepdim=True)
    change = (characteristic_sigma(image).log2() - reference).abs()[inner]
    assert change.mean() < 0.02 and change.max() < 1 / 3


def test_which_pixels_the_subsampling_keeps_barely_matters():
    # a one-pixel shift makes the subsampling keep the other pixels; away from the borders
    # (24 px: the coarsest blur's reach) the scale must stay nearly the same
    image = _camera((121, 161))
    sigma = characteristic_sigma(image[..., :-1, :-1])
    shifted = characteristic_sigma(image[..., 1:, 1:])
    change = (sigma[..., 1:, 1:].log2() - shifted[..., :-1, :-1].log2()).abs()
    assert change[..., 24:-24, 24:-24].mean() < 0.02


def test_a_tiny_peak_at_a_high_temperature_gives_a_finite_scale():
    for image in (torch.zeros(1, 1, 40, 48), 1e-6 * torch.rand(1, 1, 40, 48)):
        sigma = characteristic_sigma(image, temperature=500.0)
        assert torch.isfinite(sigma).all()


def test_kernels_first_built_in_inference_mode_still_serve_autograd():
    cached_gaussian_kernel.cache_clear()
    image = torch.rand(1, 1, 40, 48)
    with torch.inference_mode():
        expected = characteristic_sigma(image, sigma0=1.1)
    trainable = image.clone().requires_grad_(True)
    sigma = characteristic_sigma(trainable, sigma0=1.1)
    sigma.sum().backward()
    assert cached_gaussian_kernel.cache_info().hits > 0
    assert torch.allclose(sigma.detach(), expected)
    assert torch.isfinite(trainable.grad).all() and trainable.grad.abs().sum() > 0


def test_exporting_from_a_cold_cache_leaves_no_traced_tensors_in_it():
    class CharacteristicSigma(torch.nn.Module):
        def forward(self, image):
            return characteristic_sigma(image, sigma0=1.3)

    cached_gaussian_kernel.cache_clear()
    level_log2_sigmas.cache_clear()
    image = torch.rand(1, 1, 40, 48, generator=torch.Generator().manual_seed(2))
    exported = torch.export.export(CharacteristicSigma(), (image,))
    assert cached_gaussian_kernel.cache_info().currsize == 0
    assert level_log2_sigmas.cache_info().currsize == 0
    eager = characteristic_sigma(image, sigma0=1.3)
    assert type(eager) is torch.Tensor and torch.isfinite(eager).all()
    assert torch.allclose(exported.module()(image), eager, atol=1e-5)


def test_sigmas_and_bad_arguments():
    assert dog_sigmas(1.0, 3, 1) == [1.0, 2.0, 4.0, 8.0]
    for args in ((0.0, 9, 3), (1.0, 2, 3), (1.0, 9, 0)):
        with pytest.raises(ValueError):
            dog_sigmas(*args)


def test_the_detector_reads_its_scale_from_the_dog_when_configured():
    torch.manual_seed(0)
    config = LFNetConfig(detector=DetectorConfig(scale_source='dog', dog_reference=2.0))
    model = LFNet(config).eval()
    image = torch.rand(1, 1, 64, 80, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        _, scale, _, _ = model.dense(image)
        expected = characteristic_sigma(model.normalize_input(image), fallback_sigma=2.0)
        expected = (expected / 2.0).clamp(0.35, 4.0)
    assert torch.allclose(scale, expected)
    learned = LFNet(replace(config, detector=DetectorConfig())).eval()
    learned.load_state_dict(model.state_dict())  # no parameters of its own
    with torch.no_grad():
        assert not torch.allclose(learned.dense(image)[1], scale)


def test_the_edge_power_scales_the_detector_score_by_the_coarsest_weight():
    torch.manual_seed(0)
    plain = LFNet(LFNetConfig(detector=DetectorConfig(scale_source='dog'))).eval()
    config = LFNetConfig(detector=DetectorConfig(scale_source='dog', dog_edge_power=2.0))
    suppressed = LFNet(config).eval()
    suppressed.load_state_dict(plain.state_dict())
    image = torch.rand(1, 1, 64, 80, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        score, scale = plain.dense(image)[:2]
        score_suppressed, scale_suppressed = suppressed.dense(image)[:2]
        coarsest = dog_scale_selection(plain.normalize_input(image), fallback_sigma=1.5).coarsest
    assert torch.allclose(scale_suppressed, scale)
    assert torch.allclose(score_suppressed, score * (1.0 - coarsest) ** 2, atol=1e-7)
    assert (score_suppressed < 0.99 * score).any()


def test_an_unknown_scale_source_or_bad_dog_settings_are_refused():
    with pytest.raises(ValueError, match='scale_source'):
        DetectorConfig(scale_source='laplace')
    for bad in ({'dog_reference': 0.0}, {'dog_temperature': -1.0}, {'dog_levels': 2},
                {'dog_min_scale': 2.0, 'dog_max_scale': 1.0}, {'dog_sigma0': float('nan')},
                {'dog_per_octave': 0}, {'dog_edge_power': -1.0},
                {'dog_edge_power': float('inf')}):
        with pytest.raises(ValueError, match='dog_'):
            DetectorConfig(**bad)
