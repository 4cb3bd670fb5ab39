# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Image, camera info, PointCloud2 and pose conversions (ROS message types, no DDS traffic)."""

import math

from hypothesis import given, settings, strategies as st
import numpy as np
import pytest

pytest.importorskip('sensor_msgs.msg', reason='sensor_msgs is not importable')

from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from lfnet_core.rigid_poses import make_pose  # noqa: E402
from lfnet_ros import conversions  # noqa: E402
from lfnet_ros.cloud_messages import (cloud_to_array, keypoints_to_cloud,  # noqa: E402
                                      matches_to_cloud)
from lfnet_ros.conversion_error import ConversionError  # noqa: E402
from lfnet_ros.image_messages import (array_to_image, camera_info_to_K,  # noqa: E402
                                      color_to_rgb, depth_to_metres, IMAGE_ENCODINGS,
                                      image_to_array)
from lfnet_ros.pose_messages import matrix_to_pose, motion_to_twist, pose_to_matrix  # noqa: E402
from lfnet_ros.stamps import ns_to_stamp, stamp_to_ns  # noqa: E402

RNG = np.random.default_rng(0)


def _sample(encoding, height=5, width=7):
    base, channels = IMAGE_ENCODINGS[encoding]
    shape = (height, width) if channels == 1 else (height, width, channels)
    if base.kind == 'f':
        return RNG.uniform(0.1, 9.0, shape).astype(base)
    return RNG.integers(0, np.iinfo(base).max, shape, endpoint=True).astype(base)


@pytest.mark.parametrize('encoding', sorted(IMAGE_ENCODINGS))
def test_every_encoding_round_trips(encoding):
    array = _sample(encoding)
    header = Header(frame_id='cam')
    msg = array_to_image(array, encoding, header)
    assert (msg.height, msg.width, msg.encoding, msg.is_bigendian) == (5, 7, encoding, 0)
    assert msg.step * msg.height == len(msg.data) and msg.header.frame_id == 'cam'
    back = image_to_array(msg)
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


def test_color_to_rgb_reorders_and_reduces():
    rgb = _sample('rgb8')
    np.testing.assert_array_equal(color_to_rgb(array_to_image(rgb, 'rgb8')), rgb)
    bgr = array_to_image(np.ascontiguousarray(rgb[:, :, ::-1]), 'bgr8')
    np.testing.assert_array_equal(color_to_rgb(bgr), rgb)
    bgra = np.concatenate([rgb[:, :, ::-1], np.full(rgb.shape[:2] + (1,), 7, np.uint8)], 2)
    np.testing.assert_array_equal(color_to_rgb(array_to_image(bgra, 'bgra8')), rgb)
    mono16 = np.array([[0, 255, 256, 65535]], np.uint16)
    np.testing.assert_array_equal(color_to_rgb(array_to_image(mono16, 'mono16')),
                                  [[0, 0, 1, 255]])
    with pytest.raises(ConversionError, match='colour image has encoding'):
        color_to_rgb(array_to_image(_sample('32FC1'), '32FC1'))


def test_depth_to_metres_scales_and_invalidates():
    mm = np.array([[0, 1000, 2500], [65535, 1, 0]], np.uint16)
    depth = depth_to_metres(array_to_image(mm, '16UC1'), 0.001)
    assert depth.dtype == np.float32
    np.testing.assert_allclose(depth, [[np.nan, 1.0, 2.5], [65.535, 0.001, np.nan]], rtol=1e-6)
    np.testing.assert_allclose(depth_to_metres(array_to_image(mm, '16UC1'), 0.5)[0, 1],
                               500.0)
    metres = np.array([[np.nan, 1.5, -1.0, np.inf, 0.0]], np.float32)
    depth = depth_to_metres(array_to_image(metres, '32FC1'))
    np.testing.assert_array_equal(np.isnan(depth), [[True, False, True, True, True]])
    assert depth[0, 1] == np.float32(1.5)
    with pytest.raises(ConversionError, match='depth image has encoding'):
        depth_to_metres(array_to_image(_sample('rgb8'), 'rgb8'))


@pytest.mark.parametrize('encoding', ['rgb8', 'mono16', '32FC1'])
def test_step_padding_is_skipped(encoding):
    array = _sample(encoding)
    msg = array_to_image(array, encoding)
    row = msg.step
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, row)
    padded = np.concatenate([rows, np.full((msg.height, 5), 0xAB, np.uint8)], axis=1)
    msg.step = row + 5
    msg.data = padded.tobytes()
    np.testing.assert_array_equal(image_to_array(msg), array)


@pytest.mark.parametrize('encoding', ['mono16', '16UC1', '32FC1'])
def test_big_endian_images(encoding):
    array = _sample(encoding)
    msg = array_to_image(array, encoding)
    msg.is_bigendian = 1
    msg.data = array.astype(array.dtype.newbyteorder('>')).tobytes()
    back = image_to_array(msg)
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    if encoding == '16UC1':
        np.testing.assert_allclose(depth_to_metres(msg, 1.0),
                                   np.where(array == 0, np.nan, array.astype(np.float32)))


