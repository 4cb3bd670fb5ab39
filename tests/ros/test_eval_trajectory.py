# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""lfnet-eval's trajectory scoring survives an estimate that never moved (tracking lost)."""

import numpy as np

from lfnet_ros.eval import evaluate_trajectory


def _write_tum(path, stamps, positions):
    rows = [f'{t:.6f} {x:.6f} {y:.6f} {z:.6f} 0 0 0 1' for t, (x, y, z) in zip(stamps, positions)]
    path.write_text('\n'.join(rows) + '\n')


def test_constant_estimate_gives_unaligned_ate(tmp_path):
    stamps = 1000.0 + np.arange(10) * 0.1
    truth = np.stack([np.linspace(0, 0.5, 10), np.zeros(10), np.zeros(10)], 1)
    _write_tum(tmp_path / 'gt.tum', stamps, truth)
    _write_tum(tmp_path / 'est.tum', stamps, np.zeros((10, 3)))
    result = evaluate_trajectory(tmp_path / 'gt.tum', tmp_path / 'est.tum')
    assert result['ate_aligned'] is False
    assert abs(result['ate']['max_m'] - 0.5) < 1e-6


def test_moving_estimate_is_aligned(tmp_path):
    stamps = 1000.0 + np.arange(10) * 0.1
    truth = np.stack([np.linspace(0, 0.5, 10), np.linspace(0, 0.2, 10) ** 2, np.zeros(10)], 1)
    _write_tum(tmp_path / 'gt.tum', stamps, truth)
    _write_tum(tmp_path / 'est.tum', stamps, truth + np.array([1.0, 2.0, 3.0]))
    result = evaluate_trajectory(tmp_path / 'gt.tum', tmp_path / 'est.tum')
    assert result['ate_aligned'] is True
    assert result['ate']['rmse_m'] < 1e-6
