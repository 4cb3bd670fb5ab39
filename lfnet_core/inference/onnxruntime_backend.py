# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ONNX Runtime backend (CPU, or CUDA with onnxruntime-gpu) for the exported LF-Net graphs."""

from functools import partial
import json
from typing import Optional, Sequence

import numpy as np
import onnxruntime as ort

from lfnet_core.config import LFNetConfig
from lfnet_core.inference.base import Backend, Described, Maps
from lfnet_core.inference.split_runner import default_workers, SplitRunner
from lfnet_core.onnx_model import OnnxModel


def make_session(path, providers: Sequence[str], threads: Optional[int],
                 profile_prefix: Optional[str] = None) -> ort.InferenceSession:
    """Open an ONNX Runtime session with the backend's options (errors name the file).

    `profile_prefix` switches ONNX Runtime's profiler on, writing to files with that prefix.
    """
    options = ort.SessionOptions()
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # One frame at a time, one operator at a time: every thread works inside each operator.
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or 0  # 0: one per physical core
    options.inter_op_num_threads = 1
    # Idle pool threads block instead of spinning: spinning after each run took the cores from
    # matching, PnP and publishing, which run right after (lfnet-bench: match 18 vs 13 ms,
    # pose 30 vs 21 ms behind ONNX Runtime than behind PyTorch; the node's publish 4.6 ms).
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    try:
        return ort.InferenceSession(str(path), options, providers=list(providers))
    except Exception as exc:  # noqa: B902 - ORT raises its own exception types
        raise ValueError(f'cannot load ONNX model {path}: {exc}') from exc


class OnnxRuntimeBackend(Backend):
    """Runs `lfnet_dense.onnx` and `lfnet_describe.onnx` with ONNX Runtime.

    On a CPU the describe graph runs as one slice of the keypoints per core, each in its own
    one-thread session (`SplitRunner`: ONNX Runtime's patch sampler uses one core only);
    `describe_workers=1` keeps one session with `threads` threads.
    """

    name = 'onnxruntime'

    def __init__(self, model: OnnxModel, providers: Sequence[str] = ('CPUExecutionProvider',),
                 threads: Optional[int] = None, describe_workers: Optional[int] = None) -> None:
        for path in (model.dense, model.describe):
            if not path.is_file():
                raise FileNotFoundError(f'ONNX model not found: {path}')
        self.model_paths = model
        self.threads = threads
        self.dense_session = make_session(model.dense, providers, threads)
        if describe_workers is None:
            describe_workers = default_workers(self.dense_session.get_providers(), threads)
        self.describe_runner = SplitRunner(partial(make_session, model.describe, providers),
                                           describe_workers, threads)
        self.describe_workers = self.describe_runner.workers
        self.describe_session = self.describe_runner.sessions[0]
        meta = self.dense_session.get_modelmeta().custom_metadata_map
        if 'lfnet_config' not in meta:
            raise ValueError(f'{model.dense} has no lfnet_config metadata: not an lfnet-export '
                             'model')
        super().__init__(LFNetConfig.from_dict(json.loads(meta['lfnet_config'])))
        self.fingerprint = meta.get('lfnet_fingerprint', '')
        self.providers = self.dense_session.get_providers()

    def dense(self, image: np.ndarray) -> Maps:
        return tuple(self.dense_session.run(None, {'image': image}))

    def describe(self, image: np.ndarray, score: np.ndarray, scale: np.ndarray,
                 orientation: np.ndarray, keypoints_int: np.ndarray) -> Described:
        feeds = {'image': image, 'score': score, 'scale': scale, 'orientation': orientation,
                 'keypoints': keypoints_int.astype(np.int64)}
        return tuple(self.describe_runner.run(feeds, split=('keypoints',), axis=1))