def test_malformed_images_raise_conversion_error():
    good = array_to_image(_sample('rgb8'), 'rgb8')

    def variant(**fields):
        msg = array_to_image(_sample('rgb8'), 'rgb8')
        for key, value in fields.items():
            setattr(msg, key, value)
        return msg

    cases = {
        'unsupported encoding': variant(encoding='8UC3'),
        'data has': variant(data=bytes(good.data[:-1])),
        'data has .* expected': variant(data=bytes(good.data) + b'\0'),
        'step': variant(step=good.step - 1),
        'empty image': variant(height=0, data=b''),
    }
    for pattern, msg in cases.items():
        with pytest.raises(ConversionError, match=pattern):
            image_to_array(msg)
    assert issubclass(ConversionError, ValueError)
    with pytest.raises(ConversionError):
        array_to_image(np.zeros((2, 2), np.uint8), 'rgb8')
    with pytest.raises(ConversionError):
        array_to_image(np.zeros((2, 2), np.float64), '32FC1')


@settings(max_examples=300, deadline=None)
@given(encoding=st.sampled_from(sorted(IMAGE_ENCODINGS) + ['', 'bgr16', '8UC3', 'yuv422']),
       height=st.integers(0, 12), width=st.integers(0, 12), step=st.integers(0, 64),
       is_bigendian=st.integers(0, 255), data=st.binary(max_size=800))
def test_fuzzed_image_messages_only_raise_conversion_error(encoding, height, width, step,
                                                           is_bigendian, data):
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=is_bigendian,
                step=step, data=data)
    for convert in (image_to_array, color_to_rgb, depth_to_metres):
        try:
            out = convert(msg)
        except ConversionError:
            continue
        assert out.shape[:2] == (height, width)


_UINT32 = st.one_of(st.integers(0, 16), st.integers(0, 2**32 - 1))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(encoding=st.sampled_from(sorted(IMAGE_ENCODINGS) + ['bgr16', '8UC1', 'rgb8 ']),
       height=_UINT32, width=_UINT32, step=_UINT32, is_bigendian=st.integers(0, 255),
       data=st.binary(max_size=600),
       depth_scale=st.floats(allow_nan=True, allow_infinity=True))
def test_fuzzed_huge_fields_and_scales_only_raise_conversion_error(
        encoding, height, width, step, is_bigendian, data, depth_scale):
    """Fields up to 2**32 - 1 (products overflow int32/int64 arithmetic if done carelessly)."""
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=is_bigendian,
                step=step, data=data)
    for convert in (image_to_array, color_to_rgb,
                    lambda m: depth_to_metres(m, depth_scale)):
        try:
            out = convert(msg)
        except ConversionError:
            continue
        assert out.shape[:2] == (height, width) and out.size * 0 == 0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(k=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=9, max_size=9))
def test_fuzzed_camera_info_only_raises_conversion_error(k):
    try:
        K = camera_info_to_K(CameraInfo(k=k))
    except ConversionError:
        return
    assert np.isfinite(K).all() and K[0, 0] > 0 and K[1, 1] > 0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(fields=st.lists(st.tuples(st.integers(0, 64), st.integers(0, 12), st.integers(0, 300)),
                       max_size=4),
       height=_UINT32, width=_UINT32, point_step=_UINT32, row_step=_UINT32,
       is_bigendian=st.booleans(), data=st.binary(max_size=400))
def test_fuzzed_point_clouds_only_raise_conversion_error(fields, height, width, point_step,
                                                         row_step, is_bigendian, data):
    msg = PointCloud2(height=height, width=width, point_step=point_step, row_step=row_step,
                      is_bigendian=is_bigendian, data=data,
                      fields=[PointField(name=f'f{i}', offset=offset, datatype=datatype,
                                         count=count)
                              for i, (offset, datatype, count) in enumerate(fields)])
    try:
        cloud = cloud_to_array(msg)
    except ConversionError:
        return
    assert cloud.shape == (height * width,)


def test_camera_info_to_K():
    K = np.array([[500.0, 0, 319.5], [0, 505.0, 239.5], [0, 0, 1]])
    np.testing.assert_array_equal(camera_info_to_K(CameraInfo(k=K.ravel().tolist())), K)
    with pytest.raises(ConversionError, match='no usable K'):
        camera_info_to_K(CameraInfo())


