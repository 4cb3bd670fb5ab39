# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The node's ROS message <-> numpy conversions under one name (``conv.<name>``), no cv_bridge.

Each lives in the module of its kind, imported here unchanged:

* :mod:`lfnet_ros.image_messages`: Image and CameraInfo, the encodings;
* :mod:`lfnet_ros.cloud_messages`: PointCloud2, the keypoint and match clouds (wire format);
* :mod:`lfnet_ros.pose_messages`: Pose and twist; :mod:`lfnet_ros.stamps`: Time;
* :mod:`lfnet_ros.conversion_error`: :class:`ConversionError`, the one error all of them raise;
* :func:`lfnet_core.visualization.render_debug_image`: the node's debug image.
"""

from lfnet_core.visualization import render_debug_image
from lfnet_ros.cloud_messages import array_to_cloud, cloud_to_array, DESCRIPTOR_DIM, \
    dtype_to_fields, fields_to_dtype, KEYPOINT_DTYPE, keypoints_to_cloud, MATCH_DTYPE, \
    matches_to_cloud
from lfnet_ros.conversion_error import ConversionError
from lfnet_ros.image_messages import array_to_image, camera_info_to_K, COLOR_ENCODINGS, \
    color_to_rgb, DEPTH_ENCODINGS, depth_to_metres, IMAGE_ENCODINGS, image_to_array
from lfnet_ros.pose_messages import matrix_to_pose, motion_to_twist, pose_to_matrix
from lfnet_ros.stamps import ns_to_stamp, stamp_to_ns

__all__ = [
    'COLOR_ENCODINGS', 'ConversionError', 'DEPTH_ENCODINGS', 'DESCRIPTOR_DIM', 'IMAGE_ENCODINGS',
    'KEYPOINT_DTYPE', 'MATCH_DTYPE', 'array_to_cloud', 'array_to_image', 'camera_info_to_K',
    'cloud_to_array', 'color_to_rgb', 'depth_to_metres', 'dtype_to_fields', 'fields_to_dtype',
    'image_to_array', 'keypoints_to_cloud', 'matches_to_cloud', 'matrix_to_pose',
    'motion_to_twist', 'ns_to_stamp', 'pose_to_matrix', 'render_debug_image', 'stamp_to_ns',
]
