# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""LF-Net networks: detector, descriptor and the combined model."""

from lfnet_core.model.descriptor import DescriptorNet
from lfnet_core.model.detector import DetectorNet
from lfnet_core.model.lfnet import LFNet

__all__ = ['DescriptorNet', 'DetectorNet', 'LFNet']
