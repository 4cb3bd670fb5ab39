# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node over real DDS: diagnostics before and without a model, levels, live parameters."""

import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('torch', reason='the tests run the node with the torch backend')

DiagnosticStatus = pytest.importorskip('diagnostic_msgs.msg').DiagnosticStatus
SetParameters = pytest.importorskip('rcl_interfaces.srv').SetParameters

import rclpy.parameter  # noqa: E402

from lfnet_core.scenes import generate_sequence  # noqa: E402
from lfnet_ros import conversions as conv  # noqa: E402
import ros_helpers as helpers  # noqa: E402

PARAMS_FILE = helpers.REPO_ROOT / 'config' / 'frontend.yaml'


@pytest.fixture(scope='module')
def sequence():
    return generate_sequence(3, 320, 240, seed=3)


def frontend_status(harness, predicate, start=None):
    """Wait for a front-end DiagnosticStatus that satisfies `predicate`.

    Only arrays received after index `start` of `harness.diagnostics` count (default: now).
    """
    start = len(harness.diagnostics) if start is None else start
    found = []

    def check():
        found[:] = [s for array in harness.diagnostics[start:] for s in array.status
                    if s.name.endswith(': frontend') and predicate(s)]
        return bool(found)
    assert harness.spin_until(check), \
        f'no matching status; last: {harness.diagnostics[-1:]}\n{harness.log()}'
    return found[0]


def values_of(status) -> dict:
    return {kv.key: kv.value for kv in status.values}


def set_parameter(harness, name: str, value):
    """Call the node's SetParameters service; return the one SetParametersResult."""
    client = harness.node.create_client(SetParameters, '/lfnet_frontend/set_parameters')
    assert harness.spin_until(client.service_is_ready), harness.log()
    request = SetParameters.Request(
        parameters=[rclpy.parameter.Parameter(name, value=value).to_parameter_msg()])
    future = client.call_async(request)
    assert harness.spin_until(future.done), harness.log()
    harness.node.destroy_client(client)
    return future.result().results[0]


def test_topics_and_a_starting_status_exist_while_the_model_loads(
        ros_env, tmp_path, monkeypatch):
    # An empty cache: the onnxruntime backend must first export the model (tens of seconds).
    monkeypatch.setenv('LFNET_CACHE_DIR', str(tmp_path))
    harness = helpers.NodeHarness({'backend': 'onnxruntime'}, params_file=PARAMS_FILE)
    try:
        status = frontend_status(harness, lambda s: True)
        publishers = [s.get_publisher_count() for s in harness.subs[:3]]
    finally:
        harness.close()
    assert status.level == DiagnosticStatus.OK, status
    assert status.message.startswith('starting'), status
    assert values_of(status)['state'] == 'starting'
    assert publishers == [1, 1, 1]  # keypoints, matches, odom


def test_a_model_that_cannot_load_is_an_error_and_the_node_stays_up(ros_env, tmp_path):
    harness = helpers.NodeHarness({'backend': 'torch', 'weights': str(tmp_path / 'no.pt')},
                                  params_file=PARAMS_FILE)
    try:
        status = frontend_status(harness, lambda s: s.level == DiagnosticStatus.ERROR)
        alive = harness.proc.poll() is None
    finally:
        harness.close()
    assert 'model failed to load' in status.message and 'no.pt' in status.message, status
    assert values_of(status)['state'] == 'failed'
    assert alive


def test_no_input_is_stale_and_frames_without_depth_warn(ros_env, sequence):
    harness = helpers.NodeHarness({'backend': 'torch', 'diagnostics_stale_s': 0.5,
                                   'diagnostics_window': 30.0}, params_file=PARAMS_FILE)
    try:
        harness.wait_ready()
        stale = frontend_status(harness, lambda s: s.level == DiagnosticStatus.STALE)
        # STALE outranks WARN: wait longer for input before the frames without depth.
        assert set_parameter(harness, 'diagnostics_stale_s', 60.0).successful
        messages, stamp = helpers.frame_messages(harness, sequence, 0)
        without_depth = [(pub, msg) for pub, msg in messages if pub is not harness.pub_depth]
        sent = len(harness.diagnostics)
        assert harness.send_until_processed(without_depth, stamp), harness.log()
        warn = frontend_status(harness, lambda s: s.level == DiagnosticStatus.WARN, sent)
    finally:
        harness.close()
    assert 'no colour image' in stale.message, stale
    assert 'without 3D' in warn.message and 'no_depth' in warn.message, warn
    assert warn.hardware_id == 'cpu'


def test_live_parameters_apply_on_the_next_frame_and_bad_values_are_refused(
        ros_env, sequence):
    harness = helpers.NodeHarness({'backend': 'torch', 'resize_scale': 1.0},
                                  params_file=PARAMS_FILE)
    try:
        harness.wait_ready()
        messages, stamp = helpers.frame_messages(harness, sequence, 0)
        assert harness.send_until_processed(messages, stamp), harness.log()
        before = len(conv.cloud_to_array(harness.keypoints_at(stamp)[0]))

        changed = set_parameter(harness, 'top_k', 40)
        messages, stamp = helpers.frame_messages(harness, sequence, 1)
        assert harness.send_until_processed(messages, stamp), harness.log()
        after = len(conv.cloud_to_array(harness.keypoints_at(stamp)[0]))

        half_resize = set_parameter(harness, 'resize_width', 100)
        read_only = set_parameter(harness, 'backend', 'onnxruntime')
        out_of_range = set_parameter(harness, 'top_k', 0)
        log = harness.log()
    finally:
        harness.close()
    assert changed.successful, changed.reason
    assert before > 40 and after == 40, (before, after)
    assert not half_resize.successful and 'resize_height' in half_resize.reason
    assert not read_only.successful and read_only.reason
    assert not out_of_range.successful and out_of_range.reason
    assert 'parameters changed: top_k=40' in log
