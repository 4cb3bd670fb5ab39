# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The ROS tools' figures: the matches pair choice, drawing and caption; the trajectory axes."""

import numpy as np

from lfnet_core.rigid_poses import make_pose
from lfnet_ros.cloud_messages import MATCH_DTYPE
from lfnet_ros.match_image import chain_matches, choose_pair, circle_radius, draw_keypoint, \
    draw_pair, drawn_rows, FramePair, pair_caption
from lfnet_ros.trajectory_plots import overview_figure, top_view_figure
from lfnet_ros.trajectory_scores import TrajectoryCurves

NS = 1_000_000_000


def _cloud(index0, index1, inlier, prev_stamp):
    cloud = np.zeros(len(index0), MATCH_DTYPE)
    cloud['index0'], cloud['index1'], cloud['inlier'] = index0, index1, inlier
    cloud['prev_stamp_sec'], cloud['prev_stamp_nanosec'] = divmod(prev_stamp, NS)
    return cloud


def _pose(x, yaw_deg=0.0):
    a = np.radians(yaw_deg)
    R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return make_pose(R, np.array([x, 0.0, 0.0]))


def test_chain_matches_follows_tracks_and_ands_inliers():
    a = _cloud([0, 1, 2, 3], [10, 11, 12, 13], [1, 1, 0, 1], 0)
    b = _cloud([13, 11, 12, 99], [7, 5, 6, 8], [1, 0, 1, 1], 1)
    matches, inliers = chain_matches([a, b])
    order = np.argsort(matches[:, 0])
    assert matches[order].tolist() == [[1, 5], [2, 6], [3, 7]]
    assert inliers[order].tolist() == [False, False, True]


