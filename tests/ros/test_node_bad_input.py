# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Bad input over real topics: the node counts and logs it, keeps running and reports it."""

import copy

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('sensor_msgs.msg', reason='sensor_msgs is not importable')
pytest.importorskip('torch', reason='the tests run the node with the torch backend')

from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from lfnet_core.scenes import generate_sequence  # noqa: E402
from lfnet_ros import conversions as conv  # noqa: E402
import ros_helpers as helpers  # noqa: E402

WIDTH, HEIGHT = 320, 240


def _between(stamp, offset_ns=10_000_000):
    """Return a stamp ``offset_ns`` after ``stamp`` (before the next 30 fps frame)."""
    return conv.ns_to_stamp(conv.stamp_to_ns(stamp) + offset_ns)


def _retag(msg, stamp=None, **fields):
    """Return a copy of ``msg`` with a new stamp and/or replaced fields."""
    out = copy.deepcopy(msg)
    if stamp is not None:
        out.header.stamp = stamp
    for key, value in fields.items():
        setattr(out, key, value)
    return out


def test_bad_input_is_counted_and_the_node_keeps_running(ros_env):
    sequence = generate_sequence(5, WIDTH, HEIGHT, seed=1)
    harness = helpers.NodeHarness({'backend': 'torch', 'top_k': 200})
    counter = harness.counter

    def processed(messages, stamp, what):
        assert harness.send_until_processed(messages, stamp), \
            f'no keypoints after {what}:\n{harness.log()}'

    def counted(messages, key, at_least, what):
        assert harness.send_until(messages, lambda: counter(key) >= at_least), \
            f'{key} never reached {at_least} after {what}; diagnostics ' \
            f'{helpers.diagnostics_values(harness.diagnostics[-1])}:\n{harness.log()}'

    try:
        harness.wait_ready()
        frames = [helpers.frame_messages(harness, sequence, i) for i in range(5)]

        # missing camera_info: processed without 3D, counted
        messages, stamp0 = frames[0]
        processed(messages[1:], stamp0, 'a frame without camera_info')
        counted([], 'degraded.no_camera_info', 1, 'a frame without camera_info')

        # wrong encoding, data length and step mismatches: colour dropped
        color0 = messages[2][1]
        bad = [_retag(color0, _between(stamp0), encoding='8UC3'),
               _retag(color0, _between(stamp0, 11_000_000), data=bytes(color0.data[:-7])),
               _retag(color0, _between(stamp0, 12_000_000), step=WIDTH)]
        for n, msg in enumerate(bad, start=1):
            counted([(harness.pub_color, msg)], 'dropped.color_invalid', n, f'bad colour {n}')

        messages, stamp1 = frames[1]
        processed(messages, stamp1, 'bad colour images')

        # a size change mid-stream: that frame is dropped, the next normal one is processed
        small = conv.array_to_image(sequence.rgb[1][::2, ::2].copy(), 'rgb8',
                                    Header(stamp=_between(stamp1), frame_id='camera'))
        counted([(harness.pub_color, small)], 'dropped.size_change', 1, 'a size change')

        # all-invalid depth: processed without 3D
        messages, stamp2 = frames[2]
        zeros = _retag(messages[1][1], data=bytes(len(messages[1][1].data)))
        processed([messages[0], (harness.pub_depth, zeros), messages[2]], stamp2,
                  'a size change and all-invalid depth')
        counted([], 'degraded.depth_empty', 1, 'all-invalid depth')

        # unreadable depth (empty image, wrong encoding): colour goes on alone after sync_slop
        messages, stamp3 = frames[3]
        empty = Image(header=copy.deepcopy(messages[1][1].header), encoding='16UC1')
        wrong = _retag(messages[1][1], stamp=_between(stamp3, 1), encoding='rgb8')
        processed([messages[0], (harness.pub_depth, empty), (harness.pub_depth, wrong),
                   messages[2]], stamp3, 'unreadable depth')
        counted([], 'dropped.depth_invalid', 2, 'unreadable depth')
        counted([], 'degraded.no_depth', 1, 'unreadable depth')

        # out-of-order stamps (an old frame again): dropped and counted
        old = frames[1][0]
        counted([old[1], old[2]], 'dropped.out_of_order', 1, 'an old colour stamp')

        # ... and still alive: the next good frame is processed and matched to frame 3
        messages, stamp4 = frames[4]
        processed(messages, stamp4, 'all the bad input')
        stamp4_ns = conv.stamp_to_ns(stamp4)
        assert harness.spin_until(lambda: any(
            conv.stamp_to_ns(m.header.stamp) == stamp4_ns for m in harness.matches))
        values = harness.latest_diagnostics(lambda v: int(v['frames_processed']) >= 5)
        assert harness.proc.poll() is None, 'the node exited'
    finally:
        harness.close()

    matches = [m for m in harness.matches if conv.stamp_to_ns(m.header.stamp) == stamp4_ns][0]
    cloud = conv.cloud_to_array(matches)
    assert len(cloud) > 0
    assert np.all(cloud['prev_stamp_sec'] == stamp3.sec)
    assert np.all(cloud['prev_stamp_nanosec'] == stamp3.nanosec)
    assert int(values['dropped_total']) >= 5
    for key in ('dropped.color_invalid', 'dropped.size_change', 'dropped.depth_invalid',
                'dropped.out_of_order', 'degraded.no_camera_info', 'degraded.depth_empty',
                'degraded.no_depth'):
        assert int(values[key]) >= 1, key
