# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
REP 105 odometry over real DDS: ``odom`` -> ``base_frame`` with the camera's mount.

The node runs in its own process; the test node feeds it a generated sequence whose camera
moves mostly along its optical z axis, and reads ``visual_odom`` and ``/diagnostics``.
"""

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('torch', reason='the tests run the node with the torch backend')
DiagnosticStatus = pytest.importorskip('diagnostic_msgs.msg').DiagnosticStatus

from lfnet_core.rigid_poses import attached_motion, pose_from_tum  # noqa: E402
from lfnet_core.scenes import generate_sequence  # noqa: E402
from lfnet_ros import conversions as conv  # noqa: E402
from lfnet_ros.pose_messages import pose_to_matrix  # noqa: E402
import ros_helpers as helpers  # noqa: E402

WIDTH, HEIGHT, FRAMES = 320, 240, 4
# the camera 0.2 m ahead of and 0.5 m above base_link, optical axes (z forward, x right, y down)
BASE_TO_CAMERA = [0.2, 0.0, 0.5, -0.5, 0.5, -0.5, 0.5]
PARAMS = {'backend': 'torch', 'top_k': 300, 'resize_scale': 1.0, 'base_frame': 'base_link'}


@pytest.fixture(scope='module')
def sequence():
    return generate_sequence(FRAMES, WIDTH, HEIGHT, seed=0)


def feed(harness, sequence, frames):
    """Publish `frames` frames until each one's keypoints arrive; return their stamps."""
    stamps = []
    for index in range(frames):
        messages, stamp = helpers.frame_messages(harness, sequence, index)
        assert harness.send_until_processed(messages, stamp), \
            f'no keypoints for frame {index}:\n{harness.log()}'
        stamps.append(stamp)
    return stamps


def odometry_at(harness, stamp):
    """Wait for the odometry stamped `stamp` and return it."""
    ns = conv.stamp_to_ns(stamp)
    found = []

    def arrived():
        found[:] = [m for m in harness.odom if conv.stamp_to_ns(m.header.stamp) == ns]
        return bool(found)
    assert harness.spin_until(arrived), f'no odometry at {ns}:\n{harness.log()}'
    return found[0]


def check_base_odometry(msg, sequence):
    """Check that `msg` is base_link's odometry: the camera's true motion seen from the base."""
    assert (msg.header.frame_id, msg.child_frame_id) == ('odom', 'base_link')
    T_cam0_cam = np.linalg.inv(sequence.T_world_cam[0]) @ sequence.T_world_cam[FRAMES - 1]
    T_base_cam = pose_from_tum(BASE_TO_CAMERA)
    expected = attached_motion(T_cam0_cam, T_base_cam)
    T_odom_base = pose_to_matrix(msg.pose.pose)
    # the camera went ~4 cm along optical z: the base went forward along x, not up or sideways
    assert T_odom_base[0, 3] > 0.03 and abs(T_odom_base[2, 3]) < 0.01, T_odom_base
    np.testing.assert_allclose(T_odom_base[:3, 3], expected[:3, 3], atol=0.01)
    np.testing.assert_allclose(T_odom_base[:3, :3], expected[:3, :3], atol=0.01)
    assert msg.twist.twist.linear.x > 0  # forward in the base frame


def test_base_to_camera_gives_odometry_of_the_base(ros_env, sequence):
    params = dict(PARAMS, base_to_camera=' '.join(str(v) for v in BASE_TO_CAMERA))
    harness = helpers.NodeHarness(params)
    try:
        harness.wait_ready()
        stamps = feed(harness, sequence, FRAMES)
        first, last = odometry_at(harness, stamps[0]), odometry_at(harness, stamps[-1])
    finally:
        harness.close()
    np.testing.assert_allclose(pose_to_matrix(first.pose.pose), np.eye(4), atol=1e-9)
    check_base_odometry(last, sequence)


def test_base_frame_without_extrinsics_withholds_odometry_and_warns(ros_env, sequence):
    # no base_to_camera, and no TF is published; no STALE while the test reads the status
    harness = helpers.NodeHarness(dict(PARAMS, diagnostics_stale_s=600.0))
    try:
        harness.wait_ready()
        feed(harness, sequence, 2)
        harness.latest_diagnostics(lambda v: int(v.get('events.odometry_withheld', 0)) >= 2)
        status = [s for s in harness.diagnostics[-1].status if s.name.endswith(': frontend')][0]
        log = harness.log()
    finally:
        harness.close()
    assert not harness.odom, 'odometry published without the camera pose in base_link'
    assert status.level == DiagnosticStatus.WARN, status
    assert status.message.startswith('odometry withheld: no extrinsics base_link <- '
                                     'camera_color_optical_frame'), status.message
    assert 'odometry withheld' in log and 'base_to_camera' in log


def test_base_frame_extrinsics_from_tf(ros_env, sequence):
    tf2_ros = pytest.importorskip('tf2_ros', reason='tf2_ros is not importable (not on PyPI): '
                                  'the extrinsics come from base_to_camera only')
    from geometry_msgs.msg import TransformStamped
    harness = helpers.NodeHarness(PARAMS)
    try:
        broadcaster = tf2_ros.StaticTransformBroadcaster(harness.node)
        tf = TransformStamped(child_frame_id='camera_color_optical_frame')
        tf.header.frame_id = 'base_link'
        t, q = tf.transform.translation, tf.transform.rotation
        t.x, t.y, t.z, q.x, q.y, q.z, q.w = BASE_TO_CAMERA
        broadcaster.sendTransform(tf)
        harness.wait_ready()
        stamps = feed(harness, sequence, FRAMES)
        last = odometry_at(harness, stamps[-1])
    finally:
        harness.close()
    check_base_odometry(last, sequence)
