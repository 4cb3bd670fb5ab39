# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Odometry of base_frame: the base_to_camera parameter, the mount and the message (no DDS)."""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('nav_msgs.msg', reason='nav_msgs is not importable')

from std_msgs.msg import Header  # noqa: E402

from lfnet_core.rigid_poses import make_pose, quaternion_to_rotation  # noqa: E402
from lfnet_ros import camera_mount  # noqa: E402
from lfnet_ros import conversions as conv  # noqa: E402
from lfnet_ros.node_parameters import check_parameters, PARAMETERS  # noqa: E402
from lfnet_ros.odometry_messages import odometry_message  # noqa: E402

OPTICAL = '0.2 0 0.5 -0.5 0.5 -0.5 0.5'  # camera 0.2 m ahead, 0.5 m up, REP 103 optical axes


def defaults(**changes) -> dict:
    params = {name: default for name, (default, _, _) in PARAMETERS.items()}
    params.update(changes)
    return params


def test_base_to_camera_is_parsed_as_x_y_z_qx_qy_qz_qw():
    T = camera_mount.parse_base_to_camera(OPTICAL)
    np.testing.assert_allclose(T[:3, 3], [0.2, 0.0, 0.5])
    np.testing.assert_allclose(T[:3, 2], [1.0, 0.0, 0.0], atol=1e-12)  # optical z = base x
    assert camera_mount.parse_base_to_camera('  ') is None
    np.testing.assert_allclose(camera_mount.parse_base_to_camera('1,2,3,0,0,0,2'),
                               make_pose(np.eye(3), [1, 2, 3]))


@pytest.mark.parametrize('text', ['1 2 3', '0 0 0 0 0 0 0', 'a b c d e f g', '0 0 0 0 0 0 1 1',
                                  '0 0 nan 0 0 0 1'])
def test_a_malformed_base_to_camera_is_refused_with_the_format(text):
    with pytest.raises(ValueError, match='x y z qx qy qz qw'):
        check_parameters(defaults(base_frame='base_link', base_to_camera=text))


def test_base_to_camera_without_base_frame_is_refused():
    with pytest.raises(ValueError, match='base_frame is empty'):
        check_parameters(defaults(base_to_camera=OPTICAL))
    check_parameters(defaults(base_frame='base_link', base_to_camera=OPTICAL))


def test_the_mount_resolves_the_child_frame_and_extrinsics():
    plain = camera_mount.CameraMount(None, '', '')
    assert plain.resolve('cam_optical') == ('cam_optical', None) and plain.problem == ''
    fixed = camera_mount.CameraMount(None, 'base_link', OPTICAL)
    child, T = fixed.resolve('cam_optical')
    assert child == 'base_link' and fixed.source == 'base_to_camera'
    np.testing.assert_allclose(T[:3, :3], quaternion_to_rotation([-0.5, 0.5, -0.5, 0.5]))


def test_a_base_frame_without_extrinsics_withholds_odometry_and_says_why():
    if camera_mount.tf2_ros is not None:
        pytest.skip('tf2_ros imports here: the TF path is tested over DDS')
    mount = camera_mount.CameraMount(None, 'base_link', '')
    assert mount.resolve('cam_optical') is None
    assert 'base_link <- cam_optical' in mount.problem and 'base_to_camera' in mount.problem
    assert mount.resolve('base_link') == ('base_link', None)  # the camera frame itself
    assert mount.problem == ''


def test_odometry_message_carries_the_base_pose_and_twist_in_the_base_frame():
    # the camera moved 0.1 m along optical z in 0.5 s, and its pose in odom is 0.3 m along z
    step = make_pose(np.eye(3), [0.0, 0.0, -0.1])  # T_cur_prev: points move back by 0.1 m
    result = SimpleNamespace(T_odom_cam=make_pose(np.eye(3), [0.0, 0.0, 0.3]), tracking='ok',
                             motion=SimpleNamespace(T_prev_to_cur=step))
    header = Header(stamp=conv.ns_to_stamp(1_500_000_000), frame_id='cam_optical')
    prev = Header(stamp=conv.ns_to_stamp(1_000_000_000), frame_id='cam_optical')
    T_base_cam = camera_mount.parse_base_to_camera(OPTICAL)
    msg = odometry_message(header, result, prev, 'odom', 'base_link', T_base_cam)
    assert (msg.header.frame_id, msg.child_frame_id) == ('odom', 'base_link')
    p, q = msg.pose.pose.position, msg.pose.pose.orientation
    np.testing.assert_allclose([p.x, p.y, p.z], [0.3, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose([q.x, q.y, q.z, q.w], [0, 0, 0, 1], atol=1e-12)
    v = msg.twist.twist.linear
    np.testing.assert_allclose([v.x, v.y, v.z], [0.2, 0.0, 0.0], atol=1e-12)
    camera = odometry_message(header, result, prev, 'odom', 'cam_optical')
    assert camera.pose.pose.position.z == pytest.approx(0.3)  # no mount: the camera's pose
    assert camera.twist.twist.linear.z == pytest.approx(0.2)
