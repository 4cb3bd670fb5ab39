# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Engine records and the engine cache: every engine is checked before it is loaded.

`<root>/<key>.engine` + `<key>.json`: the record names the ONNX file's hash, the TensorRT version,
the GPU model, the precision and the shape profile it was built for, and the engine's own hash.
"""

from dataclasses import asdict, dataclass, field, fields, replace
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from lfnet_core.cache import default_cache_dir
from lfnet_core.tensorrt.environment import EngineEnvironment

PathLike = Union[str, os.PathLike]
PRECISIONS = ('fp32', 'fp16')
KEY_FIELDS = ('onnx_sha256', 'tensorrt_version', 'gpu', 'precision', 'profile')
GRAPH_FILES = {'dense': 'lfnet_dense', 'describe': 'lfnet_describe'}


class EngineCacheError(RuntimeError):
    """An engine is missing, stale or foreign; the message names the file and the field."""


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
        atomic_write(path, plan)
        atomic_write(record_path(path), record.to_json().encode())
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


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file, so readers never see half a file."""
    tmp = path.with_name(path.name + f'.tmp{os.getpid()}')
    tmp.write_bytes(data)
    os.replace(tmp, path)


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


def checked_engine_pair(path: PathLike, env: EngineEnvironment,
                        onnx_dir: Optional[PathLike] = None
                        ) -> Tuple[Tuple[Path, Path], Tuple[EngineRecord, EngineRecord]]:
    """Return the (dense, describe) engines at `path` (see `engine_pair`) and their records.

    Each record is checked against `env` and, when `onnx_dir` is given, against the hash of the
    ONNX file of its graph there.

    Raises:
        EngineCacheError: an engine is missing, stale, foreign or damaged.

    """
    engines = engine_pair(path)
    sources: List[Optional[Path]] = [None, None]
    if onnx_dir:  # also check the engines against these ONNX files
        sources = [Path(onnx_dir) / f'{stem}.onnx' for stem in GRAPH_FILES.values()]
    dense, describe = (load_record(engine, env, file_sha256(source) if source else None)
                       for engine, source in zip(engines, sources))
    return engines, (dense, describe)
