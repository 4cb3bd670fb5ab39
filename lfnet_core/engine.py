# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT engine builder and engine cache (`lfnet-build-engine`).

Written from NVIDIA's documented TensorRT 10 Python API and NEVER EXECUTED: no machine this was
written on has a GPU or TensorRT (the README's "Running on a GPU" says what has been verified
where). The cache logic below the TensorRT calls is plain Python and tested without TensorRT.

An engine is valid for one ONNX file, one TensorRT version, one GPU model, one precision and one
input-shape profile. The cache keeps `<cache>/<key>.engine` and `<key>.json`; the JSON holds the
key's fields (plus the model's `lfnet_config`), and loading checks every field against the running
environment: a stale or foreign engine is refused with the file and the field named. Nothing here
rebuilds an engine behind the user's back: the backend only loads; building is this CLI's job (or
an explicit `ensure_engines(..., build=True)`).

This module imports only the standard library at import time, so `lfnet-build-engine` without
TensorRT exits at once.
"""

import argparse
from dataclasses import asdict, dataclass, field, fields, replace
import hashlib
import json
import os
from pathlib import Path
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

PathLike = Union[str, os.PathLike]
HW = Tuple[int, int]

INSTALL_HINT = (
    "TensorRT is not installed. It runs on NVIDIA GPU hosts only: install NVIDIA's wheels from "
    "NVIDIA's index (pip install tensorrt-cu12 --extra-index-url https://pypi.nvidia.com; the "
    'PyPI packages are placeholders that download from there), or on Jetson use the JetPack '
    'python3-libnvinfer packages. Without TensorRT, use the onnxruntime backend (onnxruntime-gpu '
    'for CUDA).')
EXIT_NO_TENSORRT = 2
PRECISIONS = ('fp32', 'fp16')
KEY_FIELDS = ('onnx_sha256', 'tensorrt_version', 'gpu', 'precision', 'profile')
# Mirrors lfnet_core.export (not imported: it pulls in torch).
MAX_SIDE = 8192
MAX_KEYPOINTS = 8192
DEFAULT_OPT_HW = (480, 640)
DEFAULT_MAX_HW = (1088, 1920)
DEFAULT_MAX_KEYPOINTS = 4096
DEFAULT_OPT_KEYPOINTS = 1000
DEFAULT_WORKSPACE_MIB = 2048
GRAPH_FILES = {'dense': 'lfnet_dense', 'describe': 'lfnet_describe'}


class EngineCacheError(RuntimeError):
    """An engine is missing, stale or foreign; the message names the file and the field."""


# ----------------------------------------------------------------------------------- environment


@dataclass(frozen=True)
class EngineEnvironment:
    """What an engine is tied to besides its ONNX file: the TensorRT version and the GPU model."""

    tensorrt_version: str
    gpu: str

    @classmethod
    def detect(cls) -> 'EngineEnvironment':
        """Describe the running machine (imports tensorrt; raises ImportError without it)."""
        import tensorrt
        return cls(str(tensorrt.__version__), gpu_name())


def gpu_name(device: int = 0) -> str:
    """Name of CUDA device `device` via torch, else nvidia-smi; '' when there is no GPU."""
    try:
        import torch
        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(device))
    except ImportError:
        pass
    try:
        out = subprocess.run(['nvidia-smi', '--query-gpu=name', '--format=csv,noheader'],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ''
    names = [line.strip() for line in out.splitlines() if line.strip()]
    return names[device] if len(names) > device else ''


# --------------------------------------------------------------------------------------- profile


@dataclass(frozen=True)
class ShapeProfile:
    """One TensorRT optimisation profile: image size (H, W) and keypoint count ranges."""

    min_hw: HW
    opt_hw: HW
    max_hw: HW
    min_keypoints: int = 1
    opt_keypoints: int = DEFAULT_OPT_KEYPOINTS
    max_keypoints: int = DEFAULT_MAX_KEYPOINTS

    def __post_init__(self) -> None:
        for name in ('min_hw', 'opt_hw', 'max_hw'):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        for axis in (0, 1):
            if not self.min_hw[axis] <= self.opt_hw[axis] <= self.max_hw[axis]:
                raise ValueError(f'profile needs min <= opt <= max, got {self.text()}')
        if not 1 <= self.min_keypoints <= self.opt_keypoints <= self.max_keypoints:
            raise ValueError(f'profile needs 1 <= min <= opt <= max keypoints, got {self.text()}')
        if self.max_keypoints > MAX_KEYPOINTS or max(self.max_hw) > MAX_SIDE:
            raise ValueError(f'profile exceeds the export limits ({MAX_SIDE} px, '
                             f'{MAX_KEYPOINTS} keypoints): {self.text()}')

    @classmethod
    def fixed(cls, hw: HW, max_keypoints: int = DEFAULT_MAX_KEYPOINTS) -> 'ShapeProfile':
        """Return a profile for one image size."""
        return cls(hw, hw, hw, 1, min(DEFAULT_OPT_KEYPOINTS, max_keypoints), max_keypoints)

    def text(self) -> str:
        """Canonical text, part of the cache key: 'HxW:HxW:HxW/n:n:n' (min:opt:max)."""
        sides = ':'.join(f'{h}x{w}' for h, w in (self.min_hw, self.opt_hw, self.max_hw))
        return f'{sides}/{self.min_keypoints}:{self.opt_keypoints}:{self.max_keypoints}'

    def check_min_side(self, min_side: int) -> None:
        """Refuse image sizes below the network's smallest input (2 * border + 1)."""
        if min(self.min_hw) < min_side:
            raise ValueError(f"profile minimum {self.min_hw} is below the model's smallest "
                             f'input side {min_side}')

    def input_shapes(self, inputs: Dict[str, Sequence[int]]) -> Dict[str, Tuple[tuple, ...]]:
        """(min, opt, max) shapes for each network input with a dynamic (-1) dimension.

        Rank-4 inputs (image, score, scale, orientation: (1, C, H, W)) take H and W from the
        profile, `keypoints` (1, N, 2) takes N; any other dynamic dimension is refused.
        """
        shapes = {}
        sizes = (self.min_hw, self.opt_hw, self.max_hw)
        counts = (self.min_keypoints, self.opt_keypoints, self.max_keypoints)
        for name, dims in inputs.items():
            dims = tuple(int(d) for d in dims)
            if -1 not in dims:
                continue
            if len(dims) == 4 and -1 not in dims[:2]:
                per = [dims[:2] + tuple(hw[i] if dims[2 + i] == -1 else dims[2 + i]
                                        for i in (0, 1)) for hw in sizes]
            elif name == 'keypoints' and len(dims) == 3 and -1 not in (dims[0], dims[2]):
                per = [(dims[0], n, dims[2]) for n in counts]
            else:
                raise ValueError(f'input {name} {dims}: only H, W and N may be dynamic')
            shapes[name] = tuple(per)
        return shapes


