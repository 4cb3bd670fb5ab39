# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for lfnet_core.ops: soft NMS, scale merge, strict NMS, sampling and TF1 resize.

Each op is checked against a slow, literal float64 numpy reference written from
docs/network.md, sections "Soft NMS and scale merge" to "Patch sampling" (explicit loops over
pixels and windows), plus gradient checks and rotation equivariance of the patch sampler and
the strict NMS.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lfnet_core.config import DetectorConfig
from lfnet_core.ops.depthwise_batchnorm import (
    DepthwiseAffine, with_depthwise_preactivation_batchnorms)
from lfnet_core.ops.nms import border_mask, soft_merge_scales, soft_nms_3d, strict_nms_mask
from lfnet_core.ops.resize import resize_bilinear, resize_rows, scaled_size
from lfnet_core.ops.row_conv import conv2d_rows
from lfnet_core.ops.sampling import (
    extract_patches, gather_at, quadratic_refine, sample_bilinear, soft_argmax_refine, unit_grid)
from model_helpers import randomised_model

SCALES = DetectorConfig().scales


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


# --------------------------------------------------------------------------- slow references


def ref_soft_nms_3d(logits, ksize, strength):
    """Literal §1.4: 3D max over (S x k x k) ignoring padded cells, zero-padded 3D box sum."""
    batch, num_scales, height, width = logits.shape
    pad = ksize // 2
    exp = np.zeros_like(logits)
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                y0, y1 = max(0, y - pad), min(height, y + pad + 1)
                x0, x1 = max(0, x - pad), min(width, x + pad + 1)
                window_max = -np.inf
                for s in range(num_scales):
                    for v in range(y0, y1):
                        for u in range(x0, x1):
                            window_max = max(window_max, logits[b, s, v, u])
                for s in range(num_scales):
                    exp[b, s, y, x] = math.exp(strength * (logits[b, s, y, x] - window_max))
    out = np.zeros_like(logits)
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                total = 0.0
                for s in range(num_scales):
                    for v in range(y - pad, y + pad + 1):
                        for u in range(x - pad, x + pad + 1):
                            if 0 <= v < height and 0 <= u < width:  # zero padding
                                total += exp[b, s, v, u]
                for s in range(num_scales):
                    out[b, s, y, x] = exp[b, s, y, x] / (total + 1e-6)
    return out


def ref_soft_merge(responses, scales, strength):
    """Softmax over scales with `strength`; score = sum P w, scale = sum s w (per pixel)."""
    batch, num_scales, height, width = responses.shape
    score = np.zeros((batch, 1, height, width))
    scale = np.zeros((batch, 1, height, width))
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                column = responses[b, :, y, x]
                logits = strength * column
                weights = np.exp(logits - logits.max())
                weights /= weights.sum()
                score[b, 0, y, x] = sum(column[s] * weights[s] for s in range(num_scales))
                scale[b, 0, y, x] = sum(scales[s] * weights[s] for s in range(num_scales))
    return score, scale


def ref_strict_nms(score, ksize, thresh):
    """Strictly greater than every one of the k*k-1 neighbours (zero padding) and > thresh."""
    batch, _, height, width = score.shape
    pad = ksize // 2
    out = np.zeros(score.shape, dtype=bool)
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                centre = score[b, 0, y, x]
                keep = centre > thresh
                for v in range(y - pad, y + pad + 1):
                    for u in range(x - pad, x + pad + 1):
                        if (v, u) == (y, x):
                            continue
                        inside = 0 <= v < height and 0 <= u < width
                        neighbour = score[b, 0, v, u] if inside else 0.0
                        keep = keep and centre > neighbour
                out[b, 0, y, x] = keep
    return out


def ref_bilinear(image, x, y):
    """Bilinear sample of a (H, W) image at (x, y), coordinates clamped to the image."""
    height, width = image.shape
    x = min(max(x, 0.0), width - 1.0)
    y = min(max(y, 0.0), height - 1.0)
    x0, y0 = int(math.floor(x)), int(math.floor(y))
    x1, y1 = min(x0 + 1, width - 1), min(y0 + 1, height - 1)
    wx, wy = x - x0, y - y0
    top = image[y0, x0] * (1 - wx) + image[y0, x1] * wx
    bottom = image[y1, x0] * (1 - wx) + image[y1, x1] * wx
    return top * (1 - wy) + bottom * wy


