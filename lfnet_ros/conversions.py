# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
ROS message <-> numpy conversions: images, camera info, PointCloud2 and poses (no cv_bridge).

Incoming images are read with ``np.frombuffer`` on ``msg.data``, honouring ``step`` (row
padding) and ``is_bigendian``; every inconsistency raises :class:`ConversionError` (a
``ValueError``), never anything else. Outgoing buffers are written with one ``tobytes()``
(assigning an ndarray to ``msg.data`` copies element by element, ~100x slower).

PointCloud2 wire format (one point per row, little endian, ``is_dense`` false):

* keypoints: ``u, v, x, y, z, scale, orientation, score`` (float32) and ``descriptor``
  (float32, count 256); ``x, y, z`` in the camera optical frame, NaN where depth is unknown.
* matches: ``index0, index1`` (uint32; rows of the previous / current keypoints cloud),
  ``u0, v0, u1, v1, distance`` (float32), ``inlier`` (uint8), ``prev_stamp_sec``,
  ``prev_stamp_nanosec`` (uint32, the previous keypoints message's stamp, repeated per point).
"""

from typing import Dict, Optional, Tuple

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Pose
import numpy as np
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header


class ConversionError(ValueError):
    """A message cannot be converted (bad encoding, sizes, step or data length)."""


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
DESCRIPTOR_DIM = 256

KEYPOINT_DTYPE = np.dtype([
    ('u', '<f4'), ('v', '<f4'), ('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('scale', '<f4'),
    ('orientation', '<f4'), ('score', '<f4'), ('descriptor', '<f4', (DESCRIPTOR_DIM,))])
# 4-byte aligned: 'inlier' is followed by 3 padding bytes (point_step 40)
MATCH_DTYPE = np.dtype({
    'names': ['index0', 'index1', 'u0', 'v0', 'u1', 'v1', 'distance', 'inlier',
              'prev_stamp_sec', 'prev_stamp_nanosec'],
    'formats': ['<u4', '<u4', '<f4', '<f4', '<f4', '<f4', '<f4', 'u1', '<u4', '<u4'],
    'offsets': [0, 4, 8, 12, 16, 20, 24, 28, 32, 36],
    'itemsize': 40})

_POINTFIELD_TYPES = {
    np.dtype('i1'): PointField.INT8, np.dtype('u1'): PointField.UINT8,
    np.dtype('<i2'): PointField.INT16, np.dtype('<u2'): PointField.UINT16,
    np.dtype('<i4'): PointField.INT32, np.dtype('<u4'): PointField.UINT32,
    np.dtype('<f4'): PointField.FLOAT32, np.dtype('<f8'): PointField.FLOAT64,
}
_POINTFIELD_DTYPES = {v: k for k, v in _POINTFIELD_TYPES.items()}


# --------------------------------------------------------------------------- time


def stamp_to_ns(stamp: Time) -> int:
    """Return a ``builtin_interfaces/Time`` as integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    """Return integer nanoseconds as a ``builtin_interfaces/Time``."""
    sec, nanosec = divmod(int(ns), 1_000_000_000)
    return Time(sec=sec, nanosec=nanosec)


# --------------------------------------------------------------------------- images


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


# --------------------------------------------------------------------------- PointCloud2


def dtype_to_fields(dtype: np.dtype) -> list:
    """Return the ``PointField`` list for a structured little-endian numpy dtype."""
    fields = []
    for name in dtype.names:
        field_dtype, offset = dtype.fields[name][:2]
        base, shape = field_dtype.base, field_dtype.shape
        count = int(np.prod(shape)) if shape else 1
        fields.append(PointField(name=name, offset=offset,
                                 datatype=_POINTFIELD_TYPES[base.newbyteorder('<')],
                                 count=count))
    return fields


def fields_to_dtype(fields: list, point_step: int) -> np.dtype:
    """
    Return the structured dtype (itemsize ``point_step``) that reads the given fields.

    Raises:
        ConversionError: an unknown datatype, or fields that do not fit ``point_step``.

    """
    names, formats, offsets = [], [], []
    for field in fields:
        if field.datatype not in _POINTFIELD_DTYPES:
            raise ConversionError(f'field {field.name!r} has unknown datatype {field.datatype}')
        base = _POINTFIELD_DTYPES[field.datatype]
        names.append(field.name)
        formats.append((base, (field.count,)) if field.count > 1 else base)
        offsets.append(field.offset)
    try:
        return np.dtype({'names': names, 'formats': formats, 'offsets': offsets,
                         'itemsize': point_step})
    except (TypeError, ValueError) as exc:  # overlapping/duplicate fields, too small a step
        raise ConversionError(f'point fields do not fit point_step {point_step}: {exc}') from None


def array_to_cloud(points: np.ndarray, header: Header) -> PointCloud2:
    """Return a structured array as an unorganised (height 1) PointCloud2, one ``tobytes()``."""
    msg = PointCloud2()
    msg.header = header
    msg.height, msg.width = 1, int(points.shape[0])
    msg.fields = dtype_to_fields(points.dtype)
    msg.is_bigendian = False
    msg.point_step = points.dtype.itemsize
    msg.row_step = msg.point_step * msg.width
    msg.is_dense = False
    msg.data = np.ascontiguousarray(points).tobytes()
    return msg


def cloud_to_array(msg: PointCloud2) -> np.ndarray:
    """
    Return a PointCloud2 as a flat structured array (one record per point).

    Raises:
        ConversionError: big-endian cloud, unknown field types or a data length mismatch.

    """
    if msg.is_bigendian:
        raise ConversionError('big-endian PointCloud2 is not supported')
    dtype = fields_to_dtype(msg.fields, msg.point_step)
    count = int(msg.height) * int(msg.width)
    if int(msg.row_step) * int(msg.height) != len(msg.data) or \
            int(msg.row_step) < int(msg.point_step) * int(msg.width):
        raise ConversionError(f'cloud data has {len(msg.data)} bytes, expected row_step * '
                              f'height = {msg.row_step * msg.height}')
    if count == 0:
        return np.zeros(0, dtype)
    raw = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.row_step)
    raw = np.ascontiguousarray(raw[:, :msg.point_step * msg.width])
    return raw.view(dtype).reshape(count)


