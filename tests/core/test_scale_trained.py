# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Scale covariance of the shipped weights: a sqrt(2) zoom should scale keypoint scales too.

The same photo at two sizes, sqrt(2) apart (area-averaged from the full-size image), gives
keypoints that map onto each other by the zoom; a repeated keypoint's scale should grow by
sqrt(2) in the larger image. Over an image pyramid (`lfnet_core.pyramid`, levels sqrt(2)
apart) it does. On one level it does not: the shipped weights take the scale from a soft DoG
characteristic scale, which sizes patches from the image but follows a sqrt(2) zoom by only
1.01-1.06 (docs/training.md); the strict xfail pins that, to be flipped once a one-level scale
follows zoom.
"""

from functools import lru_cache

import cv2
import numpy as np
import pytest
from skimage import data

from lfnet_core.model.lfnet import DEFAULT_WEIGHTS, LFNet
from lfnet_core.pyramid import extract_pyramid

pytestmark = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(), reason='no shipped weights')
ZOOM = float(np.sqrt(2.0))
# Half-way (in log scale) between no covariance (1.0) and full covariance (sqrt 2 = 1.414).
RATIO_MIN = 1.19
REPEATED_MIN = 50


def _grey(name: str) -> np.ndarray:
    image = getattr(data, name)()
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


@lru_cache(maxsize=None)
def _scale_ratios(name: str, levels: int = 1, base: float = 0.5) -> np.ndarray:
    """Scale ratios (zoomed / base) at the base image's keypoints repeated within 2 px."""
    model, image = LFNet.from_pretrained(DEFAULT_WEIGHTS), _grey(name)
    small = cv2.resize(image, None, fx=base, fy=base, interpolation=cv2.INTER_AREA)
    large = cv2.resize(image, None, fx=base * ZOOM, fy=base * ZOOM,
                       interpolation=cv2.INTER_AREA)
    features_small = extract_pyramid(model.extract, small, 500, levels)
    features_large = extract_pyramid(model.extract, large, 1000, levels)
    # Pixel centres at integers: x_large = (x_small + 0.5) * zoom - 0.5.
    expected = (features_small['keypoints'] + 0.5) * (large.shape[1] / small.shape[1]) - 0.5
    dist = np.linalg.norm(expected[:, None] - features_large['keypoints'][None], axis=2)
    nearest, repeated = dist.argmin(1), dist.min(1) < 2.0
    return features_large['scales'][nearest[repeated]] / features_small['scales'][repeated]


@pytest.mark.parametrize('name', ['astronaut', 'camera'])
def test_sqrt2_zoom_repeats_keypoints(name):
    assert _scale_ratios(name).size >= REPEATED_MIN


@pytest.mark.parametrize('name', ['astronaut', 'camera'])
def test_sqrt2_zoom_scales_keypoint_scales_over_a_pyramid(name):
    ratios = _scale_ratios(name, levels=3)
    assert ratios.size >= REPEATED_MIN
    assert np.median(ratios) > RATIO_MIN


@pytest.mark.xfail(strict=True, reason='one level: the soft DoG scale follows a sqrt(2) zoom '
                   'by 1.01-1.06 only (docs/training.md)')
@pytest.mark.parametrize('name', ['astronaut', 'camera'])
def test_sqrt2_zoom_scales_keypoint_scales_on_one_level(name):
    assert np.median(_scale_ratios(name)) > RATIO_MIN