def ref_extract_patches(image, keypoints, scales, orientations, patch_size):
    """Per-sample STN crop: kp + s * size/2 * R(theta) g for g on the regular [-1, 1] grid."""
    ticks = [-1.0 + 2.0 * i / (patch_size - 1) for i in range(patch_size)]
    batch, count = keypoints.shape[:2]
    out = np.zeros((batch, count, patch_size, patch_size))
    for b in range(batch):
        for n in range(count):
            kx, ky = keypoints[b, n]
            cos, sin = orientations[b, n]
            radius = scales[b, n] * patch_size / 2.0
            for row, gy in enumerate(ticks):
                for col, gx in enumerate(ticks):
                    x = kx + radius * (cos * gx - sin * gy)
                    y = ky + radius * (sin * gx + cos * gy)
                    out[b, n, row, col] = ref_bilinear(image[b, 0], x, y)
    return out


def ref_soft_argmax(score, keypoints_int, scales, window, strength):
    """Explicit window x window bilinear samples, softmax, expected offset times s * window/2."""
    ticks = [-1.0 + 2.0 * i / (window - 1) for i in range(window)]
    batch, count = keypoints_int.shape[:2]
    out = np.zeros((batch, count, 2))
    for b in range(batch):
        for n in range(count):
            cx, cy = float(keypoints_int[b, n, 0]), float(keypoints_int[b, n, 1])
            radius = scales[b, n] * window / 2.0
            values, offsets = [], []
            for gy in ticks:
                for gx in ticks:
                    values.append(ref_bilinear(score[b, 0], cx + radius * gx, cy + radius * gy))
                    offsets.append((gx, gy))
            values = strength * np.array(values)
            weights = np.exp(values - values.max())
            weights /= weights.sum()
            offset = (weights[:, None] * np.array(offsets)).sum(axis=0)
            out[b, n] = (cx + offset[0] * radius, cy + offset[1] * radius)
    return out


def ref_resize_tf1(image, out_h, out_w):
    """TF1 legacy resize_bilinear (align_corners=False), exact: src = dst * (in / out).

    TF1 rounds the source coordinate in float32 one way, ONNX Runtime's Resize (which the
    exported graphs use) another; both differ from the exact coordinate by < 1 float32 ulp.
    """
    def weights(in_size, out_size):
        source = np.arange(out_size, dtype=np.float64) * in_size / out_size
        lower = np.floor(source).astype(np.int64)
        upper = np.minimum(lower + 1, in_size - 1)
        return lower, upper, (source - lower).astype(np.float64)

    in_h, in_w = image.shape[-2:]
    ly, uy, wy = weights(in_h, out_h)
    lx, ux, wx = weights(in_w, out_w)
    image = image.astype(np.float64)
    top = image[..., ly, :] * (1 - wy[:, None]) + image[..., uy, :] * wy[:, None]
    return top[..., lx] * (1 - wx) + top[..., ux] * wx


# --------------------------------------------------------------------------- soft NMS and merge


@pytest.mark.parametrize('ksize,strength,num_scales', [(15, 3.0, 5), (5, 1.5, 3)])
def test_soft_nms_3d_matches_reference(ksize, strength, num_scales):
    logits = torch.randn(2, num_scales, 20, 23, dtype=torch.float64) * 2.0
    got = soft_nms_3d(logits, ksize, strength)
    assert got.shape == logits.shape and got.dtype == torch.float64
    expected = ref_soft_nms_3d(logits.numpy(), ksize, strength)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_soft_nms_3d_float32_and_large_logits():
    logits = torch.randn(1, 5, 20, 23, dtype=torch.float64) * 40.0  # exp would overflow naively
    expected = ref_soft_nms_3d(logits.numpy(), 15, 3.0)
    got = soft_nms_3d(logits.float(), 15, 3.0)
    assert got.dtype == torch.float32 and torch.isfinite(got).all()
    np.testing.assert_allclose(got.double().numpy(), expected, atol=2e-6)
    assert got.min() >= 0.0 and got.max() <= 1.0


def test_soft_nms_3d_window_maximum_is_near_one():
    """A lone spike dominates its window: its response is ~1, everything nearby ~0."""
    logits = torch.zeros(1, 5, 31, 31, dtype=torch.float64)
    logits[0, 2, 15, 15] = 20.0
    got = soft_nms_3d(logits, 15, 3.0)
    assert got[0, 2, 15, 15] == pytest.approx(1.0, abs=1e-6)
    assert got[0, :, 8:23, 8:23].sum() == pytest.approx(1.0, abs=1e-6)


