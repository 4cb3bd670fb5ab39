# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
ROS 2 side of lfnet_ros: the front-end node, message conversions and the colour/depth sync.

``conversions`` and ``sync`` import no rclpy at module level beyond message types, and
``sync`` imports no ROS at all, so they are usable (and tested) on their own.
"""