def parse_hw(text: str) -> HW:
    """Parse 'HxW' (e.g. 480x640)."""
    try:
        height, width = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected HxW, got {text!r}')
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f'expected positive HxW, got {text!r}')
    return height, width


def default_profile(min_side: int, fixed_hw: Optional[HW] = None,
                    max_keypoints: int = DEFAULT_MAX_KEYPOINTS) -> ShapeProfile:
    """Return the profile used without --shape/--min/--opt/--max.

    That is the export's fixed size, else min_side..1088x1920 (opt 480x640).
    """
    if fixed_hw:
        return ShapeProfile.fixed(fixed_hw, max_keypoints)
    return ShapeProfile((min_side, min_side), DEFAULT_OPT_HW, DEFAULT_MAX_HW, 1,
                        min(DEFAULT_OPT_KEYPOINTS, max_keypoints), max_keypoints)


# ------------------------------------------------------------------------------------- cache key


@dataclass(frozen=True)
class EngineRecord:
    """The JSON beside an engine: the key fields, then what the backend needs to run it."""

    onnx_sha256: str
    tensorrt_version: str
    gpu: str
    precision: str
    profile: str
    graph: str = ''
    onnx_file: str = ''
    lfnet_config: Dict[str, Any] = field(default_factory=dict, compare=False)
    lfnet_fingerprint: str = ''
    built_at: str = field(default='', compare=False)
    build_seconds: float = field(default=0.0, compare=False)
    engine_sha256: str = ''  # the plan's bytes: a truncated, damaged or swapped file is refused

    def key(self) -> str:
        """Cache key: sha256 over the key fields (first 32 hex digits)."""
        blob = json.dumps({name: getattr(self, name) for name in KEY_FIELDS}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def to_json(self) -> str:
        """Serialise (pretty, sorted keys)."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: PathLike = '<string>') -> 'EngineRecord':
        """Parse; refuse unknown layouts with the file named."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EngineCacheError(f'{source}: not an engine record ({exc})') from exc
        missing = [name for name in KEY_FIELDS if name not in data]
        if missing:
            raise EngineCacheError(f'{source}: engine record lacks {", ".join(missing)}; '
                                   'rebuild with lfnet-build-engine')
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def check(self, source: PathLike, env: EngineEnvironment, onnx_sha256: Optional[str] = None,
              precision: Optional[str] = None, profile: Optional[str] = None) -> None:
        """Raise EngineCacheError naming `source` and the first field that does not match."""
        expected = {'tensorrt_version': env.tensorrt_version, 'gpu': env.gpu,
                    'onnx_sha256': onnx_sha256, 'precision': precision, 'profile': profile}
        for name in ('tensorrt_version', 'gpu', 'onnx_sha256', 'precision', 'profile'):
            want = expected[name]
            if want is not None and getattr(self, name) != want:
                raise EngineCacheError(
                    f'{source}: engine built for {name} {getattr(self, name)!r}, but this needs '
                    f'{want!r}; rebuild it with lfnet-build-engine (engines are tied to one ONNX '
                    'file, TensorRT version, GPU model, precision and shape profile)')


def bytes_sha256(data: bytes) -> str:
    """SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def check_engine_file(engine_path: PathLike, record: EngineRecord) -> None:
    """Refuse an engine file whose bytes are not the ones its record was written for.

    Records without ``engine_sha256`` (written before it existed) are not checked.
    """
    if record.engine_sha256 and file_sha256(engine_path) != record.engine_sha256:
        raise EngineCacheError(f'{engine_path}: engine file is corrupt (truncated, damaged or '
                               'not the engine its record describes: sha256 differs); rebuild '
                               'it with lfnet-build-engine')


def file_sha256(path: PathLike) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def record_path(engine_path: PathLike) -> Path:
    """Return the JSON record beside an engine file (`x.engine` -> `x.json`)."""
    return Path(engine_path).with_suffix('.json')


def load_record(engine_path: PathLike, env: EngineEnvironment,
                onnx_sha256: Optional[str] = None, precision: Optional[str] = None,
                profile: Optional[str] = None) -> EngineRecord:
    """Read an engine's record and check it against the running environment.

    When given, the expected ONNX hash, precision and profile are checked too.
    """
    engine_path = Path(engine_path)
    if not engine_path.is_file():
        raise EngineCacheError(f'engine not found: {engine_path}')
    meta = record_path(engine_path)
    if not meta.is_file():
        raise EngineCacheError(f'{engine_path}: no {meta.name} beside it, so it cannot be checked '
                               'against this TensorRT/GPU; build engines with lfnet-build-engine')
    record = EngineRecord.from_json(meta.read_text(), meta)
    record.check(engine_path, env, onnx_sha256, precision, profile)
    check_engine_file(engine_path, record)
    return record


class EngineCache:
    """`<root>/<key>.engine` + `<key>.json` (the default root: `<lfnet cache>/tensorrt`)."""

    def __init__(self, root: Optional[PathLike] = None) -> None:
        if root is None:
            from lfnet_core.inference import default_cache_dir
            root = default_cache_dir() / 'tensorrt'
        self.root = Path(root)

    def path_for(self, record: EngineRecord) -> Path:
        """Engine file for a record."""
        return self.root / f'{record.key()}.engine'

    def store(self, record: EngineRecord, plan: bytes) -> Path:
        """Write the engine and its record (engine first; the record marks it complete)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not record.engine_sha256:
            record = replace(record, engine_sha256=bytes_sha256(plan))
        path = self.path_for(record)
        _atomic_write(path, plan)
        _atomic_write(record_path(path), record.to_json().encode())
        return path

    def records(self) -> List[Tuple[Path, EngineRecord]]:
        """Every readable (engine, record) pair in the cache, newest first."""
        found = []
        for meta in sorted(self.root.glob('*.json')):
            engine = meta.with_suffix('.engine')
            try:
                record = EngineRecord.from_json(meta.read_text(), meta)
            except EngineCacheError:
                continue
            if engine.is_file():
                found.append((engine, record))
        found.sort(key=lambda item: item[1].built_at, reverse=True)
        return found

    def find(self, onnx_sha256: str, env: EngineEnvironment,
             precision: Optional[str] = None) -> Path:
        """Return the newest engine for this ONNX file that matches the environment.

        Raises:
            EngineCacheError: none; the message lists engines of this model that were refused.

        """
        refused = []
        for engine, record in self.records():
            if record.onnx_sha256 != onnx_sha256:
                continue
            try:
                record.check(engine, env, onnx_sha256, precision)
                check_engine_file(engine, record)
            except EngineCacheError as exc:
                refused.append(str(exc))
                continue
            return engine
        what = f'{precision} ' if precision else ''
        message = (f'no {what}TensorRT engine in {self.root} for ONNX sha256 {onnx_sha256[:16]}… '
                   f'(TensorRT {env.tensorrt_version}, GPU {env.gpu or "none"}); build one with '
                   'lfnet-build-engine')
        if refused:
            message += '; refused: ' + ' | '.join(refused)
        raise EngineCacheError(message)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f'.tmp{os.getpid()}')
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------ ONNX information


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


