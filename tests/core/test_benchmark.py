# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""lfnet_core.benchmark: FLOP counts against the textbook count, timing records, frames."""


import numpy as np
import pytest

from lfnet_core import benchmark as bench
from lfnet_core.config import LFNetConfig
from lfnet_core.inference import create_backend
from lfnet_core.ops.resize import scaled_size


def _textbook_flops(height: int, width: int, keypoints: int) -> dict:
    """Multiply-adds x 2 of every convolution and linear layer, from the config."""
    det, desc = LFNetConfig().detector, LFNetConfig().descriptor
    k2, ch = det.conv_ksize ** 2, det.num_channels
    pixels = height * width
    trunk = pixels * ch * k2  # init conv, 1 -> C
    trunk += 2 * det.num_blocks * pixels * ch * ch * k2  # residual blocks
    heads = sum(scaled_size(height, s) * scaled_size(width, s) * ch * k2 for s in det.scales)
    heads += pixels * 2 * ch * det.ori_ksize ** 2  # orientation head
    side, in_ch, per_patch = desc.patch_size, 1, 0
    for out_ch in desc.conv_channels:
        side //= 2
        per_patch += side * side * out_ch * in_ch * 9
        in_ch = out_ch
    per_patch += in_ch * side * side * desc.fc_dim + desc.fc_dim * desc.descriptor_dim
    return {'trunk': 2.0 * trunk, 'heads': 2.0 * heads, 'describe': 2.0 * per_patch * keypoints}


@pytest.mark.parametrize('height,width', [(48, 64), (120, 160)])
def test_network_flops_match_the_textbook_count(height, width):
    counted = bench.network_flops(height, width, 10)
    expected = _textbook_flops(height, width, 10)
    # The heads run their 1 x k stage before the row resize, at the features' height (fewer
    # rows than the textbook for upsampled scales, more for downsampled ones, plus k - 1
    # padded rows): within 5 % of the textbook count; the trunk dominates.
    textbook = expected['trunk'] + expected['heads']
    assert counted['dense'] == pytest.approx(textbook, rel=0.05)
    assert counted['dense'] >= expected['trunk'] + 0.5 * expected['heads']
    # plus a few hundred FLOPs per keypoint of small matrix products in the sampling
    assert counted['describe'] == pytest.approx(expected['describe'], rel=1e-4)


def test_compute_fraction():
    assert bench.compute_fraction(50e9, 0.5, 200.0) == pytest.approx(0.5)
    assert np.isnan(bench.compute_fraction(1e9, 0.0, 100.0))


def test_matmul_rate_is_positive_and_finite():
    rate = bench.matmul_rate(threads=1, size=256, repeats=3)
    assert np.isfinite(rate) and rate > 0.1


def test_frames_resize_scales_intrinsics():
    frames = bench.load_frames(None, count=3)
    small = frames.resized(320, 240)
    assert small.rgb[0].shape == (240, 320, 3) and small.depth[0].shape == (240, 320)
    np.testing.assert_allclose(small.K[0, 0], frames.K[0, 0] / 2)
    np.testing.assert_allclose(small.K[:2, 2], (frames.K[:2, 2] + 0.5) / 2 - 0.5)
    assert frames.resized(640, 480) is frames


@pytest.mark.parametrize('backend_name', ['torch', 'onnxruntime'])
def test_time_backend_reports_every_stage(backend_name, tmp_path, monkeypatch):
    monkeypatch.setenv('LFNET_CACHE_DIR', str(tmp_path))
    frames = bench.load_frames(None, count=3).resized(128, 96)
    backend = create_backend(backend_name, threads=1)
    timings = bench.time_backend(backend, frames, top_k=50, warmup=1, repeats=3)
    assert [stage for stage, _ in bench.STAGES] == list(timings)
    for stage, value in timings.items():
        assert value['n'] == 3 and 0.0 <= value['p50_ms'] <= value['p90_ms'], stage
    parts = sum(timings[s]['p50_ms'] for s in ('dense', 'sample', 'descriptor'))
    assert parts <= 1.5 * timings['frame']['p90_ms']
    assert timings['descriptor']['p50_ms'] > 0 and timings['sample']['p50_ms'] >= 0


class _RecordingBackend:
    """Wraps a backend; logs which backend ran each extraction."""

    def __init__(self, inner, name, log):
        self.inner, self.name, self.log = inner, name, log

    def __getattr__(self, attribute):
        return getattr(self.inner, attribute)

    def extract(self, image, top_k=None):
        self.log.append(self.name)
        result = self.inner.extract(image, top_k)
        self.last_timings = self.inner.last_timings
        return result


def test_time_backends_interleaves_and_pairs_frames(tmp_path, monkeypatch):
    """Backends take turns frame by frame, each round starting with another one."""
    frames = bench.load_frames(None, count=3).resized(96, 72)
    inner = create_backend('torch')
    log = []
    backends = {'torch': _RecordingBackend(inner, 'torch', log),
                'fast': _RecordingBackend(inner, 'fast', log)}
    timed = bench.time_backends(backends, frames, top_k=30, warmup=1, repeats=4)
    assert log == ['torch', 'fast', 'fast', 'torch', 'torch', 'fast', 'fast', 'torch',
                   'torch', 'fast']
    assert set(timed.stages) == {'torch', 'fast'}
    assert all(len(v) == 4 for v in timed.frame_seconds.values())
    speedup = timed.speedup('fast', 'torch')
    assert speedup['n'] == 4 and speedup['p25'] <= speedup['median'] <= speedup['p75']
    expected = np.median(np.asarray(timed.frame_seconds['torch'])
                         / np.asarray(timed.frame_seconds['fast']))
    assert speedup['median'] == pytest.approx(expected)


def test_speedup_is_the_median_of_paired_frame_ratios():
    """The arithmetic on injected frame times (no clock: a busy machine cannot change it)."""
    timed = bench.InterleavedTimings({}, {'torch': [0.10, 0.20, 0.30, 0.50],
                                          'fast': [0.05, 0.05, 0.20, 0.10]})
    speedup = timed.speedup('fast', 'torch')
    ratios = [2.0, 4.0, 1.5, 5.0]
    assert speedup['n'] == 4
    assert speedup['median'] == pytest.approx(np.median(ratios))
    assert speedup['p25'] == pytest.approx(np.percentile(ratios, 25))
    assert speedup['p75'] == pytest.approx(np.percentile(ratios, 75))


def test_time_opencv_references():
    frames = bench.load_frames(None, count=3).resized(160, 120)
    for method in ('orb', 'sift'):
        timings = bench.time_opencv(method, frames, top_k=100, warmup=1, repeats=2)
        assert set(timings) == {'detect_describe', 'match', 'frame'}
    with pytest.raises(ValueError):
        bench.time_opencv('surf', frames, 100)
