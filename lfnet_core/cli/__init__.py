# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Command-line tools of lfnet_core (no ROS)."""
