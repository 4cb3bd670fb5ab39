# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The one error the ROS message conversions raise for a message they cannot convert."""


class ConversionError(ValueError):
    """A message cannot be converted (bad encoding, sizes, step or data length)."""
