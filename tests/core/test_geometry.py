# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Pinhole maths, RGB-D and homography warps, visibility (pinhole, rgbd_warp, homography)."""

import cv2
import numpy as np
import pytest
from scipy.ndimage import map_coordinates
from skimage.color import rgb2gray
import skimage.data

from lfnet_core.homography import homography_corner_error, homography_visibility, \
    warp_points_homography
from lfnet_core.pinhole import backproject, backproject_depth, PinholeCamera, project, \
    sample_depth
from lfnet_core.rgbd_warp import disparity_to_depth, warp_depth_map, warp_pixels_rgbd
from lfnet_core.rigid_poses import make_pose, quaternion_to_rotation, relative_pose, \
    transform_points

K_TEST = np.array([[520.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])
SHAPE = (480, 640)


def _rotation(axis, angle_deg):
    axis = np.asarray(axis, dtype=np.float64)
    axis /= np.linalg.norm(axis)
    half = np.deg2rad(angle_deg) / 2
    return quaternion_to_rotation(np.concatenate([axis * np.sin(half), [np.cos(half)]]))


def _pixel_grid(shape, step=1):
    v, u = np.mgrid[0:shape[0]:step, 0:shape[1]:step]
    return np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float64)


def _plane_depth(K, shape, normal, offset):
    """Depth map of the plane normal . X = offset seen by a camera at the origin."""
    uv = _pixel_grid(shape)
    rays = np.concatenate([uv, np.ones((len(uv), 1))], axis=1) @ np.linalg.inv(K).T
    return (offset / (rays @ normal)).reshape(shape)


# --------------------------------------------------------------------------- pinhole maths


def test_project_backproject_round_trip():
    rng = np.random.default_rng(0)
    uv = rng.uniform([0, 0], [640, 480], size=(1000, 2))
    z = rng.uniform(0.2, 20.0, size=1000)
    points = backproject(uv, z, K_TEST)
    uv2, z2 = project(points, K_TEST)
    np.testing.assert_allclose(uv2, uv, atol=1e-9)
    np.testing.assert_allclose(z2, z)
    # Known value: the principal point at depth 2 lies on the optical axis.
    np.testing.assert_allclose(backproject([[319.5, 239.5]], [2.0], K_TEST), [[0, 0, 2]])


def test_project_behind_camera_is_nan():
    uv, z = project(np.array([[0.1, 0.2, -1.0], [0.0, 0.0, 0.0], [0.1, 0.1, 1.0]]), K_TEST)
    assert np.all(np.isnan(uv[:2])) and np.all(np.isfinite(uv[2]))
    np.testing.assert_array_equal(z, [-1.0, 0.0, 1.0])


def test_backproject_depth_marks_invalid_nan():
    depth = np.full((4, 5), 2.0)
    depth[0, 0], depth[1, 1], depth[2, 2], depth[3, 3] = 0.0, np.nan, np.inf, -1.0
    points = backproject_depth(depth, K_TEST)
    assert points.shape == (4, 5, 3)
    bad = np.zeros((4, 5), dtype=bool)
    bad[[0, 1, 2, 3], [0, 1, 2, 3]] = True
    np.testing.assert_array_equal(np.isnan(points).all(axis=2), bad)
    np.testing.assert_allclose(points[0, 1], [(1 - 319.5) * 2 / 520, (0 - 239.5) * 2 / 525, 2])


def test_transform_and_pose_composition():
    rng = np.random.default_rng(1)
    points_world = rng.normal(size=(50, 3)) * 3
    T_w_c0 = make_pose(_rotation([1, 2, 3], 40), [0.5, -1.0, 2.0])
    T_w_c1 = make_pose(_rotation([-1, 0.5, 0.2], -25), [1.5, 0.3, -0.7])
    T_c0_w = np.linalg.inv(T_w_c0)
    T_c1_w = np.linalg.inv(T_w_c1)
    p0 = transform_points(T_c0_w, points_world)
    p1 = transform_points(T_c1_w, points_world)
    np.testing.assert_allclose(transform_points(relative_pose(T_w_c0, T_w_c1), p0), p1,
                               atol=1e-12)
    np.testing.assert_allclose(transform_points(T_c1_w @ T_w_c0, p0),
                               transform_points(T_c1_w, transform_points(T_w_c0, p0)),
                               atol=1e-12)


