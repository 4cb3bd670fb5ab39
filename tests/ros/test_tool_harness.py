# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The ROS tools' shared pieces: node command and parameters, statistics, sizes."""

import argparse

import pytest

from lfnet_core.summary_stats import distribution, percentiles_ms
from lfnet_ros.cli_arguments import parse_size
from lfnet_ros.node_process import node_command, node_parameters, NodeLaunch


def test_node_command_and_parameters_carry_the_same_overrides(tmp_path):
    launch = NodeLaunch(backend='onnxruntime', top_k=60, weights=str(tmp_path / 'w.pt'),
                        pyramid_levels=2, resize=(160, 120), resize_scale=1.0, threads=3)
    command = node_command(launch)
    assert command[1:4] == ['-m', 'lfnet_ros.frontend_node', '--ros-args']
    overrides = [command[i + 1] for i, arg in enumerate(command) if arg == '-p']
    assert overrides == ['backend:=onnxruntime', 'qos_reliability:=reliable', 'top_k:=60',
                         f'weights:={(tmp_path / "w.pt").resolve()}', 'pyramid_levels:=2',
                         'resize_width:=160', 'resize_height:=120', 'resize_scale:=1.0',
                         'threads:=3']
    params = node_parameters(launch)
    for item in overrides:
        name, value = item.split(':=')
        assert str(params[name]) == value, name
    assert 'depth_scale' in params  # the rest comes from config/frontend.yaml


def test_default_launch_sets_only_backend_and_reliability():
    command = node_command(NodeLaunch())
    assert [command[i + 1] for i, arg in enumerate(command) if arg == '-p'] == [
        'backend:=auto', 'qos_reliability:=reliable']


def test_percentiles_and_distribution():
    assert percentiles_ms([]) == {'p50_ms': None, 'p90_ms': None}
    assert percentiles_ms([], (50, 90, 99)) == {'p50_ms': None, 'p90_ms': None, 'p99_ms': None}
    values = percentiles_ms([0.001 * v for v in range(1, 101)], (50, 90, 99))
    assert values == pytest.approx({'p50_ms': 50.5, 'p90_ms': 90.1, 'p99_ms': 99.01})
    assert distribution([]) == {'mean': None, 'median': None, 'min': None, 'max': None}
    assert distribution([1, 2, 6]) == {'mean': 3.0, 'median': 2.0, 'min': 1.0, 'max': 6.0}


def test_parse_size():
    assert parse_size('640x480') == (640, 480) and parse_size('33X40') == (33, 40)
    for bad in ('640', '32x480', 'axb'):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_size(bad)