def test_keypoints_cloud_layout_and_round_trip():
    n = 11
    kp = RNG.uniform(0, 300, (n, 2)).astype(np.float32)
    points = RNG.uniform(-1, 3, (n, 3))
    points[3] = np.nan
    desc = RNG.normal(size=(n, 256)).astype(np.float32)
    msg = keypoints_to_cloud(Header(frame_id='cam'), kp, np.arange(n), np.ones(n),
                             np.linspace(0, 1, n), desc, points)
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ('u', 0, PointField.FLOAT32, 1), ('v', 4, PointField.FLOAT32, 1),
        ('x', 8, PointField.FLOAT32, 1), ('y', 12, PointField.FLOAT32, 1),
        ('z', 16, PointField.FLOAT32, 1), ('scale', 20, PointField.FLOAT32, 1),
        ('orientation', 24, PointField.FLOAT32, 1), ('score', 28, PointField.FLOAT32, 1),
        ('descriptor', 32, PointField.FLOAT32, 256)]
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (1, n, 1056, 1056 * n)
    assert not msg.is_bigendian and not msg.is_dense
    cloud = cloud_to_array(msg)
    np.testing.assert_array_equal(cloud['u'], kp[:, 0])
    np.testing.assert_array_equal(cloud['descriptor'], desc)
    np.testing.assert_array_equal(cloud['scale'], np.arange(n))
    np.testing.assert_allclose(cloud['z'], points[:, 2].astype(np.float32))
    assert np.isnan(cloud['x'][3])
    no_depth = cloud_to_array(keypoints_to_cloud(Header(), kp, np.ones(n), np.ones(n),
                                                 np.ones(n), desc))
    assert np.isnan(no_depth['x']).all()


def test_matches_cloud_layout_and_round_trip():
    kp0 = RNG.uniform(0, 100, (6, 2)).astype(np.float32)
    kp1 = RNG.uniform(0, 100, (8, 2)).astype(np.float32)
    matches = np.array([[0, 7], [5, 2], [3, 3]])
    prev = ns_to_stamp(1_700_000_000_123_456_789)
    msg = matches_to_cloud(Header(frame_id='cam'), prev, matches, kp0, kp1,
                           [0.1, 0.2, 0.3], [True, False, True])
    assert [(f.name, f.offset, f.datatype) for f in msg.fields] == [
        ('index0', 0, PointField.UINT32), ('index1', 4, PointField.UINT32),
        ('u0', 8, PointField.FLOAT32), ('v0', 12, PointField.FLOAT32),
        ('u1', 16, PointField.FLOAT32), ('v1', 20, PointField.FLOAT32),
        ('distance', 24, PointField.FLOAT32), ('inlier', 28, PointField.UINT8),
        ('prev_stamp_sec', 32, PointField.UINT32), ('prev_stamp_nanosec', 36, PointField.UINT32)]
    assert msg.point_step == 40
    cloud = cloud_to_array(msg)
    np.testing.assert_array_equal(cloud['index0'], matches[:, 0])
    np.testing.assert_array_equal(cloud['u1'], kp1[matches[:, 1], 0])
    np.testing.assert_array_equal(cloud['v0'], kp0[matches[:, 0], 1])
    np.testing.assert_array_equal(cloud['inlier'], [1, 0, 1])
    assert set(cloud['prev_stamp_sec']) == {1_700_000_000}
    assert set(cloud['prev_stamp_nanosec']) == {123_456_789}
    empty = matches_to_cloud(Header(), prev, np.zeros((0, 2)), kp0, kp1, [], [])
    assert empty.width == 0 and len(empty.data) == 0 and len(empty.fields) == 10
    assert cloud_to_array(empty).shape == (0,)


def test_cloud_to_array_rejects_bad_clouds():
    msg = matches_to_cloud(Header(), ns_to_stamp(0), [[0, 0]], [[1, 2]], [[3, 4]],
                           [0.5])
    msg.data = bytes(msg.data[:-1])
    with pytest.raises(ConversionError):
        cloud_to_array(msg)


def test_stamps_and_poses():
    assert stamp_to_ns(ns_to_stamp(1_234_567_890_123)) == 1_234_567_890_123
    angle = 0.3
    T = np.eye(4)
    T[:3, :3] = [[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0],
                 [0, 0, 1]]
    T[:3, 3] = [1, 2, 3]
    pose = matrix_to_pose(T)
    assert (pose.position.x, pose.position.y, pose.position.z) == (1, 2, 3)
    np.testing.assert_allclose([pose.orientation.x, pose.orientation.y, pose.orientation.z,
                                pose.orientation.w], [0, 0, math.sin(0.15), math.cos(0.15)])
    np.testing.assert_allclose(pose_to_matrix(pose), T, atol=1e-12)
    for R in (np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]), np.diag([-1.0, -1, 1])):
        q = matrix_to_pose(make_pose(R, [0, 0, 0])).orientation
        assert abs(np.linalg.norm([q.x, q.y, q.z, q.w]) - 1) < 1e-12 and abs(q.w) < 1e-12
    # moving 0.1 m along +z of the previous camera in 0.5 s: the scene moves by -0.1 m
    T_prev_to_cur = np.eye(4)
    T_prev_to_cur[2, 3] = -0.1
    linear, angular = motion_to_twist(T_prev_to_cur, 0.5)
    np.testing.assert_allclose(linear, [0, 0, 0.2])
    np.testing.assert_allclose(angular, 0)


def test_conversions_module_keeps_every_name():
    assert all(hasattr(conversions, name) for name in conversions.__all__)
    assert conversions.stamp_to_ns is stamp_to_ns
    assert conversions.ConversionError is ConversionError