def keypoints_to_cloud(header: Header, keypoints: np.ndarray, scales: np.ndarray,
                       orientations: np.ndarray, scores: np.ndarray, descriptors: np.ndarray,
                       points: Optional[np.ndarray] = None) -> PointCloud2:
    """Pack keypoints (N, 2), their attributes and (N, 3) points (or None: NaN) as a cloud."""
    n = int(np.shape(keypoints)[0])
    cloud = np.empty(n, KEYPOINT_DTYPE)
    keypoints = np.asarray(keypoints, np.float32).reshape(n, 2)
    cloud['u'], cloud['v'] = keypoints[:, 0], keypoints[:, 1]
    if points is None:
        points = np.full((n, 3), np.nan, np.float32)
    points = np.asarray(points, np.float32).reshape(n, 3)
    cloud['x'], cloud['y'], cloud['z'] = points[:, 0], points[:, 1], points[:, 2]
    cloud['scale'] = np.asarray(scales, np.float32).reshape(n)
    cloud['orientation'] = np.asarray(orientations, np.float32).reshape(n)
    cloud['score'] = np.asarray(scores, np.float32).reshape(n)
    cloud['descriptor'] = np.asarray(descriptors, np.float32).reshape(n, DESCRIPTOR_DIM)
    return array_to_cloud(cloud, header)


def matches_to_cloud(header: Header, prev_stamp: Time, matches: np.ndarray,
                     keypoints0: np.ndarray, keypoints1: np.ndarray, distances: np.ndarray,
                     inliers: Optional[np.ndarray] = None) -> PointCloud2:
    """
    Pack (M, 2) matches [index prev, index cur] as a cloud (empty, with fields, when M = 0).

    ``keypoints0`` / ``keypoints1`` are the previous / current (N, 2) keypoints; ``prev_stamp``
    is the previous keypoints message's stamp, written into every point.
    """
    matches = np.asarray(matches, np.int64).reshape(-1, 2)
    m = matches.shape[0]
    cloud = np.zeros(m, MATCH_DTYPE)
    if m:
        kp0 = np.asarray(keypoints0, np.float32).reshape(-1, 2)[matches[:, 0]]
        kp1 = np.asarray(keypoints1, np.float32).reshape(-1, 2)[matches[:, 1]]
        cloud['index0'], cloud['index1'] = matches[:, 0], matches[:, 1]
        cloud['u0'], cloud['v0'], cloud['u1'], cloud['v1'] = kp0[:, 0], kp0[:, 1], kp1[:, 0], \
            kp1[:, 1]
        cloud['distance'] = np.asarray(distances, np.float32).reshape(m)
        if inliers is not None:
            cloud['inlier'] = np.asarray(inliers, bool).reshape(m)
        cloud['prev_stamp_sec'] = prev_stamp.sec
        cloud['prev_stamp_nanosec'] = prev_stamp.nanosec
    return array_to_cloud(cloud, header)


