# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the LF-Net model: dense maps, `LFNet.extract` output contract and input checks.

The weights are random (seeded): these tests pin shapes, dtypes, ranges and invariants that hold
for any weights, not accuracy.
"""

import math

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from lfnet_core.config import LFNetConfig
from lfnet_core.inference.base import OUTPUT_KEYS, prepare_image, select_top_k
from lfnet_core.inference.torch_backend import TorchBackend
from lfnet_core.local_features import Features
from lfnet_core.model import DescriptorNet, DetectorNet, LFNet
from model_helpers import randomised_model

BORDER = 16
SQRT2 = math.sqrt(2.0)


@pytest.fixture(scope='module')
def model():
    return randomised_model(0)


@pytest.fixture(scope='module')
def fresh_model():
    torch.manual_seed(1)
    return LFNet().eval()


@pytest.fixture(scope='module')
def astronaut():
    return skimage.data.astronaut()  # (512, 512, 3) uint8


def _crop(image, height, width):
    return np.ascontiguousarray(image[100:100 + height, 120:120 + width])


def _check_result(result, height, width, top_k, descriptor_dim=256):
    assert isinstance(result, Features) and result.keys() == OUTPUT_KEYS
    count = len(result['keypoints'])
    assert count <= top_k
    shapes = {'keypoints': (count, 2), 'scales': (count,), 'orientations': (count,),
              'scores': (count,), 'descriptors': (count, descriptor_dim)}
    for key, shape in shapes.items():
        assert result[key].shape == shape, key
        assert result[key].dtype == np.float32, key
        assert np.isfinite(result[key]).all(), key
    if count == 0:
        return count
    reach = 4.5 * SQRT2 + 1e-4  # soft-argmax offset bound at the largest scale
    kps = result['keypoints']
    assert kps[:, 0].min() >= BORDER - reach and kps[:, 0].max() <= width - 1 - BORDER + reach
    assert kps[:, 1].min() >= BORDER - reach and kps[:, 1].max() <= height - 1 - BORDER + reach
    assert result['scores'].min() > 0.0 and result['scores'].max() <= 1.0
    assert np.all(np.diff(result['scores']) <= 0), 'scores must be sorted decreasing'
    assert np.abs(result['orientations']).max() <= math.pi
    scales = result['scales']
    assert scales.min() >= 1 / SQRT2 - 1e-5 and scales.max() <= SQRT2 + 1e-5
    norms = np.linalg.norm(result['descriptors'], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    return count


def _agreement(kps0, kps1, tol=0.05):
    """Fraction of kps0 with a keypoint of kps1 within tol px (max norm)."""
    dist = np.abs(kps0[:, None, :] - kps1[None, :, :]).max(axis=2)
    return float((dist.min(axis=1) <= tol).mean())


# --------------------------------------------------------------------------- architecture


def test_parameter_counts_and_layout():
    detector, descriptor = DetectorNet(), DescriptorNet()
    assert sum(p.numel() for p in detector.parameters()) == 41943  # ~42k (§1.2)
    assert sum(p.numel() for p in descriptor.parameters()) == 2600576  # ~2.6M (§1.9)
    assert len(detector.score_convs) == 5
    features = descriptor.convs(torch.zeros(2, 1, 32, 32))
    assert features.shape == (2, 256, 4, 4)  # TF "SAME" stride-2: 32 -> 16 -> 8 -> 4


def test_dense_maps_contract(model):
    torch.manual_seed(0)
    image = torch.rand(2, 1, 61, 75)
    with torch.no_grad():
        score, scale, orientation, peaks = model.dense(image)
    assert score.shape == scale.shape == peaks.shape == (2, 1, 61, 75)
    assert orientation.shape == (2, 2, 61, 75)
    assert all(t.dtype == torch.float32 for t in (score, scale, orientation, peaks))
    assert score.min() >= 0.0 and score.max() <= 1.0
    inside = score[:, :, BORDER:-BORDER, BORDER:-BORDER]
    assert inside.min() > 0.0
    outside = score.clone()
    outside[:, :, BORDER:-BORDER, BORDER:-BORDER] = 0.0
    assert torch.count_nonzero(outside) == 0, 'score must be exactly 0 within the border'
    assert scale.min() >= 1 / SQRT2 - 1e-6 and scale.max() <= SQRT2 + 1e-6
    assert scale.max() - scale.min() > 1e-3
    norms = orientation.pow(2).sum(dim=1).sqrt()
    torch.testing.assert_close(norms, torch.ones_like(norms), atol=1e-5, rtol=0)
    assert orientation[:, 1].abs().max() > 0.1  # the randomised model is not stuck at angle 0
    # peaks: the score where strict 5x5 NMS keeps a pixel, 0 elsewhere
    nonzero = peaks > 0
    torch.testing.assert_close(peaks[nonzero], score[nonzero], atol=0, rtol=0)
    assert nonzero.sum() > 0
    maxed = torch.nn.functional.max_pool2d(score, 5, stride=1, padding=2)
    assert torch.equal(peaks[nonzero], maxed[nonzero])


def test_dense_is_per_image_in_a_batch(model):
    torch.manual_seed(1)
    images = torch.rand(2, 1, 40, 44)
    with torch.no_grad():
        batched = model.dense(images)
        single = model.dense(images[1:2])
    for got, expected in zip(batched, single):
        torch.testing.assert_close(got[1:2], expected, atol=1e-6, rtol=0)


def test_fresh_model_orientation_is_zero(fresh_model):
    torch.manual_seed(2)
    with torch.no_grad():
        _, _, orientation, _ = fresh_model.dense(torch.rand(1, 1, 50, 60))
    assert torch.equal(orientation[:, 0], torch.ones_like(orientation[:, 0]))
    assert torch.equal(orientation[:, 1], torch.zeros_like(orientation[:, 1]))
    result = fresh_model.extract(_crop(skimage.data.camera(), 80, 90), top_k=20)
    assert len(result['orientations']) > 0
    np.testing.assert_array_equal(result['orientations'], 0.0)


# --------------------------------------------------------------------------- extract contract


@pytest.mark.parametrize('height,width', [(48, 64), (64, 48), (97, 131), (240, 320), (33, 40)])
def test_extract_shapes_and_ranges(model, astronaut, height, width):
    result = model.extract(_crop(astronaut, height, width), top_k=300)
    count = _check_result(result, height, width, 300)
    if (height, width) != (33, 40):
        assert count > 0


def test_extract_keypoints_follow_integer_peaks(model, astronaut):
    """Integer peaks lie in [16, W-17] x [16, H-17]; refined ones within 4.5 s of them (§1.5)."""
    image = _crop(astronaut, 97, 131)
    backend = TorchBackend(model)
    grey = prepare_image(image)[None, None]
    score, scale, orientation, peaks = backend.dense(grey)
    kp_int, scores = select_top_k(peaks[0, 0], 200)
    result = backend.extract(image, top_k=200)
    assert len(kp_int) == len(result['keypoints']) > 10
    assert kp_int[:, 0].min() >= BORDER and kp_int[:, 0].max() <= 131 - 1 - BORDER
    assert kp_int[:, 1].min() >= BORDER and kp_int[:, 1].max() <= 97 - 1 - BORDER
    offset = np.abs(result['keypoints'] - kp_int)
    assert (offset <= 4.5 * result['scales'][:, None] + 1e-4).all()
    np.testing.assert_array_equal(result['scores'], scores)
    xs, ys = kp_int[:, 0], kp_int[:, 1]
    np.testing.assert_array_equal(result['scores'], score[0, 0, ys, xs])
    np.testing.assert_array_equal(result['scales'], scale[0, 0, ys, xs])
    angles = np.arctan2(orientation[0, 1, ys, xs], orientation[0, 0, ys, xs])
    np.testing.assert_allclose(result['orientations'], angles, atol=1e-6)
    assert np.ptp(result['orientations']) > 0.1


def test_extract_top_k(model, astronaut):
    image = _crop(astronaut, 120, 150)
    everything = model.extract(image, top_k=10000)
    assert 10 < len(everything['keypoints']) < 10000
    five = model.extract(image, top_k=5)
    assert len(five['keypoints']) == 5
    np.testing.assert_array_equal(five['scores'], everything['scores'][:5])
    np.testing.assert_allclose(five['descriptors'], everything['descriptors'][:5], atol=1e-6)
    default = model.extract(image)
    assert len(default['keypoints']) <= LFNetConfig().detector.top_k


def test_extract_input_conventions_agree(model, astronaut):
    colour = _crop(astronaut, 97, 131)
    grey = cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)
    reference = model.extract(grey, top_k=100)
    assert len(reference['keypoints']) > 0
    same_inputs = [colour, grey[:, :, None], grey.astype(np.float32) / np.float32(255.0)]
    for image in same_inputs:
        result = model.extract(image, top_k=100)
        for key in OUTPUT_KEYS:
            np.testing.assert_array_equal(result[key], reference[key], err_msg=key)
    # Equal up to float rounding (uint16, float64) or grey rounding (float RGB): near-tied
    # scores may reorder or swap keypoints at the top-K cut, so compare as sets.
    for image, agreement in ((grey.astype(np.uint16) * 257, 0.95),
                             (grey.astype(np.float64) / 255.0, 0.95),
                             (colour.astype(np.float32) / 255.0, 0.7)):
        result = model.extract(image, top_k=100)
        _check_result(result, 97, 131, 100)
        assert _agreement(result['keypoints'], reference['keypoints']) >= agreement


def test_extract_uint16_colour(model, astronaut):
    colour = _crop(astronaut, 97, 131).astype(np.uint16) * 257
    _check_result(model.extract(colour, top_k=50), 97, 131, 50)


@pytest.mark.parametrize('shape', [(32, 100), (100, 32), (20, 20, 3), (0, 0), (1, 1), (32, 32)])
def test_extract_small_images_are_empty(model, shape):
    result = model.extract(np.full(shape, 128, dtype=np.uint8))
    assert _check_result(result, 1, 1, 512) == 0
    assert result['descriptors'].shape == (0, 256)


def test_prepare_image_ranges():
    grey = prepare_image(np.array([[0, 255]], dtype=np.uint8))
    assert grey.dtype == np.float32 and grey.flags['C_CONTIGUOUS']
    np.testing.assert_array_equal(grey, [[0.0, 1.0]])
    np.testing.assert_array_equal(prepare_image(np.array([[0, 65535]], np.uint16)), [[0.0, 1.0]])
    np.testing.assert_array_equal(prepare_image(np.array([[-5e-4, 1.0005]])), [[0.0, 1.0]])


@pytest.mark.parametrize('image,match', [
    (np.zeros((40, 40, 4), np.uint8), 'got'),
    (np.zeros((40, 40, 2), np.uint8), 'got'),
    (np.zeros(40, np.uint8), 'got'),
    (np.zeros((1, 40, 40), np.float32)[None], 'got'),
    (np.full((40, 40), np.nan, np.float32), 'NaN'),
    (np.full((40, 40), np.inf, np.float64), 'NaN'),
    (np.full((40, 40), 1.5, np.float32), r'\[0, 1\]'),
    (np.full((40, 40), 255.0, np.float32), r'\[0, 1\]'),
    (np.full((40, 40), -0.5, np.float32), r'\[0, 1\]'),
    (np.zeros((40, 40), np.int32), 'dtype'),
    (np.zeros((40, 40), bool), 'dtype'),
    ([[0, 1], [1, 0]], 'numpy array'),
    (None, 'numpy array'),
])
def test_extract_bad_inputs_raise(model, image, match):
    with pytest.raises(ValueError, match=match):
        model.extract(image)


@pytest.mark.parametrize('top_k', [0, -3])
def test_extract_bad_top_k_raises(model, top_k):
    with pytest.raises(ValueError, match='top_k'):
        model.extract(np.zeros((50, 50), np.uint8), top_k=top_k)


def test_select_top_k_order_and_ties():
    peaks = np.zeros((6, 7), np.float32)
    peaks[1, 2] = 0.5
    peaks[4, 1] = 0.9
    peaks[3, 5] = 0.5
    peaks[2, 6] = 0.2
    kps, scores = select_top_k(peaks, 3)
    assert kps.dtype == np.int64 and scores.dtype == np.float32
    np.testing.assert_array_equal(kps, [[1, 4], [2, 1], [5, 3]])  # (x, y); ties by raster order
    np.testing.assert_array_equal(scores, np.float32([0.9, 0.5, 0.5]))
    kps, scores = select_top_k(np.zeros((5, 5), np.float32), 10)
    assert kps.shape == (0, 2) and scores.shape == (0,)


def test_extract_is_deterministic(model, astronaut):
    image = _crop(astronaut, 64, 80)
    first, second = model.extract(image, top_k=50), model.extract(image, top_k=50)
    for key in OUTPUT_KEYS:
        np.testing.assert_array_equal(first[key], second[key])


def test_detector_heads_equal_the_textbook_computation():
    """Row-decomposed, reordered heads == resize, 5x5 conv, instance norm, resize (float64)."""
    import torch.nn.functional as F
    from lfnet_core.model.detector import instance_norm
    from lfnet_core.ops.resize import resize_bilinear, scaled_size
    torch.manual_seed(0)
    detector = DetectorNet().double().eval()
    for conv in list(detector.score_convs) + [detector.ori_conv]:
        torch.nn.init.normal_(conv.weight, std=0.2)
        torch.nn.init.normal_(conv.bias, std=0.2)
    feat = torch.randn(1, detector.config.num_channels, 37, 53, dtype=torch.float64)
    height, width = feat.shape[-2:]
    expected = []
    for factor, conv in zip(detector.config.scales, detector.score_convs):
        resized = resize_bilinear(feat, scaled_size(height, factor), scaled_size(width, factor))
        logit = instance_norm(F.conv2d(resized, conv.weight, conv.bias, padding=2),
                              detector.config.logit_inst_norm_eps)
        expected.append(resize_bilinear(logit, height, width))
    ori = F.conv2d(feat, detector.ori_conv.weight, detector.ori_conv.bias, padding=2)
    with torch.no_grad():
        logits, orientation = detector.heads(feat)
    torch.testing.assert_close(logits, torch.cat(expected, dim=1), rtol=0, atol=1e-9)
    torch.testing.assert_close(orientation, ori / ori.norm(dim=1, keepdim=True), rtol=0,
                               atol=1e-9)
