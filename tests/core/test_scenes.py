# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the synthetic RGB-D sequence generator: exact depth, consistent frames, TUM output."""

import dataclasses

import cv2
import numpy as np
import pytest

from lfnet_core import scenes
from lfnet_core.rigid_poses import invert_pose, pose_from_tum, relative_pose
from lfnet_core.scene_geometry import frame_pose, make_scene, path_length, pose_at, \
    surface_distance
from lfnet_core.scene_render import default_intrinsics, render_frame
from lfnet_core.scene_textures import BUILTIN_TEXTURES
from lfnet_core.sensor_effects import apply_sensor_effects, SensorEffects
from lfnet_core.tum import DEFAULT_DEPTH_FACTOR

WIDTH, HEIGHT = 160, 120


@pytest.fixture(scope='module')
def sequence():
    return scenes.generate_sequence(num_frames=4, width=WIDTH, height=HEIGHT, seed=3)


def _backproject(depth, K, T_world_cam):
    v, u = np.mgrid[:depth.shape[0], :depth.shape[1]]
    rays = np.stack([u, v, np.ones_like(u)], -1).reshape(-1, 3) @ np.linalg.inv(K).T
    points_cam = rays * depth.reshape(-1, 1)
    return points_cam @ T_world_cam[:3, :3].T + T_world_cam[:3, 3]


def _bilinear(image, u, v):
    """Sample image (H, W[, C]) at float pixel positions (inside [0, W-1] x [0, H-1])."""
    u0 = np.clip(np.floor(u).astype(int), 0, image.shape[1] - 2)
    v0 = np.clip(np.floor(v).astype(int), 0, image.shape[0] - 2)
    a, b = u - u0, v - v0
    if image.ndim == 3:
        a, b = a[:, None], b[:, None]
    return ((image[v0, u0] * (1 - a) + image[v0, u0 + 1] * a) * (1 - b)
            + (image[v0 + 1, u0] * (1 - a) + image[v0 + 1, u0 + 1] * a) * b)


def test_smoke_shapes_and_types(sequence):
    assert sequence.rgb.shape == (4, HEIGHT, WIDTH, 3) and sequence.rgb.dtype == np.uint8
    assert sequence.depth.shape == (4, HEIGHT, WIDTH) and sequence.depth.dtype == np.float32
    assert sequence.T_world_cam.shape == (4, 4, 4)
    np.testing.assert_allclose(np.diff(sequence.timestamps), 1 / 30.0)
    assert sequence.timestamps[0] == pytest.approx(1000.0)
    assert (sequence.depth > 0).all()  # a closed room: every pixel sees a surface
    assert sequence.rgb.std() > 20  # textured, not flat


def test_default_intrinsics():
    np.testing.assert_allclose(default_intrinsics(),
                               [[525, 0, 319.5], [0, 525, 239.5], [0, 0, 1]])
    np.testing.assert_allclose(default_intrinsics(320, 240),
                               [[262.5, 0, 159.5], [0, 262.5, 119.5], [0, 0, 1]])


def test_deterministic_for_a_seed(sequence):
    again = scenes.generate_sequence(num_frames=2, width=WIDTH, height=HEIGHT, seed=3)
    np.testing.assert_array_equal(again.rgb, sequence.rgb[:2])
    np.testing.assert_array_equal(again.depth, sequence.depth[:2])
    np.testing.assert_array_equal(again.T_world_cam, sequence.T_world_cam[:2])
    other = scenes.generate_sequence(num_frames=1, width=WIDTH, height=HEIGHT, seed=4)
    assert not np.array_equal(other.rgb[0], sequence.rgb[0])


def test_depth_is_exact_on_the_surfaces(sequence):
    for k in (0, 3):
        points = _backproject(sequence.depth[k], sequence.K, sequence.T_world_cam[k])
        distance = surface_distance(sequence.scene, points)
        assert distance.max() < 1e-4


