# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Rigid motion as ROS message fields: a 4x4 pose as geometry_msgs/Pose, a motion as a twist."""

from typing import Tuple

import cv2
from geometry_msgs.msg import Pose
import numpy as np

from lfnet_core.rigid_poses import make_pose, quaternion_to_rotation, rotation_to_quaternion


def matrix_to_pose(T: np.ndarray) -> Pose:
    """Return a 4x4 rigid transform as a ``geometry_msgs/Pose``."""
    T = np.asarray(T, np.float64)
    pose = Pose()
    pose.position.x, pose.position.y, pose.position.z = (float(c) for c in T[:3, 3])
    qx, qy, qz, qw = (float(c) for c in rotation_to_quaternion(T[:3, :3]))
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = \
        qx, qy, qz, qw
    return pose


def pose_to_matrix(pose: Pose) -> np.ndarray:
    """Return a ``geometry_msgs/Pose`` as a 4x4 rigid transform (the quaternion normalised)."""
    q, p = pose.orientation, pose.position
    return make_pose(quaternion_to_rotation([q.x, q.y, q.z, q.w]), [p.x, p.y, p.z])


def motion_to_twist(T_prev_to_cur: np.ndarray, dt: float) -> Tuple[np.ndarray, np.ndarray]:
    """
    Return (linear, angular) velocity of the camera in the current camera frame.

    ``T_prev_to_cur`` maps points from the previous to the current camera frame; ``dt`` > 0 is
    the time between the two frames in seconds.
    """
    T = np.asarray(T_prev_to_cur, np.float64)
    R, t = T[:3, :3], T[:3, 3]
    # the camera moved by -R^T t (in the previous frame), i.e. by -t seen from the current one
    linear = -t / dt
    rvec, _ = cv2.Rodrigues(R.T)
    angular = rvec.reshape(3) / dt
    return linear, angular
