# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``lfnet-demo`` end to end: the generated sequence over real topics through the node."""

import json

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('sensor_msgs.msg', reason='sensor_msgs is not importable')
pytest.importorskip('torch', reason='the test runs the node with the torch backend')

from lfnet_core import trajectory  # noqa: E402
from lfnet_ros import node_demo  # noqa: E402
from lfnet_ros.node_process import node_command  # noqa: E402
from lfnet_ros.ros_environment import ros_environment  # noqa: E402

FRAMES = 4
SUMMARY_KEYS = ['weights', 'untrained', 'backend', 'image_size', 'frames', 'keypoints_per_frame',
                'matches_per_frame', 'inliers_per_frame', 'inlier_ratio', 'tracking',
                'trajectory', 'latency_ms', 'processing_rate_hz', 'pacing', 'wall_s', 'ros',
                'files']
TRAJECTORY_KEYS = ['ate_rmse_m', 'ate_max_m', 'drift_percent', 'final_error_m', 'path_length_m',
                   'rpe_trans_rmse_m', 'rpe_trans_mean_m', 'rpe_rot_rmse_deg']
PNG = b'\x89PNG\r\n\x1a\n'


def test_demo_runs_end_to_end(ros_env, tmp_path, capsys):
    out = tmp_path / 'demo'
    status = node_demo.main(['--out', str(out), '--frames', str(FRAMES), '--size', '320x240',
                             '--backend', 'torch', '--top-k', '200'])
    printed = capsys.readouterr().out
    assert status == 0, printed

    for name in ('summary.json', 'trajectory.png', 'matches.png', 'estimate.tum',
                 'groundtruth.tum', 'node.log'):
        assert (out / name).is_file(), name
    assert (out / 'trajectory.png').read_bytes()[:8] == PNG
    assert (out / 'matches.png').read_bytes()[:8] == PNG

    summary = json.loads((out / 'summary.json').read_text())
    for key in SUMMARY_KEYS:
        assert key in summary, key
    for key in TRAJECTORY_KEYS:
        assert summary['trajectory'][key] is not None, key
    assert summary['backend'] == 'torch'
    assert summary['image_size'] == [320, 240]
    # closed loop: nothing is dropped
    assert summary['frames'] == {**summary['frames'], 'published': FRAMES, 'processed': FRAMES,
                                 'dropped': 0}
    assert 0 < summary['keypoints_per_frame']['max'] <= 200
    assert summary['matches_per_frame']['mean'] > 0
    assert 0.0 <= summary['inlier_ratio'] <= 1.0
    assert sum(summary['tracking'].values()) == FRAMES and summary['tracking']['init'] == 1
    assert summary['trajectory']['frames'] == FRAMES
    assert np.isfinite(summary['trajectory']['ate_rmse_m'])
    latency = summary['latency_ms']
    assert latency['node']['end_to_end']['p50_ms'] > 0
    assert latency['demo_in_to_odom']['p50_ms'] > 0
    assert summary['ros'] == {k: ros_env[k] for k in summary['ros']}  # the user's env is kept

    # TUM files: the estimate starts at identity, the ground truth is in the same (odom) frame
    est_stamps, est = trajectory.read_tum(out / 'estimate.tum')
    gt_stamps, gt = trajectory.read_tum(out / 'groundtruth.tum')
    assert len(est) == len(gt) == FRAMES
    np.testing.assert_allclose(est[0], np.eye(4), atol=1e-6)
    np.testing.assert_allclose(gt[0], np.eye(4), atol=1e-6)
    np.testing.assert_allclose(est_stamps, gt_stamps, atol=1e-6)

    assert 'ATE RMSE' in printed and 'latency node' in printed
    if summary['untrained']:
        assert 'UNTRAINED WEIGHTS' in printed


def test_ros_environment_fills_only_what_is_missing():
    wanted = ros_environment({}, pid=1234)
    assert wanted['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST'
    assert wanted['ROS_DOMAIN_ID'] == str(101 + 1234 % 100)
    assert wanted['FASTDDS_DEFAULT_PROFILES_FILE'].endswith('fastdds_shm.xml')
    user = {'ROS_DOMAIN_ID': '7', 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET',
            'FASTDDS_DEFAULT_PROFILES_FILE': '/my/profile.xml'}
    assert ros_environment(user, pid=1234) == {}


def test_node_command_uses_the_params_file_and_overrides():
    args = node_demo.build_parser().parse_args(['--backend', 'torch', '--top-k', '50'])
    command = node_command(node_demo.node_launch(args))
    assert command[1:4] == ['-m', 'lfnet_ros.frontend_node', '--ros-args']
    assert command[command.index('--params-file') + 1].endswith('frontend.yaml')
    assert 'backend:=torch' in command and 'top_k:=50' in command
    assert args.size == (640, 480) and args.frames == 60 and not args.open_loop