def test_two_frames_are_consistent():
    pair = scenes.generate_pair(seed=1, gap_frames=8, start_frame=40, width=WIDTH, height=HEIGHT)
    K, depth0, depth1 = pair.K, pair.depth[0], pair.depth[1]
    T_0to1 = relative_pose(pair.T_world_cam[0], pair.T_world_cam[1])
    points0 = _backproject(depth0, K, np.eye(4))
    points1 = points0 @ T_0to1[:3, :3].T + T_0to1[:3, 3]
    u1 = K[0, 0] * points1[:, 0] / points1[:, 2] + K[0, 2]
    v1 = K[1, 1] * points1[:, 1] / points1[:, 2] + K[1, 2]
    inside = (u1 >= 0) & (u1 <= WIDTH - 1) & (v1 >= 0) & (v1 <= HEIGHT - 1)
    assert inside.mean() > 0.7
    # 1 / z is affine in (u, v) on a plane, so interpolate inverse depth.
    z1 = 1.0 / _bilinear(1.0 / depth1.astype(np.float64), u1[inside], v1[inside])
    agree = np.abs(z1 - points1[inside, 2]) < 0.01
    assert agree.mean() > 0.95
    colour0 = pair.rgb[0].reshape(-1, 3)[inside][agree].astype(float)
    colour1 = _bilinear(pair.rgb[1].astype(float), u1[inside][agree], v1[inside][agree])
    error = np.abs(colour0 - colour1).mean(axis=1)
    assert np.median(error) < 8.0
    assert np.mean(error) < 12.0


def test_trajectory_motion_bounds_and_clearance():
    scene = make_scene(seed=2)
    frames = int(path_length(scene) / 0.4 * 30) + 2  # one whole loop
    poses = np.array([frame_pose(scene, i) for i in range(frames)])
    rotations = poses[:, :3, :3]
    np.testing.assert_allclose(rotations @ rotations.transpose(0, 2, 1),
                               np.broadcast_to(np.eye(3), rotations.shape), atol=1e-12)
    assert np.allclose(np.linalg.det(rotations), 1.0)
    translation, rotation_deg = scenes.motion_per_frame(poses)
    assert 0.01 <= translation.min() and translation.max() <= 0.02
    assert rotation_deg.max() < 1.5
    assert surface_distance(scene, poses[:, :3, 3]).min() >= 0.8
    # Inside the room, and the loop closes.
    assert (np.abs(poses[:, :2, 3]) < scene.room[:2] / 2).all()
    np.testing.assert_allclose(pose_at(scene, path_length(scene)),
                               pose_at(scene, 0.0), atol=1e-9)
    # Motion per frame scales with speed / fps.
    fast = np.array([frame_pose(scene, i, fps=30.0, speed=0.8) for i in range(3)])
    np.testing.assert_allclose(scenes.motion_per_frame(fast)[0], 2 * translation[:2], rtol=0.05)


def test_write_tum_dataset_round_trip(sequence, tmp_path):
    out = scenes.write_tum_dataset(sequence, tmp_path / 'tum')
    gt = [line.split() for line in (out / 'groundtruth.txt').read_text().splitlines()
          if not line.startswith('#')]
    rgb_list = [line.split() for line in (out / 'rgb.txt').read_text().splitlines()
                if not line.startswith('#')]
    depth_list = [line.split() for line in (out / 'depth.txt').read_text().splitlines()
                  if not line.startswith('#')]
    assert len(gt) == len(rgb_list) == len(depth_list) == len(sequence)
    for k, (stamp, name) in enumerate(rgb_list):
        assert stamp == f'{sequence.timestamps[k]:.6f}' and name == f'rgb/{stamp}.png'
        rgb = cv2.imread(str(out / name), cv2.IMREAD_COLOR)[:, :, ::-1]
        np.testing.assert_array_equal(rgb, sequence.rgb[k])
        raw = cv2.imread(str(out / depth_list[k][1]), cv2.IMREAD_UNCHANGED)
        assert raw.dtype == np.uint16
        depth = raw / DEFAULT_DEPTH_FACTOR
        assert np.abs(depth - sequence.depth[k]).max() <= 0.5 / DEFAULT_DEPTH_FACTOR + 1e-6
        assert gt[k][0] == stamp
        T = pose_from_tum(np.array(gt[k][1:], float))
        np.testing.assert_allclose(T, sequence.T_world_cam[k], atol=1e-6)
    header = (out / 'groundtruth.txt').read_text().splitlines()[:3]
    assert all(line.startswith('#') for line in header)
    assert 'timestamp tx ty tz qx qy qz qw' in header[-1]
    camera = dict(line.split(': ') for line in (out / 'camera.yaml').read_text().splitlines()
                  if not line.startswith('#'))
    assert float(camera['fx']) == sequence.K[0, 0] and int(camera['width']) == WIDTH
    assert float(camera['depth_factor']) == 5000.0
    values = (out / 'intrinsics.txt').read_text().splitlines()[1].split()
    np.testing.assert_allclose([float(v) for v in values],
                               [sequence.K[0, 0], sequence.K[1, 1], sequence.K[0, 2],
                                sequence.K[1, 2], WIDTH, HEIGHT, 5000.0])


