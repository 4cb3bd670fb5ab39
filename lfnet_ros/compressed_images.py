# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
CompressedImage messages as image_transport writes them: ``compressed``, ``compressedDepth``.

* ``compressed`` (colour): ``format`` like ``'rgb8; jpeg compressed bgr8'``; ``data`` is a JPEG
  or PNG file. Decoded with OpenCV to RGB (grey stays grey).
* ``compressedDepth`` (depth): ``format`` like ``'16UC1; compressedDepth png'``; ``data`` is a
  12-byte header (int32 format, float32 depthQuantA, float32 depthQuantB) then a 16-bit PNG.
  16UC1 depth is the PNG's values (times ``depth_scale``); 32FC1 depth is stored as quantised
  inverse depth ``v = A / depth + B`` and read back as ``A / (v - B)`` (0: invalid).

Every malformed message raises :class:`ConversionError` (the node counts it as a drop).
"""

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import Header

from lfnet_ros.conversion_error import ConversionError
from lfnet_ros.image_encoding import DEPTH_HEADER, encode_compressed_depth, encode_jpeg
from lfnet_ros.image_messages import color_to_rgb, depth_to_metres


def _decode(data: bytes, flags: int) -> np.ndarray:
    pixels = cv2.imdecode(np.frombuffer(bytes(data), np.uint8), flags) if len(data) else None
    if pixels is None:
        raise ConversionError(f'compressed image: {len(data)} bytes are not a JPEG or PNG')
    return pixels


def compressed_to_rgb(msg: CompressedImage) -> np.ndarray:
    """Return a ``compressed`` colour message as (H, W, 3) RGB or (H, W) grey, uint8."""
    if 'compressedDepth' in msg.format:
        raise ConversionError(f'colour image has format {msg.format!r} (a depth format)')
    pixels = _decode(msg.data, cv2.IMREAD_UNCHANGED)
    if pixels.dtype != np.uint8:
        raise ConversionError(f'colour image: decoded {pixels.dtype} pixels, expected 8 bit')
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, :3]
    return np.ascontiguousarray(pixels[:, :, ::-1] if pixels.ndim == 3 else pixels)


def compressed_depth_to_metres(msg: CompressedImage, depth_scale: float = 0.001) -> np.ndarray:
    """Return a ``compressedDepth`` message as (H, W) float32 metres, NaN where invalid."""
    encoding = msg.format.split(';')[0].strip()
    if 'compressedDepth' not in msg.format or encoding not in ('16UC1', 'mono16', '32FC1'):
        raise ConversionError(f'depth image has format {msg.format!r}; expected '
                              "'16UC1; compressedDepth png' or '32FC1; compressedDepth png'")
    data = bytes(msg.data)
    if len(data) <= DEPTH_HEADER.size:
        raise ConversionError(f'compressedDepth image: {len(data)} bytes, no PNG after the header')
    _, quant_a, quant_b = DEPTH_HEADER.unpack_from(data)
    raw = _decode(data[DEPTH_HEADER.size:], cv2.IMREAD_UNCHANGED)
    if raw.dtype != np.uint16 or raw.ndim != 2:
        raise ConversionError(f'compressedDepth image: decoded {raw.dtype} {raw.shape}, '
                              'expected one 16-bit channel')
    if encoding == '32FC1':
        with np.errstate(divide='ignore', invalid='ignore'):
            depth = np.float32(quant_a) / (raw.astype(np.float32) - np.float32(quant_b))
        depth[raw == 0] = np.nan
    else:
        depth = raw.astype(np.float32) * np.float32(depth_scale)
    with np.errstate(invalid='ignore'):
        depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
    return depth


def color_message_to_rgb(msg) -> np.ndarray:
    """Return a raw (Image) or compressed (CompressedImage) colour message as RGB/grey uint8."""
    return compressed_to_rgb(msg) if isinstance(msg, CompressedImage) else color_to_rgb(msg)


def depth_message_to_metres(msg, depth_scale: float = 0.001) -> np.ndarray:
    """Return a raw (Image) or ``compressedDepth`` depth message as float32 metres."""
    if isinstance(msg, CompressedImage):
        return compressed_depth_to_metres(msg, depth_scale)
    return depth_to_metres(msg, depth_scale)


def rgb_to_compressed(rgb: np.ndarray, header: Header, quality: int = 95) -> CompressedImage:
    """Return (H, W, 3) RGB uint8 as a ``compressed`` JPEG message, as a camera driver sends."""
    data, fmt = encode_jpeg(rgb, quality)
    return CompressedImage(header=header, format=fmt, data=data)


def depth_to_compressed(depth_mm: np.ndarray, header: Header) -> CompressedImage:
    """Return (H, W) uint16 millimetre depth as a ``16UC1; compressedDepth png`` message."""
    data, fmt = encode_compressed_depth(depth_mm)
    return CompressedImage(header=header, format=fmt, data=data)
