# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Argument types shared by the ROS tools' command lines (``--size``, ``--resize``)."""

import argparse
from typing import Tuple

MIN_SIDE = 33  # 2 x the network's border + 1


def parse_size(text: str) -> Tuple[int, int]:
    """Parse ``WIDTHxHEIGHT`` for argparse: (width, height), each at least 33 (2 x border + 1)."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must be WIDTHxHEIGHT, got {text!r}') from None
    if width < MIN_SIDE or height < MIN_SIDE:
        raise argparse.ArgumentTypeError(f'size {text!r} is too small (at least 33x33)')
    return width, height
