# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for lfnet_core.inference.split_runner: keypoint slices run at once, same outputs."""

from functools import partial

import numpy as np
import onnx
from onnx import helper, TensorProto
import onnxruntime as ort
import pytest

from lfnet_core.inference.onnxruntime_backend import make_session, OnnxRuntimeBackend
from lfnet_core.inference.split_runner import default_workers, SplitRunner
from model_helpers import randomised_model, shared_export


def _sampler_graph(path):
    """Sample a shared image at per-item points (GridSample), then a per-item matmul."""
    image = helper.make_tensor_value_info('image', TensorProto.FLOAT, [1, 1, 'H', 'W'])
    points = helper.make_tensor_value_info('points', TensorProto.FLOAT, [1, 'N', 16, 2])
    out = helper.make_tensor_value_info('features', TensorProto.FLOAT, [1, 'N', 4])
    weights = helper.make_tensor('w', TensorProto.FLOAT, [16, 4],
                                 np.random.default_rng(0).normal(size=64).astype(np.float32))
    nodes = [
        helper.make_node('GridSample', ['image', 'points'], ['samples'], align_corners=1,
                         mode='linear', padding_mode='border'),  # (1, 1, N, 16)
        helper.make_node('Squeeze', ['samples', 'axis0'], ['rows']),  # (1, N, 16)
        helper.make_node('MatMul', ['rows', 'w'], ['features']),
    ]
    axis0 = helper.make_tensor('axis0', TensorProto.INT64, [1], [0])
    graph = helper.make_graph(nodes, 'sampler', [image, points], [out], [weights, axis0])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 20)]), path)
    return path


@pytest.fixture(scope='module')
def sampler(tmp_path_factory):
    return _sampler_graph(str(tmp_path_factory.mktemp('split') / 'sampler.onnx'))


def _feeds(count, seed=0):
    rng = np.random.default_rng(seed)
    return {'image': rng.random((1, 1, 40, 50), dtype=np.float32),
            'points': rng.uniform(-1, 1, (1, count, 16, 2)).astype(np.float32)}


def test_slices_are_contiguous_near_equal_and_respect_min_slice(sampler):
    runner = SplitRunner(partial(make_session, sampler, ['CPUExecutionProvider']), 3,
                         min_slice=10)
    assert runner.slices(100) == [slice(0, 33), slice(33, 67), slice(67, 100)]
    assert runner.slices(25) == [slice(0, 12), slice(12, 25)]  # 2 slices of >= 10
    assert runner.slices(9) == [slice(0, 9)]
    assert runner.slices(0) == [slice(0, 0)]
    assert [s.get_session_options().intra_op_num_threads for s in runner.sessions] == [1, 1, 1]


@pytest.mark.parametrize('count', [0, 1, 31, 100, 257])
def test_split_outputs_equal_one_session_bitwise(sampler, count):
    feeds = _feeds(count, seed=count)
    single = make_session(sampler, ['CPUExecutionProvider'], 2).run(None, feeds)
    runner = SplitRunner(partial(make_session, sampler, ['CPUExecutionProvider']), 3,
                         min_slice=8)
    got = runner.run(feeds, split=('points',), axis=1)
    assert len(got) == 1 and got[0].shape == (1, count, 4)
    assert np.array_equal(got[0], single[0])
    # the inputs are not modified, and a second call gives the same answer
    assert np.array_equal(runner.run(feeds, split=('points',), axis=1)[0], single[0])


def test_one_worker_keeps_one_session_with_the_thread_budget(sampler):
    runner = SplitRunner(partial(make_session, sampler, ['CPUExecutionProvider']), 1, threads=2)
    assert len(runner.sessions) == 1 and runner.slices(1000) == [slice(0, 1000)]
    assert runner.sessions[0].get_session_options().intra_op_num_threads == 2
    with pytest.raises(ValueError, match='workers'):
        SplitRunner(partial(make_session, sampler, ['CPUExecutionProvider']), 0)


def test_default_workers():
    assert default_workers(['CUDAExecutionProvider', 'CPUExecutionProvider'], None) == 1
    assert default_workers(['CPUExecutionProvider'], 3) == 3
    assert default_workers(['CPUExecutionProvider'], 1) == 1
    assert default_workers(['CPUExecutionProvider'], 64) == 8
    assert 1 <= default_workers(['CPUExecutionProvider'], None) <= 8


def test_backend_describe_split_equals_one_session(tmp_path_factory):
    """The exported describe graph cut into keypoint slices gives bit-identical outputs."""
    paths, _ = shared_export(tmp_path_factory, randomised_model(0))
    split = OnnxRuntimeBackend(paths, describe_workers=3)
    single = OnnxRuntimeBackend(paths, describe_workers=1)
    assert (split.describe_workers, single.describe_workers) == (3, 1)
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (120, 160), np.uint8)
    got, expected = split.extract(image, top_k=200), single.extract(image, top_k=200)
    assert len(expected['keypoints']) > 3 * 32  # enough keypoints for three slices
    for key in expected:
        assert np.array_equal(got[key], expected[key]), key


def test_session_errors_surface(sampler):
    runner = SplitRunner(partial(make_session, sampler, ['CPUExecutionProvider']), 2,
                         min_slice=1)
    feeds = _feeds(10)
    feeds['image'] = feeds['image'][0]  # wrong rank: every slice fails
    with pytest.raises(ort.capi.onnxruntime_pybind11_state.InvalidArgument):
        runner.run(feeds, split=('points',), axis=1)
