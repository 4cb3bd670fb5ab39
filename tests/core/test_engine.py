# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the TensorRT engine builder/cache (`lfnet_core.tensorrt`) and the GPU backends.

Nothing here fakes TensorRT, ONNX Runtime or a GPU. Without TensorRT (every machine these tests
were written on) they cover the CLI's exit and the backend's refusal when TensorRT is really
absent, the `auto` fallback, and the logic that needs no TensorRT, called with an explicit
`EngineEnvironment`: the engine cache's keys and checks, the engine lookup behind the tensorrt
backend, shape profiles, CLI arguments and what a build writes. The tests that need TensorRT
itself (building, loading and running engines, `auto` picking them) use the real thing and are
skipped without TensorRT 10 and a CUDA GPU.
"""

import json
import logging
import os
from pathlib import Path
import subprocess
import sys
import time

import numpy as np
import pytest
import skimage.data

from lfnet_core.config import LFNetConfig
from lfnet_core.export import keypoint_agreement, model_fingerprint
from lfnet_core.inference import BackendUnavailableError, create_backend
from lfnet_core.inference import prepare_image, select_top_k
from lfnet_core.inference.factory import find_tensorrt_engines
from lfnet_core.inference.onnxruntime_backend import OnnxRuntimeBackend
from lfnet_core.tensorrt import builder, cli, engine_cache, environment, shape_profile
from lfnet_core.tensorrt.engine_cache import EngineCache, EngineCacheError, EngineRecord
from lfnet_core.tensorrt.environment import EngineEnvironment
from lfnet_core.tensorrt.shape_profile import ShapeProfile
from model_helpers import randomised_model, shared_export

ENV = EngineEnvironment('10.15.1', 'NVIDIA GeForce RTX 4090')
REPO = Path(__file__).resolve().parents[2]
NEEDS_TENSORRT_GPU = 'needs TensorRT 10 (NVIDIA wheels or JetPack) and a CUDA GPU'


def _tensorrt_installed() -> bool:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return False
    return True


def _cuda_torch():
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


without_tensorrt = pytest.mark.skipif(
    _tensorrt_installed(), reason='checks the behaviour when TensorRT is absent; it is installed '
    'here')


def _require_tensorrt_gpu():
    """Return the real tensorrt module, or skip: these tests build, load and run engines."""
    trt = pytest.importorskip('tensorrt', reason=NEEDS_TENSORRT_GPU)
    if not _cuda_torch():
        pytest.skip(f'{NEEDS_TENSORRT_GPU}: TensorRT is installed but torch.cuda.is_available() '
                    'is False')
    return trt


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    model = randomised_model(0)
    paths, weights = shared_export(tmp_path_factory, model)
    return model, paths, weights


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
    engine_cache.record_path(path).write_text(record.to_json())
    return path


def _cache_model(cache: EngineCache, paths, env: EngineEnvironment = ENV,
                 precision: str = 'fp16') -> dict:
    """Store records (with stand-in plan bytes) for both graphs of an export, as a build would."""
    stored = {}
    for graph, onnx_path in (('dense', paths.dense), ('describe', paths.describe)):
        info = builder.onnx_info(onnx_path)
        record = builder.new_record(info, env, precision, ShapeProfile.fixed((480, 640)))
        stored[graph] = cli.save_engine(cache, record, f'plan-{graph}'.encode())
    return stored


# ------------------------------------------------------------ without TensorRT (really absent)


@without_tensorrt
def test_cli_without_tensorrt_exits_at_once(capsys, tmp_path):
    start = time.perf_counter()
    code = cli.main([str(tmp_path / 'missing.onnx'), '--fp16', '--shape', '480x640'])
    assert time.perf_counter() - start < 2.0
    assert code == environment.EXIT_NO_TENSORRT == 2
    err = capsys.readouterr().err
    assert 'TensorRT is not installed' in err and 'pypi.nvidia.com' in err and 'JetPack' in err
    assert 'missing.onnx' not in err  # nothing else was looked at


@without_tensorrt
def test_cli_without_tensorrt_in_a_fresh_interpreter():
    """Importing the module and exiting costs < 2 s and never imports torch."""
    code = ('import sys, time\n'
            'start = time.perf_counter()\n'
            'from lfnet_core.tensorrt.cli import main\n'
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


def test_cli_help_works_without_tensorrt(capsys):
    """--help never imports TensorRT (so it works with or without it)."""
    with pytest.raises(SystemExit) as info:
        cli.main(['--help'])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ('--fp16', '--shape', '--min', '--opt', '--max', '--max-keypoints', '--workspace',
                 '--timing-cache', '--out', '--cache-dir', '--verbose'):
        assert flag in out


@without_tensorrt
def test_tensorrt_backend_unavailable_is_actionable():
    with pytest.raises(BackendUnavailableError, match='TensorRT') as info:
        create_backend('tensorrt')
    assert 'pip install tensorrt' in str(info.value) and 'onnxruntime' in str(info.value)


@without_tensorrt
def test_auto_falls_back_to_onnxruntime_cpu(exported, caplog, tmp_path):
    _, paths, weights = exported
    with caplog.at_level(logging.INFO, logger='lfnet_core.inference'):
        backend = create_backend('auto', weights=weights, onnx_dir=paths.dense.parent,
                                 engine_cache_dir=tmp_path)
    assert isinstance(backend, OnnxRuntimeBackend)
    import onnxruntime
    if 'CUDAExecutionProvider' not in onnxruntime.get_available_providers():
        assert backend.providers == ['CPUExecutionProvider']
        assert 'auto -> onnxruntime [CPUExecutionProvider]' in caplog.text
    assert 'tensorrt: TensorRT is not installed' in caplog.text
    assert not list(tmp_path.iterdir())  # no engine cache written


# ------------------------------------------------ engine lookup behind the tensorrt backend


def test_cache_without_engines_never_builds(exported, tmp_path, monkeypatch):
    """The backend only looks engines up; a missing one is an error naming lfnet-build-engine."""
    _, paths, weights = exported
    monkeypatch.setattr(builder, 'build_engine', lambda *a, **k: pytest.fail('built an engine'))
    with pytest.raises(BackendUnavailableError, match='no TensorRT engine in') as info:
        find_tensorrt_engines(ENV, weights, paths.dense.parent, None, None, tmp_path)
    assert 'lfnet-build-engine' in str(info.value) and ENV.gpu in str(info.value)
    assert not list(tmp_path.iterdir())


def test_cached_engines_are_found_for_this_model(exported, tmp_path):
    _, paths, weights = exported
    stored = _cache_model(EngineCache(tmp_path), paths)
    dense, describe = find_tensorrt_engines(ENV, weights, paths.dense.parent, None, None, tmp_path)
    assert (dense, describe) == (stored['dense'], stored['describe'])
    assert engine_cache.load_record(dense, ENV).graph == 'dense'
    assert engine_cache.load_record(describe, ENV).graph == 'describe'


@pytest.mark.parametrize('env, field', [
    (EngineEnvironment('10.15.1', 'Tesla T4'), 'gpu'),
    (EngineEnvironment('10.3.0', ENV.gpu), 'tensorrt_version')])
def test_cached_engines_for_another_environment_are_never_loaded(exported, tmp_path, env, field):
    _, paths, weights = exported
    _cache_model(EngineCache(tmp_path), paths)
    with pytest.raises(BackendUnavailableError, match='no TensorRT engine in') as info:
        find_tensorrt_engines(env, weights, paths.dense.parent, None, None, tmp_path)
    assert 'refused' in str(info.value) and field in str(info.value)


def test_cached_engines_of_another_model_are_never_loaded(exported, tmp_path):
    _, paths, weights = exported
    cache = EngineCache(tmp_path)
    cache.store(_record(graph='dense'), b'plan')  # onnx_sha256 'aaa…': another ONNX file
    cache.store(_record(graph='describe', onnx_sha256='b' * 64), b'plan')
    with pytest.raises(BackendUnavailableError, match='no TensorRT engine in') as info:
        find_tensorrt_engines(ENV, weights, paths.dense.parent, None, None, tmp_path)
    assert 'refused' not in str(info.value)  # not even considered


def test_damaged_cached_engine_is_not_loaded(exported, tmp_path):
    _, paths, weights = exported
    stored = _cache_model(EngineCache(tmp_path), paths)
    stored['describe'].write_bytes(b'plan-desc')  # truncated
    with pytest.raises(BackendUnavailableError, match='corrupt'):
        find_tensorrt_engines(ENV, weights, paths.dense.parent, None, None, tmp_path)


def test_engine_path_is_checked(exported, tmp_path, caplog):
    model, paths, weights = exported
    dense_sha = engine_cache.file_sha256(paths.dense)
    fingerprint = model_fingerprint(model)
    folder = tmp_path / 'engines'

    def engines(**kwargs):
        options = {'weights': None, 'onnx_dir': None, 'cache_dir': None,
                   'engine_path': folder, 'engine_cache_dir': tmp_path / 'cache'}
        options.update(kwargs)
        return find_tensorrt_engines(ENV, **options)

    _store(folder, 'lfnet_dense.engine', _record(onnx_sha256=dense_sha, gpu='Tesla T4'))
    _store(folder, 'lfnet_describe.engine', _record(graph='describe'))
    with caplog.at_level(logging.WARNING, logger='lfnet_core.inference'):
        with pytest.raises(BackendUnavailableError) as info:
            engines()
    message = str(info.value)
    assert 'lfnet_dense.engine' in message and 'gpu' in message and 'Tesla T4' in message
    assert 'TensorRT engine refused' in caplog.text
    _store(folder, 'lfnet_dense.engine', _record(onnx_sha256=dense_sha))
    assert engines() == (folder / 'lfnet_dense.engine', folder / 'lfnet_describe.engine')
    assert engines(engine_path=folder / 'lfnet_describe.engine')[0] == \
        folder / 'lfnet_dense.engine'
    with pytest.raises(BackendUnavailableError, match='lfnet_describe.engine.*onnx_sha256'):
        engines(onnx_dir=paths.dense.parent)
    with pytest.raises(BackendUnavailableError, match='not built from'):
        engines(weights=weights)  # the records carry another model's fingerprint
    _store(folder, 'lfnet_dense.engine', _record(onnx_sha256=dense_sha,
                                                 lfnet_fingerprint=fingerprint))
    assert engines(weights=weights)[0] == folder / 'lfnet_dense.engine'
    with pytest.raises(BackendUnavailableError, match='pool_scales'):
        engines(weights=weights, pool_scales=(0.7071, 1.4142))  # built without that pooling
    assert engines(weights=weights, pool_scales=(1.0,))[0] == folder / 'lfnet_dense.engine'
    with pytest.raises(BackendUnavailableError, match='engine not found'):
        engines(engine_path=tmp_path / 'elsewhere')
    with pytest.raises(BackendUnavailableError, match='must be a folder'):
        engines(engine_path=folder / 'model.engine')
    assert not (tmp_path / 'cache').exists()


# ------------------------------------------------------------------------------ cache key logic


def test_record_json_round_trip_and_key():
    record = _record()
    again = EngineRecord.from_json(record.to_json())
    assert again == record and again.lfnet_config == record.lfnet_config
    assert again.key() == record.key() and len(record.key()) == 32
    assert set(json.loads(record.to_json())) >= set(engine_cache.KEY_FIELDS)
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
        engine_cache.load_record(path, ENV, expected.onnx_sha256, expected.precision,
                                 expected.profile)
    message = str(info.value)
    assert str(path) in message and field in message and repr(value) in message
    assert 'lfnet-build-engine' in message
    assert engine_cache.load_record(_store(tmp_path, 'ok.engine', expected), ENV,
                                    expected.onnx_sha256, expected.precision,
                                    expected.profile) == expected


def test_engine_without_record_is_refused(tmp_path):
    path = tmp_path / 'lone.engine'
    path.write_bytes(b'plan')
    with pytest.raises(EngineCacheError, match='no lone.json beside it'):
        engine_cache.load_record(path, ENV)
    with pytest.raises(EngineCacheError, match='engine not found'):
        engine_cache.load_record(tmp_path / 'none.engine', ENV)


def test_cache_store_and_find(tmp_path):
    cache = EngineCache(tmp_path / 'cache')
    old = _record(precision='fp32', built_at='2026-01-01T00:00:00+0000')
    new = _record(precision='fp16', built_at='2026-06-01T00:00:00+0000')
    stale = _record(tensorrt_version='8.6.1', built_at='2026-09-01T00:00:00+0000')
    for record in (old, new, stale):
        path = cache.store(record, b'plan-' + record.precision.encode())
        assert path == tmp_path / 'cache' / f'{record.key()}.engine'
        assert engine_cache.record_path(path).is_file()
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
    dense, describe = builder.onnx_info(paths.dense), builder.onnx_info(paths.describe)
    assert (dense.graph, describe.graph) == ('dense', 'describe')
    assert dense.sha256 == engine_cache.file_sha256(paths.dense) != describe.sha256
    assert LFNetConfig.from_dict(dense.lfnet_config) == model.config
    assert dense.fixed_hw is None
    assert dense.min_side == 2 * model.config.detector.border + 1
    record = builder.new_record(dense, ENV, 'fp16', shape_profile.default_profile(dense.min_side))
    assert record.onnx_file == 'lfnet_dense.onnx' and record.gpu == ENV.gpu
    with pytest.raises(ValueError, match='precision'):
        builder.new_record(dense, ENV, 'int8', shape_profile.default_profile(dense.min_side))


@pytest.mark.parametrize('field, value', [
    ('onnx_sha256', 'b' * 64), ('tensorrt_version', '10.16.0'), ('gpu', 'NVIDIA A100'),
    ('precision', 'fp32')])
def test_cache_never_finds_a_foreign_engine(tmp_path, field, value):
    """An engine for another model, TensorRT version, GPU or precision is never returned."""
    cache = EngineCache(tmp_path)
    cache.store(_record(**{field: value}), b'plan')
    with pytest.raises(EngineCacheError, match='no fp16 TensorRT engine'):
        cache.find('a' * 64, ENV, 'fp16')
    cache.store(_record(), b'plan')
    assert cache.find('a' * 64, ENV, 'fp16') == cache.path_for(_record())


def test_cache_refuses_damaged_engines(tmp_path):
    cache = EngineCache(tmp_path)
    old = cache.store(_record(precision='fp32', built_at='2026-01-01T00:00:00+0000'), b'old plan')
    new = cache.store(_record(built_at='2026-06-01T00:00:00+0000'), b'new plan')
    assert engine_cache.load_record(new, ENV).engine_sha256 == \
        engine_cache.bytes_sha256(b'new plan')
    assert cache.find('a' * 64, ENV) == new
    new.write_bytes(b'new pla')  # truncated
    assert cache.find('a' * 64, ENV) == old  # the intact one, not the damaged newer one
    with pytest.raises(EngineCacheError, match='corrupt') as info:
        cache.find('a' * 64, ENV, 'fp16')
    assert str(new) in str(info.value)
    old.write_bytes(new.read_bytes())  # swapped bytes are refused as well
    with pytest.raises(EngineCacheError, match='corrupt'):
        cache.find('a' * 64, ENV, 'fp32')


def test_cache_records_skip_unreadable_entries(tmp_path):
    cache = EngineCache(tmp_path)
    kept = cache.store(_record(), b'plan')
    (tmp_path / 'broken.json').write_text('{')
    (tmp_path / 'orphan.json').write_text(_record(gpu='Orin').to_json())  # no .engine beside it
    assert [path for path, _ in cache.records()] == [kept]


def test_default_cache_root(monkeypatch, tmp_path):
    monkeypatch.setenv('LFNET_CACHE_DIR', str(tmp_path))
    assert EngineCache().root == tmp_path / 'tensorrt'


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
    info = builder.onnx_info(paths.dense)
    parser = cli.argument_parser()

    def profile(*argv):
        return cli.profile_from_args(parser.parse_args(['m.onnx', *argv]), info)

    assert profile() == shape_profile.default_profile(info.min_side)
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
    fixed = builder.OnnxInfo(info.path, info.sha256, 'dense', info.lfnet_config, '', (240, 320))
    assert cli.profile_from_args(parser.parse_args(['m.onnx']), fixed).max_hw == (240, 320)
    with pytest.raises(ValueError, match='fixed 240x320'):
        cli.profile_from_args(parser.parse_args(['m.onnx', '--shape', '480x640']), fixed)


def test_cli_files_and_out_targets(exported, tmp_path):
    _, paths, _ = exported
    parser = cli.argument_parser()
    folder = paths.dense.parent

    def files(*argv):
        return cli.onnx_files_to_build(parser.parse_args(list(argv)))

    assert files(str(folder)) == [paths.dense, paths.describe]
    assert files(str(paths.dense), '--out', str(tmp_path / 'd.engine')) == [paths.dense]
    with pytest.raises(ValueError, match='--out must be a folder'):
        files(str(folder), '--out', str(tmp_path / 'both.engine'))
    with pytest.raises(FileNotFoundError, match='not an lfnet-export folder'):
        files(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='ONNX model not found'):
        files(str(tmp_path / 'none.onnx'))
    assert cli.out_target(None, paths.dense, 1) is None
    assert cli.out_target(tmp_path / 'x.engine', paths.dense, 1) == tmp_path / 'x.engine'
    assert cli.out_target(tmp_path, paths.dense, 1) == tmp_path / 'lfnet_dense.engine'
    assert cli.out_target(str(tmp_path / 'new'), paths.describe, 2) == \
        tmp_path / 'new' / 'lfnet_describe.engine'
    args = parser.parse_args(['m.onnx', '--fp16', '--workspace', '512', '--timing-cache', 't',
                              '--cache-dir', 'c', '--verbose'])
    assert (args.fp16, args.workspace, args.timing_cache, args.cache_dir, args.verbose) == \
        (True, 512, 't', 'c', True)
    defaults = parser.parse_args(['m.onnx'])
    assert (defaults.fp16, defaults.workspace, defaults.max_keypoints) == \
        (False, builder.DEFAULT_WORKSPACE_MIB, shape_profile.DEFAULT_MAX_KEYPOINTS)


def test_saved_builds_fill_the_cache_and_the_out_folder(exported, tmp_path, capsys):
    """What the CLI writes after each build, with stand-in plan bytes (no TensorRT involved)."""
    _, paths, _ = exported
    parser = cli.argument_parser()
    out, cache = tmp_path / 'engines', EngineCache(tmp_path / 'cache')
    args = parser.parse_args([str(paths.dense.parent), '--fp16', '--min', '64x64', '--opt',
                              '240x320', '--max', '480x640', '--max-keypoints', '2000', '--out',
                              str(out)])
    files = cli.onnx_files_to_build(args)
    for path in files:
        info = builder.onnx_info(path)
        profile = cli.profile_from_args(args, info)
        record = builder.new_record(info, ENV, 'fp16', profile, 3.0)
        cli.save_engine(cache, record, f'PLAN {path.stem}'.encode(),
                        cli.out_target(args.out, path, len(files)))
    dense, describe = engine_cache.engine_pair(out)
    assert dense.read_bytes() == b'PLAN lfnet_dense'
    found = builder.ensure_engines({'dense': paths.dense, 'describe': paths.describe}, cache, ENV,
                                   precision='fp16')
    for graph, copy in (('dense', dense), ('describe', describe)):
        record = engine_cache.load_record(found[graph], ENV,
                                          engine_cache.file_sha256(getattr(paths, graph)),
                                          'fp16', '64x64:240x320:480x640/1:1000:2000')
        assert record.graph == graph and record.engine_sha256 == engine_cache.bytes_sha256(
            copy.read_bytes())
        assert engine_cache.load_record(copy, ENV) == record
        assert found[graph].read_bytes() == copy.read_bytes()
    with pytest.raises(EngineCacheError, match='no fp32'):
        builder.ensure_engines({'dense': paths.dense}, cache, ENV, precision='fp32')
    assert 'copied to' in capsys.readouterr().out
    assert not list(cache.root.glob('*.tmp*')) and not list(out.glob('*.tmp*'))


# ------------------------------------------------------------- GPU and TensorRT (skipped here)


def _ort_cuda():
    import onnxruntime
    return 'CUDAExecutionProvider' in onnxruntime.get_available_providers() and _cuda_torch()


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


BUILT_PROFILE = '64x64:512x512:512x512/1:1000:1000'


@pytest.fixture(scope='module')
def built(exported, tmp_path_factory):
    """Real fp32 engines for a small profile, built once by `lfnet-build-engine` (minutes)."""
    trt = _require_tensorrt_gpu()
    _, paths, _ = exported
    base = tmp_path_factory.mktemp('tensorrt')
    out, cache, timing = base / 'engines', EngineCache(base / 'cache'), base / 'timing.cache'
    code = cli.main([str(paths.dense.parent), '--min', '64x64', '--opt', '512x512', '--max',
                     '512x512', '--max-keypoints', '1000', '--cache-dir', str(cache.root),
                     '--timing-cache', str(timing), '--out', str(out)])
    assert code == 0, 'lfnet-build-engine failed (its stderr is in the captured output)'
    return trt, out, cache, timing


def test_cli_builds_engines_with_tensorrt(exported, built):
    _, paths, _ = exported
    trt, out, cache, timing = built
    env = EngineEnvironment.detect()
    assert env.tensorrt_version == str(trt.__version__) and env.gpu
    dense, describe = engine_cache.engine_pair(out)
    for graph, path, onnx_path in (('dense', dense, paths.dense),
                                   ('describe', describe, paths.describe)):
        record = engine_cache.load_record(path, env, engine_cache.file_sha256(onnx_path),
                                          'fp32', BUILT_PROFILE)
        assert record.graph == graph and record.build_seconds > 0
    found = builder.ensure_engines({'dense': paths.dense, 'describe': paths.describe}, cache, env,
                                   precision='fp32')
    assert found['dense'].read_bytes() == dense.read_bytes()
    assert found['describe'].read_bytes() == describe.read_bytes()
    assert timing.stat().st_size > 0
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    plan = runtime.deserialize_cuda_engine(dense.read_bytes())
    assert plan is not None
    names = {plan.get_tensor_name(i) for i in range(plan.num_io_tensors)}
    assert names == {'image', 'score', 'scale', 'orientation', 'peaks'}
    low, _, high = plan.get_tensor_profile_shape('image', 0)
    assert (tuple(low), tuple(high)) == ((1, 1, 64, 64), (1, 1, 512, 512))


def test_ensure_engines_builds_only_when_asked(exported, built, tmp_path):
    _, paths, _ = exported
    _, _, _, timing = built
    graphs = {'dense': paths.dense, 'describe': paths.describe}
    cache = EngineCache(tmp_path)
    with pytest.raises(EngineCacheError, match='lfnet-build-engine'):
        builder.ensure_engines(graphs, cache)
    assert not list(tmp_path.iterdir())
    profile = ShapeProfile((64, 64), (256, 256), (256, 256), 1, 500, 1000)
    first = builder.ensure_engines(graphs, cache, build=True, profile=profile,
                                   timing_cache=timing)
    assert engine_cache.load_record(first['describe'], EngineEnvironment.detect()).profile == \
        profile.text()
    assert builder.ensure_engines(graphs, cache) == first  # found, not rebuilt


def test_tensorrt_without_gpu(tmp_path, capsys):
    """With TensorRT but no usable CUDA GPU, the backend and the CLI refuse at once."""
    pytest.importorskip('tensorrt', reason='checks TensorRT installed without a CUDA GPU')
    if _cuda_torch():
        pytest.skip('checks a machine without a CUDA GPU; this one has one')
    with pytest.raises(BackendUnavailableError, match='no CUDA GPU'):
        create_backend('tensorrt', engine_cache_dir=tmp_path)
    if not environment.gpu_name():
        assert cli.main([str(tmp_path / 'lfnet_dense.onnx')]) == environment.EXIT_NO_TENSORRT
        assert 'no CUDA GPU found' in capsys.readouterr().err


def test_auto_without_a_cached_engine_uses_onnxruntime(exported, tmp_path, caplog):
    _require_tensorrt_gpu()
    _, paths, weights = exported
    with pytest.raises(BackendUnavailableError, match='lfnet-build-engine'):
        create_backend('tensorrt', onnx_dir=paths.dense.parent, engine_cache_dir=tmp_path)
    with caplog.at_level(logging.INFO, logger='lfnet_core.inference'):
        backend = create_backend('auto', weights=weights, onnx_dir=paths.dense.parent,
                                 engine_cache_dir=tmp_path)
    assert backend.name == 'onnxruntime'
    assert 'no TensorRT engine in' in caplog.text
    assert not list(tmp_path.iterdir())  # nothing was built


def test_auto_picks_tensorrt_when_engines_are_cached(exported, built, caplog):
    _, paths, weights = exported
    _, _, cache, _ = built
    with caplog.at_level(logging.INFO, logger='lfnet_core.inference'):
        backend = create_backend('auto', weights=weights, onnx_dir=paths.dense.parent,
                                 engine_cache_dir=cache.root)
    assert backend.name == 'tensorrt' and backend.precision == 'fp32'
    assert 'auto -> tensorrt' in caplog.text


def test_engine_path_loads_the_built_engines(exported, built):
    _, paths, weights = exported
    _, out, _, _ = built
    backend = create_backend('tensorrt', weights=weights, onnx_dir=paths.dense.parent,
                             engine_path=out)
    image = prepare_image(skimage.data.camera()[:256, :320])[None, None]
    score, scale, orientation, peaks = backend.dense(image)
    assert score.shape[-2:] == (256, 320) and np.isfinite(score).all()


def test_tensorrt_matches_onnxruntime_cpu(exported, built):
    """Loads the built engines like the node does and compares them with ONNX Runtime's CPU."""
    _, paths, weights = exported
    _, _, cache, _ = built
    backend = create_backend('tensorrt', weights=weights, onnx_dir=paths.dense.parent,
                             engine_cache_dir=cache.root)
    cpu = OnnxRuntimeBackend(paths, ['CPUExecutionProvider'])
    _assert_parity(cpu, backend, skimage.data.camera())  # 512 x 512
    backend.extract(skimage.data.camera()[:200, :300])  # smaller shape: buffers reused
    with pytest.raises(ValueError, match='outside the engine profile'):
        backend.extract(np.zeros((600, 600), np.uint8))