def test_soft_merge_scales_matches_reference():
    responses = torch.rand(2, 5, 20, 23, dtype=torch.float64) * 0.1
    score, scale = soft_merge_scales(responses, SCALES, 100.0)
    assert score.shape == (2, 1, 20, 23) and scale.shape == (2, 1, 20, 23)
    ref_score, ref_scale = ref_soft_merge(responses.numpy(), SCALES, 100.0)
    np.testing.assert_allclose(score.numpy(), ref_score, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(scale.numpy(), ref_scale, rtol=1e-10, atol=1e-13)


def test_soft_nms_then_merge_pipeline_bounds():
    logits = torch.randn(2, 5, 20, 23, dtype=torch.float64) * 3.0
    responses = torch.from_numpy(ref_soft_nms_3d(logits.numpy(), 15, 3.0))
    ref_score, ref_scale = ref_soft_merge(responses.numpy(), SCALES, 100.0)
    score, scale = soft_merge_scales(soft_nms_3d(logits, 15, 3.0), SCALES, 100.0)
    np.testing.assert_allclose(score.numpy(), ref_score, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(scale.numpy(), ref_scale, rtol=1e-9, atol=1e-12)
    assert score.min() >= 0.0 and score.max() <= 1.0
    assert scale.min() >= min(SCALES) - 1e-12 and scale.max() <= max(SCALES) + 1e-12


def test_soft_merge_picks_dominant_scale():
    responses = torch.zeros(1, 5, 3, 3)
    responses[0, 1] = 0.9  # one clearly dominant scale everywhere
    score, scale = soft_merge_scales(responses, SCALES, 100.0)
    torch.testing.assert_close(score, torch.full_like(score, 0.9), atol=1e-6, rtol=0)
    torch.testing.assert_close(scale, torch.full_like(scale, SCALES[1]), atol=1e-6, rtol=0)


def test_border_mask():
    mask = border_mask(torch.zeros(2, 1, 40, 37, dtype=torch.float64), 16)
    assert mask.shape == (1, 1, 40, 37) and mask.dtype == torch.float64
    expected = np.zeros((40, 37))
    expected[16:24, 16:21] = 1.0
    np.testing.assert_array_equal(mask[0, 0].numpy(), expected)
    assert border_mask(torch.zeros(1, 1, 32, 32), 16).sum() == 0


# --------------------------------------------------------------------------- strict NMS


@pytest.mark.parametrize('ksize,thresh', [(5, 0.0), (3, 0.2), (7, 0.0)])
def test_strict_nms_matches_reference_random(ksize, thresh):
    # Quantised values make exact ties (plateaus) common.
    score = torch.randint(0, 6, (2, 1, 17, 19)).double() / 5.0
    got = strict_nms_mask(score, ksize, thresh)
    assert got.dtype == torch.bool and got.shape == score.shape
    np.testing.assert_array_equal(got.numpy(), ref_strict_nms(score.numpy(), ksize, thresh))
    continuous = torch.rand(2, 1, 17, 19)
    np.testing.assert_array_equal(strict_nms_mask(continuous, ksize, thresh).numpy(),
                                  ref_strict_nms(continuous.double().numpy(), ksize, thresh))


def test_strict_nms_two_pixel_plateau_gives_no_peak():
    score = torch.zeros(1, 1, 12, 12)
    score[0, 0, 5, 5] = score[0, 0, 5, 6] = 0.8  # horizontal plateau
    score[0, 0, 2, 9] = score[0, 0, 4, 11] = 0.6  # diagonal tie two pixels apart: inside 5x5
    assert not strict_nms_mask(score, 5, 0.0).any()
    score[0, 0, 5, 6] = 0.79
    got = strict_nms_mask(score, 5, 0.0)
    assert got.sum() == 1 and got[0, 0, 5, 5]


def test_strict_nms_ties_beyond_window_are_both_peaks():
    score = torch.zeros(1, 1, 12, 12)
    score[0, 0, 5, 2] = score[0, 0, 5, 5] = 0.5  # three pixels apart: outside the 5x5 window
    got = strict_nms_mask(score, 5, 0.0)
    assert got[0, 0, 5, 2] and got[0, 0, 5, 5] and got.sum() == 2


def test_strict_nms_border_pixels_and_zero_padding():
    score = torch.full((1, 1, 9, 10), -0.5, dtype=torch.float64)
    score[0, 0, 0, 0] = 0.3  # corner peak above thresh: kept
    score[0, 0, 8, 9] = -0.1  # corner, above its in-image neighbours but below the zero padding
    score[0, 0, 4, 5] = -0.1  # interior, above all neighbours: kept when thresh allows
    got = strict_nms_mask(score, 5, -1.0)
    assert got[0, 0, 0, 0] and got[0, 0, 4, 5] and not got[0, 0, 8, 9]
    assert got.sum() == 2
    np.testing.assert_array_equal(got.numpy(), ref_strict_nms(score.numpy(), 5, -1.0))
    assert strict_nms_mask(score, 5, 0.0).sum() == 1  # thresh 0 drops the negative peak
    assert not strict_nms_mask(score, 5, 0.3).any()  # strictly greater than thresh


def test_strict_nms_rotation_equivariant():
    score = np.random.rand(2, 1, 21, 26)
    mask = strict_nms_mask(torch.from_numpy(score), 5, 0.0).numpy()
    for k in (1, 2, 3):
        rotated = np.ascontiguousarray(np.rot90(score, k, axes=(2, 3)))
        got = strict_nms_mask(torch.from_numpy(rotated), 5, 0.0).numpy()
        np.testing.assert_array_equal(got, np.rot90(mask, k, axes=(2, 3)))
    assert mask.sum() > 5


# --------------------------------------------------------------------------- sampling


def test_unit_grid():
    grid = unit_grid(3, torch.float64, torch.device('cpu'))
    expected = [[-1, -1], [0, -1], [1, -1], [-1, 0], [0, 0], [1, 0], [-1, 1], [0, 1], [1, 1]]
    np.testing.assert_array_equal(grid.numpy(), np.array(expected, dtype=np.float64))


def test_sample_bilinear_integer_points_and_clamping():
    image = torch.rand(1, 1, 6, 7, dtype=torch.float64)
    xy = torch.tensor([[[[0.0, 0.0], [6.0, 5.0], [3.0, 2.0], [-4.0, 2.0], [9.0, 9.0],
                         [2.25, 3.5]]]], dtype=torch.float64)
    got = sample_bilinear(image, xy)[0, 0, 0].numpy()
    img = image[0, 0].numpy()
    expected = [img[0, 0], img[5, 6], img[2, 3], img[2, 0], img[5, 6],
                ref_bilinear(img, 2.25, 3.5)]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_gather_at():
    maps = torch.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5).double()
    kps = torch.tensor([[[0, 0], [4, 3]], [[2, 1], [1, 2]]])
    got = gather_at(maps, kps)
    assert got.shape == (2, 2, 3)
    for b in range(2):
        for n in range(2):
            x, y = kps[b, n].tolist()
            np.testing.assert_array_equal(got[b, n].numpy(), maps[b, :, y, x].numpy())


def test_extract_patches_matches_reference():
    image = torch.rand(2, 1, 23, 27, dtype=torch.float64)
    keypoints = torch.tensor([[[11.3, 9.7], [2.0, 3.5], [25.2, 20.9]],
                              [[13.0, 11.0], [0.4, 21.6], [16.6, 5.1]]], dtype=torch.float64)
    scales = torch.tensor([[1.0, 0.7071, 1.4142], [1.2, 0.84, 1.0]], dtype=torch.float64)
    angles = torch.tensor([[0.3, -2.0, 3.1], [1.5708, -0.7, 0.0]], dtype=torch.float64)
    orientations = torch.stack([angles.cos(), angles.sin()], dim=-1)
    got = extract_patches(image, keypoints, scales, orientations, patch_size=8)
    assert got.shape == (2, 3, 8, 8) and got.dtype == torch.float64
    expected = ref_extract_patches(image.numpy(), keypoints.numpy(), scales.numpy(),
                                   orientations.numpy(), 8)
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-10)
    # float32 and the default 32x32 patch
    got32 = extract_patches(image.float(), keypoints.float(), scales.float(),
                            orientations.float())
    assert got32.shape == (2, 3, 32, 32) and got32.dtype == torch.float32
    expected32 = ref_extract_patches(image.numpy(), keypoints.numpy(), scales.numpy(),
                                     orientations.numpy(), 32)
    np.testing.assert_allclose(got32.double().numpy(), expected32, rtol=0, atol=2e-5)


