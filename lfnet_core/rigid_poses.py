# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Rigid poses: 4x4 SE(3) matrices, quaternion conversions, TUM pose lines and moved points."""

import numpy as np

from lfnet_core.array_checks import as_points, as_rigid_transform


def quaternion_to_rotation(q_xyzw: np.ndarray) -> np.ndarray:
    """Convert a quaternion (x, y, z, w) to a 3x3 rotation matrix (normalises first)."""
    x, y, z, w = np.asarray(q_xyzw, dtype=np.float64) / np.linalg.norm(q_xyzw)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def rotation_to_quaternion(R: np.ndarray) -> np.ndarray:
    """Convert a 3x3 rotation matrix to a unit quaternion (x, y, z, w) with w >= 0."""
    R = np.asarray(R, dtype=np.float64)
    trace = np.trace(R)
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [(R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s, s / 4]
    else:
        i = int(np.argmax(np.diag(R)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + R[i, i] - R[j, j] - R[k, k])
        q = [0.0, 0.0, 0.0, (R[k, j] - R[j, k]) / s]
        q[i] = s / 4
        q[j] = (R[j, i] + R[i, j]) / s
        q[k] = (R[k, i] + R[i, k]) / s
    q = np.asarray(q)
    q /= np.linalg.norm(q)
    return q if q[3] >= 0 else -q


def make_pose(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Build a 4x4 rigid transform from a rotation matrix and a translation vector."""
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = np.asarray(t, dtype=np.float64).reshape(3)
    return T


def invert_pose(T: np.ndarray) -> np.ndarray:
    """Invert a 4x4 rigid transform without a general matrix inverse."""
    R, t = T[:3, :3], T[:3, 3]
    return make_pose(R.T, -R.T @ t)


def relative_pose(T_world_cam0: np.ndarray, T_world_cam1: np.ndarray) -> np.ndarray:
    """Return T_0to1, mapping points in camera 0 coordinates to camera 1 coordinates.

    Args:
        T_world_cam0: (4, 4) camera-to-world pose of camera 0 (TUM ground-truth convention).
        T_world_cam1: (4, 4) camera-to-world pose of camera 1.

    """
    return invert_pose(T_world_cam1) @ T_world_cam0


def pose_from_tum(values: np.ndarray) -> np.ndarray:
    """Build a 4x4 pose from a TUM line's `tx ty tz qx qy qz qw` values."""
    values = np.asarray(values, dtype=np.float64)
    return make_pose(quaternion_to_rotation(values[3:7]), values[:3])


def pose_to_tum(T: np.ndarray) -> np.ndarray:
    """Convert a 4x4 pose to TUM's `tx ty tz qx qy qz qw` values."""
    return np.concatenate([T[:3, 3], rotation_to_quaternion(T[:3, :3])])


def transform_points(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 rigid transform to points.

    Args:
        T: (4, 4) transform, e.g. T_0to1 maps camera-0 coordinates to camera-1 coordinates.
        points: (N, 3) points.

    Returns:
        (N, 3) float64 transformed points, R @ p + t.

    """
    T = as_rigid_transform(T, 'T')
    points = as_points(points, 'points', 3)
    return points @ T[:3, :3].T + T[:3, 3]


def rotation_angle(R: np.ndarray) -> float:
    """Angle in radians of a rotation matrix (geodesic distance to the identity)."""
    cos = (np.trace(R) - 1.0) / 2.0
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def direction_angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in radians between vectors `a` and `b`; NaN where either is zero."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norm == 0.0:
        return float('nan')
    return float(np.arccos(np.clip(np.dot(a, b) / norm, -1.0, 1.0)))


def attached_motion(T_a: np.ndarray, T_b_a: np.ndarray) -> np.ndarray:
    """Return the motion of frame b that a motion `T_a` of a rigidly attached frame a makes.

    Args:
        T_a: (4, 4) pose or motion of frame a in its own terms: a's pose relative to its
            first pose (``T_a0_a``), or a frame-to-frame map (``T_cur_prev``).
        T_b_a: (4, 4) pose of frame a in frame b (the mount, e.g. ``T_base_cam``).

    Returns:
        (4, 4) the same for frame b, ``T_b_a @ T_a @ inv(T_b_a)``: e.g. the base's pose relative
        to its first pose from the camera's, ``T_b0_b = T_b_a @ T_a0_a @ T_a_b``.

    """
    T_b_a = as_rigid_transform(T_b_a, 'T_b_a')
    return T_b_a @ as_rigid_transform(T_a, 'T_a') @ invert_pose(T_b_a)
