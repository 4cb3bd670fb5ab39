# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The bytes of image_transport's ``compressed`` and ``compressedDepth`` images, without ROS.

Each encoder returns ``(data, format)``: what a ``sensor_msgs/msg/CompressedImage`` carries in
its ``data`` and ``format`` fields. :mod:`lfnet_ros.compressed_images` wraps them in rclpy
messages; :mod:`lfnet_ros.bag_from_tum` in rosbags ones (no ROS installation needed there).

* ``compressed`` colour: a JPEG of the BGR pixels, format ``'rgb8; jpeg compressed bgr8'``.
* ``compressedDepth`` depth: the 12-byte little-endian header :data:`DEPTH_HEADER`
  (int32 format 0, float32 depthQuantA 0.0, float32 depthQuantB 0.0) then a 16-bit PNG of
  the millimetres, format ``'16UC1; compressedDepth png'``.
"""

import struct
from typing import Tuple

import cv2
import numpy as np

from lfnet_ros.conversion_error import ConversionError

DEPTH_HEADER = struct.Struct('<iff')
JPEG_FORMAT = 'rgb8; jpeg compressed bgr8'
DEPTH_PNG_FORMAT = '16UC1; compressedDepth png'


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> Tuple[bytes, str]:
    """Return (H, W, 3) RGB uint8 as ``compressed`` JPEG ``(data, format)``."""
    ok, data = cv2.imencode('.jpg', np.ascontiguousarray(rgb[:, :, ::-1]),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ConversionError('JPEG encoding failed')
    return data.tobytes(), JPEG_FORMAT


def encode_compressed_depth(depth_mm: np.ndarray) -> Tuple[bytes, str]:
    """Return (H, W) uint16 millimetres as ``compressedDepth`` PNG ``(data, format)``."""
    if depth_mm.dtype != np.uint16 or depth_mm.ndim != 2:
        raise ConversionError(f'compressedDepth: expected (H, W) uint16, got {depth_mm.dtype} '
                              f'{depth_mm.shape}')
    ok, png = cv2.imencode('.png', depth_mm)
    if not ok:
        raise ConversionError('PNG encoding failed')
    return DEPTH_HEADER.pack(0, 0.0, 0.0) + png.tobytes(), DEPTH_PNG_FORMAT
