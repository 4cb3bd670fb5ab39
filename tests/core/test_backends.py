# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for backend selection (`create_backend`) and checkpoint loading (`LFNet.from_pretrained`).

The ONNX export is shared with test_export.py (same seeded model, same folder under pytest's
base temporary directory), so the session exports once.
"""

import json
import logging
import shutil
import sys

import numpy as np
import onnx
import pytest
import skimage.data
import torch

from lfnet_core.config import LFNetConfig
from lfnet_core.export import model_fingerprint, OnnxModel
from lfnet_core.inference import (
    BackendUnavailableError, create_backend, default_cache_dir, onnx_cache_folder, OUTPUT_KEYS)
from lfnet_core.inference.onnxruntime_backend import OnnxRuntimeBackend
from lfnet_core.model.lfnet import LFNet, load_lfnet
from model_helpers import randomised_model, run_without_torch, shared_export


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    model = randomised_model(0)
    paths, weights = shared_export(tmp_path_factory, model)
    return model, paths, weights


@pytest.fixture(scope='module')
def real_image():
    return np.ascontiguousarray(skimage.data.camera()[150:330, 120:360])  # 180 x 240 grey


@pytest.fixture
def no_export(monkeypatch):
    """Make any ONNX export fail: the tests must reuse the session's export."""
    def refuse(*args, **kwargs):
        raise AssertionError('unexpected ONNX export')
    monkeypatch.setattr('lfnet_core.export.export_onnx', refuse)


# --------------------------------------------------------------------------- create_backend


def test_torch_and_onnxruntime_backends_agree(exported, real_image, no_export):
    model, paths, weights = exported
    torch_backend = create_backend('torch', weights=weights)
    onnx_backend = create_backend('onnxruntime', weights=weights, onnx_dir=paths.dense.parent)
    assert torch_backend.name == 'torch' and onnx_backend.name == 'onnxruntime'
    assert torch_backend.config == onnx_backend.config == model.config
    expected = torch_backend.extract(real_image, top_k=200)
    got = onnx_backend.extract(real_image, top_k=200)
    assert got.keys() == expected.keys() == OUTPUT_KEYS
    for key in OUTPUT_KEYS:
        assert got[key].dtype == expected[key].dtype == np.float32, key
        assert got[key].shape == expected[key].shape, key
    assert len(expected['keypoints']) == 200
    np.testing.assert_allclose(got['keypoints'], expected['keypoints'], rtol=0, atol=1e-3)
    np.testing.assert_allclose(got['descriptors'], expected['descriptors'], rtol=0, atol=1e-4)
    np.testing.assert_allclose(got['scores'], expected['scores'], rtol=0, atol=1e-4)
    np.testing.assert_allclose(got['scales'], expected['scales'], rtol=0, atol=1e-3)
    np.testing.assert_allclose(got['orientations'], expected['orientations'], rtol=0, atol=1e-3)
    assert set(onnx_backend.last_timings) == {'preprocess', 'dense', 'select', 'describe'}
    # The torch backend runs exactly the saved model.
    reference = model.extract(real_image, top_k=200)
    for key in OUTPUT_KEYS:
        np.testing.assert_array_equal(expected[key], reference[key])


def test_tensorrt_is_unavailable_with_a_clear_message():
    with pytest.raises(BackendUnavailableError, match='TensorRT'):
        create_backend('tensorrt')


@pytest.mark.parametrize('name', ['', 'TORCH', 'onnx', 'trt', 'cuda'])
def test_unknown_backend_name(name):
    with pytest.raises(ValueError, match='unknown backend'):
        create_backend(name)


def test_auto_falls_back_to_onnxruntime(exported, caplog, no_export):
    _, paths, weights = exported
    with caplog.at_level(logging.INFO, logger='lfnet_core.inference'):
        backend = create_backend('auto', weights=weights, onnx_dir=paths.dense.parent)
    assert backend.name == 'onnxruntime'
    assert isinstance(backend, OnnxRuntimeBackend)
    assert 'onnxruntime' in caplog.text and 'TensorRT' in caplog.text


