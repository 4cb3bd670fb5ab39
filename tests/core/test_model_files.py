# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Damaged model files (ONNX, engines) give a clear error naming the file; caches stay inside.

Weights (`weights_only=True`, truncated/garbage/empty/pickled files) are covered in
test_backends.py; the engine cache's environment checks in test_engine.py.
"""

import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

from lfnet_core.inference import BackendUnavailableError, create_backend
from lfnet_core.tensorrt import engine_cache
from lfnet_core.tensorrt.engine_cache import EngineCache, EngineCacheError, EngineRecord
from lfnet_core.tensorrt.environment import EngineEnvironment
from model_helpers import randomised_model, shared_export

REPO = Path(__file__).resolve().parents[2]
ENV = EngineEnvironment('10.15.1', 'NVIDIA GeForce RTX 4090')


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    model = randomised_model(0)
    paths, weights = shared_export(tmp_path_factory, model)
    return model, paths, weights


def _damaged_copy(paths, folder: Path, which: str, damage: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in (paths.dense, paths.describe):
        shutil.copy(path, folder / path.name)
    target = folder / getattr(paths, which).name
    data = target.read_bytes()
    target.write_bytes({'truncated': data[:len(data) // 3], 'empty': b'',
                        'garbage': b'\x08\xff not an onnx graph' * 50}[damage])
    return target


@pytest.mark.parametrize('damage', ['truncated', 'empty', 'garbage'])
@pytest.mark.parametrize('which', ['dense', 'describe'])
def test_damaged_onnx_names_the_file(exported, tmp_path, which, damage):
    _, paths, weights = exported
    target = _damaged_copy(paths, tmp_path / 'onnx', which, damage)
    for kwargs in ({}, {'weights': weights}):
        with pytest.raises((ValueError, BackendUnavailableError)) as info:
            create_backend('onnxruntime', onnx_dir=target.parent, **kwargs)
        assert str(target) in str(info.value), (kwargs, str(info.value))


def _record(plan: bytes, **changes) -> EngineRecord:
    fields = {'onnx_sha256': 'a' * 64, 'tensorrt_version': ENV.tensorrt_version, 'gpu': ENV.gpu,
              'precision': 'fp32', 'profile': '33x33:480x640:1088x1920/1:1000:4096',
              'engine_sha256': engine_cache.bytes_sha256(plan)}
    fields.update(changes)
    return EngineRecord(**fields)


@pytest.mark.parametrize('damage', ['truncated', 'garbage', 'empty'])
def test_damaged_engine_is_refused_by_name(tmp_path, damage):
    plan = b'serialized plan bytes ' * 100
    cache = EngineCache(tmp_path / 'cache')
    path = cache.store(_record(plan), plan)
    assert engine_cache.load_record(path, ENV).engine_sha256 == engine_cache.bytes_sha256(plan)
    path.write_bytes({'truncated': plan[:100], 'garbage': b'x' * len(plan), 'empty': b''}[damage])
    with pytest.raises(EngineCacheError) as info:
        engine_cache.load_record(path, ENV)
    assert str(path) in str(info.value) and 'corrupt' in str(info.value)
    with pytest.raises(EngineCacheError, match='refused.*corrupt'):
        cache.find('a' * 64, ENV)  # the cache never hands out a damaged engine


def test_engine_record_beside_another_engine_is_refused(tmp_path):
    """A record copied beside another model's engine: the plan's hash gives it away."""
    ours, theirs = b'plan of model A' * 10, b'plan of model B' * 10
    path = EngineCache(tmp_path).store(_record(ours), ours)
    path.write_bytes(theirs)
    with pytest.raises(EngineCacheError, match='corrupt'):
        engine_cache.load_record(path, ENV)


def test_records_without_engine_hash_still_load(tmp_path):
    path = tmp_path / 'old.engine'  # written before records carried the plan's hash
    path.write_bytes(b'p')
    engine_cache.record_path(path).write_text(_record(b'p', engine_sha256='').to_json())
    assert engine_cache.load_record(path, ENV).engine_sha256 == ''


def test_onnx_export_writes_only_into_the_cache_folder(tmp_path):
    """A first ONNX Runtime start exports into LFNET_CACHE_DIR and nowhere else."""
    cache, home, work = tmp_path / 'cache', tmp_path / 'home', tmp_path / 'work'
    for folder in (home, work):
        folder.mkdir()
    env = dict(os.environ, LFNET_CACHE_DIR=str(cache), HOME=str(home),
               XDG_CACHE_HOME=str(home / '.cache'), PYTHONDONTWRITEBYTECODE='1')
    code = ('from lfnet_core.inference import create_backend; import numpy as np; '
            "b = create_backend('onnxruntime', threads=1); "
            "print(b.name, len(b.extract(np.zeros((64, 80), np.uint8), 10)['keypoints']))")
    proc = subprocess.run([sys.executable, '-c', code], cwd=str(work), env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[0] == 'onnxruntime'
    written = sorted(p.relative_to(cache).as_posix() for p in cache.rglob('*') if p.is_file())
    assert any(name.endswith('lfnet_dense.onnx') for name in written), written
    assert all(name.startswith('onnx/') for name in written), written
    # onnxruntime itself (1.32) keeps a device id and a telemetry database under
    # $XDG_CACHE_HOME/Microsoft/DeveloperTools, even after disable_telemetry_events(); that is
    # the only write outside the cache folder, and not this project's
    foreign = sorted(p.relative_to(home).as_posix() for p in home.rglob('*') if p.is_file())
    assert all(name.startswith('.cache/Microsoft/DeveloperTools/.onnxruntime/')
               for name in foreign), foreign
    assert not list(work.rglob('*'))
