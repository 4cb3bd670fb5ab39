# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``lfnet-bag-from-tum``: a written TUM folder as a rosbag2, read back with rosbags."""

import struct

import cv2
import numpy as np
import pytest

pytest.importorskip('rosbags', reason='rosbags is not installed')

from rosbags.rosbag2 import Reader  # noqa: E402
from rosbags.typesys import get_typestore, Stores  # noqa: E402

from lfnet_core.scenes import generate_sequence, write_tum_dataset  # noqa: E402
from lfnet_core.tum import TumSequence  # noqa: E402
from lfnet_ros import bag_from_tum  # noqa: E402

FRAMES = 3
TYPES = {
    '/camera/color/image_raw': 'sensor_msgs/msg/Image',
    '/camera/aligned_depth_to_color/image_raw': 'sensor_msgs/msg/Image',
    '/camera/color/camera_info': 'sensor_msgs/msg/CameraInfo',
    '/ground_truth/pose': 'geometry_msgs/msg/PoseStamped',
    '/tf': 'tf2_msgs/msg/TFMessage',
}


@pytest.fixture(scope='module')
def tum_folder(tmp_path_factory):
    """Return a 3-frame 160x120 TUM folder written by write_tum_dataset."""
    root = tmp_path_factory.mktemp('tum') / 'seq'
    write_tum_dataset(generate_sequence(num_frames=FRAMES, width=160, height=120), str(root))
    return root


def _read_back(bag):
    store = get_typestore(Stores.ROS2_KILTED)
    with Reader(bag) as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
        qos = {c.topic: c.ext.offered_qos_profiles for c in reader.connections}
        messages = [(c.topic, t, store.deserialize_cdr(raw, c.msgtype))
                    for c, t, raw in reader.messages()]
    return types, qos, messages


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_bag_round_trip(tum_folder, tmp_path, storage):
    bag = tmp_path / 'bag'
    assert bag_from_tum.main([str(tum_folder), str(bag), '--storage', storage]) == 0
    types, qos, messages = _read_back(bag)
    assert types == TYPES
    assert all(len(profiles) == 1 for profiles in qos.values())
    assert qos['/camera/color/image_raw'][0].reliability.name == 'BEST_EFFORT'
    assert qos['/ground_truth/pose'][0].reliability.name == 'RELIABLE'

    sequence = TumSequence(tum_folder)
    stamps = [int(round(t * 1e9)) for t in sequence.timestamps]
    by_topic = {topic: [] for topic in TYPES}
    for topic, bag_time, msg in messages:
        by_topic[topic].append((bag_time, msg))
    for topic, items in by_topic.items():
        assert len(items) == FRAMES, topic
        for (bag_time, msg), stamp in zip(items, stamps):
            header = msg.transforms[0].header if topic == '/tf' else msg.header
            assert bag_time == stamp == header.stamp.sec * 10**9 + header.stamp.nanosec, topic

    for index, frame in enumerate(sequence):
        color = by_topic['/camera/color/image_raw'][index][1]
        assert (color.encoding, color.width, color.height) == ('rgb8', 160, 120)
        rgb = np.asarray(color.data, np.uint8).reshape(120, color.step)[:, :480]
        np.testing.assert_array_equal(rgb.reshape(120, 160, 3), frame.rgb)

        depth = by_topic['/camera/aligned_depth_to_color/image_raw'][index][1]
        assert depth.encoding == '16UC1' and depth.step == 320
        mm = np.asarray(depth.data, np.uint8).view('<u2').reshape(120, 160)
        valid = frame.depth > 0
        assert np.array_equal(mm > 0, valid)
        assert np.abs(mm[valid] / 1000.0 - frame.depth[valid]).max() <= 1e-3 + 1e-6

        info = by_topic['/camera/color/camera_info'][index][1]
        np.testing.assert_allclose(np.asarray(info.k).reshape(3, 3), frame.K)
        assert (info.width, info.height, info.distortion_model) == (160, 120, 'plumb_bob')

        pose = by_topic['/ground_truth/pose'][index][1]
        assert pose.header.frame_id == 'world'
        position = [pose.pose.position.x, pose.pose.position.y, pose.pose.position.z]
        np.testing.assert_allclose(position, frame.T_world_cam[:3, 3], atol=1e-9)
        tf = by_topic['/tf'][index][1].transforms[0]
        assert (tf.header.frame_id, tf.child_frame_id) == ('world', 'camera_gt')
        assert tf.transform.rotation.w == pytest.approx(pose.pose.orientation.w)


def test_max_frames_and_refuses_overwrite(tum_folder, tmp_path, capsys):
    bag = tmp_path / 'bag'
    assert bag_from_tum.main([str(tum_folder), str(bag), '--max-frames', '2']) == 0
    with Reader(bag) as reader:
        assert reader.message_count == 2 * len(TYPES)
    before = sorted(p.name for p in bag.iterdir())
    capsys.readouterr()
    assert bag_from_tum.main([str(tum_folder), str(bag)]) == 1
    assert 'exists already' in capsys.readouterr().err
    assert sorted(p.name for p in bag.iterdir()) == before
    with pytest.raises(bag_from_tum.BagFromTumError, match='exists already'):
        bag_from_tum.convert(str(tum_folder), str(bag))


