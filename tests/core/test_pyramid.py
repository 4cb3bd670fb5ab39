# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Detection over an image pyramid: level sizes, budget by area, keypoints mapped back, twins."""

import cv2
import numpy as np
import pytest
import torch

from lfnet_core.inference.torch_backend import TorchBackend
from lfnet_core.model.lfnet import LFNet
from lfnet_core.pyramid import (budget_by_area, BUDGET_EXPONENT, choose_keypoints, close_pairs,
                                extract_pyramid, pyramid_sizes)


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
    out = extract_pyramid(_one_keypoint_per_image, image, 100, 3, duplicate_radius=0)
    # Every level's centre is the input's centre; scales grow by sqrt(2) per level; the
    # smallest level's keypoint has the highest score here (1 / width), so it comes first.
    np.testing.assert_allclose(out['keypoints'], [[319.5, 239.5]] * 3, atol=1e-4)
    np.testing.assert_array_equal(out['levels'], [2, 1, 0])
    np.testing.assert_allclose(out['scales'], [2.0, 640 / 453, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(out['descriptors'][:, 0], [320, 453, 640])


def _centre_and_corner(image, top_k):
    """Return the image centre (strongest), then top_k - 1 keypoints along one edge.

    The finest level (640 wide) puts its edge keypoints top left, the others bottom right, so
    only the centre is found on two levels. Descriptors: the centre's is e0 on the finest level
    and e1 on the others; the edge keypoints' are e2 and e3.
    """
    height, width = image.shape[:2]
    fine = width == 640
    edge = [[10.0 + 20 * i, 10.0] if fine else [width - 10.0 - 20 * i, height - 10.0]
            for i in range(top_k - 1)]
    descriptors = np.zeros((top_k, 4), np.float32)
    descriptors[0, 0 if fine else 1] = 1
    descriptors[1:, 2 if fine else 3] = 1
    return {'keypoints': np.array([[(width - 1) / 2.0, (height - 1) / 2.0]] + edge, np.float32),
            'scales': np.ones(top_k, np.float32), 'orientations': np.zeros(top_k, np.float32),
            'scores': np.linspace(1.0, 0.5, top_k, dtype=np.float32), 'descriptors': descriptors}


def _at_centre(out):
    return np.flatnonzero(np.linalg.norm(out['keypoints'] - [319.5, 239.5], axis=1) < 1)


def test_a_feature_found_on_two_levels_is_kept_once_and_the_budget_refilled():
    image = np.zeros((480, 640), np.uint8)
    budgets = budget_by_area(30, pyramid_sizes(640, 480, 2), BUDGET_EXPONENT)
    out = extract_pyramid(_centre_and_corner, image, 30, 2)
    assert len(out) == 30
    np.testing.assert_array_equal(np.bincount(out['levels']), budgets)
    centre = _at_centre(out)
    assert len(centre) == 1 and out['levels'][centre[0]] == 0
    # The coarse twin's descriptor is averaged in: the centre is described over both levels.
    np.testing.assert_allclose(out['descriptors'][centre[0]], [0.5 ** 0.5, 0.5 ** 0.5, 0, 0],
                               atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out['descriptors'], axis=1), 1.0, atol=1e-6)
    kept = extract_pyramid(_centre_and_corner, image, 30, 2, merge_duplicates=False)
    np.testing.assert_array_equal(kept['keypoints'], out['keypoints'])
    np.testing.assert_array_equal(kept['descriptors'][_at_centre(kept)], [[1, 0, 0, 0]])
    # Without the radius both twins stay, each with its own descriptor.
    both = extract_pyramid(_centre_and_corner, image, 30, 2, duplicate_radius=0)
    assert len(both) == 30 and len(_at_centre(both)) == 2


class CountingBackend(TorchBackend):
    """The torch backend, counting the keypoints its describe stage is given."""

    described = 0

    def describe(self, image, score, scale, orientation, keypoints_int):
        self.described += keypoints_int.shape[1]
        return super().describe(image, score, scale, orientation, keypoints_int)


@pytest.fixture(scope='module')
def textured():
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.random((120, 160)), (0, 0), 1.5)
    return (255 * (image - image.min()) / np.ptp(image)).astype(np.uint8)


