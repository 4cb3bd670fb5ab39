# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The front-end's odometry as ROS messages: nav_msgs/Odometry and the matching TF transform.

The covariances are documented fixed values, not estimates: ``COVARIANCE_OK`` (1e-4 on the
diagonal) while tracking holds (``ok``, or ``init`` for the pose), ``COVARIANCE_LOST`` (1e3)
when the pose is held after a lost step; the twist is ``COVARIANCE_OK`` only for a measured
``ok`` step. A back-end that fuses the odometry should gate on them, or read the tracking
state from ``/diagnostics`` (value ``tracking``).
"""

from typing import Optional

from geometry_msgs.msg import TransformStamped
from nav_msgs.msg import Odometry
import numpy as np
from std_msgs.msg import Header

from lfnet_core.frontend import FrameResult
from lfnet_core.rigid_poses import attached_motion
from lfnet_ros import conversions as conv

# Not 'odom', the usual wheel-odometry topic; remap visual_odom:=odom for the old name.
ODOMETRY_TOPIC = 'visual_odom'
COVARIANCE_OK = 1e-4
COVARIANCE_LOST = 1e3


def odometry_message(header: Header, result: FrameResult, prev_header: Header,
                     odom_frame: str, child_frame: str,
                     T_base_cam: Optional[np.ndarray] = None) -> Odometry:
    """
    Return the Odometry of one processed frame (pose in `odom_frame`, twist since prev).

    Without `T_base_cam` the pose and twist are the camera's. With it (the camera's pose in
    `child_frame`, a base rigidly carrying the camera) they are the base's: pose
    ``T_base_cam @ T_odom_cam @ inv(T_base_cam)`` (`odom_frame` is the base at the first frame)
    and twist in the current base frame.
    """
    msg = Odometry()
    msg.header.stamp = header.stamp
    msg.header.frame_id = odom_frame
    msg.child_frame_id = child_frame

    def in_base(T: np.ndarray) -> np.ndarray:
        return T if T_base_cam is None else attached_motion(T, T_base_cam)
    msg.pose.pose = conv.matrix_to_pose(in_base(result.T_odom_cam))
    variance = COVARIANCE_OK if result.tracking in ('ok', 'init') else COVARIANCE_LOST
    msg.pose.covariance = (np.eye(6) * variance).ravel().tolist()
    dt = conv.stamp_to_ns(header.stamp) - conv.stamp_to_ns(prev_header.stamp)
    if result.tracking == 'ok' and result.motion is not None and dt > 0:
        linear, angular = conv.motion_to_twist(in_base(result.motion.T_prev_to_cur), dt * 1e-9)
        (msg.twist.twist.linear.x, msg.twist.twist.linear.y,
         msg.twist.twist.linear.z) = (float(v) for v in linear)
        (msg.twist.twist.angular.x, msg.twist.twist.angular.y,
         msg.twist.twist.angular.z) = (float(v) for v in angular)
        msg.twist.covariance = (np.eye(6) * COVARIANCE_OK).ravel().tolist()
    else:
        msg.twist.covariance = (np.eye(6) * COVARIANCE_LOST).ravel().tolist()
    return msg


def odometry_transform(odometry: Odometry) -> TransformStamped:
    """Return the odom -> child transform that `odometry`'s pose describes."""
    tf = TransformStamped(header=odometry.header, child_frame_id=odometry.child_frame_id)
    pose = odometry.pose.pose
    tf.transform.translation.x, tf.transform.translation.y, \
        tf.transform.translation.z = pose.position.x, pose.position.y, pose.position.z
    tf.transform.rotation = pose.orientation
    return tf