def test_auto_falls_back_to_torch_without_onnxruntime(exported, monkeypatch):
    _, paths, weights = exported
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import onnxruntime -> ImportError
    with pytest.raises(BackendUnavailableError, match='onnxruntime'):
        create_backend('onnxruntime', weights=weights, onnx_dir=paths.dense.parent)
    assert create_backend('auto', weights=weights, onnx_dir=paths.dense.parent).name == 'torch'


def test_onnxruntime_uses_the_cache_dir(exported, tmp_path, no_export):
    """Without onnx_dir the export is looked up under cache_dir/onnx/<fingerprint[:16]>-g<v>."""
    model, paths, weights = exported
    folder = onnx_cache_folder(model_fingerprint(model), tmp_path)
    assert folder.parent == tmp_path / 'onnx' and folder.name.startswith(
        model_fingerprint(model)[:16])
    folder.mkdir(parents=True)
    for path in (paths.dense, paths.describe):
        shutil.copy(path, folder / path.name)
    backend = create_backend('onnxruntime', weights=weights, cache_dir=tmp_path)
    assert backend.name == 'onnxruntime' and backend.fingerprint == model_fingerprint(model)
    assert create_backend('auto', weights=weights, cache_dir=tmp_path).name == 'onnxruntime'


def test_onnx_dir_without_models(tmp_path):
    with pytest.raises(BackendUnavailableError, match='lfnet-export'):
        create_backend('onnxruntime', onnx_dir=tmp_path)


def test_onnx_model_without_metadata_is_refused(exported, tmp_path):
    _, paths, _ = exported
    graph = onnx.load(str(paths.dense))
    del graph.metadata_props[:]
    onnx.save(graph, str(tmp_path / paths.dense.name))
    shutil.copy(paths.describe, tmp_path / paths.describe.name)
    with pytest.raises(ValueError, match='lfnet_config'):
        OnnxRuntimeBackend(OnnxModel.in_dir(tmp_path))


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv('LFNET_CACHE_DIR', str(tmp_path / 'a'))
    assert default_cache_dir() == tmp_path / 'a'
    monkeypatch.delenv('LFNET_CACHE_DIR')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'b'))
    assert default_cache_dir() == tmp_path / 'b' / 'lfnet_ros'


def test_onnxruntime_path_needs_no_torch(exported):
    """`import lfnet_core` and an ONNX Runtime backend on an exported folder run without torch."""
    _, paths, _ = exported
    code = ('import numpy as np\n'
            'from lfnet_core import create_backend, Frontend, mutual_nearest_neighbours\n'
            "backend = create_backend('onnxruntime', onnx_dir=sys.argv[1], threads=1)\n"
            'image = np.random.default_rng(0).integers(0, 256, (96, 128), dtype=np.uint8)\n'
            "print(backend.name, len(backend.extract(image, 10)['keypoints']))\n")
    assert run_without_torch(code, str(paths.dense.parent)).split() == ['onnxruntime', '10']


def test_missing_weights_file_for_torch_backend(tmp_path):
    with pytest.raises(FileNotFoundError):
        create_backend('torch', weights=tmp_path / 'nope.pt')


# --------------------------------------------------------------------------- checkpoints


CALLED = []


def _record_call():
    CALLED.append('unpickled')
    return 'pwned'


class _Evil:
    """Unpickling this object calls `_record_call`: weights_only loading must refuse it."""

    def __reduce__(self):
        return (_record_call, ())


@pytest.fixture(scope='module')
def small_model():
    return randomised_model(3)


def test_from_pretrained_round_trip(small_model, tmp_path):
    path = tmp_path / 'model.pt'
    small_model.save(path, note='round trip', step=7)
    loaded = LFNet.from_pretrained(path)
    assert not loaded.training and loaded.config == small_model.config
    expected, got = small_model.state_dict(), loaded.state_dict()
    assert list(got) == list(expected)
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    data = torch.load(str(path), weights_only=True)
    assert data['format'] == 'lfnet_ros/checkpoint/1' and data['meta'] == {
        'note': 'round trip', 'step': 7}
    image = np.random.default_rng(0).integers(0, 256, (60, 70), dtype=np.uint8)
    before, after = small_model.extract(image, top_k=40), loaded.extract(image, top_k=40)
    for key in OUTPUT_KEYS:
        np.testing.assert_array_equal(after[key], before[key])
    assert load_lfnet(path).config == small_model.config


