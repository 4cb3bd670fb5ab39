# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Detection over an image pyramid: level sizes, budget by area, keypoints mapped back."""

import cv2
import numpy as np
import pytest
from skimage import data

from lfnet_core.model.lfnet import DEFAULT_WEIGHTS, LFNet
from lfnet_core.pyramid import budget_by_area, extract_pyramid, pyramid_sizes


def _one_keypoint_per_image(image, top_k):
    """Return one keypoint at the image centre, scale 1 (a stand-in one-level detector)."""
    height, width = image.shape[:2]
    return {'keypoints': np.array([[(width - 1) / 2.0, (height - 1) / 2.0]], np.float32),
            'scales': np.ones(1, np.float32), 'orientations': np.zeros(1, np.float32),
            'scores': np.array([1.0 / width], np.float32),
            'descriptors': np.full((1, 4), width, np.float32)}


def test_sizes_and_budget():
    assert pyramid_sizes(640, 480, 3) == [(640, 480), (453, 339), (320, 240)]
    shares = budget_by_area(1000, pyramid_sizes(640, 480, 3))
    assert sum(shares) == 1000 and shares[0] > shares[1] > shares[2] >= 1
    assert shares[2] == pytest.approx(1000 * 0.25 / 1.75, abs=2)
    with pytest.raises(ValueError):
        pyramid_sizes(640, 480, 0)


def test_one_level_is_the_plain_extraction():
    image = np.zeros((48, 64), np.uint8)
    out = extract_pyramid(_one_keypoint_per_image, image, 10, 1)
    np.testing.assert_array_equal(out['keypoints'], [[31.5, 23.5]])
    np.testing.assert_array_equal(out['levels'], [0])


def test_levels_map_keypoints_and_scales_back_to_input_pixels():
    image = np.zeros((480, 640), np.uint8)
    out = extract_pyramid(_one_keypoint_per_image, image, 100, 3)
    # Every level's centre is the input's centre; scales grow by sqrt(2) per level; the
    # smallest level's keypoint has the highest score here (1 / width), so it comes first.
    np.testing.assert_allclose(out['keypoints'], [[319.5, 239.5]] * 3, atol=1e-4)
    np.testing.assert_array_equal(out['levels'], [2, 1, 0])
    np.testing.assert_allclose(out['scales'], [2.0, 640 / 453, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(out['descriptors'][:, 0], [320, 453, 640])


@pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(), reason='no shipped weights')
def test_trained_weights_over_a_pyramid_follow_a_sqrt2_zoom():
    model = LFNet.from_pretrained(DEFAULT_WEIGHTS)
    grey = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    large = cv2.resize(grey, None, fx=0.5 * np.sqrt(2), fy=0.5 * np.sqrt(2),
                       interpolation=cv2.INTER_AREA)
    out_small = extract_pyramid(model.extract, small, 400, 3)
    out_large = extract_pyramid(model.extract, large, 800, 3)
    expected = (out_small['keypoints'] + 0.5) * (large.shape[1] / small.shape[1]) - 0.5
    dist = np.linalg.norm(expected[:, None] - out_large['keypoints'][None], axis=2)
    nearest, repeated = dist.argmin(1), dist.min(1) < 2.0
    ratios = out_large['scales'][nearest[repeated]] / out_small['scales'][repeated]
    assert repeated.sum() >= 50
    assert np.median(ratios) > 1.19  # sqrt(2) is full covariance, 1.0 none
