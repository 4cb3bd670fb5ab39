# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Ctrl-C while frames flow: the node stops its worker first and logs no ERROR."""

import pytest

pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('torch', reason='the test runs the node with the torch backend')

from lfnet_core.scenes import generate_sequence  # noqa: E402
import ros_helpers as helpers  # noqa: E402

FRAMES = 6


@pytest.fixture(scope='module')
def sequence():
    return generate_sequence(FRAMES, 320, 240, seed=1)


def test_sigint_with_data_flowing_logs_no_error(ros_env, sequence):
    harness = helpers.NodeHarness({'backend': 'torch', 'top_k': 200},
                                  params_file=helpers.REPO_ROOT / 'config' / 'frontend.yaml')
    try:
        harness.wait_ready()
        messages, stamp = helpers.frame_messages(harness, sequence, 0)
        assert harness.send_until_processed(messages, stamp), harness.log()
        # Keep frames coming, and interrupt right after one is handed over: the worker is
        # processing it (about 0.1 s) when the signal arrives.
        for index in range(1, FRAMES):
            messages, _ = helpers.frame_messages(harness, sequence, index)
            for publisher, message in messages:
                publisher.publish(message)
            harness.executor.spin_once(timeout_sec=0.02)
        log = harness.interrupt()
    finally:
        harness.close()
    assert harness.proc.returncode == 0, log
    assert '[ERROR]' not in log and 'Traceback' not in log, log
