# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node's diagnostics verdict (`lfnet_ros.node_health`) with injected times, no ROS."""

import pytest

from lfnet_ros.node_health import ERROR, HealthConfig, HealthMonitor, OK, STALE, WARN


def running_monitor(**config) -> HealthMonitor:
    monitor = HealthMonitor(HealthConfig(**config), started=0.0)
    monitor.ready('backend torch')
    return monitor


def test_starting_is_ok_and_says_so():
    monitor = HealthMonitor(started=0.0)
    assert monitor.assess(100.0) == (OK, 'starting: loading the model')


def test_failed_load_is_an_error_with_the_reason():
    monitor = HealthMonitor(started=0.0)
    monitor.failed('FileNotFoundError: no.pt')
    level, message = monitor.assess(1.0)
    assert level == ERROR and 'no.pt' in message


def test_no_input_goes_stale_after_stale_after_seconds():
    monitor = running_monitor(stale_after=3.0)
    assert monitor.assess(2.9)[0] == OK
    assert monitor.assess(3.0) == (STALE, 'no colour image yet for 3 s')
    monitor.frame_in(10.0)
    monitor.tracking = 'ok'
    assert monitor.assess(12.0) == (OK, 'tracking ok')
    assert monitor.assess(13.5)[0] == STALE


def test_drop_rate_above_the_threshold_warns_but_superseded_frames_do_not_count():
    monitor = running_monitor(window=5.0, drop_warn=0.2)
    for step in range(10):
        monitor.frame_in(step * 0.1)
    monitor.drop(0.5, 'superseded', 8)
    assert monitor.assess(1.0)[0] == OK
    monitor.drop(0.6, 'out_of_order', 2)
    assert monitor.assess(1.0)[0] == OK  # 2 of 10 is not above 0.2
    monitor.drop(0.7, 'color_invalid')
    assert monitor.assess(1.0) == (WARN, 'dropped 3 of 10 frames in the last 5 s')
    # the window forgets
    monitor.frame_in(6.0)
    assert monitor.assess(6.0)[0] == OK


def test_frames_without_depth_warn_only_when_depth_is_expected():
    monitor = running_monitor()
    monitor.frame_in(1.0)
    monitor.no_depth(1.1, 'no_depth')
    level, message = monitor.assess(1.5, expect_depth=True)
    assert level == WARN and 'no_depth' in message
    assert monitor.assess(1.5, expect_depth=False)[0] == OK


def test_processing_errors_are_errors_and_lost_tracking_warns():
    monitor = running_monitor()
    monitor.frame_in(1.0)
    monitor.tracking = 'lost'
    assert monitor.assess(1.5) == (WARN, 'tracking lost')
    monitor.error(1.2, 'RuntimeError: boom')
    level, message = monitor.assess(1.5)
    assert level == ERROR and 'boom' in message


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match='drop_warn'):
        HealthConfig(drop_warn=1.5)


def test_lifecycle_states_without_processing_are_ok_and_activation_restarts_the_clock():
    monitor = HealthMonitor(HealthConfig(stale_after=3.0), started=0.0)
    monitor.idle('inactive', 'activate to process')
    assert monitor.assess(100.0) == (OK, 'inactive: activate to process')
    monitor.ready('backend torch', now=100.0)
    assert monitor.assess(102.0)[0] == OK  # STALE counts from the activation
    assert monitor.assess(103.0)[0] == STALE


def test_withheld_odometry_warns_with_the_reason():
    monitor = running_monitor()
    monitor.frame_in(1.0)
    monitor.no_odometry = 'no extrinsics base_link <- cam'
    assert monitor.assess(1.5) == (WARN, 'odometry withheld: no extrinsics base_link <- cam')
    monitor.no_odometry = ''
    assert monitor.assess(1.5)[0] == OK


def test_errors_of_frames_before_a_deactivation_do_not_keep_an_idle_node_at_error():
    monitor = running_monitor(window=5.0)
    monitor.frame_in(1.0)
    monitor.error(1.0, 'RuntimeError: boom')
    assert monitor.assess(2.0)[0] == ERROR
    monitor.idle('inactive', 'deactivated; activate to process')
    assert monitor.assess(2.0) == (OK, 'inactive: deactivated; activate to process')
