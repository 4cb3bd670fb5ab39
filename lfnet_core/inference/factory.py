# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Create an inference backend by name, or `auto`: the first one that can run here.

`auto` tries, in order: TensorRT, ONNX Runtime (CUDA provider when present, else CPU), PyTorch;
it logs once which one runs and why the others were passed over. Each backend's own dependency
(tensorrt, onnxruntime, torch) is imported only when that backend is asked for.
"""

import logging
import os
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

from lfnet_core.cache import onnx_cache_folder
from lfnet_core.config import pool_factors
from lfnet_core.inference.base import Backend
from lfnet_core.onnx_model import OnnxModel
from lfnet_core.tensorrt.backend import TensorRTBackend
from lfnet_core.tensorrt.builder import ensure_engines
from lfnet_core.tensorrt.engine_cache import checked_engine_pair, EngineCache, EngineCacheError
from lfnet_core.tensorrt.environment import EngineEnvironment, INSTALL_HINT

LOG = logging.getLogger(__name__)
BACKEND_NAMES = ('auto', 'tensorrt', 'onnxruntime', 'torch')
PathLike = Union[str, os.PathLike]
PoolScales = Optional[Sequence[float]]


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run here; the message says what is missing."""


def _create_torch(weights: Optional[PathLike], device: Optional[str],
                  pool_scales: PoolScales) -> Backend:
    try:
        from lfnet_core.inference.torch_backend import TorchBackend
        from lfnet_core.model.lfnet import load_lfnet
    except ImportError as exc:
        raise BackendUnavailableError(f'PyTorch is not installed ({exc}); install '
                                      'torch==2.13.0') from exc
    return TorchBackend(load_lfnet(weights, device, pool_scales=pool_scales), device)


def _onnx_model_for(weights: Optional[PathLike], onnx_dir: Optional[PathLike],
                    cache_dir: Optional[PathLike], pool_scales: PoolScales) -> OnnxModel:
    if onnx_dir:
        model = OnnxModel.in_dir(onnx_dir)
        if not model.exists():
            raise BackendUnavailableError(f'no {model.dense.name} / {model.describe.name} in '
                                          f'{onnx_dir}; run lfnet-export --out {onnx_dir}')
        if weights or pool_scales is not None:
            _check_onnx_matches_weights(model, weights, pool_scales)
        return model
    try:
        from lfnet_core.export import export_onnx, model_fingerprint
        from lfnet_core.model.lfnet import load_lfnet
    except ImportError as exc:
        raise BackendUnavailableError(f'exporting ONNX needs torch, onnx and onnxscript ({exc}); '
                                      'install them or pass an exported onnx_dir') from exc
    network = load_lfnet(weights, pool_scales=pool_scales)
    folder = onnx_cache_folder(model_fingerprint(network), cache_dir)
    model = OnnxModel.in_dir(folder)
    if not model.exists():
        LOG.info('exporting LF-Net to ONNX in %s (once per weights file)', folder)
        export_onnx(network, folder)
    return model


def _check_onnx_matches_weights(model: OnnxModel, weights: Optional[PathLike],
                                pool_scales: PoolScales) -> None:
    """Refuse an ONNX folder exported from other weights (or pooling) than the ones named."""
    import onnx
    try:
        from lfnet_core.export import model_fingerprint
        from lfnet_core.model.lfnet import load_lfnet
    except ImportError:
        LOG.warning('torch missing: cannot check that %s was exported from %s', model.dense,
                    weights)
        return
    try:
        graph = onnx.load(str(model.dense), load_external_data=False)
    except Exception as exc:  # noqa: B902 - protobuf raises DecodeError and others
        raise ValueError(f'cannot load ONNX model {model.dense}: {exc}') from exc
    meta = {p.key: p.value for p in graph.metadata_props}
    expected = model_fingerprint(load_lfnet(weights, pool_scales=pool_scales))
    if meta.get('lfnet_fingerprint') != expected:
        raise BackendUnavailableError(f'{model.dense} was not exported from '
                                      f'{_named(weights, pool_scales)}; re-run lfnet-export '
                                      'with these weights and pool scales')