def test_pinhole_camera_matrix_and_scaling_formula():
    cam = PinholeCamera.from_matrix(K_TEST, 640, 480)
    np.testing.assert_array_equal(cam.K, K_TEST)
    assert cam.shape == (480, 640)
    half = cam.scaled(0.5)
    assert (half.width, half.height) == (320, 240)
    np.testing.assert_allclose([half.fx, half.fy, half.cx, half.cy], [260, 262.5, 159.5, 119.5])
    # A projected point moves exactly as u' = (u + 0.5) * s - 0.5.
    pts = np.random.default_rng(2).uniform([-1, -1, 1], [1, 1, 5], size=(20, 3))
    uv, _ = project(pts, cam)
    uv_s, _ = project(pts, cam.scaled(0.3, 0.7))
    np.testing.assert_allclose(uv_s, (uv + 0.5) * [0.3, 0.7] - 0.5, atol=1e-9)
    resized = cam.resized(362, 362)
    assert (resized.width, resized.height) == (362, 362)
    np.testing.assert_allclose(resized.fx, 520 * 362 / 640)


def test_scaled_camera_matches_cv2_resize():
    """A blob rendered at a projected point stays at the scaled camera's projection."""
    cam = PinholeCamera(300.0, 300.0, 99.5, 79.5, 200, 160)
    point = np.array([[0.0731, -0.0412, 1.0]])
    (u, v), = project(point, cam)[0]
    vv, uu = np.mgrid[0:160, 0:200]
    image = np.exp(-((uu - u) ** 2 + (vv - v) ** 2) / (2 * 6.0 ** 2)).astype(np.float32)
    small = cv2.resize(image, (100, 80), interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[0:80, 0:100]
    centroid = np.array([(small * xs).sum(), (small * ys).sum()]) / small.sum()
    expected = project(point, cam.scaled(0.5))[0][0]
    np.testing.assert_allclose(centroid, expected, atol=0.02)
    # The naive u * s is 0.25 px away, which the test must notice.
    assert np.abs(centroid - np.array([u, v]) * 0.5).max() > 0.2


def test_sample_depth_nearest_and_bilinear():
    depth = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]])
    uv = np.array([[0.4, 0.4], [0.6, 0.0], [-0.5, -0.5], [2.49, 1.49], [2.5, 0.0], [1.0, 1.0]])
    near = sample_depth(depth, uv, 'nearest')
    np.testing.assert_array_equal(near, [1.0, 2.0, 1.0, np.nan, np.nan, 5.0])
    # (2, 0) is NaN: its zero-weight neighbour (2, 1) is invalid, and bilinear needs all four.
    uv = np.array([[0.5, 0.5], [0.25, 0.0], [2.0, 0.0], [1.5, 0.5], [-0.1, 0.0], [0.0, 1.0]])
    bil = sample_depth(depth, uv, 'bilinear')
    np.testing.assert_allclose(bil, [3.0, 1.25, np.nan, np.nan, np.nan, 4.0])
    with pytest.raises(ValueError, match='mode'):
        sample_depth(depth, uv, 'cubic')


def test_disparity_to_depth():
    d = np.array([10.0, np.inf, np.nan, -5.0, 0.0, 1.0])
    z = disparity_to_depth(d, f=100.0, baseline=0.5, doffs=2.0)
    np.testing.assert_allclose(z, [50 / 12, np.nan, np.nan, np.nan, 25.0, 50 / 3])
    assert np.isnan(disparity_to_depth(np.array([0.0]), 100.0, 0.5))[0]
    with pytest.raises(ValueError, match='baseline'):
        disparity_to_depth(d, 100.0, 0.0)


