# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""lfnet-bag-play loads the package's Fast DDS profile: 640x480 frames reach best effort."""

import os
import subprocess
import sys
import time

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from lfnet_core.scenes import generate_sequence, write_tum_dataset
from lfnet_ros import bag_from_tum
from lfnet_ros.ros_environment import PROFILE_VARIABLE, use_shm_profile

FRAMES = 29


def test_use_shm_profile_only_where_unset_and_for_fast_dds():
    env = {}
    assert use_shm_profile(env) and env[PROFILE_VARIABLE].endswith('config/fastdds_shm.xml')
    mine = {PROFILE_VARIABLE: '/my/profile.xml'}
    assert not use_shm_profile(mine) and mine[PROFILE_VARIABLE] == '/my/profile.xml'
    cyclone = {'RMW_IMPLEMENTATION': 'rmw_cyclonedds_cpp'}
    assert not use_shm_profile(cyclone) and PROFILE_VARIABLE not in cyclone


def test_bag_play_delivers_every_640x480_frame_to_best_effort(ros_env, tmp_path):
    sequence = generate_sequence(num_frames=FRAMES, width=640, height=480, seed=5)
    write_tum_dataset(sequence, str(tmp_path / 'tum'))
    bag_from_tum.convert(str(tmp_path / 'tum'), str(tmp_path / 'bag'), progress=False)
    context = rclpy.Context()
    rclpy.init(args=[], context=context)  # this process has the profile (ros_env)
    node = rclpy.create_node('bag_play_profile_test', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    received = []
    node.create_subscription(Image, '/camera/color/image_raw', received.append,
                             qos_profile_sensor_data)
    # The player's environment lacks the profile: it must load it itself.
    env = {k: v for k, v in os.environ.items() if k != PROFILE_VARIABLE}
    proc = subprocess.Popen(
        [sys.executable, '-m', 'lfnet_ros.bag_play', str(tmp_path / 'bag'), '--topics',
         '/camera/color/image_raw', '--qos', 'best_effort', '--wait-subscribers', '60'],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120.0
        while proc.poll() is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        drain = time.monotonic() + 5.0
        while len(received) < FRAMES and time.monotonic() < drain:
            executor.spin_once(timeout_sec=0.05)
        output = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    assert proc.returncode == 0, output
    assert len(received) == FRAMES, output
    assert (received[0].width, received[0].height) == (640, 480)
