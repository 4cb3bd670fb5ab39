# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``lfnet-bench`` end to end, tiny: every backend's stages, OpenCV, the node over ROS 2."""

import json

import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('sensor_msgs.msg', reason='sensor_msgs is not importable')
pytest.importorskip('onnxruntime', reason='the node runs the onnxruntime backend')

from lfnet_core.benchmark import STAGES  # noqa: E402
from lfnet_ros import node_bench  # noqa: E402


def test_bench_reports_stages_references_and_node_overhead(ros_env, tmp_path, capsys,
                                                           monkeypatch):
    monkeypatch.setenv('LFNET_CACHE_DIR', str(tmp_path / 'cache'))
    out = tmp_path / 'bench.json'
    status = node_bench.main(['--sizes', '160x120:60', '--top-k', '100', '--backends',
                              'torch,onnxruntime,tensorrt', '--frames', '4', '--warmup', '1',
                              '--repeats', '3', '--node-frames', '3', '--stream-seconds', '1',
                              '--threads', '1', '--profile', '--json', str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    report = json.loads(out.read_text())
    assert report['matmul_gflops'] > 0 and report['threads'] == 1
    assert len(report['matmul_probes_gflops']) == 2  # before the run and after its one size
    assert report['matmul_gflops'] == max(report['matmul_probes_gflops'])
    (entry,) = report['sizes']
    assert (entry['width'], entry['height'], entry['top_k']) == (160, 120, 60)
    assert entry['flops']['dense'] > 0 and entry['flops']['describe'] > 0
    assert 1 <= entry['keypoints'] <= 60  # describe FLOPs count the keypoints returned
    assert set(entry['backends']) == {'torch', 'onnxruntime'}
    paired = entry['speedup_vs_torch']['onnxruntime']
    assert paired['n'] == 3 and 0 < paired['p25'] <= paired['median'] <= paired['p75']
    assert 'tensorrt' in report['unavailable']  # no TensorRT here: reported, not faked
    # --threads 1: one thread for everything, so no keypoint slices for ONNX Runtime either
    assert report['describe_workers'] == {'torch': 1, 'onnxruntime': 1}
    for timings in entry['backends'].values():
        assert list(timings) == [stage for stage, _ in STAGES]
    assert set(entry['opencv']) == {'orb', 'sift'}
    profile = entry['onnxruntime_profile']
    assert 'Conv' in profile['dense'] and sum(profile['describe'].values()) > 0

    (node,) = report['node']
    closed = node['closed_loop_in_to_out']
    assert closed['n'] == 3 and closed['p50_ms'] > 0
    # Message in to odometry out includes the core pipeline on the same frames.
    assert closed['p50_ms'] > 0.5 * node['core_frame']['p50_ms']
    assert node['node_reported_overhead']['p50_ms'] >= 0
    assert node['top_k'] == 60
    assert 1 <= node['stream_30hz']['processed'] <= node['stream_30hz']['sent'] == 30
    for line in ('compute limit', 'onnxruntime vs torch eager', 'node overhead',
                 'opencv orb', 'camera at 30 Hz'):
        assert line in printed, line
