# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the TensorRT engine builder/cache (`lfnet_core.engine`) and the GPU backends.

Without a GPU (every machine these tests were written on) they cover: the CLI's exit without
TensorRT, the backend's refusal and the `auto` fallback, and the engine cache's key logic with an
injected environment. The GPU parity tests at the end are skipped there.
"""

import json
import logging
import os
from pathlib import Path
import subprocess
import sys
import time
import types

import numpy as np
import pytest
import skimage.data

from lfnet_core import engine
from lfnet_core.engine import (EngineCache, EngineCacheError, EngineEnvironment, EngineRecord,
                               ShapeProfile)
from lfnet_core.export import keypoint_agreement
from lfnet_core.inference import BackendUnavailableError, create_backend, prepare_image
from lfnet_core.inference import select_top_k
from lfnet_core.inference.onnxruntime_backend import OnnxRuntimeBackend
from model_helpers import randomised_model, shared_export

ENV = EngineEnvironment('10.15.1', 'NVIDIA GeForce RTX 4090')
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    model = randomised_model(0)
    paths, weights = shared_export(tmp_path_factory, model)
    return model, paths, weights


@pytest.fixture
def fake_tensorrt(monkeypatch):
    """Provide an importable `tensorrt` stand-in, a 'present' GPU and a fixed environment."""
    import torch

    module = types.ModuleType('tensorrt')
    module.__version__ = ENV.tensorrt_version
    monkeypatch.setitem(sys.modules, 'tensorrt', module)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(EngineEnvironment, 'detect', classmethod(lambda cls: ENV))
    return module


def _record(**changes):
    fields = {'onnx_sha256': 'a' * 64, 'tensorrt_version': ENV.tensorrt_version, 'gpu': ENV.gpu,
              'precision': 'fp16', 'profile': ShapeProfile.fixed((480, 640)).text(),
              'graph': 'dense', 'onnx_file': 'lfnet_dense.onnx',
              'lfnet_config': {'detector': {'border': 16}}, 'lfnet_fingerprint': 'f' * 64,
              'built_at': '2026-11-24T10:00:00+0000', 'build_seconds': 12.5}
    fields.update(changes)
    return EngineRecord(**fields)


def _store(folder: Path, name: str, record: EngineRecord) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b'not a real plan')
    engine.record_path(path).write_text(record.to_json())
    return path


# ------------------------------------------------------------------------- without TensorRT


def test_cli_without_tensorrt_exits_at_once(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, 'tensorrt', None)  # import tensorrt -> ImportError
    start = time.perf_counter()
    code = engine.main([str(tmp_path / 'missing.onnx'), '--fp16', '--shape', '480x640'])
    assert time.perf_counter() - start < 2.0
    assert code == engine.EXIT_NO_TENSORRT == 2
    err = capsys.readouterr().err
    assert 'TensorRT is not installed' in err and 'pypi.nvidia.com' in err and 'JetPack' in err
    assert 'missing.onnx' not in err  # nothing else was looked at


def test_cli_without_tensorrt_in_a_fresh_interpreter():
    """Importing the module and exiting costs < 2 s and never imports torch."""
    code = ('import sys, time\n'
            "sys.modules['tensorrt'] = None\n"
            'start = time.perf_counter()\n'
            'from lfnet_core.engine import main\n'
            "code = main(['lfnet_dense.onnx'])\n"
            "print(time.perf_counter() - start, 'torch' in sys.modules)\n"
            'sys.exit(code)\n')
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    elapsed, torch_imported = result.stdout.split()
    assert float(elapsed) < 2.0 and torch_imported == 'False'
    assert 'pip install tensorrt' in result.stderr


def test_cli_help_works_without_tensorrt(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'tensorrt', None)
    with pytest.raises(SystemExit) as info:
        engine.main(['--help'])
    assert info.value.code == 0
    assert '--max-keypoints' in capsys.readouterr().out


def test_tensorrt_backend_unavailable_is_actionable(monkeypatch):
    monkeypatch.setitem(sys.modules, 'tensorrt', None)
    with pytest.raises(BackendUnavailableError, match='TensorRT') as info:
        create_backend('tensorrt')
    assert 'pip install tensorrt' in str(info.value) and 'onnxruntime' in str(info.value)


def test_tensorrt_without_gpu(fake_tensorrt, monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(BackendUnavailableError, match='no CUDA GPU'):
        create_backend('tensorrt')


def test_auto_falls_back_to_onnxruntime_cpu(exported, caplog, monkeypatch):
    _, paths, weights = exported
    monkeypatch.setitem(sys.modules, 'tensorrt', None)
    with caplog.at_level(logging.INFO, logger='lfnet_core.inference'):
        backend = create_backend('auto', weights=weights, onnx_dir=paths.dense.parent)
    assert isinstance(backend, OnnxRuntimeBackend)
    assert backend.providers == ['CPUExecutionProvider']
    assert 'auto -> onnxruntime [CPUExecutionProvider]' in caplog.text
    assert 'tensorrt: TensorRT is not installed' in caplog.text


def test_auto_without_a_cached_engine_never_builds(exported, fake_tensorrt, tmp_path, caplog,
                                                   monkeypatch):
    _, paths, weights = exported
    monkeypatch.setattr(engine, 'build_engine', lambda *a, **k: pytest.fail('built an engine'))
    with pytest.raises(BackendUnavailableError, match='lfnet-build-engine'):
        create_backend('tensorrt', onnx_dir=paths.dense.parent, engine_cache_dir=tmp_path)
    with caplog.at_level(logging.INFO, logger='lfnet_core.inference'):
        backend = create_backend('auto', weights=weights, onnx_dir=paths.dense.parent,
                                 engine_cache_dir=tmp_path)
    assert backend.name == 'onnxruntime'
    assert 'no TensorRT engine in' in caplog.text


def test_auto_picks_tensorrt_when_engines_are_cached(exported, fake_tensorrt, tmp_path,
                                                     monkeypatch):
    """With TensorRT, a GPU and matching engines, `auto` loads them (the backend is stubbed)."""
    _, paths, weights = exported
    cache = EngineCache(tmp_path)
    for onnx_path in (paths.dense, paths.describe):
        info = engine.onnx_info(onnx_path)
        cache.store(engine.new_record(info, ENV, 'fp16', ShapeProfile.fixed((480, 640))), b'plan')
    loaded = []

    class StubBackend:
        name = 'tensorrt'

        def __init__(self, dense, describe, device=None):
            loaded.append((Path(dense), Path(describe)))

    monkeypatch.setattr('lfnet_core.inference.tensorrt_backend.TensorRTBackend', StubBackend)
    backend = create_backend('auto', weights=weights, onnx_dir=paths.dense.parent,
                             engine_cache_dir=tmp_path)
    assert backend.name == 'tensorrt'
    (dense, describe), = loaded
    assert engine.EngineRecord.from_json(engine.record_path(dense).read_text()).graph == 'dense'
    assert engine.EngineRecord.from_json(
        engine.record_path(describe).read_text()).graph == 'describe'


def test_engine_path_is_checked(exported, fake_tensorrt, tmp_path, caplog):
    _, paths, _ = exported
    dense_sha = engine.file_sha256(paths.dense)
    folder = tmp_path / 'engines'
    _store(folder, 'lfnet_dense.engine', _record(onnx_sha256=dense_sha, gpu='Tesla T4'))
    _store(folder, 'lfnet_describe.engine', _record(graph='describe'))
    with pytest.raises(BackendUnavailableError) as info:
        create_backend('tensorrt', engine_path=folder)
    message = str(info.value)
    assert 'lfnet_dense.engine' in message and 'gpu' in message and 'Tesla T4' in message
    assert 'TensorRT engine refused' in caplog.text
    _store(folder, 'lfnet_dense.engine', _record(onnx_sha256=dense_sha))
    with pytest.raises(BackendUnavailableError, match='lfnet_describe.engine.*onnx_sha256'):
        create_backend('tensorrt', engine_path=folder, onnx_dir=paths.dense.parent)
    with pytest.raises(BackendUnavailableError, match='engine not found'):
        create_backend('tensorrt', engine_path=tmp_path / 'elsewhere')
    with pytest.raises(BackendUnavailableError, match='must be a folder'):
        create_backend('tensorrt', engine_path=folder / 'model.engine')


# ------------------------------------------------------------------------------ cache key logic


def test_record_json_round_trip_and_key():
    record = _record()
    again = EngineRecord.from_json(record.to_json())
    assert again == record and again.lfnet_config == record.lfnet_config
    assert again.key() == record.key() and len(record.key()) == 32
    assert set(json.loads(record.to_json())) >= set(engine.KEY_FIELDS)
    # Only the key fields make the key.
    assert _record(built_at='2027-01-01', build_seconds=1.0, onnx_file='x.onnx').key() == \
        record.key()
    changed = {'onnx_sha256': 'b' * 64, 'tensorrt_version': '10.16.0', 'gpu': 'NVIDIA A100',
               'precision': 'fp32', 'profile': ShapeProfile.fixed((240, 320)).text()}
    keys = {_record(**{name: value}).key() for name, value in changed.items()}
    assert len(keys) == len(changed) and record.key() not in keys


def test_record_from_bad_json():
    with pytest.raises(EngineCacheError, match='not an engine record'):
        EngineRecord.from_json('{', 'x.json')
    with pytest.raises(EngineCacheError, match='lacks gpu'):
        EngineRecord.from_json(json.dumps({'onnx_sha256': 'a', 'tensorrt_version': '1',
                                           'precision': 'fp32', 'profile': 'p'}), 'x.json')


@pytest.mark.parametrize('field, value', [
    ('tensorrt_version', '10.3.0'), ('gpu', 'Orin'), ('onnx_sha256', 'c' * 64),
    ('precision', 'fp32'), ('profile', '33x33:480x640:1088x1920/1:1000:4096')])
def test_mismatching_engine_is_refused(tmp_path, field, value):
    path = _store(tmp_path, 'model.engine', _record(**{field: value}))
    expected = _record()
    with pytest.raises(EngineCacheError) as info:
        engine.load_record(path, ENV, expected.onnx_sha256, expected.precision, expected.profile)
    message = str(info.value)
    assert str(path) in message and field in message and repr(value) in message
    assert 'lfnet-build-engine' in message
    assert engine.load_record(_store(tmp_path, 'ok.engine', expected), ENV, expected.onnx_sha256,
                              expected.precision, expected.profile) == expected


def test_engine_without_record_is_refused(tmp_path):
    path = tmp_path / 'lone.engine'
    path.write_bytes(b'plan')
    with pytest.raises(EngineCacheError, match='no lone.json beside it'):
        engine.load_record(path, ENV)
    with pytest.raises(EngineCacheError, match='engine not found'):
        engine.load_record(tmp_path / 'none.engine', ENV)


def test_cache_store_and_find(tmp_path):
    cache = EngineCache(tmp_path / 'cache')
    old = _record(precision='fp32', built_at='2026-01-01T00:00:00+0000')
    new = _record(precision='fp16', built_at='2026-06-01T00:00:00+0000')
    stale = _record(tensorrt_version='8.6.1', built_at='2026-09-01T00:00:00+0000')
    for record in (old, new, stale):
        path = cache.store(record, b'plan-' + record.precision.encode())
        assert path == tmp_path / 'cache' / f'{record.key()}.engine'
        assert engine.record_path(path).is_file()
    assert cache.find('a' * 64, ENV) == cache.path_for(new)  # newest that fits
    assert cache.find('a' * 64, ENV, 'fp32') == cache.path_for(old)
    with pytest.raises(EngineCacheError) as info:
        cache.find('a' * 64, EngineEnvironment('10.15.1', 'Orin'))
    assert 'refused' in str(info.value) and "'Orin'" in str(info.value)
    with pytest.raises(EngineCacheError, match='no TensorRT engine'):
        cache.find('d' * 64, ENV)
    assert not list((tmp_path / 'cache').glob('*.tmp*'))


def test_onnx_info_and_new_record(exported):
    model, paths, _ = exported
    dense, describe = engine.onnx_info(paths.dense), engine.onnx_info(paths.describe)
    assert (dense.graph, describe.graph) == ('dense', 'describe')
    assert dense.sha256 == engine.file_sha256(paths.dense) != describe.sha256
    assert dense.lfnet_config == json.loads(json.dumps(model.config.to_dict()))
    assert dense.fixed_hw is None
    assert dense.min_side == 2 * model.config.detector.border + 1
    record = engine.new_record(dense, ENV, 'fp16', engine.default_profile(dense.min_side))
    assert record.onnx_file == 'lfnet_dense.onnx' and record.gpu == ENV.gpu
    with pytest.raises(ValueError, match='precision'):
        engine.new_record(dense, ENV, 'int8', engine.default_profile(dense.min_side))


# -------------------------------------------------------------------------------------- profile


def test_profile_input_shapes():
    profile = ShapeProfile((64, 80), (480, 640), (1088, 1920), 1, 1000, 4096)
    assert profile.text() == '64x80:480x640:1088x1920/1:1000:4096'
    shapes = profile.input_shapes({'image': (1, 1, -1, -1), 'orientation': (1, 2, -1, -1),
                                   'keypoints': (1, -1, 2)})
    assert shapes['image'] == ((1, 1, 64, 80), (1, 1, 480, 640), (1, 1, 1088, 1920))
    assert shapes['orientation'][2] == (1, 2, 1088, 1920)
    assert shapes['keypoints'] == ((1, 1, 2), (1, 1000, 2), (1, 4096, 2))
    # A fixed-shape export: only N stays dynamic.
    assert set(profile.input_shapes({'image': (1, 1, 240, 320), 'keypoints': (1, -1, 2)})) == \
        {'keypoints'}
    with pytest.raises(ValueError, match='only H, W and N'):
        profile.input_shapes({'image': (-1, 1, -1, -1)})
    with pytest.raises(ValueError, match='min <= opt <= max'):
        ShapeProfile((64, 64), (32, 64), (128, 128))
    with pytest.raises(ValueError, match='keypoints'):
        ShapeProfile((64, 64), (64, 64), (64, 64), 1, 5000, 4096)


def test_profile_from_arguments(exported):
    _, paths, _ = exported
    info = engine.onnx_info(paths.dense)
    parser = engine._parser()

    def profile(*argv):
        return engine._profile_from_args(parser.parse_args(['m.onnx', *argv]), info)

    assert profile() == engine.default_profile(info.min_side)
    assert profile('--shape', '480x640', '--max-keypoints', '2000').text() == \
        '480x640:480x640:480x640/1:1000:2000'
    assert profile('--min', '240x320', '--opt', '480x640', '--max', '720x1280').max_hw == \
        (720, 1280)
    with pytest.raises(ValueError, match='either --shape'):
        profile('--shape', '480x640', '--min', '240x320')
    with pytest.raises(ValueError, match='go together'):
        profile('--min', '240x320')
    with pytest.raises(ValueError, match='smallest'):
        profile('--shape', '16x16')
    with pytest.raises(SystemExit):
        parser.parse_args(['m.onnx', '--shape', '480by640'])
    fixed = engine.OnnxInfo(info.path, info.sha256, 'dense', info.lfnet_config, '', (240, 320))
    assert engine._profile_from_args(parser.parse_args(['m.onnx']), fixed).max_hw == (240, 320)
    with pytest.raises(ValueError, match='fixed 240x320'):
        engine._profile_from_args(parser.parse_args(['m.onnx', '--shape', '480x640']), fixed)


# --------------------------------------------------------------------------- GPU (skipped here)


def _cuda_torch():
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


def _ort_cuda():
    import onnxruntime
    return 'CUDAExecutionProvider' in onnxruntime.get_available_providers() and _cuda_torch()


def _tensorrt_importable():
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return False
    return _cuda_torch()


def _assert_parity(reference, candidate, image, top_k=500, atol=1e-3):
    """Score maps and (same keypoints) descriptors within atol; >= 95% identical keypoints."""
    batch = prepare_image(image)[None, None]
    maps_ref, maps_gpu = reference.dense(batch), candidate.dense(batch)
    assert np.abs(maps_ref[0] - maps_gpu[0]).max() <= atol
    keypoints, _ = select_top_k(maps_ref[3][0, 0], top_k)
    described_ref = reference.describe(batch, *maps_ref[:3], keypoints[None])
    described_gpu = candidate.describe(batch, *maps_ref[:3], keypoints[None])
    assert np.abs(described_ref[3] - described_gpu[3]).max() <= atol
    kp_ref = reference.extract(image, top_k)['keypoints']
    kp_gpu = candidate.extract(image, top_k)['keypoints']
    assert keypoint_agreement(kp_ref, kp_gpu) >= 0.95


@pytest.mark.skipif(not _ort_cuda(), reason='needs onnxruntime-gpu and a CUDA GPU')
def test_onnxruntime_cuda_matches_cpu(exported):
    _, paths, _ = exported
    cpu = OnnxRuntimeBackend(paths, ['CPUExecutionProvider'])
    gpu = OnnxRuntimeBackend(paths, ['CUDAExecutionProvider', 'CPUExecutionProvider'])
    assert gpu.providers[0] == 'CUDAExecutionProvider'
    _assert_parity(cpu, gpu, skimage.data.camera())


@pytest.mark.skipif(not _cuda_torch(), reason='needs a CUDA GPU for torch')
def test_torch_cuda_matches_cpu(exported):
    _, _, weights = exported
    cpu = create_backend('torch', weights=weights, device='cpu')
    gpu = create_backend('torch', weights=weights, device='cuda')
    _assert_parity(cpu, gpu, skimage.data.camera())


@pytest.mark.skipif(not _tensorrt_importable(), reason='needs TensorRT and a CUDA GPU')
def test_tensorrt_matches_onnxruntime_cpu(exported, tmp_path):
    """Builds fp32 engines for a small profile (minutes), then loads them like the node does."""
    _, paths, weights = exported
    cache = EngineCache(tmp_path / 'engines')
    profile = ShapeProfile((64, 64), (512, 512), (512, 512), 1, 500, 1000)
    engine.ensure_engines({'dense': paths.dense, 'describe': paths.describe}, cache,
                          build=True, profile=profile)
    backend = create_backend('tensorrt', weights=weights, onnx_dir=paths.dense.parent,
                             engine_cache_dir=cache.root)
    cpu = OnnxRuntimeBackend(paths, ['CPUExecutionProvider'])
    _assert_parity(cpu, backend, skimage.data.camera())  # 512 x 512
    backend.extract(skimage.data.camera()[:200, :300])  # smaller shape: buffers reused
    with pytest.raises(ValueError, match='outside the engine profile'):
        backend.extract(np.zeros((600, 600), np.uint8))


def _fake_builder_api(module, calls):
    """Give `module` the slice of the TensorRT 10 builder API that build_engine uses."""
    class Network:
        inputs = []
        num_inputs = property(lambda self: len(self.inputs))

        def get_input(self, index):
            return self.inputs[index]

    class Parser:
        num_errors = 0

        def __init__(self, network, logger):
            self.network = network

        def parse(self, data, path):
            dims = {'image': (1, 1, -1, -1), 'orientation': (1, 2, -1, -1),
                    'keypoints': (1, -1, 2)}
            names = ['image', 'orientation', 'keypoints'] if 'describe' in path else ['image']
            self.network.inputs = [types.SimpleNamespace(name=n, shape=dims[n]) for n in names]
            return True

    class Config:
        def __getattr__(self, name):
            return lambda *args, **kwargs: calls.append((name,) + args) or types.SimpleNamespace(
                serialize=lambda: b'timing')

    class Builder:
        def __init__(self, logger):
            pass

        def create_network(self, flags):
            return Network()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return types.SimpleNamespace(set_shape=lambda *args: calls.append(('profile',) + args))

        def build_serialized_network(self, network, config):
            config.progress_monitor.phase_start('Building', None, 1)
            config.progress_monitor.phase_finish('Building')
            return memoryview(b'PLAN')

    module.Logger = type('Logger', (), {'INFO': 1, 'WARNING': 2,
                                        '__init__': lambda self, level: None})
    module.Builder, module.OnnxParser, module.IProgressMonitor = Builder, Parser, object
    module.MemoryPoolType = types.SimpleNamespace(WORKSPACE='workspace')
    module.BuilderFlag = types.SimpleNamespace(FP16='fp16')


def test_cli_drives_the_builder_and_fills_the_cache(exported, fake_tensorrt, tmp_path, capsys):
    """The CLI flow against a stand-in builder API (proves the plumbing, not TensorRT)."""
    _, paths, _ = exported
    calls = []
    _fake_builder_api(fake_tensorrt, calls)
    out, cache_dir = tmp_path / 'engines', tmp_path / 'cache'
    code = engine.main([str(paths.dense.parent), '--fp16', '--min', '64x64', '--opt', '240x320',
                        '--max', '480x640', '--max-keypoints', '2000', '--cache-dir',
                        str(cache_dir), '--timing-cache', str(tmp_path / 't' / 'timing.cache'),
                        '--out', str(out)])
    assert code == 0, capsys.readouterr().err
    assert ('profile', 'keypoints', (1, 1, 2), (1, 1000, 2), (1, 2000, 2)) in calls
    assert ('profile', 'orientation', (1, 2, 64, 64), (1, 2, 240, 320), (1, 2, 480, 640)) in calls
    assert ('set_flag', 'fp16') in calls
    assert ('set_memory_pool_limit', 'workspace', 2 << 30) in calls
    assert (tmp_path / 't' / 'timing.cache').read_bytes() == b'timing'
    dense, describe = engine.engine_pair(out)
    assert dense.read_bytes() == describe.read_bytes() == b'PLAN'
    found = engine.ensure_engines({'dense': paths.dense, 'describe': paths.describe},
                                  EngineCache(cache_dir), ENV, precision='fp16')
    assert engine.load_record(found['describe'], ENV).graph == 'describe'
    assert 'Building' in capsys.readouterr().out