def test_from_pretrained_bare_state_dict(small_model, tmp_path):
    path = tmp_path / 'bare.pt'
    torch.save(small_model.state_dict(), str(path))
    loaded = LFNet.from_pretrained(path)
    assert torch.equal(loaded.detector.init_conv.weight, small_model.detector.init_conv.weight)


def test_from_pretrained_config_is_restored(tmp_path):
    model = LFNet(LFNetConfig.from_dict({'detector': {'top_k': 77}, 'input_inst_norm': False}))
    path = tmp_path / 'config.pt'
    model.save(path)
    loaded = LFNet.from_pretrained(path)
    assert loaded.config.detector.top_k == 77 and loaded.config.input_inst_norm is False


@pytest.mark.parametrize('change', ['missing', 'extra', 'shape'])
def test_from_pretrained_strict_keys(small_model, tmp_path, change):
    checkpoint = small_model.checkpoint()
    state = dict(checkpoint['state_dict'])
    if change == 'missing':
        del state['detector.ori_conv.bias']
    elif change == 'extra':
        state['detector.extra.weight'] = torch.zeros(3)
    else:
        state['descriptor.fc2.bias'] = torch.zeros(128)
    checkpoint['state_dict'] = state
    path = tmp_path / f'{change}.pt'
    torch.save(checkpoint, str(path))
    with pytest.raises(ValueError, match=str(path).replace('\\', '\\\\')):
        LFNet.from_pretrained(path)


def test_from_pretrained_unknown_config_key(small_model, tmp_path):
    checkpoint = small_model.checkpoint()
    checkpoint['config'] = json.loads(json.dumps(checkpoint['config']))
    checkpoint['config']['detector']['bogus'] = 1
    path = tmp_path / 'config_key.pt'
    torch.save(checkpoint, str(path))
    with pytest.raises(ValueError, match='bogus'):
        LFNet.from_pretrained(path)


@pytest.mark.parametrize('config', [5, {'detector': {'bogus': 1}}])
def test_from_pretrained_bad_config_names_the_file(small_model, tmp_path, config):
    checkpoint = small_model.checkpoint()
    checkpoint['config'] = config
    path = tmp_path / 'bad_config.pt'
    torch.save(checkpoint, str(path))
    with pytest.raises(ValueError, match='bad_config.pt'):
        LFNet.from_pretrained(path)


@pytest.mark.parametrize('damage', ['truncated', 'garbage', 'empty'])
def test_from_pretrained_corrupt_file(small_model, tmp_path, damage):
    path = tmp_path / f'{damage}.pt'
    small_model.save(path)
    data = path.read_bytes()
    if damage == 'truncated':
        path.write_bytes(data[:len(data) // 2])
    elif damage == 'garbage':
        path.write_bytes(b'not a checkpoint' * 100)
    else:
        path.write_bytes(b'')
    with pytest.raises(ValueError, match=str(path).replace('\\', '\\\\')):
        LFNet.from_pretrained(path)


def test_from_pretrained_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        LFNet.from_pretrained(tmp_path / 'nope.pt')
    with pytest.raises(FileNotFoundError):
        LFNet.from_pretrained(tmp_path)  # a folder is not a weights file


def test_from_pretrained_refuses_pickled_objects(small_model, tmp_path):
    path = tmp_path / 'evil.pt'
    torch.save({'state_dict': small_model.state_dict(), 'evil': _Evil()}, str(path))
    with pytest.raises(ValueError, match=str(path).replace('\\', '\\\\')):
        LFNet.from_pretrained(path)
    assert CALLED == [], 'the pickled callable must never run'


def test_from_pretrained_non_dict(tmp_path):
    path = tmp_path / 'list.pt'
    torch.save([torch.zeros(3)], str(path))
    with pytest.raises(ValueError, match='list.pt'):
        LFNet.from_pretrained(path)


def test_load_lfnet_without_weights_is_seeded(caplog):
    with caplog.at_level(logging.WARNING):
        first, second = load_lfnet(seed=5), load_lfnet(seed=5)
    for key, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[key]), key
    assert not first.training
