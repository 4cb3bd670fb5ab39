# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Build TensorRT engines from lfnet-export ONNX graphs (imports tensorrt and onnx when used)."""

from dataclasses import dataclass
import json
from pathlib import Path
import time
from typing import Any, Dict, Optional

from lfnet_core.tensorrt.engine_cache import (atomic_write, EngineCache, EngineCacheError,
                                              EngineRecord, file_sha256, PathLike, PRECISIONS)
from lfnet_core.tensorrt.environment import EngineEnvironment
from lfnet_core.tensorrt.shape_profile import default_profile, HW, parse_hw, ShapeProfile

DEFAULT_WORKSPACE_MIB = 2048


@dataclass(frozen=True)
class OnnxInfo:
    """What the builder and the cache need from an lfnet-export ONNX file."""

    path: Path
    sha256: str
    graph: str
    lfnet_config: Dict[str, Any]
    lfnet_fingerprint: str
    fixed_hw: Optional[HW]

    @property
    def min_side(self) -> int:
        """Smallest image side the model accepts (2 * detector border + 1)."""
        return 2 * int(self.lfnet_config.get('detector', {}).get('border', 16)) + 1


def onnx_info(path: PathLike) -> OnnxInfo:
    """Read an exported graph's metadata (without its weights) and hash the file."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'ONNX model not found: {path}')
    model = onnx.load(str(path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    if 'lfnet_config' not in meta:
        raise ValueError(f'{path} has no lfnet_config metadata: not an lfnet-export model')
    shape = meta.get('lfnet_input_shape', 'dynamic')
    fixed = None if shape == 'dynamic' else parse_hw(shape)
    names = {node.name for node in model.graph.input}
    graph = 'describe' if 'keypoints' in names else 'dense'
    return OnnxInfo(path, file_sha256(path), graph, json.loads(meta['lfnet_config']),
                    meta.get('lfnet_fingerprint', ''), fixed)


def new_record(info: OnnxInfo, env: EngineEnvironment, precision: str, profile: ShapeProfile,
               build_seconds: float = 0.0) -> EngineRecord:
    """Return the record of an engine built from `info` here."""
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}')
    return EngineRecord(info.sha256, env.tensorrt_version, env.gpu, precision, profile.text(),
                        info.graph, info.path.name, info.lfnet_config, info.lfnet_fingerprint,
                        time.strftime('%Y-%m-%dT%H:%M:%S%z'), round(build_seconds, 3))


def _progress_monitor(trt):
    """Return a trt.IProgressMonitor printing each builder phase (TensorRT >= 10; None before)."""
    base = getattr(trt, 'IProgressMonitor', None)
    if base is None:
        return None

    class _Monitor(base):
        def __init__(self) -> None:
            base.__init__(self)
            self.started: Dict[str, float] = {}

        def phase_start(self, phase_name, parent_phase, num_steps):
            self.started[phase_name] = time.perf_counter()
            indent = '    ' if parent_phase else '  '
            print(f'{indent}{phase_name} ({num_steps} steps)', flush=True)

        def step_complete(self, phase_name, step):
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            start = self.started.pop(phase_name, None)
            if start is not None and time.perf_counter() - start > 1.0:
                print(f'  {phase_name} done in {time.perf_counter() - start:.1f} s', flush=True)

    return _Monitor()


def build_engine(info: OnnxInfo, profile: ShapeProfile, fp16: bool = False,
                 workspace_mib: int = DEFAULT_WORKSPACE_MIB,
                 timing_cache: Optional[PathLike] = None, verbose: bool = False) -> bytes:
    """Build a serialised TensorRT engine (plan) from an ONNX graph.

    Args:
        info: the ONNX file (see `onnx_info`).
        profile: the optimisation profile for H, W and N.
        fp16: allow FP16 kernels (BuilderFlag.FP16).
        workspace_mib: builder workspace memory pool limit.
        timing_cache: file read before and written after the build (created when missing).
        verbose: TensorRT's own log at INFO instead of WARNING.

    Raises:
        ImportError: no tensorrt.
        RuntimeError: the parser or the builder failed (their messages included).

    """
    import tensorrt as trt

    profile.check_min_side(info.min_side)
    logger = trt.Logger(trt.Logger.INFO if verbose else trt.Logger.WARNING)
    try:
        builder = trt.Builder(logger)
    except TypeError as exc:  # 'factory function returned nullptr': no usable GPU/driver
        raise RuntimeError(f'trt.Builder failed ({exc}): no usable CUDA GPU or driver') from exc
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(info.path.read_bytes(), str(info.path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise RuntimeError(f'TensorRT cannot parse {info.path}:\n  ' + '\n  '.join(errors))
    inputs = {}
    for index in range(network.num_inputs):
        tensor = network.get_input(index)
        inputs[tensor.name] = tuple(tensor.shape)
    config = builder.create_builder_config()
    optimisation = builder.create_optimization_profile()
    for name, (low, opt, high) in profile.input_shapes(inputs).items():
        optimisation.set_shape(name, low, opt, high)
        print(f'  profile {name}: min {low} opt {opt} max {high}')
    config.add_optimization_profile(optimisation)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mib) << 20)
    if fp16:
        if not getattr(builder, 'platform_has_fast_fp16', True):
            print('  warning: this GPU has no fast FP16; building FP16 anyway')
        config.set_flag(trt.BuilderFlag.FP16)
    cache = None
    if timing_cache:
        timing_cache = Path(timing_cache)
        previous = timing_cache.read_bytes() if timing_cache.is_file() else b''
        cache = config.create_timing_cache(previous)
        config.set_timing_cache(cache, ignore_mismatch=False)
    monitor = _progress_monitor(trt)
    if monitor is not None:
        config.progress_monitor = monitor
    start = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError(f'TensorRT could not build an engine from {info.path}; rerun with '
                           '--verbose for the builder log (raise --workspace if it mentions '
                           'memory)')
    print(f'  built {info.path.name} in {time.perf_counter() - start:.1f} s')
    if cache is not None:
        timing_cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(timing_cache, bytes(config.get_timing_cache().serialize()))
    return bytes(plan)


def ensure_engines(onnx_paths: Dict[str, PathLike], cache: EngineCache,
                   env: Optional[EngineEnvironment] = None, precision: Optional[str] = None,
                   build: bool = False, profile: Optional[ShapeProfile] = None,
                   **build_options) -> Dict[str, Path]:
    """Return engines for the graphs {'dense': path, 'describe': path}.

    They are found in the cache, or built when `build` is True (never otherwise).

    Raises:
        EngineCacheError: an engine is missing (and `build` is False).

    """
    env = env or EngineEnvironment.detect()
    engines = {}
    for graph, path in onnx_paths.items():
        try:
            engines[graph] = cache.find(file_sha256(path), env, precision)
        except EngineCacheError:
            if not build:
                raise
            info = onnx_info(path)
            chosen = profile or default_profile(info.min_side, info.fixed_hw)
            start = time.perf_counter()
            plan = build_engine(info, chosen, fp16=precision == 'fp16', **build_options)
            record = new_record(info, env, precision or 'fp32', chosen,
                                time.perf_counter() - start)
            engines[graph] = cache.store(record, plan)
    return engines
