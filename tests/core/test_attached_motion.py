# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""rigid_poses.attached_motion: a camera's motion as the motion of the base that carries it."""

import numpy as np
import pytest

from lfnet_core.rigid_poses import (attached_motion, invert_pose, make_pose,
                                    quaternion_to_rotation)

# REP 103 optical mount: optical z forward = base x, optical x right = base -y, y down = base -z
R_BASE_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
T_BASE_CAM = make_pose(R_BASE_OPTICAL, [0.2, 0.05, 0.5])


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def test_the_standard_optical_quaternion_is_that_rotation():
    np.testing.assert_allclose(quaternion_to_rotation([-0.5, 0.5, -0.5, 0.5]), R_BASE_OPTICAL,
                               atol=1e-12)


def test_camera_moving_along_optical_z_moves_the_base_forward_along_x():
    T_cam0_cam = make_pose(np.eye(3), [0.0, 0.0, 1.0])
    T_base0_base = attached_motion(T_cam0_cam, T_BASE_CAM)
    np.testing.assert_allclose(T_base0_base, make_pose(np.eye(3), [1.0, 0.0, 0.0]), atol=1e-12)


def test_a_base_turning_in_place_is_a_pure_yaw_despite_the_camera_lever_arm():
    # the base yaws 30 degrees about its own z: its origin stays put, the camera swings around
    T_base0_base = make_pose(rot_z(np.radians(30)), np.zeros(3))
    T_cam0_cam = invert_pose(T_BASE_CAM) @ T_base0_base @ T_BASE_CAM
    assert np.linalg.norm(T_cam0_cam[:3, 3]) > 0.1  # the camera did translate
    np.testing.assert_allclose(attached_motion(T_cam0_cam, T_BASE_CAM), T_base0_base,
                               atol=1e-12)


def test_identity_stays_identity_and_the_mount_inverts():
    np.testing.assert_allclose(attached_motion(np.eye(4), T_BASE_CAM), np.eye(4), atol=1e-12)
    rng = np.random.default_rng(0)
    q = rng.normal(size=4)
    T = make_pose(quaternion_to_rotation(q), rng.normal(size=3))
    back = attached_motion(attached_motion(T, T_BASE_CAM), invert_pose(T_BASE_CAM))
    np.testing.assert_allclose(back, T, atol=1e-12)


def test_frame_to_frame_steps_compose_like_the_poses():
    # T_cur_prev steps (points prev -> cur) and the pose relative to the first frame agree
    rng = np.random.default_rng(1)
    steps = [make_pose(quaternion_to_rotation(rng.normal(size=4) * [0.05, 0.05, 0.05, 1]),
                       rng.normal(size=3) * 0.1) for _ in range(3)]
    T_cam0_cam = invert_pose(steps[2] @ steps[1] @ steps[0])
    base_steps = [attached_motion(step, T_BASE_CAM) for step in steps]
    np.testing.assert_allclose(invert_pose(base_steps[2] @ base_steps[1] @ base_steps[0]),
                               attached_motion(T_cam0_cam, T_BASE_CAM), atol=1e-12)


def test_a_non_rigid_mount_is_refused():
    with pytest.raises(ValueError):
        attached_motion(np.eye(4), np.zeros((3, 4)))
