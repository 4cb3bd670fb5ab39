# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""LF-Net learned local features (Ono et al., NeurIPS 2018) in PyTorch, without ROS."""

__version__ = '0.1.0'