# --------------------------------------------------------------------------- poses


def matrix_to_quaternion(R: np.ndarray) -> np.ndarray:
    """Return the unit quaternion (x, y, z, w) of a 3x3 rotation matrix (w >= 0)."""
    R = np.asarray(R, np.float64)
    trace = R[0, 0] + R[1, 1] + R[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [(R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s, s / 4]
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2])
        q = [s / 4, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s, (R[2, 1] - R[1, 2]) / s]
    elif R[1, 1] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2])
        q = [(R[0, 1] + R[1, 0]) / s, s / 4, (R[1, 2] + R[2, 1]) / s, (R[0, 2] - R[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1])
        q = [(R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, s / 4, (R[1, 0] - R[0, 1]) / s]
    q = np.asarray(q)
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def matrix_to_pose(T: np.ndarray) -> Pose:
    """Return a 4x4 rigid transform as a ``geometry_msgs/Pose``."""
    T = np.asarray(T, np.float64)
    pose = Pose()
    pose.position.x, pose.position.y, pose.position.z = (float(c) for c in T[:3, 3])
    qx, qy, qz, qw = (float(c) for c in matrix_to_quaternion(T[:3, :3]))
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = \
        qx, qy, qz, qw
    return pose


def motion_to_twist(T_prev_to_cur: np.ndarray, dt: float) -> Tuple[np.ndarray, np.ndarray]:
    """
    Return (linear, angular) velocity of the camera in the current camera frame.

    ``T_prev_to_cur`` maps points from the previous to the current camera frame; ``dt`` > 0 is
    the time between the two frames in seconds.
    """
    import cv2  # local: only the node needs it
    T = np.asarray(T_prev_to_cur, np.float64)
    R, t = T[:3, :3], T[:3, 3]
    # the camera moved by -R^T t (in the previous frame), i.e. by -t seen from the current one
    linear = -t / dt
    rvec, _ = cv2.Rodrigues(R.T)
    angular = rvec.reshape(3) / dt
    return linear, angular


# --------------------------------------------------------------------------- debug image


def render_debug_image(image: np.ndarray, keypoints: np.ndarray,
                       keypoints0: Optional[np.ndarray] = None,
                       matches: Optional[np.ndarray] = None,
                       inliers: Optional[np.ndarray] = None) -> np.ndarray:
    """
    Return an (H, W, 3) uint8 RGB copy of ``image`` with keypoints and matches drawn.

    Keypoints are yellow dots; a match is a line from its previous-frame position to its current
    one, green for PnP inliers and red otherwise.
    """
    import cv2  # local: only the node needs it
    canvas = np.asarray(image)
    if canvas.ndim == 2:
        canvas = np.repeat(canvas[:, :, None], 3, axis=2)
    canvas = np.ascontiguousarray(canvas[:, :, :3], dtype=np.uint8).copy()
    for u, v in np.round(np.asarray(keypoints).reshape(-1, 2)).astype(int):
        cv2.circle(canvas, (int(u), int(v)), 2, (255, 220, 0), -1, cv2.LINE_AA)
    if keypoints0 is not None and matches is not None and len(matches):
        matches = np.asarray(matches, np.int64).reshape(-1, 2)
        p0 = np.round(np.asarray(keypoints0).reshape(-1, 2)[matches[:, 0]]).astype(int)
        p1 = np.round(np.asarray(keypoints).reshape(-1, 2)[matches[:, 1]]).astype(int)
        good = np.zeros(len(matches), bool) if inliers is None else np.asarray(inliers, bool)
        for a, b, ok in zip(p0, p1, good):
            cv2.line(canvas, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])),
                     (0, 255, 0) if ok else (255, 0, 0), 1, cv2.LINE_AA)
    return canvas
