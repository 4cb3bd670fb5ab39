# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""OpenVINO backend (CPU) for the exported LF-Net ONNX graphs.

OpenVINO reads the same `lfnet_dense.onnx` and `lfnet_describe.onnx` that ONNX Runtime runs.
The dense graph is compiled for each image size it meets (static shapes, a few sizes kept):
OpenVINO 2026.4's dynamic-shape compile of it returns score maps up to 0.5 away from ONNX
Runtime's and PyTorch's. The cause: the graph computes each scale's size round(H / s) in int64
fixed point (`lfnet_core.ops.resize.scaled_size`, H * 777472127994 >> 40), and OpenVINO's CPU
plugin ran that product in 32 bits (-100 for H = 100). With static shapes the sizes are folded
to constants at compile time, and the outputs agree with ONNX Runtime to 2e-6 (tested). The
describe graph is compiled once with a dynamic keypoint count (it agrees either way). Inference
precision is held at FP32: on CPUs with BF16 or AMX units OpenVINO would otherwise lower it by
default, and this backend must compute what the exported network computes.
"""

from collections import OrderedDict
import json
from typing import Dict, Optional, Tuple

import numpy as np
import openvino as ov

from lfnet_core.config import LFNetConfig
from lfnet_core.export import OnnxModel, read_onnx_metadata
from lfnet_core.inference import BackendUnavailableError
from lfnet_core.inference.base import Backend, Described, Maps

DEVICE = 'CPU'
# Compiled dense graphs kept, one per image size (a camera has one; training crops a few).
DENSE_SIZES_KEPT = 4


def compile_options(threads: Optional[int]) -> Dict[str, object]:
    """Return the CPU compile properties: latency mode, FP32, `threads` inference threads."""
    options: Dict[str, object] = {
        'PERFORMANCE_HINT': 'LATENCY',
        'INFERENCE_PRECISION_HINT': 'f32',
    }
    if threads:
        options['INFERENCE_NUM_THREADS'] = int(threads)
    return options


class OpenVinoBackend(Backend):
    """Runs `lfnet_dense.onnx` and `lfnet_describe.onnx` with OpenVINO on the CPU."""

    name = 'openvino'

    def __init__(self, model: OnnxModel, threads: Optional[int] = None) -> None:
        for path in (model.dense, model.describe):
            if not path.is_file():
                raise FileNotFoundError(f'ONNX model not found: {path}')
        meta = read_onnx_metadata(model.dense)
        if 'lfnet_config' not in meta:
            raise ValueError(f'{model.dense} has no lfnet_config metadata: not an lfnet-export '
                             'model')
        super().__init__(LFNetConfig.from_dict(json.loads(meta['lfnet_config'])))
        self.model_paths = model
        self.threads = threads
        self.fingerprint = meta.get('lfnet_fingerprint', '')
        try:
            core = ov.Core()
        except RuntimeError as exc:
            raise BackendUnavailableError(f'OpenVINO cannot start: {exc}') from exc
        self._core = core
        self._options = compile_options(threads)
        self._dense_requests: 'OrderedDict[Tuple[int, ...], ov.InferRequest]' = OrderedDict()
        self._describe_request = self._compile(core.read_model(str(model.describe)),
                                               model.describe)
        self.providers = [f'OpenVINO {ov.get_version()} {DEVICE}']

    def _compile(self, network: 'ov.Model', path) -> 'ov.InferRequest':
        try:
            return self._core.compile_model(network, DEVICE,
                                            self._options).create_infer_request()
        except RuntimeError as exc:  # e.g. a CPU or an operator OpenVINO does not support
            raise BackendUnavailableError(f'OpenVINO cannot compile {path}: {exc}') from exc

    def _dense_request_for(self, shape: Tuple[int, ...]) -> 'ov.InferRequest':
        """Return the dense graph compiled for this input shape (compiled on first use, ~0.5 s)."""
        request = self._dense_requests.get(shape)
        if request is None:
            network = self._core.read_model(str(self.model_paths.dense))
            network.reshape({'image': list(shape)})
            request = self._compile(network, self.model_paths.dense)
            self._dense_requests[shape] = request
            while len(self._dense_requests) > DENSE_SIZES_KEPT:
                self._dense_requests.popitem(last=False)
        else:
            self._dense_requests.move_to_end(shape)
        return request

    def dense(self, image: np.ndarray) -> Maps:
        # share_outputs=False (the default) hands back copies: the request's own buffers are
        # overwritten by the next frame.
        request = self._dense_request_for(tuple(int(n) for n in image.shape))
        return tuple(request.infer({'image': image}, share_inputs=True).to_tuple())

    def describe(self, image: np.ndarray, score: np.ndarray, scale: np.ndarray,
                 orientation: np.ndarray, keypoints_int: np.ndarray) -> Described:
        feeds = {'image': image, 'score': score, 'scale': scale, 'orientation': orientation,
                 'keypoints': keypoints_int.astype(np.int64)}
        results = self._describe_request.infer(feeds, share_inputs=True)
        return tuple(results.to_tuple())