@pytest.mark.parametrize('call', [
    lambda: backproject(np.zeros((3, 3)), np.ones(3), K_TEST),
    lambda: backproject(np.zeros((3, 2)), np.ones(4), K_TEST),
    lambda: backproject(np.zeros((3, 2)), np.ones(3), np.eye(4)),
    lambda: project(np.zeros((3, 2)), K_TEST),
    lambda: project(np.zeros((3, 3)), np.zeros((3, 3))),
    lambda: transform_points(np.eye(3), np.zeros((3, 3))),
    lambda: transform_points(np.eye(4), np.zeros(3)),
    lambda: backproject_depth(np.ones((2, 2, 1)), K_TEST),
    lambda: sample_depth(np.ones(5), np.zeros((1, 2))),
    lambda: warp_pixels_rgbd(np.zeros((2, 2)), np.ones((4, 4)), K_TEST, np.eye(4), K_TEST,
                             (4, 4), depth1=np.ones((5, 4))),
    lambda: warp_pixels_rgbd(np.zeros((2, 2)), np.ones((4, 4)), K_TEST, np.eye(4), K_TEST,
                             (4,)),
    lambda: warp_pixels_rgbd(np.zeros((2, 2)), np.ones((4, 4)), K_TEST, np.eye(4), K_TEST,
                             (4, 4), depth_thresh=-1.0),
    lambda: warp_points_homography(np.zeros((2, 3)), np.eye(3)),
    lambda: homography_corner_error(np.eye(3), np.eye(4), (4, 4)),
    lambda: PinholeCamera(-1.0, 1.0, 0.0, 0.0, 4, 4),
    lambda: PinholeCamera(1.0, 1.0, 0.0, 0.0, 0, 4),
    lambda: PinholeCamera(1.0, 1.0, 0.0, 0.0, 4, 4).scaled(0.0),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------- RGB-D warps


def _plane_scene():
    """Plane n . X0 = d in camera 0, camera 1 moved by a small rotation and translation."""
    normal = np.array([0.1, -0.05, 1.0])
    normal /= np.linalg.norm(normal)
    offset = 2.0
    R = _rotation([0.2, 1.0, 0.1], 6.0)
    t = np.array([0.15, -0.05, 0.1])
    T_0to1 = make_pose(R, t)
    depth0 = _plane_depth(K_TEST, SHAPE, normal, offset)
    # The same plane in camera-1 coordinates: (R n) . X1 = d + (R n) . t.
    n1 = R @ normal
    depth1 = _plane_depth(K_TEST, SHAPE, n1, offset + n1 @ t)
    H_0to1 = K_TEST @ (R + np.outer(t, normal) / offset) @ np.linalg.inv(K_TEST)
    return depth0, depth1, T_0to1, H_0to1, (normal, offset)


def test_warp_plane_matches_plane_homography():
    depth0, depth1, T_0to1, H_0to1, _ = _plane_scene()
    rng = np.random.default_rng(3)
    uv0 = np.round(rng.uniform([0, 0], [639, 479], size=(5000, 2)))
    warp = warp_pixels_rgbd(uv0, depth0, K_TEST, T_0to1, K_TEST, SHAPE, depth1=depth1)
    expected = warp_points_homography(uv0, H_0to1)
    np.testing.assert_allclose(warp.uv1, expected, atol=1e-6)
    assert warp.valid_depth0.all() and warp.in_front.all()
    np.testing.assert_array_equal(warp.in_bounds, homography_visibility(uv0, H_0to1, SHAPE))
    assert 0.5 < warp.in_bounds.mean() < 1.0  # some points leave the image
    # Everything in bounds sees the same plane, so it is unoccluded.
    np.testing.assert_array_equal(warp.visible, warp.in_bounds)
    # z1 is the plane's depth in camera 1 at uv1.
    z_expected = sample_depth(depth1, warp.uv1[warp.visible], 'bilinear')
    np.testing.assert_allclose(warp.z1[warp.visible], z_expected, rtol=1e-3)


def test_warp_flags_occlusion_and_out_of_bounds():
    depth0, depth1, T_0to1, _, _ = _plane_scene()
    occluded_depth1 = depth1.copy()
    occluded_depth1[200:300, 250:400] = 0.8  # a box in front of the plane in image 1
    uv0 = _pixel_grid(SHAPE, step=7)
    warp = warp_pixels_rgbd(uv0, depth0, K_TEST, T_0to1, K_TEST, SHAPE,
                            depth1=occluded_depth1)
    u1, v1 = warp.uv1[:, 0], warp.uv1[:, 1]
    inside_box = (u1 > 251) & (u1 < 398) & (v1 > 201) & (v1 < 298)
    clear = warp.in_bounds & ~((u1 > 248) & (u1 < 401) & (v1 > 198) & (v1 < 301))
    assert inside_box.sum() > 100
    assert not warp.unoccluded[inside_box].any() and not warp.visible[inside_box].any()
    assert warp.unoccluded[clear].all() and warp.visible[clear].all()
    # Out of bounds: never visible; with depth1 given they are also not unoccluded.
    assert (~warp.in_bounds).sum() > 100
    assert not warp.visible[~warp.in_bounds].any()
    # Without depth1 the box is not seen.
    no_d1 = warp_pixels_rgbd(uv0, depth0, K_TEST, T_0to1, K_TEST, SHAPE)
    assert no_d1.unoccluded.all()
    np.testing.assert_array_equal(no_d1.visible, no_d1.in_bounds)


def test_warp_relative_threshold_and_invalid_depth():
    depth0 = np.full((20, 30), 4.0)
    depth0[5, 5] = 0.0
    K = np.array([[30.0, 0, 14.5], [0, 30.0, 9.5], [0, 0, 1]])
    uv0 = np.array([[5.0, 5.0], [10.0, 10.0], [15.2, 9.8]])
    depth1 = np.full((20, 30), 4.0 * 1.03)  # 3 % depth error in image 1
    strict = warp_pixels_rgbd(uv0, depth0, K, np.eye(4), K, (20, 30), depth1=depth1,
                              depth_thresh=0.05)
    loose = warp_pixels_rgbd(uv0, depth0, K, np.eye(4), K, (20, 30), depth1=depth1,
                             depth_thresh=0.05, depth_rel_thresh=0.05)
    np.testing.assert_array_equal(strict.valid_depth0, [False, True, True])
    assert np.isnan(strict.uv1[0]).all() and np.isnan(strict.z1[0])
    np.testing.assert_array_equal(strict.visible, [False, False, False])
    np.testing.assert_array_equal(loose.visible, [False, True, True])
    np.testing.assert_allclose(loose.uv1[1:], uv0[1:])  # identity pose, sub-pixel kept


def test_warp_behind_camera():
    depth0 = np.full((10, 10), 2.0)
    K = np.array([[10.0, 0, 4.5], [0, 10.0, 4.5], [0, 0, 1]])
    T_0to1 = make_pose(np.eye(3), [0, 0, -5.0])  # camera 1 sits 5 m behind the plane
    warp = warp_pixels_rgbd(_pixel_grid((10, 10)), depth0, K, T_0to1, K, (10, 10))
    assert not warp.in_front.any() and not warp.visible.any()
    assert np.isnan(warp.uv1).all()
    np.testing.assert_allclose(warp.z1, -3.0)


def test_warp_depth_map_agrees_with_pixel_warp():
    _, depth1, T_0to1, H_0to1, (normal, offset) = _plane_scene()
    K0 = PinholeCamera.from_matrix(K_TEST, 640, 480).scaled(0.25)
    depth0 = _plane_depth(K0.K, K0.shape, normal, offset)
    depth0[10:20, 30:40] = 0.0
    xy_map, visible = warp_depth_map(depth0, K0, T_0to1, K_TEST, SHAPE, depth1=depth1)
    assert xy_map.shape == (120, 160, 2) and xy_map.dtype == np.float32
    assert visible.shape == (120, 160) and visible.dtype == bool
    assert np.isnan(xy_map[10:20, 30:40]).all() and not visible[10:20, 30:40].any()
    uv0 = _pixel_grid((120, 160))
    warp = warp_pixels_rgbd(uv0, depth0, K0, T_0to1, K_TEST, SHAPE, depth1=depth1)
    np.testing.assert_allclose(xy_map.reshape(-1, 2), warp.uv1, atol=1e-3)
    np.testing.assert_array_equal(visible.ravel(), warp.visible)
    # uv0 in the full-resolution frame, mapped with the plane homography.
    expected = warp_points_homography((uv0 + 0.5) * 4 - 0.5, H_0to1)
    ok = warp.valid_depth0
    np.testing.assert_allclose(xy_map.reshape(-1, 2)[ok], expected[ok], atol=1e-3)


# --------------------------------------------------------------------------- stereo pair


@pytest.fixture(scope='module')
def motorcycle():
    left, right, disp = skimage.data.stereo_motorcycle()
    f, cx0, cy, doffs, baseline = 994.978, 311.193, 254.877, 31.086, 0.193001
    K0 = np.array([[f, 0, cx0], [0, f, cy], [0, 0, 1]])
    K1 = np.array([[f, 0, cx0 + doffs], [0, f, cy], [0, 0, 1]])
    depth0 = disparity_to_depth(disp, f, baseline, doffs)
    T_0to1 = make_pose(np.eye(3), [-baseline, 0.0, 0.0])
    return left, right, disp, depth0, K0, K1, T_0to1


def test_motorcycle_depth_warp_matches_disparity(motorcycle):
    """Required test: RGB-D warp of the Middlebury motorcycle pair reproduces the disparity."""
    left, right, disp, depth0, K0, K1, T_0to1 = motorcycle
    assert np.isinf(disp).any() and np.isnan(depth0[np.isinf(disp)]).all()
    v, u = np.nonzero(np.isfinite(disp))
    rng = np.random.default_rng(4)
    pick = rng.choice(len(u), size=50000, replace=False)
    u, v = u[pick], v[pick]
    uv0 = np.stack([u, v], axis=1).astype(np.float64)
    warp = warp_pixels_rgbd(uv0, depth0, K0, T_0to1, K1, right.shape[:2])
    assert warp.valid_depth0.all() and warp.in_front.all()
    d = disp[v, u]
    err_u = np.abs(warp.uv1[:, 0] - (u - d))
    err_v = np.abs(warp.uv1[:, 1] - v)
    within = (err_u <= 1.0) & (err_v <= 1.0)
    print(f'motorcycle: {within.mean():.4%} within 1 px; max |du| {err_u.max():.3g} px, '
          f'max |dv| {err_v.max():.3g} px')
    assert within.mean() >= 0.99
    # At integer pixels the maths is exact: u1 = u0 - cx0 - f B / Z + cx1 = u0 - d.
    assert err_u.max() < 1e-6 and err_v.max() < 1e-6

    # Sub-pixel keypoints: depth is read at the nearest pixel, the rest stays sub-pixel.
    jitter = rng.uniform(-0.45, 0.45, size=uv0.shape)
    warp_j = warp_pixels_rgbd(uv0 + jitter, depth0, K0, T_0to1, K1, right.shape[:2])
    err_j = np.abs(warp_j.uv1 - np.stack([u + jitter[:, 0] - d, v + jitter[:, 1]], axis=1))
    assert (err_j.max(axis=1) <= 1.0).mean() >= 0.99

    # Photometric sanity check on visible pixels, against a random horizontal shift.
    grey0, grey1 = rgb2gray(left).astype(np.float32), rgb2gray(right).astype(np.float32)
    vis = warp.visible
    assert vis.mean() > 0.9
    uv1 = warp.uv1[vis].astype(np.float32)

    def sample(image, uv):
        return map_coordinates(image, [uv[:, 1], uv[:, 0]], order=1, mode='nearest')

    diff = np.median(np.abs(grey0[v[vis], u[vis]] - sample(grey1, uv1)))
    shift = rng.uniform(15, 40, size=len(uv1)) * rng.choice([-1, 1], size=len(uv1))
    shifted = uv1 + np.stack([shift, np.zeros_like(shift)], axis=1).astype(np.float32)
    diff_shift = np.median(np.abs(grey0[v[vis], u[vis]] - sample(grey1, shifted)))
    print(f'motorcycle: median |grey difference| {diff * 255:.2f}/255 warped, '
          f'{diff_shift * 255:.2f}/255 randomly shifted')
    assert diff < 10 / 255
    assert diff_shift > 3 * diff


# --------------------------------------------------------------------------- homographies


def test_homography_warp_matches_cv2():
    rng = np.random.default_rng(5)
    H = np.array([[1.1, 0.05, 12.0], [-0.03, 0.95, -7.0], [1e-4, -2e-4, 1.0]])
    uv = rng.uniform(0, 500, size=(300, 2))
    expected = cv2.perspectiveTransform(uv[None].astype(np.float64), H)[0]
    np.testing.assert_allclose(warp_points_homography(uv, H), expected, atol=1e-9)
    # Scale invariance of H, and the empty case.
    np.testing.assert_allclose(warp_points_homography(uv, 3 * H), expected, atol=1e-9)
    assert warp_points_homography(np.zeros((0, 2)), H).shape == (0, 2)


def test_homography_visibility():
    H = np.array([[1.0, 0, 10.0], [0, 1.0, -5.0], [0, 0, 1.0]])  # shift by (10, -5)
    uv0 = np.array([[0.0, 5.0], [0.0, 4.9], [89.0, 20.0], [89.1, 20.0], [np.nan, 0.0]])
    np.testing.assert_array_equal(homography_visibility(uv0, H, (50, 100)),
                                  [True, False, True, False, False])


def test_homography_corner_error():
    rng = np.random.default_rng(6)
    H = np.eye(3) + rng.normal(scale=[[1e-2, 1e-2, 5], [1e-2, 1e-2, 5], [1e-5, 1e-5, 0]])
    assert homography_corner_error(H, H, (480, 640)) == 0.0
    assert homography_corner_error(2 * H, H, (480, 640)) < 1e-9
    shift = np.array([[1.0, 0, 3.0], [0, 1.0, 4.0], [0, 0, 1.0]])
    assert homography_corner_error(shift @ H, H, (480, 640)) == pytest.approx(5.0)
    assert homography_corner_error(None, H, (480, 640)) == float('inf')
    # Corners are pixel centres: a 2x zoom about the origin moves (W-1, H-1) by (W-1, H-1).
    zoom = np.diag([2.0, 2.0, 1.0])
    expected = (0 + 9 + np.hypot(9, 4) + 4) / 4
    assert homography_corner_error(zoom, np.eye(3), (5, 10)) == pytest.approx(expected)
