# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Matching evaluation of LF-Net against OpenCV ORB, SIFT and AKAZE (`lfnet-match-eval`).

- `features`: one extractor interface for every method at the same keypoint budget.
- `homography_eval`: repeatability, matching score and homography accuracy on Oxford /
  HPatches style sequences.
- `rgbd_eval`: matching score with depth + pose reprojection and relative-pose accuracy on
  TUM RGB-D sequences.
- `cli`: the `lfnet-match-eval` command.
"""

from lfnet_core.evaluation.features import (FeatureExtractor, Features, make_extractor,
                                            METHODS, to_grey_uint8)

__all__ = ['Features', 'FeatureExtractor', 'METHODS', 'make_extractor', 'to_grey_uint8']
