# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Training pair datasets; every one returns the pair record documented in `record`."""

from training.datasets.homography import default_homography_images, HomographyPairs
from training.datasets.record import build_rgbd_record, RECORD_KEYS, RgbdView
from training.datasets.synthetic import SyntheticPairs
from training.datasets.tum import TumFrame, TumPairs, TumSequence

__all__ = ['build_rgbd_record', 'default_homography_images', 'HomographyPairs', 'RECORD_KEYS',
           'RgbdView', 'SyntheticPairs', 'TumFrame', 'TumPairs', 'TumSequence']