def test_extract_patches_identity_crop():
    """With s = (P - 1) / P the grid spacing is one pixel: the patch is an image window."""
    image = torch.rand(1, 1, 20, 20, dtype=torch.float64)
    size = 7
    scale = (size - 1) / size  # radius (size - 1) / 2: unit pixel spacing
    patch = extract_patches(image, torch.tensor([[[9.0, 8.0]]], dtype=torch.float64),
                            torch.tensor([[scale]], dtype=torch.float64),
                            torch.tensor([[[1.0, 0.0]]], dtype=torch.float64), size)
    np.testing.assert_allclose(patch[0, 0].numpy(), image[0, 0, 5:12, 6:13].numpy(), atol=1e-12)
    # theta = +90 deg (from +x towards +y, y down): patch column direction runs along +y.
    patch90 = extract_patches(image, torch.tensor([[[9.0, 8.0]]], dtype=torch.float64),
                              torch.tensor([[scale]], dtype=torch.float64),
                              torch.tensor([[[0.0, 1.0]]], dtype=torch.float64), size)
    window = image[0, 0, 5:12, 6:13].numpy()
    # patch[r, c] = I[y = 8 + (c - 3), x = 9 - (r - 3)]
    expected = np.array([[window[c, 6 - r] for c in range(size)] for r in range(size)])
    np.testing.assert_allclose(patch90[0, 0].numpy(), expected, atol=1e-12)


