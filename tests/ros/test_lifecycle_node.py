# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The lifecycle node in its own process, driven through the standard lifecycle services.

configure loads the model and creates the publishers, activate subscribes and processes,
deactivate stops all output, cleanup frees, shutdown finalizes; ``/diagnostics`` follows.
"""

import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('torch', reason='the test runs the node with the torch backend')
Transition = pytest.importorskip('lifecycle_msgs.msg').Transition
lifecycle_srv = pytest.importorskip('lifecycle_msgs.srv')
ChangeState, GetState = lifecycle_srv.ChangeState, lifecycle_srv.GetState

from lfnet_core.scenes import generate_sequence  # noqa: E402
from lfnet_ros import conversions as conv  # noqa: E402
import ros_helpers as helpers  # noqa: E402

FRAMES = 4
PARAMS = {'backend': 'torch', 'top_k': 200, 'resize_scale': 1.0,
          'diagnostics_stale_s': 600.0}  # no STALE while the test holds the input back
NODE = '/lfnet_frontend'


@pytest.fixture(scope='module')
def sequence():
    return generate_sequence(FRAMES, 320, 240, seed=2)


class Lifecycle:
    """The node's lifecycle services, called from the harness's test node."""

    def __init__(self, harness) -> None:
        self.harness = harness
        self.change = harness.node.create_client(ChangeState, NODE + '/change_state')
        self.get = harness.node.create_client(GetState, NODE + '/get_state')
        assert harness.spin_until(lambda: self.change.service_is_ready()
                                  and self.get.service_is_ready()), harness.log()

    def _call(self, client, request):
        future = client.call_async(request)
        assert self.harness.spin_until(future.done), self.harness.log()
        return future.result()

    def state(self) -> str:
        return self._call(self.get, GetState.Request()).current_state.label

    def transition(self, transition_id: int) -> bool:
        request = ChangeState.Request(transition=Transition(id=transition_id))
        return self._call(self.change, request).success


def diagnostics_state(harness, state: str) -> dict:
    """Wait for a front-end status (newer than now) whose ``state`` value is `state`."""
    return harness.latest_diagnostics(lambda values: values.get('state') == state)


def output_publishers(harness) -> list:
    """Return the publisher counts of keypoints, matches and odometry (the test node's view)."""
    return [subscription.get_publisher_count() for subscription in harness.subs[:3]]


def test_lifecycle_transitions_through_the_standard_services(ros_env, sequence):
    harness = helpers.NodeHarness(PARAMS, module='lfnet_ros.lifecycle_node',
                                  params_file=helpers.REPO_ROOT / 'config' / 'frontend.yaml')
    try:
        lifecycle = Lifecycle(harness)
        assert lifecycle.state() == 'unconfigured'
        unconfigured = diagnostics_state(harness, 'unconfigured')

        assert lifecycle.transition(Transition.TRANSITION_CONFIGURE), harness.log()
        assert lifecycle.state() == 'inactive'
        inactive = diagnostics_state(harness, 'inactive')
        assert harness.spin_until(lambda: output_publishers(harness) == [1, 1, 1])

        assert lifecycle.transition(Transition.TRANSITION_ACTIVATE), harness.log()
        assert lifecycle.state() == 'active'
        harness.wait_ready()  # subscribed to colour, depth and camera info
        stamps = []
        for index in range(FRAMES - 1):
            messages, stamp = helpers.frame_messages(harness, sequence, index)
            assert harness.send_until_processed(messages, stamp), harness.log()
            stamps.append(conv.stamp_to_ns(stamp))
        assert harness.spin_until(lambda: stamps[-1] in {
            conv.stamp_to_ns(m.header.stamp) for m in harness.odom})
        running = diagnostics_state(harness, 'running')

        assert lifecycle.transition(Transition.TRANSITION_DEACTIVATE), harness.log()
        assert lifecycle.state() == 'inactive'
        assert harness.spin_until(lambda: harness.pub_color.get_subscription_count() == 0)
        outputs = (len(harness.keypoints), len(harness.matches), len(harness.odom))
        messages, last_stamp = helpers.frame_messages(harness, sequence, FRAMES - 1)
        for publisher, message in messages:
            publisher.publish(message)
        diagnostics_state(harness, 'inactive')
        diagnostics_state(harness, 'inactive')  # two more seconds of nothing published
        assert (len(harness.keypoints), len(harness.matches), len(harness.odom)) == outputs

        # activate again: the same frame goes through now
        assert lifecycle.transition(Transition.TRANSITION_ACTIVATE), harness.log()
        harness.wait_ready()
        assert harness.send_until_processed(messages, last_stamp), harness.log()
        assert lifecycle.transition(Transition.TRANSITION_DEACTIVATE), harness.log()

        assert lifecycle.transition(Transition.TRANSITION_CLEANUP), harness.log()
        assert lifecycle.state() == 'unconfigured'
        assert harness.spin_until(lambda: output_publishers(harness) == [0, 0, 0])
        cleaned = diagnostics_state(harness, 'unconfigured')

        assert lifecycle.transition(Transition.TRANSITION_UNCONFIGURED_SHUTDOWN), harness.log()
        assert lifecycle.state() == 'finalized'
        finalized = diagnostics_state(harness, 'finalized')

        log = harness.interrupt()
    finally:
        harness.close()
    assert int(running['frames_processed']) == FRAMES - 1
    assert running['backend'] == 'torch' and inactive['backend'] == 'torch'
    assert unconfigured['frames_processed'] == '0'
    assert cleaned['state'] == 'unconfigured' and finalized['state'] == 'finalized'
    assert harness.proc.returncode == 0, log
    assert '[ERROR]' not in log and 'Traceback' not in log, log
