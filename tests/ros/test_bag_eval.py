# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``lfnet-bag-play`` and ``lfnet-eval``: a converted bag played over real topics."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('sensor_msgs.msg', reason='sensor_msgs is not importable')
pytest.importorskip('rosbags', reason='rosbags is not installed')
pytest.importorskip('evo', reason='evo is not installed')

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from lfnet_core.scenes import generate_sequence, write_tum_dataset  # noqa: E402
from lfnet_ros import bag_eval, bag_from_tum  # noqa: E402
from lfnet_ros import conversions as conv  # noqa: E402
from lfnet_ros.orb_comparison import OrbBackend  # noqa: E402

FRAMES = 4
PNG = b'\x89PNG\r\n\x1a\n'
REPORT_KEYS = ['bag', 'weights', 'untrained', 'backend', 'top_k', 'network_size',
               'pyramid_levels', 'descriptor_pool_scales', 'image_size',
               'node_launcher',
               'player', 'pacing', 'frames', 'keypoints_per_frame', 'matches_per_frame',
               'inliers_per_frame', 'inlier_ratio', 'tracking', 'trajectory', 'latency_ms',
               'throughput_hz', 'comparison', 'wall_s', 'ros', 'files']
METHOD_KEYS = ['frames', 'keypoints_per_frame', 'matches_per_frame', 'inliers_per_frame',
               'inlier_ratio', 'tracking', 'trajectory', 'latency_ms']


@pytest.fixture(scope='module')
def sequence():
    """Return the 4-frame 320x240 generated sequence."""
    return generate_sequence(num_frames=FRAMES, width=320, height=240)


@pytest.fixture(scope='module')
def bag(sequence, tmp_path_factory):
    """Return a bag converted from the sequence's TUM folder."""
    root = tmp_path_factory.mktemp('bag_eval')
    write_tum_dataset(sequence, str(root / 'tum'))
    bag_from_tum.convert(str(root / 'tum'), str(root / 'bag'), progress=False)
    return root / 'bag'


def test_bag_play_publishes_the_frames(ros_env, bag, sequence):
    context = rclpy.Context()
    rclpy.init(args=[], context=context)
    node = rclpy.create_node('bag_play_test', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    received = []
    node.create_subscription(Image, '/cam/color', received.append, 10)
    proc = subprocess.Popen(
        [sys.executable, '-m', 'lfnet_ros.bag_play', str(bag), '--rate', '0', '--topics',
         '/camera/color/image_raw', '--remap', '/camera/color/image_raw:=/cam/color'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 45.0
        while len(received) < FRAMES and time.monotonic() < deadline and proc.poll() is None:
            executor.spin_once(timeout_sec=0.05)
        while len(received) < FRAMES and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        output = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    assert proc.returncode == 0, output
    assert len(received) == FRAMES, output
    stamps = [conv.stamp_to_ns(m.header.stamp) for m in received]
    # write_tum_dataset keeps microseconds
    assert stamps == [int(round(round(t, 6) * 1e9)) for t in sequence.timestamps]
    np.testing.assert_array_equal(conv.color_to_rgb(received[-1]), sequence.rgb[-1])


def test_eval_reports_lfnet_and_orb(ros_env, bag, tmp_path, capsys):
    out = tmp_path / 'eval'
    status = bag_eval.main([str(bag), '--backend', 'torch', '--top-k', '200', '--compare',
                            'orb', '--resize', '160x120', '--out', str(out)])
    printed = capsys.readouterr()
    assert status == 0, printed.out + printed.err

    for name in ('report.json', 'trajectory.png', 'errors.png', 'matches.png', 'estimate.tum',
                 'groundtruth.tum', 'estimate_orb.tum', 'node.log', 'node_params.yaml'):
        assert (out / name).is_file(), name
    for name in ('trajectory.png', 'errors.png', 'matches.png'):
        assert (out / name).read_bytes()[:8] == PNG, name

    report = json.loads((out / 'report.json').read_text())
    for key in REPORT_KEYS:
        assert key in report, key
    assert report['backend'] == 'torch'
    assert report['image_size'] == [320, 240]
    assert report['network_size'] == [160, 120]
    assert report['descriptor_pool_scales'] is None  # the checkpoint's own
    params = (out / 'node_params.yaml').read_text()
    assert 'resize_width: 160' in params and 'resize_height: 120' in params
    assert report['pacing'] == 'closed loop'
    frames = report['frames']
    assert (frames['in'], frames['processed'], frames['dropped']) == (FRAMES, FRAMES, 0)
    assert 0 < report['keypoints_per_frame']['max'] <= 200
    assert report['matches_per_frame']['mean'] > 0
    assert 0.0 <= report['inlier_ratio'] <= 1.0
    assert sum(report['tracking'].values()) == FRAMES and report['tracking']['init'] == 1
    traj = report['trajectory']
    assert traj['frames'] == FRAMES
    assert np.isfinite(traj['ate']['rmse_m'])
    assert np.isfinite(traj['rpe_per_frame']['trans_rmse_m'])
    assert traj['rpe_per_metre'] is None  # a 4 cm path: no pair 1 m apart
    latency = report['latency_ms']
    assert latency['node']['end_to_end']['p50_ms'] > 0
    assert latency['in_to_keypoints']['p99_ms'] >= latency['in_to_keypoints']['p50_ms'] > 0
    assert report['throughput_hz'] > 0

    comparison = report['comparison']
    assert comparison['methods'] == ['lfnet', 'orb']
    for name in comparison['methods']:
        for key in METHOD_KEYS:
            assert key in comparison[name], (name, key)
    orb = comparison['orb']
    assert orb['frames'] == {'in': FRAMES, 'processed': FRAMES}
    assert 0 < orb['keypoints_per_frame']['max'] <= 200
    assert orb['tracking']['ok'] >= 1
    assert np.isfinite(orb['trajectory']['ate']['rmse_m'])
    assert orb['latency_ms']['total']['p50_ms'] > 0
    assert comparison['lfnet']['trajectory'] == traj
    assert 'orb' in printed.out


def test_eval_rejects_a_bag_without_the_topics(ros_env, tmp_path, capsys):
    assert bag_eval.main([str(tmp_path / 'missing'), '--out', str(tmp_path / 'o')]) == 1
    assert 'no such bag' in capsys.readouterr().err


def test_orb_backend_contract():
    rgb = generate_sequence(num_frames=1, width=160, height=120).rgb[0]
    features = OrbBackend().extract(rgb, 50)
    assert set(features) == {'keypoints', 'scales', 'orientations', 'scores', 'descriptors'}
    n = len(features['keypoints'])
    assert 0 < n <= 50
    assert features['descriptors'].shape == (n, 32)
    assert features['descriptors'].dtype == np.uint8
    assert np.all(np.diff(features['scores']) <= 0)