# ------------------------------------------------------------------------------ TensorRT builder


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
        _atomic_write(timing_cache, bytes(config.get_timing_cache().serialize()))
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


def engine_pair(path: PathLike) -> Tuple[Path, Path]:
    """Return the (dense, describe) engine files for an `engine_path`.

    That is a folder holding lfnet_dense.engine and lfnet_describe.engine (written by
    `lfnet-build-engine EXPORT_DIR --out FOLDER`), or one of those two files.
    """
    path = Path(path)
    folder = path.parent if path.suffix == '.engine' else path
    names = [f'{stem}.engine' for stem in GRAPH_FILES.values()]
    if path.suffix == '.engine' and path.name not in names:
        raise EngineCacheError(f'{path}: engine_path must be a folder with {" and ".join(names)} '
                               '(lfnet-build-engine EXPORT_DIR --out FOLDER) or one of them')
    pair = tuple(folder / name for name in names)
    missing = [str(p) for p in pair if not p.is_file()]
    if missing:
        raise EngineCacheError(f'engine not found: {", ".join(missing)}; build with '
                               f'lfnet-build-engine EXPORT_DIR --out {folder}')
    return pair


# ------------------------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='lfnet-build-engine',
        description='Build TensorRT engines from lfnet-export ONNX graphs into the engine cache.')
    parser.add_argument('model', help='an lfnet-export .onnx file, or a folder holding '
                        'lfnet_dense.onnx and lfnet_describe.onnx (builds both)')
    parser.add_argument('--fp16', action='store_true', help='allow FP16 kernels')
    parser.add_argument('--shape', type=parse_hw, help='one fixed image size HxW')
    parser.add_argument('--min', type=parse_hw, help='smallest image HxW (with --opt, --max)')
    parser.add_argument('--opt', type=parse_hw, help='image size to tune for, HxW')
    parser.add_argument('--max', type=parse_hw, help='largest image HxW')
    parser.add_argument('--max-keypoints', type=int, default=DEFAULT_MAX_KEYPOINTS,
                        help=f'largest keypoint count (default {DEFAULT_MAX_KEYPOINTS})')
    parser.add_argument('--workspace', type=int, default=DEFAULT_WORKSPACE_MIB,
                        help=f'builder workspace in MiB (default {DEFAULT_WORKSPACE_MIB})')
    parser.add_argument('--timing-cache', help='timing cache file, reused across builds')
    parser.add_argument('--out', help='also copy the engine (+ .json) here: a file for one '
                        '.onnx, a folder for an lfnet-export folder')
    parser.add_argument('--cache-dir', help='engine cache (default: <lfnet cache>/tensorrt)')
    parser.add_argument('--verbose', action='store_true', help="TensorRT's INFO log")
    return parser


