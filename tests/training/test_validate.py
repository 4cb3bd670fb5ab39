# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""lfnet-validate: epipolar geometry of posed views, the stereo set, the CLI on a reference."""

import json

import numpy as np

from lfnet_core.evaluation.features import make_extractor
from lfnet_core.rigid_poses import make_pose, relative_pose
from lfnet_training.validate import epipolar_distances, fundamental_matrix, main, score_stereo


def _rotation_y(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def test_fundamental_matrix_from_poses_puts_true_matches_on_their_lines():
    rng = np.random.default_rng(0)
    K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])
    T_world_cam0 = make_pose(np.eye(3), np.zeros(3))
    T_world_cam1 = make_pose(_rotation_y(0.1), np.array([0.5, 0.05, 0.1]))
    T_0to1 = relative_pose(T_world_cam0, T_world_cam1)
    points = np.c_[rng.uniform(-2, 2, (50, 2)), rng.uniform(4, 8, 50)]  # camera 0 coordinates
    in_cam1 = points @ T_0to1[:3, :3].T + T_0to1[:3, 3]
    pixels0 = (points / points[:, 2:]) @ K.T
    pixels1 = (in_cam1 / in_cam1[:, 2:]) @ K.T
    F = fundamental_matrix(K, K, T_0to1)
    assert np.max(epipolar_distances(F, pixels0[:, :2], pixels1[:, :2])) < 1e-6
    shifted = pixels1[:, :2] + np.array([0.0, 10.0])  # off the (nearly horizontal) lines
    assert np.median(epipolar_distances(F, pixels0[:, :2], shifted)) > 5.0


def test_stereo_set_scores_orb_between_zero_and_one():
    score = score_stereo(make_extractor('orb', 500, image_scale=0.5))
    assert 0.1 < score < 1.0


def test_cli_scores_a_reference_method_without_shared_data(tmp_path, capsys):
    out = tmp_path / 'scores.json'
    assert main(['--methods', 'orb', '--data', str(tmp_path / 'none'), '--top-k', '300',
                 '--json', str(out)]) == 0
    results = json.loads(out.read_text())['results']
    assert sorted(results) == ['orb', 'shipped']
    for scores in results.values():  # the held-out photos and Strecha are skipped, not faked
        assert sorted(scores) == ['mean', 'stereo'] and 0 < scores['stereo'] < 1
    assert 'photos set skipped' in capsys.readouterr().err
