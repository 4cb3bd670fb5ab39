# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Where the camera sits on the robot: ``T_base_cam`` for odometry of ``base_frame`` (REP 105).

With ``base_frame`` empty the odometry's child frame is the colour image's frame id and no
extrinsics are used. With ``base_frame`` set, the colour image frame's pose in ``base_frame``
comes from the ``base_to_camera`` parameter (``x y z qx qy qz qw``, as for
static_transform_publisher) or, when that is empty and tf2_ros imports (a ROS install), from TF
(``base_frame`` <- image frame id, looked up until found, then kept: the mount is static).
Until one of them gives it, :meth:`CameraMount.resolve` returns None and :attr:`problem` says why:
the node then withholds odometry rather than publish the camera's motion as the base's.
"""

from typing import Optional, Tuple

import numpy as np
from rclpy.time import Time

from lfnet_core.rigid_poses import pose_from_tum

try:
    import tf2_ros
except ImportError:  # not on PyPI: extrinsics then come from base_to_camera only
    tf2_ros = None


def parse_base_to_camera(text: str) -> Optional[np.ndarray]:
    """Return ``'x y z qx qy qz qw'`` (spaces or commas) as a 4x4 pose; '' gives None."""
    fields = text.replace(',', ' ').split()
    if not fields:
        return None
    try:
        values = np.array([float(field) for field in fields])
    except ValueError:
        values = np.zeros(0)
    if len(values) != 7 or not np.all(np.isfinite(values)) or \
            np.linalg.norm(values[3:]) < 1e-6:
        raise ValueError(f'base_to_camera must be seven numbers "x y z qx qy qz qw" (metres, '
                         f'a non-zero quaternion) or empty, got {text!r}')
    return pose_from_tum(values)


class CameraMount:
    """The colour camera's pose in ``base_frame``, from a parameter or from TF."""

    def __init__(self, node: object, base_frame: str, base_to_camera: str) -> None:
        self.base_frame = base_frame
        self.problem = ''
        self._T_base_cam = parse_base_to_camera(base_to_camera) if base_frame else None
        self.source = 'base_to_camera' if self._T_base_cam is not None else 'none'
        self._buffer = self._listener = None
        if base_frame and self._T_base_cam is None and tf2_ros is not None:
            self.source = 'tf'
            self._buffer = tf2_ros.Buffer()
            self._listener = tf2_ros.TransformListener(self._buffer, node)

    def resolve(self, camera_frame: str) -> Optional[Tuple[str, Optional[np.ndarray]]]:
        """
        Return (child frame, T_base_cam or None for none needed), or None when unknown.

        None means ``base_frame`` is set but the camera's pose in it is not known (yet);
        :attr:`problem` then says why.
        """
        self.problem = ''
        if not self.base_frame:
            return camera_frame, None
        if self._T_base_cam is None and camera_frame == self.base_frame:
            return self.base_frame, None
        if self._T_base_cam is None:
            self.problem = self._look_up(camera_frame)
            if self._T_base_cam is None:
                return None
        return self.base_frame, self._T_base_cam

    def _look_up(self, camera_frame: str) -> str:
        """Try TF for ``base_frame`` <- ``camera_frame``; return '' or the reason it failed."""
        where = f'{self.base_frame} <- {camera_frame or "(empty frame id)"}'
        if self._buffer is None:
            return (f'no extrinsics {where}: set base_to_camera (tf2_ros is not importable, '
                    'so TF cannot give them)')
        try:
            transform = self._buffer.lookup_transform(self.base_frame, camera_frame, Time())
        except tf2_ros.TransformException as exc:
            return f'no extrinsics {where}: TF lookup failed ({exc}); publish it or set ' \
                'base_to_camera'
        t, q = transform.transform.translation, transform.transform.rotation
        self._T_base_cam = pose_from_tum([t.x, t.y, t.z, q.x, q.y, q.z, q.w])
        return ''

    def close(self) -> None:
        """Stop listening to TF."""
        if self._listener is not None:
            self._listener.unregister()
            self._listener = self._buffer = None