def _profile_from_args(args: argparse.Namespace, info: OnnxInfo) -> ShapeProfile:
    ranges = (args.min, args.opt, args.max)
    if args.shape and any(ranges):
        raise ValueError('use either --shape or --min/--opt/--max')
    if any(ranges) and not all(ranges):
        raise ValueError('--min, --opt and --max go together')
    if info.fixed_hw and (any(ranges) or (args.shape and args.shape != info.fixed_hw)):
        raise ValueError(f'{info.path} was exported for a fixed {info.fixed_hw[0]}x'
                         f'{info.fixed_hw[1]} input')
    keypoints = args.max_keypoints
    opt_keypoints = min(DEFAULT_OPT_KEYPOINTS, keypoints)
    if args.shape:
        profile = ShapeProfile.fixed(args.shape, keypoints)
    elif all(ranges):
        profile = ShapeProfile(args.min, args.opt, args.max, 1, opt_keypoints, keypoints)
    else:
        profile = default_profile(info.min_side, info.fixed_hw, keypoints)
    profile.check_min_side(info.min_side)
    return profile


def _model_files(model: Path) -> List[Path]:
    if model.is_dir():
        files = [model / f'{stem}.onnx' for stem in GRAPH_FILES.values()]
        missing = [str(path) for path in files if not path.is_file()]
        if missing:
            raise FileNotFoundError(f'not an lfnet-export folder, missing: {", ".join(missing)}')
        return files
    if not model.is_file():
        raise FileNotFoundError(f'ONNX model not found: {model}')
    return [model]


