# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the training pair datasets: the record contract, warps, angles, scales, determinism."""

import math

import cv2
import numpy as np
import pytest
import skimage.data
import torch
from torch.utils.data import default_collate

from lfnet_core import scenes
from lfnet_core.rgbd_warp import warp_depth_map
from lfnet_core.scene_render import default_intrinsics
from lfnet_training.datasets import (HomographyPairs, RECORD_KEYS, SyntheticPairs, TumPairs,
                                     TumSequence)
from lfnet_training.datasets.visualize import draw_pair

S = 64
SCENES = (0, 1)


def _np(record, key):
    return record[key].numpy()


def _remap(image, xy):
    """Bilinear image at float positions xy (H, W, 2)."""
    return cv2.remap(image.astype(np.float32), xy[..., 0].astype(np.float32),
                     xy[..., 1].astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def _photometric(record):
    """Median |image0 - image1(xy_0to1)| on visible pixels, and with a 9 px shift.

    The median signed difference is removed first (real cameras change exposure).
    """
    img0, img1 = _np(record, 'image0')[0], _np(record, 'image1')[0]
    xy, vis = _np(record, 'xy_0to1'), _np(record, 'vis_0to1')

    def error(offset):
        diff = (_remap(img1, xy + np.float32(offset)) - img0)[vis]
        return np.median(np.abs(diff - np.median(diff)))

    return error([0, 0]), error([9, -7])


@pytest.fixture(scope='module')
def synthetic():
    return SyntheticPairs(8, size=S, seed=1, scene_seeds=SCENES)


@pytest.fixture(scope='module')
def homography():
    return HomographyPairs([skimage.data.astronaut(), skimage.data.camera()], size=S,
                           num_pairs=6, seed=2)


@pytest.fixture(scope='module')
def tum_dir(tmp_path_factory):
    seq = scenes.generate_sequence(num_frames=5, width=160, height=120, seed=4, speed=2.0)
    return scenes.write_tum_dataset(seq, tmp_path_factory.mktemp('tum_synth'))


@pytest.fixture(scope='module')
def tum(tum_dir):
    return TumPairs(tum_dir, size=S, gap_range=(1, 2), seed=3)


@pytest.mark.parametrize('name', ['synthetic', 'homography', 'tum'])
def test_record_contract(name, request):
    record = request.getfixturevalue(name)[1]
    assert set(record) == set(RECORD_KEYS)
    shapes = {'image0': (1, S, S), 'image1': (1, S, S), 'depth0': (S, S), 'depth1': (S, S),
              'K0': (3, 3), 'K1': (3, 3), 'T_0to1': (4, 4), 'xy_0to1': (S, S, 2),
              'xy_1to0': (S, S, 2), 'vis_0to1': (S, S), 'vis_1to0': (S, S),
              'angle_0to1': (S, S), 'angle_1to0': (S, S), 'scale_0to1': (S, S),
              'scale_1to0': (S, S)}
    for key, shape in shapes.items():
        value = record[key]
        assert isinstance(value, torch.Tensor) and tuple(value.shape) == shape, key
        assert value.dtype == (torch.bool if key.startswith('vis') else torch.float32), key
        assert torch.isfinite(value.float()).all(), key
    assert isinstance(record['name'], str) and record['name']
    for k in '01':
        image = record[f'image{k}']
        assert image.min() >= 0 and image.max() <= 1 and image.std() > 0.02
        vis = record[f'vis_{k}to{1 - int(k)}']
        assert vis.float().mean() > 0.2
        depth = record[f'depth{k}']
        assert (depth[vis] > 0).all()
        assert (record[f'scale_{k}to{1 - int(k)}'][~vis] == 1).all()
    assert (record['xy_0to1'].abs() <= 1e4).all()
    batch = default_collate([record, record])
    assert batch['image0'].shape == (2, 1, S, S) and len(batch['name']) == 2


@pytest.mark.parametrize('name', ['synthetic', 'homography', 'tum'])
def test_deterministic(name, request):
    data = request.getfixturevalue(name)
    a, b = data[2], data[2]
    for key in RECORD_KEYS[:-1]:
        assert torch.equal(a[key], b[key]), key
    assert a['name'] == b['name']
    assert not torch.equal(a['image1'], data[3]['image1'])


@pytest.mark.parametrize('name', ['synthetic', 'homography', 'tum'])
def test_photometric_consistency(name, request):
    data = request.getfixturevalue(name)
    good, shifted = np.array([_photometric(data[index]) for index in range(3)]).T
    # Bilinear resampling of small (64 px) renders limits the agreement; a 9 px shift is far off.
    assert good.max() < 0.04 and (shifted > good).all(), (good, shifted)
    assert shifted.mean() > 3 * good.mean(), (good, shifted)


@pytest.mark.parametrize('name', ['synthetic', 'homography', 'tum'])
def test_forward_backward_inverse(name, request):
    record = request.getfixturevalue(name)[0]
    xy01, vis01 = _np(record, 'xy_0to1'), _np(record, 'vis_0to1')
    xy10, vis10 = _np(record, 'xy_1to0'), _np(record, 'vis_1to0')
    v, u = np.nonzero(vis01)
    q = np.rint(xy01[v, u]).astype(int)
    mutual = vis10[q[:, 1], q[:, 0]]
    assert mutual.mean() > 0.9
    back = xy10[q[:, 1], q[:, 0]][mutual]
    err = np.linalg.norm(back - np.stack([u, v], 1)[mutual], axis=1)
    assert np.median(err) < 0.7 and np.percentile(err, 90) < 1.5


def test_pose_and_intrinsics_reproduce_xy(synthetic):
    record = synthetic[0]
    xy, vis = warp_depth_map(_np(record, 'depth0'), _np(record, 'K0').astype(np.float64),
                             _np(record, 'T_0to1').astype(np.float64),
                             _np(record, 'K1').astype(np.float64), (S, S))
    err = np.linalg.norm(xy - _np(record, 'xy_0to1'), axis=-1)[_np(record, 'vis_0to1')]
    assert err.max() < 1e-2


def _jacobian_angle_scale(record):
    """Median angle and scale of the x step of xy_0to1, over pixels visible with a neighbour."""
    xy, vis = _np(record, 'xy_0to1'), _np(record, 'vis_0to1')
    step = xy[:, 1:] - xy[:, :-1]
    ok = vis[:, 1:] & vis[:, :-1]
    angle = np.arctan2(step[..., 1], step[..., 0])[ok]
    ref = _np(record, 'angle_0to1')[:, :-1][ok]
    diff = (angle - ref + np.pi) % (2 * np.pi) - np.pi
    ratio = np.linalg.norm(step, axis=-1)[ok] / _np(record, 'scale_0to1')[:, :-1][ok]
    return np.median(np.abs(diff)), np.median(ratio)


def test_gap_zero_angle_and_scale_are_the_augmentation():
    data = SyntheticPairs(4, size=S, seed=5, gap_range=(0, 0), scene_seeds=SCENES)
    for index in range(4):
        record, drawn = data[index], data.draw(index)
        vis = _np(record, 'vis_0to1')
        assert vis.mean() > 0.3
        expected = (drawn['angle'] + np.pi) % (2 * np.pi) - np.pi
        np.testing.assert_allclose(_np(record, 'angle_0to1'), expected, atol=1e-5)
        np.testing.assert_allclose(_np(record, 'angle_1to0'), -expected, atol=1e-5)
        np.testing.assert_allclose(_np(record, 'scale_0to1')[vis], drawn['scale'], rtol=1e-4)
        vis10 = _np(record, 'vis_1to0')
        np.testing.assert_allclose(_np(record, 'scale_1to0')[vis10], 1 / drawn['scale'],
                                   rtol=1e-4)
        # The sign convention: the x step of the warp turns by angle_0to1 and grows by scale.
        angle_err, ratio = _jacobian_angle_scale(record)
        assert angle_err < 1e-3 and abs(ratio - 1) < 1e-3


def test_rotated_patch_matches():
    """A patch of image 0 equals image 1's patch at xy_0to1 turned by angle and scaled."""
    data = SyntheticPairs(3, size=S, seed=8, gap_range=(0, 0), scene_seeds=SCENES)
    for index in range(3):
        record = data[index]
        img0, img1 = _np(record, 'image0')[0], _np(record, 'image1')[0]
        vis = _np(record, 'vis_0to1')
        v, u = np.nonzero(vis[12:-12, 12:-12])
        pick = np.random.default_rng(0).choice(len(u), 20)
        offsets = np.stack(np.meshgrid(np.arange(-5, 6), np.arange(-5, 6)), -1).astype(float)
        errs, wrong = [], []
        for i in pick:
            x, y = u[i] + 12, v[i] + 12
            a, s = _np(record, 'angle_0to1')[y, x], _np(record, 'scale_0to1')[y, x]
            p0 = img0[y - 5:y + 6, x - 5:x + 6]
            for sign, out in ((1, errs), (-1, wrong)):
                c, n = math.cos(sign * a), math.sin(sign * a)
                rot = s * offsets @ np.array([[c, -n], [n, c]]).T
                p1 = _remap(img1, _np(record, 'xy_0to1')[y, x] + rot)
                out.append(np.abs(p1 - p0).mean())
        assert np.median(errs) < 0.03 and np.median(wrong) > np.median(errs)


def test_no_augmentation_is_identity():
    data = SyntheticPairs(2, size=S, seed=3, gap_range=(0, 0), max_degree=0, max_scale=1,
                          scene_seeds=SCENES)
    record = data[0]
    assert torch.equal(record['image0'], record['image1'])
    assert record['vis_0to1'].all() and record['vis_1to0'].all()
    v, u = np.mgrid[0:S, 0:S]
    np.testing.assert_allclose(_np(record, 'xy_0to1'), np.stack([u, v], -1), atol=1e-3)
    assert (record['angle_0to1'] == 0).all() and torch.allclose(record['scale_0to1'],
                                                                torch.ones(S, S))
    torch.testing.assert_close(record['K0'], record['K1'])


def test_motion_angle_matches_the_warp():
    data = SyntheticPairs(4, size=S, seed=9, gap_range=(10, 15), scene_seeds=SCENES)
    for index in range(4):
        angle_err, ratio = _jacobian_angle_scale(data[index])
        assert angle_err < math.radians(4) and abs(ratio - 1) < 0.1


def test_homography_matches_opencv(homography):
    k, x0, y0, H = homography.draw(4)
    record = homography[4]
    v, u = np.mgrid[0:S, 0:S]
    pts = np.stack([u, v], -1).reshape(-1, 1, 2).astype(np.float64)
    expected = cv2.perspectiveTransform(pts, H).reshape(S, S, 2)
    vis = _np(record, 'vis_0to1')
    np.testing.assert_allclose(_np(record, 'xy_0to1')[vis], expected[vis], atol=1e-3)
    back = cv2.perspectiveTransform(pts, np.linalg.inv(H)).reshape(S, S, 2)
    vis10 = _np(record, 'vis_1to0')
    np.testing.assert_allclose(_np(record, 'xy_1to0')[vis10], back[vis10], atol=1e-3)
    assert torch.equal(record['T_0to1'], torch.eye(4))
    assert (record['depth0'] == 1).all()
    # angle: atan2 of the warp's x step; scale: sqrt|det| of the finite-difference Jacobian.
    angle_err, _ = _jacobian_angle_scale(record)
    xy = _np(record, 'xy_0to1').astype(np.float64)
    dx, dy = (xy[:-1, 1:] - xy[:-1, :-1]), (xy[1:, :-1] - xy[:-1, :-1])
    det = np.sqrt(np.abs(dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]))
    ok = vis[:-1, :-1] & vis[1:, :-1] & vis[:-1, 1:]
    ratio = det[ok] / _np(record, 'scale_0to1')[:-1, :-1][ok]
    assert angle_err < 0.02 and np.abs(np.median(ratio) - 1) < 0.02


