# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
sensor_msgs/PointCloud2 <-> numpy structured arrays, and the node's keypoint and match clouds.

Wire format (one point per row, little endian, ``is_dense`` false):

* keypoints: ``u, v, x, y, z, scale, orientation, score`` (float32) and ``descriptor``
  (float32, count 256); ``x, y, z`` in the camera optical frame, NaN where depth is unknown.
* matches: ``index0, index1`` (uint32; rows of the previous / current keypoints cloud),
  ``u0, v0, u1, v1, distance`` (float32), ``inlier`` (uint8), ``prev_stamp_sec``,
  ``prev_stamp_nanosec`` (uint32, the previous keypoints message's stamp, repeated per point).

A cloud that cannot be read raises :class:`ConversionError`.
"""

from typing import Optional

from builtin_interfaces.msg import Time
import numpy as np
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Header

from lfnet_ros.conversion_error import ConversionError

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