def _build_files(args: argparse.Namespace) -> List[Path]:
    """Return the ONNX files the CLI builds; refuse an --out file for a whole export folder."""
    files = _model_files(Path(args.model))
    if args.out and len(files) > 1 and Path(args.out).suffix:
        raise ValueError('--out must be a folder when building a whole export folder')
    return files


def _out_target(out: Optional[PathLike], onnx_path: Path, count: int) -> Optional[Path]:
    """Return where --out copies the engine built from `onnx_path` (one of `count` files)."""
    if not out:
        return None
    out = Path(out)
    return out / f'{onnx_path.stem}.engine' if count > 1 or out.is_dir() else out


def _save_engine(cache: EngineCache, record: EngineRecord, plan: bytes,
                 target: Optional[Path] = None) -> Path:
    """Store a built plan in the cache (its sha256 in the record) and copy both to `target`."""
    record = replace(record, engine_sha256=bytes_sha256(plan))
    engine = cache.store(record, plan)
    print(f'  wrote {engine} ({len(plan) / 2**20:.1f} MiB)')
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, plan)
        _atomic_write(record_path(target), record.to_json().encode())
        print(f'  copied to {target}')
    return engine


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `lfnet-build-engine`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not {'-h', '--help'} & set(argv):
        try:
            import tensorrt  # noqa: F401
        except ImportError as exc:
            print(f'lfnet-build-engine: {INSTALL_HINT} ({exc})', file=sys.stderr)
            return EXIT_NO_TENSORRT
    args = _parser().parse_args(argv)
    try:
        env = EngineEnvironment.detect()
        if not env.gpu:
            print('lfnet-build-engine: no CUDA GPU found (torch.cuda / nvidia-smi); TensorRT '
                  'builds engines for the GPU it runs on', file=sys.stderr)
            return EXIT_NO_TENSORRT
        files = _build_files(args)
        cache = EngineCache(args.cache_dir)
        precision = 'fp16' if args.fp16 else 'fp32'
        print(f'TensorRT {env.tensorrt_version} on {env.gpu}, {precision}, cache {cache.root}')
        total = time.perf_counter()
        for path in files:
            info = onnx_info(path)
            profile = _profile_from_args(args, info)
            print(f'{path.name} ({info.graph}): profile {profile.text()}')
            start = time.perf_counter()
            plan = build_engine(info, profile, args.fp16, args.workspace, args.timing_cache,
                                args.verbose)
            record = new_record(info, env, precision, profile, time.perf_counter() - start)
            _save_engine(cache, record, plan, _out_target(args.out, path, len(files)))
        print(f'done in {time.perf_counter() - total:.1f} s')
    except (OSError, ValueError, RuntimeError) as exc:
        print(f'lfnet-build-engine: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