def test_tum_sequence_reads_write_tum_dataset(tum_dir):
    seq = TumSequence(tum_dir)
    assert len(seq) == 5
    np.testing.assert_allclose(seq.K, default_intrinsics(160, 120))
    frame = seq[2]
    assert frame.rgb.shape == (120, 160, 3) and frame.depth.dtype == np.float32
    assert frame.depth.max() > 0.5 and frame.T_world_cam.shape == (4, 4)
    assert [f.timestamp for f in seq] == pytest.approx(list(seq.timestamps))


def test_tum_cabinet(require_shared):
    root = require_shared('tum_fr3_cabinet')
    seq = TumSequence(root)
    assert len(seq) == 29 and seq.depth_factor == 5000.0
    data = TumPairs(seq, size=S, gap_range=(1, 1), seed=0)
    assert len(data) >= 20
    for index in (0, len(data) // 2):
        record = data[index]
        assert record['vis_0to1'].float().mean() > 0.2
        assert record['vis_1to0'].float().mean() > 0.2
        good, shifted = _photometric(record)
        assert good < 0.05 and shifted > 1.5 * good, (index, good, shifted)


def test_draw_pair(synthetic):
    out = draw_pair(synthetic[0], num_matches=10)
    assert out.shape == (2 * S, 2 * S, 3) and out.dtype == np.uint8


def test_photometric_jitter_is_seeded_bounded_and_changes_only_images():
    from lfnet_training.datasets.photometric import Photometric
    image = np.tile(np.linspace(0.0, 1.0, 64, dtype=np.float32), (48, 1))
    jitter = Photometric.camera_like()
    first = jitter.apply(image, np.random.default_rng(3))
    again = jitter.apply(image, np.random.default_rng(3))
    other = jitter.apply(image, np.random.default_rng(4))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.dtype == np.float32 and first.shape == image.shape
    assert first.min() >= 0.0 and first.max() <= 1.0
    assert Photometric().apply(image, np.random.default_rng(0)) is image
    assert not Photometric().enabled and jitter.enabled
    assert Photometric.from_spec('camera') == jitter
    assert Photometric.from_spec({'blur_prob': 1.0, 'blur_max': 2.0}).blur_max == 2.0

    plain = HomographyPairs(images=['skimage:coffee'], size=64, num_pairs=2, seed=5)
    jittered = HomographyPairs(images=['skimage:coffee'], size=64, num_pairs=2, seed=5,
                               photometric='camera')
    a, b = plain[1], jittered[1]
    assert not torch.equal(a['image0'], b['image0'])
    for key in ('xy_0to1', 'vis_0to1', 'angle_0to1', 'scale_0to1', 'depth1'):
        assert torch.equal(a[key], b[key]), key
    torch.testing.assert_close(jittered[1]['image1'], b['image1'], rtol=0, atol=0)


def test_homography_default_images_exclude_and_named_photos():
    from lfnet_training.datasets.homography import default_homography_images, load_named_image
    everything = default_homography_images(shared_dir='/nonexistent')
    fewer = default_homography_images(shared_dir='/nonexistent', exclude=['coffee'])
    assert len(fewer) == len(everything) - 1
    np.testing.assert_array_equal(load_named_image('skimage:coffee'), skimage.data.coffee())
    with pytest.raises(ValueError):
        default_homography_images(exclude=['no_such_photo'])
    with pytest.raises(ValueError):
        load_named_image('skimage:no_such_photo')


def test_homography_source_scale_enlarges_the_photos():
    """source_scale resizes each photo before cropping; bad factors are refused."""
    photo = skimage.data.camera()  # 512 x 512
    plain = HomographyPairs([photo], size=64, num_pairs=1, seed=0)
    doubled = HomographyPairs([photo], size=64, num_pairs=1, seed=0, source_scale=2.0)
    assert plain.images[0].shape == (512, 512) and doubled.images[0].shape == (1024, 1024)
    # Doubling halves the image gradients of the same content.
    grad = [np.abs(np.diff(d.images[0].astype(np.float64), axis=1)).mean()
            for d in (plain, doubled)]
    assert grad[1] < 0.7 * grad[0]
    assert doubled[0]['image0'].shape == plain[0]['image0'].shape
    for bad in (0.0, 100.0):
        with pytest.raises(ValueError, match='source_scale'):
            HomographyPairs([photo], size=64, num_pairs=1, source_scale=bad)
