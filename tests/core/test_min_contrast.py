# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""`DetectorConfig.min_contrast`: no keypoints where the image has no contrast."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from lfnet_core.config import DetectorConfig, LFNetConfig
from lfnet_core.inference.base import select_top_k
from lfnet_core.model.lfnet import LFNet
from lfnet_core.ops.dog_scale import dog_responses, dog_scale_selection, dog_sigmas

HEIGHT, WIDTH = 96, 160
MIN_CONTRAST = 0.05


def _half_flat_image() -> np.ndarray:
    """Texture on the left half; the right half flat, with sensor-like noise of 0.5 grey levels."""
    rng = np.random.default_rng(3)
    texture = torch.from_numpy(rng.random((HEIGHT, WIDTH)).astype(np.float32))[None, None]
    image = torch.nn.functional.avg_pool2d(texture, 3, 1, 1)[0, 0].numpy()
    image[:, WIDTH // 2:] = 0.5 + rng.normal(0.0, 0.5 / 255.0, (HEIGHT, WIDTH // 2))
    return image.astype(np.float32)


def _models(scale_source: str = 'dog'):
    torch.manual_seed(0)
    plain = LFNet(LFNetConfig(detector=DetectorConfig(scale_source=scale_source))).eval()
    gated = LFNet(replace(plain.config, detector=replace(plain.config.detector,
                                                         min_contrast=MIN_CONTRAST))).eval()
    gated.load_state_dict(plain.state_dict())
    return plain, gated


def _contrast(model: LFNet, image: np.ndarray) -> np.ndarray:
    normalized = model.normalize_input(torch.from_numpy(image)[None, None])
    return dog_responses(normalized, dog_sigmas(1.0, 9, 3)).amax(1)[0].numpy()


@pytest.mark.parametrize('scale_source', ['dog', 'learned'])
@pytest.mark.parametrize('top_k', [40, 2000])
def test_the_k_strongest_keypoints_lose_those_without_contrast(scale_source, top_k):
    plain, gated = _models(scale_source)
    image = _half_flat_image()
    expected, found = plain.extract(image, top_k), gated.extract(image, top_k)
    columns, rows = np.round(expected['keypoints']).astype(int).T
    has_contrast = _contrast(plain, image)[rows, columns] >= MIN_CONTRAST
    assert 0 < has_contrast.sum() < len(has_contrast)  # the image has peaks of both kinds
    # the same keypoints, descriptors and order, less the low-contrast ones (not refilled)
    for key in ('keypoints', 'scales', 'descriptors', 'scores'):
        np.testing.assert_allclose(found[key], expected[key][has_contrast], atol=1e-6)
    if top_k == 2000:  # every peak: noise on the flat half gives peaks, none survive
        flat = expected['keypoints'][:, 0] > WIDTH // 2 + 24  # the DoG reaches 24 px
        assert flat.sum() >= 5 and (found['keypoints'][:, 0] > WIDTH // 2 + 24).sum() == 0


def test_peaks_without_contrast_are_negated_and_the_contrast_ignores_gain_and_offset():
    plain, gated = _models()
    image = torch.from_numpy(_half_flat_image())[None, None]
    with torch.no_grad():
        score, _, _, peaks = gated.dense(image)
        plain_peaks = plain.dense(image)[3]
        peak = dog_scale_selection(gated.normalize_input(image)).peak
        changed = gated.dense(1.5 * image - 0.2)[3]
    assert torch.equal(score, plain.dense(image)[0])  # the score map is untouched
    low = peak < MIN_CONTRAST
    assert torch.equal(peaks[~low], plain_peaks[~low])
    assert torch.equal(peaks[low], -plain_peaks[low]) and (peaks < 0).any()
    # in the image's standard deviations: a gain and an offset keep the signs (up to the
    # input normalisation's epsilon)
    assert ((changed < 0) != (peaks < 0)).float().mean() < 1e-3


def test_select_top_k_counts_negated_peaks_against_k_and_drops_them():
    peaks = np.zeros((4, 5), np.float32)
    peaks[0, 0], peaks[1, 1], peaks[2, 2], peaks[3, 3] = 0.9, -0.8, 0.7, 0.6
    keypoints, scores = select_top_k(peaks, 3)
    np.testing.assert_array_equal(keypoints, [[0, 0], [2, 2]])
    np.testing.assert_allclose(scores, [0.9, 0.7])
    assert len(select_top_k(peaks, 4)[0]) == 3
    # ties at the K cut go by raster order, so the count returned is deterministic
    tied = np.zeros((2, 3), np.float32)
    tied[0, 1], tied[1, 0] = -0.5, 0.5
    assert len(select_top_k(tied, 1)[0]) == 0
    tied[0, 1], tied[1, 0] = 0.5, -0.5
    np.testing.assert_array_equal(select_top_k(tied, 1)[0], [[1, 0]])


def test_a_negative_or_infinite_min_contrast_is_refused():
    for bad in (-0.1, float('inf'), float('nan')):
        with pytest.raises(ValueError, match='min_contrast'):
            DetectorConfig(min_contrast=bad)
