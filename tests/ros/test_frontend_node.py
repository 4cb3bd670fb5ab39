# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The front-end node in its own process: colour, depth and camera info in; features, odom out."""


import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('sensor_msgs.msg', reason='sensor_msgs is not importable')
pytest.importorskip('torch', reason='the tests run the node with the torch backend')

from lfnet_core.scenes import generate_sequence  # noqa: E402
from lfnet_ros import conversions as conv  # noqa: E402
import ros_helpers as helpers  # noqa: E402

WIDTH, HEIGHT, FRAMES = 320, 240, 4
KEYPOINT_FIELDS = ['u', 'v', 'x', 'y', 'z', 'scale', 'orientation', 'score', 'descriptor']
MATCH_FIELDS = ['index0', 'index1', 'u0', 'v0', 'u1', 'v1', 'distance', 'inlier',
                'prev_stamp_sec', 'prev_stamp_nanosec']


@pytest.fixture(scope='module')
def sequence():
    return generate_sequence(FRAMES, WIDTH, HEIGHT, seed=0)


def test_node_publishes_keypoints_matches_and_odometry(ros_env, sequence):
    # base_frame with an identity mount: the camera's own motion under that name
    harness = helpers.NodeHarness({'backend': 'torch', 'top_k': 300, 'base_frame': 'camera',
                                   'base_to_camera': '0 0 0 0 0 0 1',
                                   'odom_frame': 'odom_test', 'resize_scale': 1.0},
                                  params_file=helpers.REPO_ROOT / 'config' / 'frontend.yaml')
    try:
        harness.wait_ready()
        stamps = []
        for index in range(FRAMES):
            messages, stamp = helpers.frame_messages(harness, sequence, index,
                                                     depth_mm=index % 2 == 0)
            assert harness.send_until_processed(messages, stamp), \
                f'no keypoints for frame {index}:\n{harness.log()}'
            stamps.append(stamp)
        # matches and odom for the last frame are published right after its keypoints
        last_ns = conv.stamp_to_ns(stamps[-1])
        assert harness.spin_until(lambda: any(
            conv.stamp_to_ns(m.header.stamp) == last_ns for m in harness.matches)
            and any(conv.stamp_to_ns(m.header.stamp) == last_ns for m in harness.odom))
        values = harness.latest_diagnostics(
            lambda v: int(v['frames_processed']) >= FRAMES)
    finally:
        harness.close()

    # keypoints: documented fields, header = colour header, 3D from depth
    for index, stamp in enumerate(stamps):
        msg = harness.keypoints_at(stamp)[0]
        assert msg.header.frame_id == 'camera_color_optical_frame'
        assert [f.name for f in msg.fields] == KEYPOINT_FIELDS
        assert msg.fields[-1].count == 256 and msg.point_step == 8 * 4 + 256 * 4
        cloud = conv.cloud_to_array(msg)
        assert 0 < len(cloud) <= 300
        assert np.all((cloud['u'] >= -0.5) & (cloud['u'] <= WIDTH - 0.5))
        assert np.all((cloud['v'] >= -0.5) & (cloud['v'] <= HEIGHT - 0.5))
        np.testing.assert_allclose(np.linalg.norm(cloud['descriptor'], axis=1), 1.0, atol=1e-3)
        known = np.isfinite(cloud['z'])
        assert known.mean() > 0.5, f'frame {index}: few keypoints with depth'
        assert np.all(cloud['z'][known] > 0)

    # matches: header = current frame, prev stamp = the previous keypoints message's stamp
    by_stamp = {conv.stamp_to_ns(m.header.stamp): m for m in harness.matches}
    first = conv.cloud_to_array(by_stamp[conv.stamp_to_ns(stamps[0])])
    assert len(first) == 0  # the first frame has nothing to match: empty cloud with the fields
    assert [f.name for f in by_stamp[conv.stamp_to_ns(stamps[0])].fields] == MATCH_FIELDS
    for index in range(1, FRAMES):
        msg = by_stamp[conv.stamp_to_ns(stamps[index])]
        assert [f.name for f in msg.fields] == MATCH_FIELDS
        matches = conv.cloud_to_array(msg)
        assert len(matches) > 20
        prev = harness.keypoints_at(stamps[index - 1])[0]
        assert np.all(matches['prev_stamp_sec'] == prev.header.stamp.sec)
        assert np.all(matches['prev_stamp_nanosec'] == prev.header.stamp.nanosec)
        prev_cloud = conv.cloud_to_array(prev)
        cur_cloud = conv.cloud_to_array(harness.keypoints_at(stamps[index])[0])
        np.testing.assert_array_equal(matches['u0'], prev_cloud['u'][matches['index0']])
        np.testing.assert_array_equal(matches['v1'], cur_cloud['v'][matches['index1']])
        assert matches['inlier'].sum() >= 15

    # odometry: frames, covariance, motion close to the ground truth
    odom = {conv.stamp_to_ns(m.header.stamp): m for m in harness.odom}
    last = odom[conv.stamp_to_ns(stamps[-1])]
    assert last.header.frame_id == 'odom_test' and last.child_frame_id == 'camera'
    assert last.pose.covariance[0] < 1.0  # tracking ok: small covariance
    position = np.array([last.pose.pose.position.x, last.pose.pose.position.y,
                         last.pose.pose.position.z])
    T_true = np.linalg.inv(sequence.T_world_cam[0]) @ sequence.T_world_cam[FRAMES - 1]
    assert np.linalg.norm(position) > 0.01
    assert np.linalg.norm(position - T_true[:3, 3]) < 0.05
    q = last.pose.pose.orientation
    assert abs(np.linalg.norm([q.x, q.y, q.z, q.w]) - 1.0) < 1e-6

    # debug image: built because the test subscribes to it
    assert harness.debug_images
    debug = harness.debug_images[-1]
    assert (debug.encoding, debug.width, debug.height) == ('rgb8', WIDTH, HEIGHT)
    assert conv.image_to_array(debug).shape == (HEIGHT, WIDTH, 3)

    # diagnostics: documented keys
    assert values['backend'] == 'torch'
    assert values['tracking'] == 'ok'
    for key in ('frames_in', 'rate_in_hz', 'rate_processed_hz', 'dropped_total',
                'latency.total.p50_ms', 'latency.end_to_end.p90_ms'):
        assert key in values, key