def test_not_a_tum_folder(tmp_path, capsys):
    assert bag_from_tum.main([str(tmp_path), str(tmp_path / 'bag')]) == 1
    assert 'rgb.txt' in capsys.readouterr().err
    assert not (tmp_path / 'bag').exists()


COMPRESSED_TYPES = {
    '/camera/color/image_raw/compressed': 'sensor_msgs/msg/CompressedImage',
    '/camera/aligned_depth_to_color/image_raw/compressedDepth':
        'sensor_msgs/msg/CompressedImage',
    '/camera/color/camera_info': 'sensor_msgs/msg/CameraInfo',
    '/ground_truth/pose': 'geometry_msgs/msg/PoseStamped',
    '/tf': 'tf2_msgs/msg/TFMessage',
}


def _psnr(decoded: np.ndarray, original: np.ndarray) -> float:
    """Return the peak signal-to-noise ratio of two uint8 images in dB."""
    mse = np.mean((decoded.astype(np.float64) - original.astype(np.float64)) ** 2)
    return float(10.0 * np.log10(255.0 ** 2 / mse))


def test_compressed_bag(tum_folder, tmp_path):
    bag = tmp_path / 'bag'
    assert bag_from_tum.main([str(tum_folder), str(bag), '--compressed']) == 0
    types, qos, messages = _read_back(bag)
    assert types == COMPRESSED_TYPES
    assert qos['/camera/color/image_raw/compressed'][0].reliability.name == 'BEST_EFFORT'
    by_topic = {topic: [] for topic in COMPRESSED_TYPES}
    for topic, bag_time, msg in messages:
        by_topic[topic].append((bag_time, msg))
    assert all(len(items) == FRAMES for items in by_topic.values())

    sequence = TumSequence(tum_folder)
    stamps = [int(round(t * 1e9)) for t in sequence.timestamps]
    for index, frame in enumerate(sequence):
        bag_time, color = by_topic['/camera/color/image_raw/compressed'][index]
        assert bag_time == stamps[index]
        assert color.header.frame_id == 'camera_color_optical_frame'
        assert color.format == 'rgb8; jpeg compressed bgr8'
        data = np.asarray(color.data, np.uint8)
        assert data[:2].tolist() == [0xFF, 0xD8]  # a JPEG file
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
        assert _psnr(bgr[:, :, ::-1], frame.rgb) > 30.0  # JPEG quality 95

        _, depth = by_topic['/camera/aligned_depth_to_color/image_raw/compressedDepth'][index]
        assert depth.format == '16UC1; compressedDepth png'
        data = np.asarray(depth.data, np.uint8).tobytes()
        assert struct.unpack('<iff', data[:12]) == (0, 0.0, 0.0)
        mm = cv2.imdecode(np.frombuffer(data[12:], np.uint8), cv2.IMREAD_UNCHANGED)
        assert mm.dtype == np.uint16
        np.testing.assert_array_equal(mm, bag_from_tum.depth_to_millimetres(frame.depth))

        info = by_topic['/camera/color/camera_info'][index][1]
        np.testing.assert_allclose(np.asarray(info.k).reshape(3, 3), frame.K)
        pose = by_topic['/ground_truth/pose'][index][1]
        np.testing.assert_allclose([pose.pose.position.x, pose.pose.position.y,
                                    pose.pose.position.z], frame.T_world_cam[:3, 3], atol=1e-9)


def test_compressed_bytes_match_the_node_decoders(tum_folder, tmp_path):
    """The bag's CompressedImage bytes decode with the node's own decoders."""
    compressed_images = pytest.importorskip('lfnet_ros.compressed_images')
    sensor_msgs = pytest.importorskip('sensor_msgs.msg')
    bag = tmp_path / 'bag'
    bag_from_tum.convert(str(tum_folder), str(bag), progress=False, compressed=True,
                         max_frames=1)
    _, _, messages = _read_back(bag)
    found = {topic: msg for topic, _, msg in messages}
    frame = TumSequence(tum_folder)[0]

    def as_rclpy(msg):
        return sensor_msgs.CompressedImage(format=msg.format,
                                           data=np.asarray(msg.data, np.uint8).tobytes())
    rgb = compressed_images.compressed_to_rgb(
        as_rclpy(found['/camera/color/image_raw/compressed']))
    assert rgb.shape == frame.rgb.shape
    assert _psnr(rgb, frame.rgb) > 30.0
    metres = compressed_images.compressed_depth_to_metres(
        as_rclpy(found['/camera/aligned_depth_to_color/image_raw/compressedDepth']))
    mm = bag_from_tum.depth_to_millimetres(frame.depth)
    np.testing.assert_array_equal(np.isnan(metres), mm == 0)
    np.testing.assert_allclose(metres[mm > 0], mm[mm > 0] * np.float32(0.001), rtol=1e-6)