def _named(weights: Optional[PathLike], pool_scales: PoolScales) -> str:
    """Name the weights (and the pooling that replaces theirs) for an error message."""
    name = str(weights or 'the shipped weights')
    return name if pool_scales is None else f'{name} with pool_scales {list(pool_scales)}'


def _create_onnxruntime(weights: Optional[PathLike], onnx_dir: Optional[PathLike],
                        cache_dir: Optional[PathLike], threads: Optional[int],
                        use_cuda: bool, pool_scales: PoolScales) -> Backend:
    try:
        import onnxruntime
        from lfnet_core.inference.onnxruntime_backend import OnnxRuntimeBackend
    except ImportError as exc:
        raise BackendUnavailableError(f'onnxruntime is not installed ({exc})') from exc
    providers: List[str] = ['CPUExecutionProvider']
    if use_cuda and 'CUDAExecutionProvider' in onnxruntime.get_available_providers():
        providers.insert(0, 'CUDAExecutionProvider')
    return OnnxRuntimeBackend(_onnx_model_for(weights, onnx_dir, cache_dir, pool_scales),
                              providers, threads)


def _create_tensorrt(weights: Optional[PathLike], onnx_dir: Optional[PathLike],
                     cache_dir: Optional[PathLike], engine_path: Optional[PathLike],
                     engine_cache_dir: Optional[PathLike], device: Optional[str],
                     pool_scales: PoolScales) -> Backend:
    """Load prebuilt engines, never build them.

    From `engine_path`, else the engine cache's entries for this model's ONNX files; both are
    checked against the running TensorRT version and GPU.
    """
    try:
        import tensorrt  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailableError(INSTALL_HINT) from exc
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailableError('the TensorRT backend uses torch CUDA tensors as device '
                                      'buffers; install torch with CUDA') from exc
    if not torch.cuda.is_available():
        raise BackendUnavailableError('TensorRT is installed but no CUDA GPU is usable '
                                      '(torch.cuda.is_available() is False)')
    dense, describe = find_tensorrt_engines(EngineEnvironment.detect(), weights, onnx_dir,
                                            cache_dir, engine_path, engine_cache_dir,
                                            pool_scales)
    try:
        return TensorRTBackend(dense, describe,
                               device if device and device.startswith('cuda') else None)
    except (RuntimeError, ValueError, OSError) as exc:
        raise BackendUnavailableError(f'TensorRT engines {dense} and {describe} cannot run: '
                                      f'{exc}') from exc


def find_tensorrt_engines(env: EngineEnvironment, weights: Optional[PathLike],
                          onnx_dir: Optional[PathLike], cache_dir: Optional[PathLike],
                          engine_path: Optional[PathLike],
                          engine_cache_dir: Optional[PathLike],
                          pool_scales: PoolScales = None) -> Tuple[Path, Path]:
    """Return the checked (dense, describe) engines for `env`.

    From `engine_path` (its records checked against `env`, and against the ONNX files in
    `onnx_dir` and the `weights` and `pool_scales` when given), else the engine cache's entries
    for this model's ONNX files. Never builds an engine and never imports TensorRT.

    Raises:
        BackendUnavailableError: an engine is missing, stale or foreign (the message says which).

    """
    try:
        if engine_path:
            (dense, describe), records = checked_engine_pair(engine_path, env, onnx_dir)
            if weights or pool_scales is not None:
                _check_engine_matches_weights(records[0].lfnet_fingerprint, dense, weights,
                                              pool_scales)
        else:
            model = _onnx_model_for(weights, onnx_dir, cache_dir, pool_scales)
            engines = ensure_engines({'dense': model.dense, 'describe': model.describe},
                                     EngineCache(engine_cache_dir), env)
            dense, describe = engines['dense'], engines['describe']
    except EngineCacheError as exc:
        if engine_path:
            LOG.warning('TensorRT engine refused: %s', exc)
        raise BackendUnavailableError(f'TensorRT: {exc}') from exc
    return dense, describe


def _check_engine_matches_weights(fingerprint: str, engine: Path, weights: Optional[PathLike],
                                  pool_scales: PoolScales) -> None:
    from lfnet_core.export import model_fingerprint
    from lfnet_core.model.lfnet import load_lfnet
    if fingerprint != model_fingerprint(load_lfnet(weights, pool_scales=pool_scales)):
        raise BackendUnavailableError(f'{engine} was not built from '
                                      f'{_named(weights, pool_scales)}; rebuild it with '
                                      'lfnet-build-engine from this export')