@pytest.mark.parametrize('dtype,atol', [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_extract_patches_rot90_equivariance(dtype, atol):
    """np.rot90 maps (x, y) to (y, W-1-x) = rotation by -90 deg in y-down (x, y) coordinates.

    So the patch at p with angle theta equals the patch in the rotated image at the rotated
    keypoint with angle theta - 90 deg: (cos, sin) -> (sin, -cos).
    """
    height, width = 40, 45
    image = np.random.rand(height, width)
    rotated = np.ascontiguousarray(np.rot90(image))
    assert rotated.shape == (width, height)
    points = np.array([[20.0, 18.0], [22.0, 21.0], [24.0, 19.0]])
    angles = np.array([0.0, 0.7, -2.4])
    scales = np.array([1.0, 0.7071, 0.9])
    cos_sin = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    points_rot = np.stack([points[:, 1], width - 1 - points[:, 0]], axis=-1)
    cos_sin_rot = np.stack([cos_sin[:, 1], -cos_sin[:, 0]], axis=-1)

    def crop(img, kps, ori):
        return extract_patches(torch.from_numpy(img)[None, None].to(dtype),
                               torch.from_numpy(kps)[None].to(dtype),
                               torch.from_numpy(scales)[None].to(dtype),
                               torch.from_numpy(ori)[None].to(dtype), 32)[0].double().numpy()

    patches = crop(image, points, cos_sin)
    patches_rot = crop(rotated, points_rot, cos_sin_rot)
    np.testing.assert_allclose(patches_rot, patches, rtol=0, atol=atol)
    # The opposite sign is wrong: make sure the test can tell them apart.
    wrong = crop(rotated, points_rot, np.stack([-cos_sin[:, 1], cos_sin[:, 0]], axis=-1))
    assert np.abs(wrong - patches).max() > 0.1


def test_soft_argmax_refine_matches_reference():
    score = torch.rand(2, 1, 25, 28, dtype=torch.float64)
    kps = torch.tensor([[[12, 12], [3, 20], [27, 0]], [[14, 10], [8, 8], [20, 15]]])
    scales = torch.tensor([[1.0, 1.4142, 0.7071], [1.19, 0.84, 1.3]], dtype=torch.float64)
    for strength in (1.0, 7.0):
        got = soft_argmax_refine(score, kps, scales, 9, strength)
        assert got.shape == (2, 3, 2) and got.dtype == torch.float64
        expected = ref_soft_argmax(score.numpy(), kps.numpy(), scales.numpy(), 9, strength)
        np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-10)


def test_soft_argmax_refine_offset_bound_and_symmetry():
    """|refined - int| <= s * window / 2 per axis; a symmetric map gives zero offset."""
    score = torch.rand(1, 1, 40, 40, dtype=torch.float64)
    kps = torch.randint(10, 30, (1, 50, 2))
    scales = torch.rand(1, 50, dtype=torch.float64) * 0.7 + 0.7
    got = soft_argmax_refine(score * 50.0, kps, scales, 9, 1.0)  # peaky softmax: large offsets
    offset = (got - kps.double()).abs()
    assert (offset <= 4.5 * scales.unsqueeze(-1) + 1e-9).all()
    assert offset.max() > 1.0
    yy, xx = torch.meshgrid(torch.arange(21.0), torch.arange(21.0), indexing='ij')
    bump = torch.exp(-((xx - 10) ** 2 + (yy - 10) ** 2) / 8.0).double()[None, None]
    centred = soft_argmax_refine(bump, torch.tensor([[[10, 10]]]), torch.ones(1, 1).double())
    np.testing.assert_allclose(centred.numpy(), [[[10.0, 10.0]]], atol=1e-12)


def test_quadratic_refine_finds_the_vertex_of_a_parabola():
    yy, xx = torch.meshgrid(torch.arange(20.0), torch.arange(24.0), indexing='ij')
    peaks = [(9.3, 7.8), (14.0, 10.45)]
    score = torch.stack([1.0 - 0.1 * (xx - x) ** 2 - 0.05 * (yy - y) ** 2
                         for x, y in peaks]).double()[:, None]
    rounded = torch.tensor([[[9, 8]], [[14, 10]]])
    np.testing.assert_allclose(quadratic_refine(score, rounded).numpy(), [[[9.3, 7.8]],
                                                                          [[14.0, 10.45]]],
                               atol=1e-9)
    # A neighbour of the peak: the offset is clamped to half a pixel towards it.
    np.testing.assert_allclose(quadratic_refine(score[:1], torch.tensor([[[11, 8]]])).numpy(),
                               [[[10.5, 7.8]]], atol=1e-9)
    # Not concave (flat, rising or convex along x): no offset on x; y is refined as usual.
    for row in ([0.0, 1.0, 1.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0, 4.0], [4.0, 2.0, 1.0, 2.0, 4.0]):
        lines = torch.tensor(row).double().expand(5, 5) * torch.tensor(
            [0.2, 0.9, 1.0, 0.6, 0.1]).double()[:, None]
        refined = quadratic_refine(lines[None, None].contiguous(), torch.tensor([[[2, 2]]]))
        assert refined[0, 0, 0] == 2.0 and 1.5 < refined[0, 0, 1] < 2.0
    # Keypoints on the edge (training refines padding keypoints, which can sit on any pixel):
    # no offset along an axis where a neighbour is missing, even at an edge maximum.
    corners = torch.tensor([[[0, 0], [23, 19], [9, 19]]])
    edge = quadratic_refine(score[:1], corners)
    assert edge[0, 0].tolist() == [0.0, 0.0] and edge[0, 1].tolist() == [23.0, 19.0]
    np.testing.assert_allclose(edge[0, 2].numpy(), [9.3, 19.0], atol=1e-9)  # x still refined
    above = (1.0 - 0.1 * (xx - 9.3) ** 2 - 0.05 * (yy + 0.3) ** 2).double()[None, None]
    peak_on_edge = quadratic_refine(above, torch.tensor([[[9, 0]]]))  # y's maximum at row 0
    np.testing.assert_allclose(peak_on_edge.numpy(), [[[9.3, 0.0]]], atol=1e-9)


# --------------------------------------------------------------------------- gradients


def test_gradcheck_extract_patches():
    image = torch.rand(1, 1, 12, 14, dtype=torch.float64, requires_grad=True)
    keypoints = torch.tensor([[[6.37, 5.61], [7.13, 6.29]]], dtype=torch.float64,
                             requires_grad=True)
    scales = torch.tensor([[0.23, 0.31]], dtype=torch.float64, requires_grad=True)
    angles = torch.tensor([0.41, -1.1], dtype=torch.float64)
    orientations = torch.stack([angles.cos(), angles.sin()], dim=-1)[None].requires_grad_(True)

    def crop(img, kps, scl, ori):
        return extract_patches(img, kps, scl, ori, patch_size=5)

    assert torch.autograd.gradcheck(crop, (image, keypoints, scales, orientations),
                                    eps=1e-6, atol=1e-6)


def test_gradcheck_soft_argmax_refine():
    score = torch.rand(1, 1, 15, 16, dtype=torch.float64, requires_grad=True)
    kps = torch.tensor([[[7, 7], [8, 6]]])
    scales = torch.tensor([[0.93, 1.21]], dtype=torch.float64, requires_grad=True)

    def refine(scr, scl):
        return soft_argmax_refine(scr, kps, scl, 9, 1.0)

    assert torch.autograd.gradcheck(refine, (score, scales), eps=1e-6, atol=1e-6)


def test_gradcheck_soft_nms_and_merge():
    logits = torch.randn(1, 3, 6, 7, dtype=torch.float64, requires_grad=True)

    def pipeline(x):
        return soft_merge_scales(soft_nms_3d(x, 3, 3.0), SCALES[:3], 10.0)

    assert torch.autograd.gradcheck(pipeline, (logits,), eps=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- TF1 resize


@pytest.mark.parametrize('in_hw,out_hw', [((20, 23), (14, 16)), ((20, 23), (28, 33)),
                                          ((7, 9), (7, 9)), ((256, 31), (181, 44)),
                                          ((181, 215), (256, 256)), ((5, 1), (9, 3))])
def test_resize_bilinear_matches_tf1_legacy(in_hw, out_hw):
    image = np.random.rand(2, 3, *in_hw).astype(np.float32)
    got = resize_bilinear(torch.from_numpy(image), *out_hw)
    assert got.shape == (2, 3, *out_hw) and got.dtype == torch.float32
    # A coordinate off by 1 float32 ulp (3e-5 px at 256) moves a [0, 1] value by < 3e-5;
    # a half-pixel mapping would be off by ~0.1.
    np.testing.assert_allclose(got.numpy(), ref_resize_tf1(image, *out_hw), rtol=0, atol=4e-5)
    if in_hw == out_hw:
        np.testing.assert_array_equal(got.numpy(), image)


def test_resize_rows_exports_to_one_onnx_resize_that_matches_pytorch(tmp_path):
    """Under torch.export resize_rows becomes one ONNX Resize; ONNX Runtime agrees to ~1 ulp."""
    onnx = pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    from lfnet_core.ops.resize import onnx_translations

    class Rows(torch.nn.Module):
        def forward(self, x):
            return resize_rows(x, scaled_size(x.shape[2], 1.0 / math.sqrt(2.0)))

    x = torch.rand(1, 16, 240, 40, generator=torch.Generator().manual_seed(0))
    path = tmp_path / 'rows.onnx'
    height = torch.export.Dim('height', min=8, max=4096)
    torch.onnx.export(Rows(), (x,), str(path), input_names=['x'],
                      dynamic_shapes={'x': {2: height}}, external_data=False, verbose=False,
                      custom_translation_table=onnx_translations())
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    assert ops.count('Resize') == 1 and 'Gather' not in ops, ops
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    for rows in (240, 97):
        sample = torch.rand(1, 16, rows, 40, generator=torch.Generator().manual_seed(rows))
        got = session.run(None, {'x': sample.numpy()})[0]
        expected = Rows()(sample).numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_resize_bilinear_is_not_half_pixel():
    """Output pixel i reads input i * in / out: the first row/column are copied exactly."""
    image = torch.rand(1, 1, 10, 12, dtype=torch.float64)
    got = resize_bilinear(image, 5, 4)
    np.testing.assert_allclose(got[0, 0].numpy(), image[0, 0, ::2, ::3].numpy(), atol=1e-12)


def test_resize_bilinear_gradcheck():
    image = torch.rand(1, 1, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: resize_bilinear(x, 7, 4), (image,))


def test_scaled_size_release_sizes():
    assert [scaled_size(256, s) for s in SCALES] == [181, 215, 256, 304, 362]
    assert [scaled_size(480, s) for s in SCALES] == [int(480 / s + 0.5) for s in SCALES]


def _scaled_size_mismatches():
    """(size, scale, scaled_size, int(size / scale + 0.5)) wherever the two differ."""
    return [(size, scale, scaled_size(size, scale), int(size / scale + 0.5))
            for scale in SCALES for size in range(1, 4097)
            if scaled_size(size, scale) != int(size / scale + 0.5)]


def test_scaled_size_mismatches_are_near_ties():
    """Whatever differs from int(size / s + 0.5) is off by one, at a near-.5 fraction."""
    for size, scale, got, expected in _scaled_size_mismatches():
        assert abs(got - expected) == 1
        assert abs((size / scale) % 1.0 - 0.5) < 1e-3


def test_scaled_size_equals_int_formula_up_to_4096():
    assert [(size, round(scale, 4)) for size, scale, _, _ in _scaled_size_mismatches()] == []


@pytest.mark.parametrize('out_channels', [[1], [1, 2], [3, 1, 2]])
@pytest.mark.parametrize('ksize', [1, 3, 5])
def test_conv2d_rows_equals_conv2d(out_channels, ksize):
    x = torch.randn(2, 4, 13, 17, dtype=torch.float64)
    weights = [torch.randn(c, 4, ksize, ksize, dtype=torch.float64) for c in out_channels]
    biases = [torch.randn(c, dtype=torch.float64) for c in out_channels]
    outputs = conv2d_rows(x, weights, biases)
    assert len(outputs) == len(out_channels)
    for out, w, b in zip(outputs, weights, biases):
        torch.testing.assert_close(out, F.conv2d(x, w, b, padding=ksize // 2), rtol=0,
                                   atol=1e-12)


@pytest.mark.parametrize('out_hw', [(19, 17), (9, 17)])
def test_conv2d_rows_transposed_with_row_resize_equals_resize_then_conv2d(out_hw):
    x = torch.randn(1, 4, 13, 17, dtype=torch.float64)
    w, b = torch.randn(2, 4, 5, 5, dtype=torch.float64), torch.randn(2, dtype=torch.float64)
    out, = conv2d_rows(x.transpose(2, 3).contiguous(), [w], [b],
                       row_resize=lambda t: resize_rows(t, out_hw[0]), transposed=True)
    expected = F.conv2d(resize_bilinear(x, *out_hw), w, b, padding=2)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-10)


def test_conv2d_rows_rejects_mixed_or_even_kernels():
    x = torch.randn(1, 2, 8, 8)
    with pytest.raises(ValueError):
        conv2d_rows(x, [torch.randn(1, 2, 3, 3), torch.randn(1, 2, 5, 5)],
                    [torch.zeros(1), torch.zeros(1)])
    with pytest.raises(ValueError):
        conv2d_rows(x, [torch.randn(1, 2, 4, 4)], [torch.zeros(1)])
    with pytest.raises(ValueError, match='transposed'):
        conv2d_rows(x, [torch.randn(1, 2, 3, 3)], [torch.zeros(1)],
                    row_resize=lambda t: resize_rows(t, 5))


def test_conv2d_rows_gradients_match_conv2d():
    x = torch.randn(1, 3, 9, 11, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    grads = torch.autograd.grad(conv2d_rows(x, [w], [b])[0].square().sum(), (x, w, b))
    expected = torch.autograd.grad(F.conv2d(x, w, b, padding=2).square().sum(), (x, w, b))
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_soft_merge_scales_softmax_equals_torch_softmax():
    responses = torch.rand(2, 5, 9, 7, dtype=torch.float64)
    _, scale = soft_merge_scales(responses, SCALES, 100.0)
    weights = torch.softmax(100.0 * responses, dim=1)
    expected = (weights * torch.tensor(SCALES, dtype=torch.float64).view(1, -1, 1, 1)).sum(
        dim=1, keepdim=True)
    torch.testing.assert_close(scale, expected, rtol=0, atol=1e-12)


def test_depthwise_affine_equals_eval_batchnorm():
    batchnorm = torch.nn.BatchNorm2d(16).double().eval()
    with torch.no_grad():
        batchnorm.running_mean.uniform_(-1.0, 1.0)
        batchnorm.running_var.uniform_(0.2, 3.0)
        batchnorm.weight.uniform_(0.5, 1.5)
        batchnorm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, 16, 7, 9, dtype=torch.float64)
    torch.testing.assert_close(DepthwiseAffine(batchnorm)(x), batchnorm(x),
                               rtol=0, atol=1e-12)


def test_depthwise_preactivation_batchnorms_keep_the_dense_maps():
    model = randomised_model(0).double()
    folded = with_depthwise_preactivation_batchnorms(model)
    batchnorms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in folded.detector.modules())
    assert batchnorms == 3  # each block's second BatchNorm, after a convolution, stays
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.detector.modules()) == 7
    image = torch.rand(1, 1, 48, 64, dtype=torch.float64)
    with torch.no_grad():
        for got, want in zip(folded.dense(image)[:3], model.dense(image)[:3]):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match='eval-mode'):
        with_depthwise_preactivation_batchnorms(model.train())
