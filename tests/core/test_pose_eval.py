# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Posed image pairs: folder layouts, epipolar correctness, essential-matrix pose, AUC."""

import json

import cv2
import numpy as np
import pytest

from lfnet_core.evaluation.cli import main
from lfnet_core.evaluation.features import make_extractor
from lfnet_core.evaluation.pose_eval import (epipolar_distances, essential_pose_error,
                                             evaluate_posed_pairs, fundamental_matrix,
                                             load_posed_pairs, pose_auc, posed_pair_metrics,
                                             PosedPair)
from lfnet_core.evaluation.rgbd_eval import pose_errors
from lfnet_core.local_features import Features
from lfnet_core.rigid_poses import direction_angle, make_pose, relative_pose

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


def _rotation_y(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _scene(count=60, seed=0):
    """Pixels of random 3D points seen by two cameras, and the motion between them."""
    rng = np.random.default_rng(seed)
    T_world_cam1 = make_pose(_rotation_y(0.1), np.array([0.5, 0.05, 0.1]))
    T_0to1 = relative_pose(np.eye(4), T_world_cam1)
    points = np.c_[rng.uniform(-2, 2, (count, 2)), rng.uniform(4, 8, count)]  # camera 0
    in_cam1 = points @ T_0to1[:3, :3].T + T_0to1[:3, 3]
    pixels0 = ((points / points[:, 2:]) @ K.T)[:, :2]
    pixels1 = ((in_cam1 / in_cam1[:, 2:]) @ K.T)[:, :2]
    return pixels0, pixels1, T_0to1


def _features(keypoints, descriptors):
    n = len(keypoints)
    return Features(keypoints.astype(np.float32), np.ones(n, np.float32),
                    np.zeros(n, np.float32), np.linspace(1, 0, n).astype(np.float32),
                    descriptors.astype(np.float32))


def test_fundamental_matrix_from_poses_puts_true_matches_on_their_lines():
    pixels0, pixels1, T_0to1 = _scene(50)
    F = fundamental_matrix(K, K, T_0to1)
    assert np.max(epipolar_distances(F, pixels0, pixels1)) < 1e-6
    shifted = pixels1 + np.array([0.0, 10.0])  # off the (nearly horizontal) lines
    assert np.median(epipolar_distances(F, pixels0, shifted)) > 5.0


def test_true_matches_score_fully_and_give_the_true_pose():
    pixels0, pixels1, T_0to1 = _scene()
    identity = np.eye(len(pixels0))
    pair = PosedPair(None, None, K, K, T_0to1)
    metrics = posed_pair_metrics(_features(pixels0, identity), _features(pixels1, identity),
                                 pair)
    assert metrics['num_matches'] == 60 and metrics['precision'] == 1.0
    assert metrics['ms_epi'] == 1.0
    assert metrics['pose_err_deg'] < 0.05 and metrics['inliers'] >= 55
    # Descriptors that pair each keypoint with another point's: few matches stay correct and
    # the pose is lost.
    shuffled = identity[np.random.default_rng(1).permutation(len(pixels0))]
    wrong = posed_pair_metrics(_features(pixels0, identity), _features(pixels1, shuffled), pair)
    assert wrong['precision'] < 0.3 and wrong['pose_err_deg'] > 10.0


def test_too_few_matches_give_an_infinite_pose_error():
    pixels0, pixels1, T_0to1 = _scene(4)
    assert essential_pose_error(pixels0, pixels1, K, K, T_0to1)['pose_err_deg'] == np.inf


def test_pose_auc_is_the_area_under_the_recall_curve():
    # Errors 1, 3 and a failure: recall 1/3 from 1 deg, 2/3 from 3 deg.
    auc = pose_auc([1.0, 3.0, np.inf], thresholds=(5.0, 2.0))
    assert auc['auc@5'] == pytest.approx((0.5 / 3 + 1.0 + 4.0 / 3) / 5.0)
    assert auc['auc@2'] == pytest.approx((0.5 / 3 + 1.0 / 3) / 2.0)
    assert pose_auc([np.inf, np.inf])['auc@10'] == 0.0


def test_camera_lists_and_pair_lists_are_read(tmp_path):
    pose = ' '.join(str(v) for v in np.eye(4)[:3].ravel())
    moved = np.eye(4)[:3].copy()
    moved[0, 3] = 1.0
    (tmp_path / 'cameras.txt').write_text(
        '# name w h fx fy cx cy [k1 k2 p1 p2] pose\n'
        f'a.jpg 640 480 500 500 320 240 {pose}\n'
        f'b.jpg 640 480 500 500 320 240 0.1 0 0 0 {" ".join(map(str, moved.ravel()))}\n')
    pairs = load_posed_pairs(tmp_path)
    assert len(pairs) == 1 and pairs[0].image1.name == 'b.jpg'
    assert np.allclose(pairs[0].T_0to1[:3, 3], [-1.0, 0.0, 0.0])  # camera 1 sits at x = 1
    assert np.allclose(pairs[0].K0, K)
    listed = tmp_path / 'list'
    listed.mkdir()
    intrinsics = ' '.join(str(v) for v in K.ravel())
    (listed / 'pairs_with_gt.txt').write_text(
        f'x.jpg y.jpg {intrinsics} {intrinsics} {" ".join(str(v) for v in np.eye(4).ravel())}'
        '\n')
    assert load_posed_pairs(listed)[0].image0.name == 'x.jpg'
    (listed / 'pairs_with_gt.txt').write_text('x.jpg y.jpg 1 2 3\n')
    with pytest.raises(ValueError, match='36 fields'):
        load_posed_pairs(listed)
    with pytest.raises(FileNotFoundError):
        load_posed_pairs(tmp_path / 'none')


def test_views_up_to_a_gap_apart_pair_by_gap_then_by_first_view(tmp_path):
    rows = []
    for x in range(4):  # cameras at x = 0, 1, 2, 3
        moved = np.eye(4)[:3].copy()
        moved[0, 3] = float(x)
        rows.append(f'{"abcd"[x]}.jpg 640 480 500 500 320 240 '
                    f'{" ".join(map(str, moved.ravel()))}\n')
    (tmp_path / 'cameras.txt').write_text(''.join(rows))
    pairs = load_posed_pairs(tmp_path, max_gap=2)
    assert [(p.image0.name, p.image1.name) for p in pairs] == [
        ('a.jpg', 'b.jpg'), ('b.jpg', 'c.jpg'), ('c.jpg', 'd.jpg'), ('a.jpg', 'c.jpg'),
        ('b.jpg', 'd.jpg')]
    assert np.allclose(pairs[3].T_0to1[:3, 3], [-2.0, 0.0, 0.0])
    assert len(load_posed_pairs(tmp_path)) == 3 == len(load_posed_pairs(tmp_path, max_gap=1))
    assert len(load_posed_pairs(tmp_path, max_gap=9)) == 6
    with pytest.raises(ValueError, match='max_gap'):
        load_posed_pairs(tmp_path, max_gap=0)


def test_sift_recovers_the_poses_of_real_strecha_views(require_shared):
    scene = require_shared('strecha_mvs') / 'fountain-P11'
    result = evaluate_posed_pairs(scene, make_extractor('sift', 500, image_scale=0.5),
                                  max_pairs=2)
    summary = result['summary']
    assert summary['num_pairs'] == 2 and summary['precision'] > 0.6
    assert summary['median_pose_err_deg'] < 3.0 and summary['auc@10'] > 0.5


def test_match_eval_cli_scores_posed_folders_and_pools_them(require_shared, tmp_path, capsys):
    scenes = [require_shared('strecha_mvs') / name for name in ('fountain-P11', 'entry-P10')]
    out = tmp_path / 'eval.json'
    assert main(['--poses', *map(str, scenes), '--methods', 'orb', '--top-k', '300',
                 '--max-pairs', '1', '--image-scale', '0.5', '--json', str(out), '--png-dir',
                 str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert 'fountain-P11 (camera poses, 1 pairs' in table and 'AUC@10' in table
    assert 'all posed folders pooled (fountain-P11, entry-P10; 2 pairs)' in table
    results = json.loads(out.read_text())
    per_scene = [results['poses'][scene.name]['orb'] for scene in scenes]
    assert per_scene[0]['pairs'][0]['pair'] == '0000-0001'
    assert 0.0 < per_scene[0]['summary']['ms_epi'] <= 1.0
    pooled = results['poses_pooled']['orb']
    errors = [run['pairs'][0]['pose_err_deg'] for run in per_scene]
    assert pooled['num_pairs'] == 2 and pooled['auc@10'] == pytest.approx(
        pose_auc([np.inf if e is None else e for e in errors])['auc@10'])
    assert pooled['ms_epi'] == pytest.approx(np.mean([r['summary']['ms_epi'] for r in per_scene]))
    assert (tmp_path / 'fountain-P11_orb.png').is_file()


def test_both_evaluations_measure_a_translation_direction_alike():
    assert np.degrees(direction_angle(np.array([1.0, 0, 0]), np.array([1.0, 1.0, 0]))) == (
        pytest.approx(45.0))
    assert np.degrees(direction_angle(np.array([0, 0, 2.0]), np.array([0, 0, -1.0]))) == (
        pytest.approx(180.0))
    assert np.isnan(direction_angle(np.zeros(3), np.ones(3)))
    T_true = make_pose(np.eye(3), np.array([0.1, 0.0, 0.0]))
    T_est = make_pose(np.eye(3), np.array([0.1, 0.1, 0.0]))
    assert pose_errors(T_est, T_true)[2] == pytest.approx(45.0)
    # a true baseline under 1 mm has no direction to compare (NaN), as before
    assert np.isnan(pose_errors(T_est, make_pose(np.eye(3), np.array([1e-4, 0, 0])))[2])
    # without a true baseline the posed-pair evaluation counts the direction as 90 degrees off
    rng = np.random.default_rng(3)
    points = np.c_[rng.uniform(-1, 1, (40, 2)), rng.uniform(4, 8, 40)]
    rotation = cv2.Rodrigues(np.array([0.0, 0.05, 0.0]))[0]
    pixels0 = points @ K.T
    pixels1 = (points @ rotation.T) @ K.T
    errors = essential_pose_error(pixels0[:, :2] / pixels0[:, 2:], pixels1[:, :2] / pixels1[:, 2:],
                                  K, K, make_pose(rotation, np.zeros(3)))
    assert errors['tdir_err_deg'] == 90.0