def create_backend(name: str = 'auto', weights: Optional[PathLike] = None,
                   onnx_dir: Optional[PathLike] = None, device: Optional[str] = None,
                   threads: Optional[int] = None, cache_dir: Optional[PathLike] = None,
                   engine_path: Optional[PathLike] = None,
                   engine_cache_dir: Optional[PathLike] = None,
                   pool_scales: PoolScales = None) -> Backend:
    """Create an inference backend.

    Args:
        name: 'auto', 'tensorrt', 'onnxruntime' or 'torch'.
        weights: checkpoint path (default: the shipped weights).
        onnx_dir: folder with `lfnet-export` output; without it, ONNX Runtime exports the
            weights once into `cache_dir` (needs torch).
        device: torch device for the torch backend ('cpu', 'cuda'); a 'cuda:N' also picks the
            TensorRT device.
        threads: intra-op threads for ONNX Runtime (default: its own choice).
        cache_dir: where exported models are cached (default: `default_cache_dir()`).
        engine_path: TensorRT engines: a folder with lfnet_dense.engine and
            lfnet_describe.engine (from `lfnet-build-engine EXPORT_DIR --out FOLDER`); without
            it, the engine cache is searched for engines of this model's ONNX files.
        engine_cache_dir: the engine cache (default: `default_cache_dir() / 'tensorrt'`).
        pool_scales: descriptor pooling factors that replace the checkpoint's
            (`DescriptorConfig.pool_scales`; each one more descriptor pass); default: its own.
            Exports, caches and engines follow them; an `onnx_dir` or `engine_path` made
            without them is refused.

    Engines are only loaded, never built here: build them with `lfnet-build-engine`. `auto`
    takes TensorRT only when it is importable, a GPU is present and a matching engine exists;
    else ONNX Runtime (CUDA provider when present, else CPU); else PyTorch.

    Raises:
        ValueError: unknown name, or invalid `pool_scales`.
        BackendUnavailableError: a named backend cannot run here (or not with `pool_scales`).

    """
    if name not in BACKEND_NAMES:
        raise ValueError(f'unknown backend {name!r}; choose one of {BACKEND_NAMES}')
    pool_scales = None if pool_scales is None else pool_factors(pool_scales)

    def checked(create: Callable[[], Backend]) -> Callable[[], Backend]:
        """Refuse a backend whose model pools otherwise than asked (an export without torch)."""
        def create_checked() -> Backend:
            backend = create()
            pooled = backend.config.descriptor.pool_scales
            if pool_scales is not None and pooled != pool_scales:
                raise BackendUnavailableError(
                    f'{backend.name} runs a model with pool_scales {list(pooled)}, not '
                    f'{list(pool_scales)}: export it with lfnet-export --pool-scales')
            return backend
        return create_checked

    factories = {'tensorrt': lambda: _create_tensorrt(weights, onnx_dir, cache_dir, engine_path,
                                                      engine_cache_dir, device, pool_scales),
                 'onnxruntime': lambda: _create_onnxruntime(weights, onnx_dir, cache_dir,
                                                            threads, True, pool_scales),
                 'torch': lambda: _create_torch(weights, device, pool_scales)}
    if name != 'auto':
        return checked(factories[name])()
    reasons = []
    for backend_name, factory in ((key, checked(value)) for key, value in factories.items()):
        try:
            backend = factory()
        except BackendUnavailableError as exc:
            reasons.append(f'{backend_name}: {exc}')
            continue
        detail = ''
        providers = getattr(backend, 'providers', None)
        if providers:
            detail = f' [{", ".join(providers)}]'
            if 'CUDAExecutionProvider' not in providers:
                detail += ' (CPU: no CUDAExecutionProvider; onnxruntime-gpu and a GPU needed)'
        LOG.info('backend auto -> %s%s%s', backend_name, detail,
                 f' (passed over: {"; ".join(reasons)})' if reasons else '')
        return backend
    raise BackendUnavailableError('no backend can run: ' + '; '.join(reasons))
