# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Proof that ROS 2 works here: 640x480 rgb8 images cross processes with sensor-data QoS."""

import importlib.util
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('sensor_msgs.msg', reason='sensor_msgs is not importable')

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
PUBLISHER = HERE / 'image_publisher.py'


def _load_publisher_module():
    spec = importlib.util.spec_from_file_location('lfnet_smoke_image_publisher', PUBLISHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_pub = _load_publisher_module()
HEIGHT, WIDTH, make_frame = _pub.HEIGHT, _pub.WIDTH, _pub.make_frame

COUNT = 5
TOPIC = 'lfnet_smoke/image'


def _spin_until(executor, predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        executor.spin_once(timeout_sec=0.02)
    return True


def test_image_pub_sub_across_processes(ros_env):
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('lfnet_smoke_subscriber', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    received = []
    sub = node.create_subscription(Image, TOPIC, received.append, qos_profile_sensor_data)

    proc = subprocess.Popen(
        [sys.executable, str(PUBLISHER), '--topic', TOPIC,
         '--count', str(COUNT)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Both directions must be matched before a best-effort sample can arrive.
        assert _spin_until(executor, lambda: sub.get_publisher_count() >= 1, 20.0), \
            'publisher process was never discovered'
        assert proc.stdout.readline().strip() == 'matched'
        proc.stdin.write('go\n')
        proc.stdin.flush()
        _spin_until(executor, lambda: len(received) >= COUNT, 10.0)
    finally:
        out, err = proc.communicate(timeout=30)  # closes stdin: the publisher exits
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)

    print(f'received {len(received)}/{COUNT}; publisher stdout={out!r} stderr={err!r}')
    assert proc.returncode == 0, err
    assert len(received) >= COUNT - 1
    for msg in received:
        assert (msg.height, msg.width, msg.encoding) == (HEIGHT, WIDTH, 'rgb8')
        assert msg.step == WIDTH * 3
        index = int(msg.header.frame_id.removeprefix('frame'))
        image = np.frombuffer(msg.data, dtype=np.uint8).reshape(HEIGHT, WIDTH, 3)
        np.testing.assert_array_equal(image, make_frame(index))