def test_sensor_effects_change_output_and_are_seeded(sequence):
    assert not SensorEffects().enabled
    effects = SensorEffects.kinect_like()
    assert effects.enabled
    with pytest.raises(dataclasses.FrozenInstanceError):
        effects.depth_noise = 0.0
    noisy = scenes.generate_sequence(num_frames=2, width=WIDTH, height=HEIGHT, seed=3,
                                     effects=effects)
    again = scenes.generate_sequence(num_frames=2, width=WIDTH, height=HEIGHT, seed=3,
                                     effects=effects)
    np.testing.assert_array_equal(noisy.rgb, again.rgb)
    np.testing.assert_array_equal(noisy.depth, again.depth)
    np.testing.assert_array_equal(noisy.T_world_cam, sequence.T_world_cam[:2])
    assert not np.array_equal(noisy.rgb, sequence.rgb[:2])
    assert not np.array_equal(noisy.depth, sequence.depth[:2])
    # Depth noise grows like z^2 and stays small; holes are zeros.
    clean = sequence.depth[:2]
    valid = noisy.depth > 0
    assert np.abs(noisy.depth - clean)[valid].mean() < 0.05
    only_noise = SensorEffects(depth_noise=0.01)
    rgb, depth = apply_sensor_effects(sequence.rgb[0], clean[0], only_noise,
                                      np.random.default_rng(0))
    np.testing.assert_array_equal(rgb, sequence.rgb[0])
    ratio = np.std((depth - clean[0]) / clean[0] ** 2)
    assert ratio == pytest.approx(0.01, rel=0.1)
    holes = SensorEffects(depth_holes=6.0, hole_radius=0.08)
    _, depth = apply_sensor_effects(sequence.rgb[0], clean[0], holes,
                                    np.random.default_rng(1))
    assert 0 < (depth == 0).mean() < 0.6


def test_texture_dir_and_missing_dir(tmp_path):
    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), (128, 96),
                       interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(tmp_path / 'extra.png'), image)
    scene = make_scene(seed=0, texture_dir=str(tmp_path))
    assert 'extra.png' in scene.atlas.names
    assert len(scene.atlas.names) == len(BUILTIN_TEXTURES) + 1
    with pytest.warns(UserWarning):
        scene = make_scene(seed=0, texture_dir=str(tmp_path / 'missing'))
    assert len(scene.atlas.names) == len(BUILTIN_TEXTURES)


def test_render_frame_matches_sequence(sequence):
    rgb, depth = render_frame(sequence.scene, sequence.T_world_cam[2], sequence.K,
                              WIDTH, HEIGHT)
    np.testing.assert_array_equal(rgb, sequence.rgb[2])
    np.testing.assert_array_equal(depth, sequence.depth[2])
    assert np.allclose(invert_pose(sequence.T_world_cam[2]) @ sequence.T_world_cam[2], np.eye(4))


def test_cli_writes_sequence_and_preview(tmp_path, capsys):
    preview = tmp_path / 'preview.png'
    assert scenes.main([str(tmp_path / 'out'), '--frames', '3', '--size', '96x72', '--seed', '1',
                        '--effects', '--preview', str(preview)]) == 0
    assert len(list((tmp_path / 'out' / 'rgb').glob('*.png'))) == 3
    assert len(list((tmp_path / 'out' / 'depth').glob('*.png'))) == 3
    grid = cv2.imread(str(preview))
    assert grid.shape == (2 * 72, 3 * 96, 3)
    assert 'wrote 3 frames' in capsys.readouterr().out


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        scenes.generate_sequence(num_frames=0, width=WIDTH, height=HEIGHT)
    with pytest.raises(ValueError):
        scenes.generate_pair(width=0, height=HEIGHT)
    scene = make_scene(seed=0)
    with pytest.raises(ValueError):
        render_frame(scene, np.eye(3), None, WIDTH, HEIGHT)
