# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
sensor_msgs/Image and CameraInfo <-> numpy, without cv_bridge.

Incoming images are read with ``np.frombuffer`` on ``msg.data``, honouring ``step`` (row
padding) and ``is_bigendian``; every inconsistency raises :class:`ConversionError` (a
``ValueError``), never anything else. Outgoing buffers are written with one ``tobytes()``
(assigning an ndarray to ``msg.data`` copies element by element, ~100x slower).
"""

from typing import Dict, Optional, Tuple

import numpy as np
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from lfnet_ros.conversion_error import ConversionError

# encoding -> (base dtype, channels)
IMAGE_ENCODINGS: Dict[str, Tuple[np.dtype, int]] = {
    'rgb8': (np.dtype(np.uint8), 3),
    'bgr8': (np.dtype(np.uint8), 3),
    'rgba8': (np.dtype(np.uint8), 4),
    'bgra8': (np.dtype(np.uint8), 4),
    'mono8': (np.dtype(np.uint8), 1),
    'mono16': (np.dtype(np.uint16), 1),
    '16UC1': (np.dtype(np.uint16), 1),
    '32FC1': (np.dtype(np.float32), 1),
}
COLOR_ENCODINGS = ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8', 'mono16')
DEPTH_ENCODINGS = ('16UC1', 'mono16', '32FC1')


def image_to_array(msg: Image) -> np.ndarray:
    """
    Return the pixels of ``msg`` as (H, W) or (H, W, C) in the encoding's native-endian dtype.

    Channel order is the encoding's (no bgr -> rgb swap here). The result may share memory with
    ``msg.data``.

    Raises:
        ConversionError: unknown encoding, empty image, ``step`` shorter than a row, or
            ``len(data) != step * height``.

    """
    if msg.encoding not in IMAGE_ENCODINGS:
        raise ConversionError(f'unsupported encoding {msg.encoding!r}; expected one of '
                              f'{sorted(IMAGE_ENCODINGS)}')
    base, channels = IMAGE_ENCODINGS[msg.encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ConversionError(f'empty image ({width}x{height})')
    row_bytes = width * channels * base.itemsize
    if step < row_bytes:
        raise ConversionError(f'step {step} < {row_bytes} bytes for {width} px of '
                              f'{msg.encoding}')
    size = len(msg.data)
    if size != step * height:
        raise ConversionError(f'data has {size} bytes, expected step * height = '
                              f'{step} * {height} = {step * height}')
    dtype = base.newbyteorder('>' if msg.is_bigendian else '<')
    raw = np.frombuffer(msg.data, dtype=np.uint8)
    if step == row_bytes:
        pixels = raw.view(dtype)
    else:  # padded rows: drop the padding, then reinterpret
        pixels = np.ascontiguousarray(raw.reshape(height, step)[:, :row_bytes]).view(dtype)
    shape = (height, width) if channels == 1 else (height, width, channels)
    pixels = pixels.reshape(shape)
    if not dtype.isnative and dtype.itemsize > 1:
        pixels = pixels.astype(base)
    return pixels


def color_to_rgb(msg: Image) -> np.ndarray:
    """
    Return a colour message as the front-end's input: (H, W, 3) RGB or (H, W) grey, uint8.

    ``bgr8``/``bgra8`` are reordered, alpha is dropped, ``mono16`` keeps its high byte.

    Raises:
        ConversionError: the encoding is not a colour encoding, or the message is malformed.

    """
    if msg.encoding not in COLOR_ENCODINGS:
        raise ConversionError(f'colour image has encoding {msg.encoding!r}; expected one of '
                              f'{list(COLOR_ENCODINGS)}')
    pixels = image_to_array(msg)
    if msg.encoding in ('bgr8', 'bgra8'):
        pixels = pixels[:, :, 2::-1]
    elif msg.encoding == 'rgba8':
        pixels = pixels[:, :, :3]
    elif msg.encoding == 'mono16':
        pixels = (pixels >> 8).astype(np.uint8)
    return np.ascontiguousarray(pixels)


def depth_to_metres(msg: Image, depth_scale: float = 0.001) -> np.ndarray:
    """
    Return a depth message as (H, W) float32 metres, NaN where invalid (0, NaN, inf, < 0).

    ``16UC1``/``mono16`` values are multiplied by ``depth_scale`` (0.001: millimetres);
    ``32FC1`` is taken as metres.

    Raises:
        ConversionError: not a depth encoding, or the message is malformed.

    """
    if msg.encoding not in DEPTH_ENCODINGS:
        raise ConversionError(f'depth image has encoding {msg.encoding!r}; expected one of '
                              f'{list(DEPTH_ENCODINGS)}')
    raw = image_to_array(msg)
    depth = raw.astype(np.float32)
    if raw.dtype == np.uint16:
        depth *= np.float32(depth_scale)
    with np.errstate(invalid='ignore'):
        depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
    return depth


def array_to_image(array: np.ndarray, encoding: str, header: Optional[Header] = None) -> Image:
    """
    Return ``array`` as a ``sensor_msgs/Image`` (little endian, unpadded rows).

    Raises:
        ConversionError: unknown encoding, or the array's shape/dtype does not fit it.

    """
    if encoding not in IMAGE_ENCODINGS:
        raise ConversionError(f'unsupported encoding {encoding!r}')
    base, channels = IMAGE_ENCODINGS[encoding]
    array = np.asarray(array)
    expected = 2 if channels == 1 else 3
    if array.ndim != expected or (channels > 1 and array.shape[2] != channels):
        wanted = '(H, W)' if channels == 1 else f'(H, W, {channels})'
        raise ConversionError(f'{encoding} needs shape {wanted}, got {array.shape}')
    if array.dtype.kind != base.kind or array.dtype.itemsize != base.itemsize:
        raise ConversionError(f'{encoding} needs dtype {base}, got {array.dtype}')
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = msg.width * channels * base.itemsize
    msg.data = np.ascontiguousarray(array, dtype=base.newbyteorder('<')).tobytes()
    return msg


def camera_info_to_K(msg: CameraInfo) -> np.ndarray:
    """
    Return the (3, 3) float64 intrinsics of ``msg``.

    Raises:
        ConversionError: K is all zeros (uncalibrated), has non-positive focal lengths or is not
            finite.

    """
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ConversionError(f'camera_info has no usable K (fx={K[0, 0]}, fy={K[1, 1]})')
    return K