def test_choose_pair_picks_the_largest_motion_that_keeps_inliers():
    stamps = [k * NS // 10 for k in range(6)]
    n = 40
    ids = np.arange(n)
    clouds = {}
    for k in range(1, 6):
        # every frame keeps all tracks as inliers, except frame 5 that keeps only 2 inliers
        inlier = np.ones(n) if k < 5 else (ids < 2)
        clouds[stamps[k]] = _cloud(ids, ids, inlier, stamps[k - 1])
    poses = {s: _pose(0.05 * k) for k, s in enumerate(stamps)}
    pair = choose_pair(stamps, clouds, poses, max_span=8)
    # 0 -> 4 moved 20 cm with 40 inliers; pairs reaching frame 5 move more but keep 2 inliers
    assert (pair.first, pair.last, pair.links) == (stamps[0], stamps[4], 4)
    assert abs(pair.translation_m - 0.2) < 1e-9
    assert int(pair.inliers.sum()) == n
    # a rotation counts as motion too
    poses[stamps[2]] = _pose(0.1, yaw_deg=30.0)
    pair = choose_pair(stamps, clouds, poses, max_span=8)
    assert pair.last == stamps[2] and abs(pair.rotation_deg - 30.0) < 1e-6


def test_choose_pair_breaks_chains_at_unlinked_frames():
    stamps = [0, NS, 2 * NS, 3 * NS]
    ids = np.arange(10)
    clouds = {stamps[1]: _cloud(ids, ids, np.ones(10), stamps[0]),
              stamps[2]: _cloud(ids, ids, np.ones(10), 12345),  # its previous frame went missing
              stamps[3]: _cloud(ids, ids, np.ones(10), stamps[2])}
    poses = {s: _pose(float(k)) for k, s in enumerate(stamps)}
    pair = choose_pair(stamps, clouds, poses)
    assert pair.links == 1 and pair.last in (stamps[1], stamps[3])
    assert choose_pair(stamps[:1], {}, {}) is None


def test_drawn_rows_never_exceed_max_lines():
    assert drawn_rows(50, 200).tolist() == list(range(50))
    for count in (201, 250, 399, 1000):
        rows = drawn_rows(count, 200)
        assert len(rows) == 200 and rows[0] == 0 and rows[-1] == count - 1
        assert len(np.unique(rows)) == len(rows)


def test_circle_radius_grows_with_scale_and_draws_that_circle():
    assert circle_radius(0.5) < circle_radius(1.0) < circle_radius(2.0)
    for scale in (1.0, 2.0):
        canvas = np.zeros((200, 200, 3), np.uint8)
        draw_keypoint(canvas, np.array([100.0, 100.0]), scale, 0.0, (0, 255, 0))
        ys, xs = np.nonzero(canvas[..., 1])
        extent = max(xs.max() - 100, 100 - xs.min(), ys.max() - 100, 100 - ys.min())
        assert abs(extent - circle_radius(scale)) <= 1


def test_draw_pair_colours_and_caption_counts_are_true():
    rng = np.random.default_rng(0)
    n = 300
    keypoints = {'uv': rng.uniform(20, 140, (n, 2)), 'scale': np.full(n, 0.5),
                 'orientation': rng.uniform(-np.pi, np.pi, n)}
    matches = np.stack([np.arange(250), np.arange(250)], axis=1)
    inliers = np.arange(250) < 180
    image = np.zeros((160, 160, 3), np.uint8)
    canvas, drawn = draw_pair(image, image, keypoints, keypoints, matches, inliers,
                              max_lines=100)
    assert canvas.shape == (160, 320, 3) and drawn == 100
    green = (canvas[..., 1] > 200) & (canvas[..., 0] < 60)
    red = (canvas[..., 0] > 200) & (canvas[..., 1] < 80)
    assert green.any() and red.any()
    pair = FramePair(3 * NS, 7 * NS, matches, inliers, 4, 0.25, 10.0)
    text = '\n'.join(pair_caption(pair, (3, 7), drawn, ['ok'], 'ground truth'))
    assert 'frames 3 -> 7' in text and 'stamps 3.000 s -> 7.000 s' in text
    assert '180 PnP inliers' in text and '70 outliers' in text
    assert 'lines for 100 of 250 matches drawn' in text
    assert '25.0 cm, 10.0 deg (ground truth)' in text and 'chained through 4' in text


def _curves(n=12):
    stamps = 100.0 + np.arange(n) * 0.1
    gt = np.stack([_pose(0.02 * k, yaw_deg=k) for k in range(n)])
    est = np.stack([_pose(0.021 * k, yaw_deg=1.1 * k) for k in range(n)])
    return TrajectoryCurves(stamps=stamps, ground_truth=gt, estimate=est, aligned=est,
                            ate=np.linalg.norm(est[:, :3, 3] - gt[:, :3, 3], axis=1),
                            rpe=np.full(n - 1, 0.001), rpe_rot=np.full(n - 1, 0.1))


def _labels(figure):
    return [axes.get_ylabel() for axes in figure.axes]


def test_overview_has_tracking_and_rotation_axes(tmp_path):
    curves = _curves()
    states = (curves.stamps, ['init'] + ['ok'] * 8 + ['lost'] * 3)
    figure = overview_figure(curves, 'title', states)
    labels = _labels(figure)
    assert 'tracking' in labels and 'rotation error (deg)' in labels
    tracking = figure.axes[labels.index('tracking')]
    legend = [t.get_text() for t in tracking.get_legend().get_texts()]
    assert legend == ['ok (8)', 'init (1)', 'lost (3)']
    rotation = figure.axes[labels.index('rotation error (deg)')]
    assert np.allclose(rotation.lines[0].get_ydata(), 0.1)
    figure.savefig(str(tmp_path / 'overview.png'))
    assert (tmp_path / 'overview.png').stat().st_size > 0
    assert 'tracking' not in _labels(overview_figure(curves, 'title'))


def test_top_view_has_a_tracking_row_per_method_with_states():
    curves = _curves()
    states = {'lfnet': (curves.stamps, ['ok'] * 12)}
    figure = top_view_figure({'lfnet': curves, 'orb': curves}, 'title', states)
    labels = _labels(figure)
    tracking = figure.axes[labels.index('tracking')]
    assert [t.get_text() for t in tracking.get_yticklabels()] == ['lfnet']
    rotation = figure.axes[labels.index('rotation error (deg)')]
    assert len(rotation.lines) == 2
