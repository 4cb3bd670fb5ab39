# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for lfnet_core.frontend: plumbing with the real backend, geometry with an oracle one.

The shipped LF-Net weights may be untrained, so nothing here asserts feature quality. Pose
accuracy through the whole Frontend is checked with an oracle backend that "detects" projected
world points and describes each with a fixed random vector, so matches are exact by design.
"""

import hashlib

import cv2
import numpy as np
import pytest

from lfnet_core.frontend import Frame, FrameResult, Frontend, FrontendConfig
from lfnet_core.inference import create_backend
from lfnet_core.pinhole import backproject, project, sample_depth
from lfnet_core.rigid_poses import invert_pose, rotation_angle, transform_points
from lfnet_core.scenes import generate_sequence
from lfnet_core.vo import RansacConfig

WIDTH, HEIGHT = 320, 240
TIMING_KEYS = {'extract', 'preprocess', 'dense', 'select', 'describe', 'match', 'pose', 'total'}


def _key(image):
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


class OracleBackend:
    """Duck-typed Backend: keypoints are projections of fixed world points, shuffled per frame.

    Each world point has a fixed random unit descriptor, so mutual nearest neighbours recover
    the true correspondences. Unknown images give random keypoints and descriptors.
    """

    name = 'oracle'

    def __init__(self, sequence, num_points=400, seed=0):
        rng = np.random.default_rng(seed)
        self.sequence = sequence
        self.index = {_key(img): i for i, img in enumerate(sequence.rgb)}
        uv = rng.uniform([0, 0], [WIDTH - 1, HEIGHT - 1], (num_points, 2))
        z = sample_depth(sequence.depth[0], uv)
        cam = backproject(uv[np.isfinite(z)], z[np.isfinite(z)], sequence.K)
        self.world = transform_points(sequence.T_world_cam[0], cam)
        desc = rng.normal(size=(len(self.world), 256))
        self.descriptors = (desc / np.linalg.norm(desc, axis=1, keepdims=True)).astype(np.float32)
        self.rng = rng
        self.last_timings = {}
        self.last_ids = None

    def extract(self, image, top_k=None):
        i = self.index.get(_key(image))
        if i is None:  # unknown image: noise
            n = 200
            uv = self.rng.uniform([0, 0], [image.shape[1] - 1, image.shape[0] - 1], (n, 2))
            desc = self.rng.normal(size=(n, 256))
            desc /= np.linalg.norm(desc, axis=1, keepdims=True)
            ids = np.full(n, -1)
        else:
            cam = transform_points(invert_pose(self.sequence.T_world_cam[i]), self.world)
            uv, z = project(cam, self.sequence.K)
            seen = sample_depth(self.sequence.depth[i], np.nan_to_num(uv, nan=-10.0))
            visible = np.isfinite(seen) & (np.abs(seen - z) < 0.02)
            ids = self.rng.permutation(np.flatnonzero(visible))
            uv, desc = uv[ids], self.descriptors[ids]
        n = len(uv)
        self.last_ids = ids
        self.last_timings = {'preprocess': 0.0, 'dense': 0.0, 'select': 0.0, 'describe': 0.0}
        return {'keypoints': uv.astype(np.float32), 'scales': np.ones(n, np.float32),
                'orientations': np.zeros(n, np.float32), 'scores': np.ones(n, np.float32),
                'descriptors': desc.astype(np.float32)}


@pytest.fixture(scope='module')
def sequence():
    return generate_sequence(num_frames=10, width=WIDTH, height=HEIGHT, seed=0)


def _frame(seq, i, depth=True, K=True):
    return Frame(seq.rgb[i], float(seq.timestamps[i]), seq.depth[i] if depth else None,
                 seq.K if K else None)


def _true_pose(seq, i):
    return invert_pose(seq.T_world_cam[0]) @ seq.T_world_cam[i]


# --------------------------------------------------------------------------- real backend


@pytest.fixture(scope='module')
def backend():
    return create_backend('torch')


@pytest.fixture(scope='module')
def torch_run(sequence, backend):
    frontend = Frontend(backend, FrontendConfig(top_k=300))
    results = [frontend.process(_frame(sequence, i)) for i in range(3)]
    return frontend, results


def test_frontend_outputs_shapes_fields_and_timings(sequence, torch_run):
    frontend, results = torch_run
    assert frontend.previous is results[-1]
    first = results[0]
    assert first.tracking == 'init' and first.motion is None and first.prev_stamp is None
    np.testing.assert_array_equal(first.T_odom_cam, np.eye(4))
    assert first.matches.shape == (0, 2) and first.inliers.shape == (0,)
    for i, r in enumerate(results):
        assert isinstance(r, FrameResult)
        n = len(r.keypoints)
        assert 0 < n <= 300
        assert r.stamp == float(sequence.timestamps[i])
        assert r.keypoints.shape == (n, 2) and r.keypoints.dtype == np.float32
        for name in ('scales', 'orientations', 'scores'):
            assert getattr(r, name).shape == (n,) and getattr(r, name).dtype == np.float32
        assert r.descriptors.shape == (n, 256) and r.descriptors.dtype == np.float32
        assert r.points.shape == (n, 3)
        known = np.isfinite(r.points).all(axis=1)
        assert known.any()
        z = sample_depth(sequence.depth[i], r.keypoints[known])
        np.testing.assert_allclose(r.points[known, 2], z, rtol=1e-6)
        assert set(r.timings) >= TIMING_KEYS
        assert all(v >= 0 for v in r.timings.values())
        assert r.timings['total'] >= r.timings['extract']
        assert r.T_odom_cam.shape == (4, 4)
    for prev, r in zip(results, results[1:]):
        assert r.prev_stamp == prev.stamp
        m = len(r.matches)
        assert m > 0 and r.matches.dtype == np.int64
        assert r.distances.shape == (m,) and r.distances.dtype == np.float32
        assert r.inliers.shape == (m,) and r.inliers.dtype == bool
        assert r.matches[:, 0].min() >= 0 and r.matches[:, 0].max() < len(prev.keypoints)
        assert r.matches[:, 1].min() >= 0 and r.matches[:, 1].max() < len(r.keypoints)
        assert len(np.unique(r.matches[:, 0])) == m and len(np.unique(r.matches[:, 1])) == m
        assert r.tracking in ('ok', 'lost') and r.motion is not None
        if r.tracking == 'ok':
            np.testing.assert_array_equal(r.inliers, r.motion.inliers)
            np.testing.assert_allclose(
                r.T_odom_cam, prev.T_odom_cam @ invert_pose(r.motion.T_prev_to_cur))
        else:
            assert not r.inliers.any() and r.motion.reason
            np.testing.assert_array_equal(r.T_odom_cam, prev.T_odom_cam)


def test_frontend_resize_reports_input_pixels(sequence, backend):
    frontend = Frontend(backend, FrontendConfig(top_k=100, resize=(160, 120)))
    r = frontend.process(_frame(sequence, 0))
    assert 0 < len(r.keypoints) <= 100
    assert (r.keypoints >= -0.5).all()
    assert (r.keypoints[:, 0] < WIDTH - 0.5).all() and (r.keypoints[:, 1] < HEIGHT - 0.5).all()
    # spans the input image, not the 160x120 network image
    assert r.keypoints[:, 0].max() > 160 and r.keypoints[:, 1].max() > 120


def test_resize_scale_and_pyramid_levels(sequence, backend):
    config = FrontendConfig(top_k=120, resize_scale=0.5, pyramid_levels=2)
    assert config.network_size(WIDTH, HEIGHT) == (160, 120)
    assert FrontendConfig(resize=(100, 80), resize_scale=0.5).network_size(WIDTH, HEIGHT) \
        == (100, 80)
    assert config.ransac_for(WIDTH, HEIGHT).reprojection_px == pytest.approx(
        2 * config.ransac.reprojection_px)
    r = Frontend(backend, config).process(_frame(sequence, 0))
    assert 0 < len(r.keypoints) <= 120
    assert (r.keypoints[:, 0] < WIDTH - 0.5).all() and r.keypoints[:, 0].max() > 160
    # The second level (113x85 of the 160x120 network image) gives keypoints of about twice
    # the scale of the first level's, in input pixels (x2 for the network resize).
    assert r.scales.max() > 2.0 * np.sqrt(2) * 0.9
    for bad in ({'resize_scale': 0.0}, {'resize_scale': 5.0}, {'pyramid_levels': 0},
                {'pyramid_levels': 1.5}, {'pyramid_levels': True}):
        with pytest.raises(ValueError):
            FrontendConfig(**bad)


# --------------------------------------------------------------------------- oracle backend


def test_frontend_chains_true_pose_with_oracle_features(sequence):
    oracle = OracleBackend(sequence)
    frontend = Frontend(oracle)
    ids = []
    for i in range(len(sequence)):
        r = frontend.process(_frame(sequence, i))
        ids.append(oracle.last_ids)
        if i == 0:
            continue
        assert r.tracking == 'ok', r.motion.reason
        # every match links the same world point; all are inliers
        np.testing.assert_array_equal(ids[i - 1][r.matches[:, 0]], ids[i][r.matches[:, 1]])
        assert r.inliers.all()
        T_true = _true_pose(sequence, i)
        assert np.linalg.norm(r.T_odom_cam[:3, 3] - T_true[:3, 3]) < 1e-4
        assert np.degrees(rotation_angle(r.T_odom_cam[:3, :3] @ T_true[:3, :3].T)) < 0.01


def test_frontend_resize_maps_keypoints_back(sequence):
    class Fixed:
        last_timings = {'dense': 0.0}

        def extract(self, image, top_k=None):
            self.shape = image.shape
            return {'keypoints': np.array([[0.0, 0.0], [159.0, 119.0]], np.float32),
                    'scales': np.ones(2, np.float32),
                    'orientations': np.array([np.pi / 4, -np.pi / 2], np.float32),
                    'scores': np.ones(2, np.float32),
                    'descriptors': np.eye(2, 256, dtype=np.float32)}

    backend = Fixed()
    r = Frontend(backend, FrontendConfig(resize=(160, 60))).process(_frame(sequence, 0))
    assert backend.shape[:2] == (60, 160)
    # u_in = (u + 0.5) / sx - 0.5 with sx = 0.5, sy = 0.25
    np.testing.assert_allclose(r.keypoints, [[0.5, 1.5], [318.5, 477.5]])
    np.testing.assert_allclose(r.scales, 1.0 / np.sqrt(0.5 * 0.25), rtol=1e-6)
    np.testing.assert_allclose(r.orientations, [np.arctan2(4.0, 2.0), -np.pi / 2], rtol=1e-6)
    assert set(r.timings) >= TIMING_KEYS  # missing backend stages are reported as 0.0


def test_frame_without_depth_gives_no_depth_with_matches(sequence):
    frontend = Frontend(OracleBackend(sequence))
    frontend.process(_frame(sequence, 0))
    held = frontend.process(_frame(sequence, 1)).T_odom_cam
    r = frontend.process(_frame(sequence, 2, depth=False, K=False))
    assert r.tracking == 'no_depth' and r.motion is None
    assert len(r.matches) > 50 and not r.inliers.any() and r.inliers.shape == (len(r.matches),)
    assert np.isnan(r.points).all()
    np.testing.assert_array_equal(r.T_odom_cam, held)
    # the next frame matches against the depthless one: no 3D points, no pose
    r = frontend.process(_frame(sequence, 3))
    assert r.tracking == 'no_depth' and len(r.matches) > 50
    np.testing.assert_array_equal(r.T_odom_cam, held)
    r = frontend.process(_frame(sequence, 4))
    assert r.tracking == 'ok'
    # the motion 1 -> 3 was dropped, so the pose is now behind the truth by that much
    expected = held @ invert_pose(_true_pose(sequence, 3)) @ _true_pose(sequence, 4)
    np.testing.assert_allclose(r.T_odom_cam, expected, atol=1e-4)


def test_image_size_change_resets(sequence):
    frontend = Frontend(OracleBackend(sequence))
    frontend.process(_frame(sequence, 0))
    held = frontend.process(_frame(sequence, 1)).T_odom_cam
    small = cv2.resize(sequence.rgb[2], (160, 120), interpolation=cv2.INTER_AREA)
    r = frontend.process(Frame(small, 2.0))
    assert r.tracking == 'init' and r.prev_stamp is None and r.matches.shape == (0, 2)
    np.testing.assert_array_equal(r.T_odom_cam, held)
    r = frontend.process(_frame(sequence, 3))  # back to full size: another reset
    assert r.tracking == 'init' and len(r.matches) == 0
    np.testing.assert_array_equal(r.T_odom_cam, held)


def test_reset_keeps_pose_and_reinitialises(sequence):
    frontend = Frontend(OracleBackend(sequence))
    for i in range(3):
        r = frontend.process(_frame(sequence, i))
    held = r.T_odom_cam
    assert not np.allclose(held, np.eye(4))
    frontend.reset()
    r = frontend.process(_frame(sequence, 5))
    assert r.tracking == 'init' and r.prev_stamp is None and len(r.matches) == 0
    np.testing.assert_array_equal(r.T_odom_cam, held)
    r = frontend.process(_frame(sequence, 6))
    assert r.tracking == 'ok'
    T_5to6 = invert_pose(_true_pose(sequence, 5)) @ _true_pose(sequence, 6)
    np.testing.assert_allclose(r.T_odom_cam, held @ T_5to6, atol=1e-4)


def test_lost_frame_holds_pose_and_becomes_reference(sequence):
    frontend = Frontend(OracleBackend(sequence), FrontendConfig(ransac=RansacConfig()))
    frontend.process(_frame(sequence, 0))
    held = frontend.process(_frame(sequence, 1)).T_odom_cam
    noise = np.random.default_rng(1).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    lost = frontend.process(Frame(noise, 5.0, sequence.depth[2], sequence.K))
    assert lost.tracking == 'lost'
    assert lost.motion is not None and not lost.motion.ok and lost.motion.reason
    assert not lost.inliers.any()
    np.testing.assert_array_equal(lost.T_odom_cam, held)
    r = frontend.process(_frame(sequence, 3))
    assert r.prev_stamp == 5.0  # matched against the lost frame
    assert r.tracking in ('lost', 'ok')


def test_bad_input_raises_value_error(sequence):
    frontend = Frontend(OracleBackend(sequence))
    image, depth, K = sequence.rgb[0], sequence.depth[0], sequence.K
    with pytest.raises(ValueError, match='depth'):
        frontend.process(Frame(image, 1.0, depth[:-1], K))
    with pytest.raises(ValueError, match='float metres'):
        frontend.process(Frame(image, 1.0, (depth * 1000).astype(np.uint16), K))
    with pytest.raises(ValueError, match='K'):
        frontend.process(Frame(image, 1.0, depth, K[:2]))
    with pytest.raises(ValueError, match='finite'):
        frontend.process(Frame(image, 1.0, depth, np.where(np.eye(3) > 0, np.nan, K)))
    with pytest.raises(ValueError, match='focal'):
        frontend.process(Frame(image, 1.0, depth, np.diag([-1.0, 1.0, 1.0])))
    for stamp in (np.nan, np.inf, 'soon'):
        with pytest.raises(ValueError, match='stamp'):
            frontend.process(Frame(image, stamp, depth, K))
    with pytest.raises(ValueError, match='image'):
        frontend.process(Frame(image[None], 1.0))
    with pytest.raises(ValueError, match='top_k'):
        FrontendConfig(top_k=0)
    with pytest.raises(ValueError, match='resize'):
        FrontendConfig(resize=(0, 10))
    with pytest.raises(ValueError, match='depth_min'):
        FrontendConfig(depth_min=5.0, depth_max=1.0)
    assert frontend.previous is None  # nothing was processed
