# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""One RGB-D frame as the messages a camera driver publishes (camera info, depth, colour)."""

from dataclasses import dataclass

import numpy as np
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from lfnet_ros import conversions as conv

FRAME_ID = 'camera_color_optical_frame'
DEPTH_ENCODINGS = ('32FC1', '16UC1')


@dataclass
class FrameMessages:
    """The three messages of one frame, published in this order: camera info, depth, colour."""

    camera_info: CameraInfo
    depth: Image
    color: Image


def camera_info(K: np.ndarray, width: int, height: int, header: Header) -> CameraInfo:
    """Return a CameraInfo (plumb_bob, no distortion) with intrinsics ``K``."""
    msg = CameraInfo(header=header, width=width, height=height, distortion_model='plumb_bob')
    msg.k = [float(v) for v in np.asarray(K, np.float64).ravel()]
    msg.d = [0.0] * 5
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    P = np.zeros((3, 4))
    P[:, :3] = K
    msg.p = [float(v) for v in P.ravel()]
    return msg


def frame_messages(rgb: np.ndarray, depth: np.ndarray, K: np.ndarray, stamp_ns: int,
                   depth_encoding: str = '32FC1') -> FrameMessages:
    """
    Return one frame's messages, stamped ``stamp_ns`` in :data:`FRAME_ID`.

    Args:
        rgb: (H, W, 3) uint8 colour, published ``rgb8``.
        depth: (H, W) metres, published as ``32FC1`` metres or ``16UC1`` millimetres.
        K: (3, 3) intrinsics.
        stamp_ns: the header stamp in nanoseconds.
        depth_encoding: one of :data:`DEPTH_ENCODINGS`.

    """
    if depth_encoding not in DEPTH_ENCODINGS:
        raise ValueError(f'depth encoding must be one of {DEPTH_ENCODINGS}, got '
                         f'{depth_encoding!r}')
    header = Header(stamp=conv.ns_to_stamp(stamp_ns), frame_id=FRAME_ID)
    height, width = rgb.shape[:2]
    if depth_encoding == '16UC1':
        millimetres = np.clip(np.round(depth * 1000.0), 0, 65535)
        depth_msg = conv.array_to_image(millimetres.astype(np.uint16), '16UC1', header)
    else:
        depth_msg = conv.array_to_image(depth.astype(np.float32), '32FC1', header)
    return FrameMessages(camera_info(K, width, height, header), depth_msg,
                         conv.array_to_image(rgb, 'rgb8', header))
