# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Detection over an image pyramid: level sizes, budget by area, keypoints mapped back."""

import numpy as np
import pytest

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
