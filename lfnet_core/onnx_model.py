# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The files of an `lfnet-export` model and the limits its graphs were exported with.

Plain Python (no torch, no onnx): the ONNX Runtime and TensorRT paths read it without the
exporter (`lfnet_core.export`, which needs torch).
"""

from dataclasses import dataclass
import os
from pathlib import Path
from typing import Union

DENSE_FILE = 'lfnet_dense.onnx'
DESCRIBE_FILE = 'lfnet_describe.onnx'
# Bumped whenever the exported graphs change for the same weights (cached exports are keyed
# by it): 2 = row-decomposed score/orientation heads, written-out scale softmax; 3 = rows of
# the upsampled scales resized after the 1 x k stage; 4 = every scale: width resize and the
# 1 x k stage on the transposed features, 5 channels transposed back; 5 = resizes as ONNX Resize
# nodes (lfnet_core.ops.resize); 6 = pre-activation BatchNorms as depthwise 1x1 convolutions
# (lfnet_core.ops.depthwise_batchnorm).
GRAPH_VERSION = 6
# Largest image side and keypoint count of a dynamic-shape export.
MAX_SIDE = 8192
MAX_KEYPOINTS = 8192


@dataclass(frozen=True)
class OnnxModel:
    """Paths of an exported model pair."""

    dense: Path
    describe: Path

    @classmethod
    def in_dir(cls, directory: Union[str, os.PathLike]) -> 'OnnxModel':
        """Return the standard file names inside a folder."""
        directory = Path(directory)
        return cls(directory / DENSE_FILE, directory / DESCRIBE_FILE)

    def exists(self) -> bool:
        """Whether both files are present."""
        return self.dense.is_file() and self.describe.is_file()
