# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT backend: runs the two engines built by `lfnet-build-engine`.

Written from NVIDIA's documented TensorRT 10 Python API and NEVER EXECUTED (no GPU or TensorRT
where it was written; see the README, "Running on a GPU"). It only loads engines; it never
builds one.

Device memory: torch CUDA tensors serve as the engines' input and output buffers
(`tensor.data_ptr()` -> `context.set_tensor_address`), and the engines run on torch's current
CUDA stream (`execute_async_v3(torch.cuda.current_stream().cuda_stream)`). torch is a dependency of
the project anyway, so this avoids pycuda / cuda-python. Buffers are allocated once per tensor and
reused frame after frame; a buffer grows only when a larger shape arrives.
"""

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from lfnet_core.config import LFNetConfig
from lfnet_core.inference.base import Backend, Described, Maps
from lfnet_core.tensorrt.engine_cache import EngineRecord, record_path

DENSE_INPUTS = ('image',)
DENSE_OUTPUTS = ('score', 'scale', 'orientation', 'peaks')
DESCRIBE_INPUTS = ('image', 'score', 'scale', 'orientation', 'keypoints')
DESCRIBE_OUTPUTS = ('keypoints_refined', 'scales', 'orientations', 'descriptors')


class _Engine:
    """One deserialised engine, its execution context and its reusable device buffers."""

    def __init__(self, trt, runtime, path: Path, inputs: Sequence[str],
                 outputs: Sequence[str], device) -> None:
        import torch

        self.torch = torch
        self.trt = trt
        self.path = path
        self.device = device
        self.engine = runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f'TensorRT cannot deserialise {path} (built by another TensorRT '
                               'version or for another GPU?); rebuild it with lfnet-build-engine')
        self.context = self.engine.create_execution_context()
        if self.context is None:
            raise RuntimeError(f'TensorRT cannot create an execution context for {path}')
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        found_in = [n for n in names
                    if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        found_out = [n for n in names if n not in found_in]
        if sorted(found_in) != sorted(inputs) or sorted(found_out) != sorted(outputs):
            raise ValueError(f'{path}: engine tensors {found_in} -> {found_out}, expected '
                             f'{list(inputs)} -> {list(outputs)}')
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.dtypes = {n: self._torch_dtype(self.engine.get_tensor_dtype(n)) for n in names}
        self.buffers: Dict[str, object] = {}  # name -> flat torch CUDA tensor

    def _torch_dtype(self, dtype):
        trt, torch = self.trt, self.torch
        table = {trt.float32: torch.float32, trt.float16: torch.float16,
                 trt.int32: torch.int32, trt.int64: torch.int64, trt.bool: torch.bool}
        if dtype not in table:
            raise ValueError(f'{self.path}: unsupported tensor type {dtype}')
        return table[dtype]

    def _buffer(self, name: str, numel: int):
        """Return a device buffer of at least `numel` elements, reused across calls."""
        buffer = self.buffers.get(name)
        if buffer is None or buffer.numel() < numel:
            buffer = self.torch.empty(max(numel, 1), dtype=self.dtypes[name], device=self.device)
            self.buffers[name] = buffer
        return buffer

    def _profile_text(self, name: str) -> str:
        low, opt, high = self.engine.get_tensor_profile_shape(name, 0)
        return f'min {tuple(low)}, opt {tuple(opt)}, max {tuple(high)}'

    def run(self, feeds: Dict[str, np.ndarray]) -> List[np.ndarray]:
        torch = self.torch
        for name in self.inputs:
            array = np.ascontiguousarray(feeds[name])
            host = torch.from_numpy(array).to(self.dtypes[name])
            if not self.context.set_input_shape(name, tuple(array.shape)):
                raise ValueError(f'{self.path.name}: input {name} {tuple(array.shape)} is outside '
                                 f'the engine profile ({self._profile_text(name)}); rebuild with '
                                 'lfnet-build-engine --min/--opt/--max')
            buffer = self._buffer(name, host.numel())
            buffer[:host.numel()].copy_(host.reshape(-1))
            self.context.set_tensor_address(name, buffer.data_ptr())
        shapes = {}
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise RuntimeError(f'{self.path.name}: output {name} has unresolved shape {shape}')
            shapes[name] = shape
            buffer = self._buffer(name, int(np.prod(shape)))
            self.context.set_tensor_address(name, buffer.data_ptr())
        stream = torch.cuda.current_stream(self.device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError(f'{self.path.name}: TensorRT execution failed (see its log)')
        results = []
        for name in self.outputs:
            count = int(np.prod(shapes[name]))
            # .cpu() waits on the current stream, where the engine was enqueued.
            out = self.buffers[name][:count].view(shapes[name]).cpu()
            results.append(out.float().numpy() if out.dtype == torch.float16 else out.numpy())
        return results


class TensorRTBackend(Backend):
    """Runs `lfnet_dense` / `lfnet_describe` TensorRT engines (checked records beside them)."""

    name = 'tensorrt'

    def __init__(self, dense_engine: Path, describe_engine: Path,
                 device: Optional[str] = None) -> None:
        import tensorrt as trt
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError('the TensorRT backend needs a CUDA GPU (torch.cuda.is_available() '
                               'is False)')
        records = [EngineRecord.from_json(record_path(p).read_text(), record_path(p))
                   for p in (dense_engine, describe_engine)]
        if records[0].lfnet_config != records[1].lfnet_config:
            raise ValueError(f'{dense_engine} and {describe_engine} come from different models')
        super().__init__(LFNetConfig.from_dict(records[0].lfnet_config))
        self.fingerprint = records[0].lfnet_fingerprint
        self.precision = records[0].precision
        self._torch = torch
        self.device = torch.device(device or 'cuda')
        self._logger = trt.Logger(trt.Logger.WARNING)
        # Runtime(logger) logs instead of raising on a CUDA failure: checked via the engines.
        self._runtime = trt.Runtime(self._logger)
        with torch.cuda.device(self.device):
            self._dense = _Engine(trt, self._runtime, Path(dense_engine), DENSE_INPUTS,
                                  DENSE_OUTPUTS, self.device)
            self._describe = _Engine(trt, self._runtime, Path(describe_engine), DESCRIBE_INPUTS,
                                     DESCRIBE_OUTPUTS, self.device)

    def dense(self, image: np.ndarray) -> Maps:
        with self._torch.cuda.device(self.device):
            return tuple(self._dense.run({'image': image}))

    def describe(self, image: np.ndarray, score: np.ndarray, scale: np.ndarray,
                 orientation: np.ndarray, keypoints_int: np.ndarray) -> Described:
        feeds = {'image': image, 'score': score, 'scale': scale, 'orientation': orientation,
                 'keypoints': keypoints_int.astype(np.int64)}
        with self._torch.cuda.device(self.device):
            return tuple(self._describe.run(feeds))