def test_a_backend_describes_only_the_kept_keypoints(textured):
    torch.manual_seed(0)
    backend = CountingBackend(LFNet())
    one_level = extract_pyramid(backend, textured, 60, 1)
    plain = backend.extract(textured, 60)
    np.testing.assert_array_equal(one_level.keypoints, plain.keypoints)
    np.testing.assert_array_equal(one_level.descriptors, plain.descriptors)
    backend.described = 0
    out = extract_pyramid(backend, textured, 60, 2)
    assert len(out) == 60 and set(np.unique(out.levels)) == {0, 1}
    # Twins averaged in are described too, but not the other candidates (twice the budget).
    folded = backend.described - 60
    assert 0 <= folded < 60
    np.testing.assert_allclose(np.linalg.norm(out.descriptors, axis=1), 1.0, atol=1e-5)
    # No two kept keypoints of different levels are twins: 4 px apart as integer peaks, so
    # more than 4 - 1.3 px after sub-pixel refinement (at most half a pixel of each level).
    distances = np.linalg.norm(out.keypoints[:, None] - out.keypoints[None], axis=2)
    other_level = out.levels[:, None] != out.levels[None]
    assert distances[other_level].min() > 4.0 - 1.3
    # The one-level callable gives the same keypoints, up to its sub-pixel twin distances.
    by_callable = extract_pyramid(backend.extract, textured, 60, 2)
    common = np.linalg.norm(by_callable.keypoints[:, None] - out.keypoints[None], axis=2)
    assert (common.min(axis=1) < 1e-3).mean() > 0.9


@pytest.mark.parametrize('count, radius', [(0, 4.0), (1, 4.0), (300, 4.0), (2000, 7.5)])
def test_close_pairs_are_the_brute_force_pairs(count, radius):
    positions = np.random.default_rng(count).uniform(-50, 400, (count, 2))
    first, second, distances = close_pairs(positions, radius)
    brute = np.linalg.norm(positions[:, None] - positions[None], axis=2)
    expected = set(zip(*np.nonzero((brute <= radius) & ~np.eye(count, dtype=bool))))
    assert set(zip(first.tolist(), second.tolist())) == expected
    assert (np.diff(first) >= 0).all()
    np.testing.assert_allclose(distances, brute[first, second])
    assert count < 300 or len(expected) > 0


def test_choose_keypoints_refills_and_folds_only_twins_within_budget():
    # Level 0: A (score 0.9) and B (0.5); level 1: A's twins a1 (0.8, 1 px away) and a2 (0.7,
    # 3 px away), then c (0.6) far away. Budgets: 1 on level 0, 2 on level 1.
    positions = np.array([[10, 10], [50, 50], [11, 10], [13, 10], [90, 90]], np.float64)
    levels = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.9, 0.5, 0.8, 0.7, 0.6])
    ranks = np.array([0, 1, 0, 1, 2])
    taken, twin_of = choose_keypoints(positions, levels, scores, ranks, [1, 2], 4.0)
    # Level 1 keeps only c (both others are A's twins); its unused place goes to B.
    np.testing.assert_array_equal(taken, [True, True, False, False, True])
    # a1 and a2 ranked within level 1's budget of 2: both fold into A.
    np.testing.assert_array_equal(twin_of, [-1, -1, 0, 0, -1])
    # With a budget of 1 on level 1, a2 (rank 1) would not have been kept: it does not fold.
    taken, twin_of = choose_keypoints(positions, levels, scores, ranks, [1, 1], 4.0)
    np.testing.assert_array_equal(taken, [True, False, False, False, True])
    np.testing.assert_array_equal(twin_of, [-1, -1, 0, -1, -1])
    # A twin folds into the nearest of several taken keypoints of other levels.
    positions = np.array([[10, 10], [16, 10], [13.5, 10]], np.float64)
    taken, twin_of = choose_keypoints(positions, np.array([0, 2, 1]), np.array([0.9, 0.8, 0.7]),
                                      np.zeros(3, int), [1, 1, 1], 4.0)
    np.testing.assert_array_equal(taken, [True, True, False])
    assert twin_of[2] == 1
