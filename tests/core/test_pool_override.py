# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Descriptor pooling chosen at load time (`create_backend(pool_scales=...)`), not in the file.

The ONNX export is the session's shared one (test_backends.py, test_export.py).
"""

import shutil

import numpy as np
import pytest
import skimage.data

from lfnet_core.config import DescriptorConfig, LFNetConfig
from lfnet_core.export import model_fingerprint
from lfnet_core.inference import BackendUnavailableError, create_backend, onnx_cache_folder
from lfnet_core.model.lfnet import LFNet, load_lfnet
from model_helpers import randomised_model, run_without_torch, shared_export

POOL = (0.7071, 1.4142)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    model = randomised_model(0)
    paths, weights = shared_export(tmp_path_factory, model)
    return model, paths, weights


@pytest.fixture
def no_export(monkeypatch):
    """Make any ONNX export fail, so that a test sees when one would start."""
    def refuse(*args, **kwargs):
        raise AssertionError('unexpected ONNX export')
    monkeypatch.setattr('lfnet_core.export.export_onnx', refuse)


def test_load_lfnet_replaces_the_pooling_of_the_checkpoint(exported):
    model, _, weights = exported
    pooled = load_lfnet(weights, pool_scales=[0.7071, 1.4142])
    assert pooled.config.descriptor.pool_scales == POOL
    assert load_lfnet(weights).config.descriptor.pool_scales == (1.0,)
    for key, value in model.state_dict().items():
        assert np.array_equal(pooled.state_dict()[key].numpy(), value.numpy()), key
    assert model_fingerprint(pooled) != model_fingerprint(model)
    assert model_fingerprint(load_lfnet(weights, pool_scales=[1.0])) == model_fingerprint(model)
    for bad in ([], [0.0], [1.0] * 9, [float('inf')]):
        with pytest.raises(ValueError, match='pool_scales'):
            load_lfnet(weights, pool_scales=bad)


def test_the_torch_backend_describes_with_the_pooling_asked_for(exported):
    model, _, weights = exported
    image = np.ascontiguousarray(skimage.data.camera()[150:330, 120:360])
    twin = LFNet(LFNetConfig(detector=model.config.detector,
                             descriptor=DescriptorConfig(pool_scales=POOL))).eval()
    twin.load_state_dict(model.state_dict())
    got = create_backend('torch', weights=weights, pool_scales=POOL).extract(image, top_k=100)
    expected = twin.extract(image, top_k=100)
    single = create_backend('torch', weights=weights).extract(image, top_k=100)
    np.testing.assert_array_equal(got['keypoints'], single['keypoints'])
    np.testing.assert_allclose(got['descriptors'], expected['descriptors'], rtol=0, atol=1e-6)
    assert np.abs(got['descriptors'] - single['descriptors']).max() > 0.01  # pooled: other


def test_an_export_without_the_pooling_is_never_used_for_it(exported, tmp_path, no_export):
    model, paths, weights = exported
    with pytest.raises(BackendUnavailableError, match='pool_scales'):
        create_backend('onnxruntime', weights=weights, onnx_dir=paths.dense.parent,
                       pool_scales=POOL)
    # The cache holds the unpooled export; pooling asks for its own, so it would export.
    folder = onnx_cache_folder(model_fingerprint(model), tmp_path)
    folder.mkdir(parents=True)
    for path in (paths.dense, paths.describe):
        shutil.copy(path, folder / path.name)
    assert create_backend('onnxruntime', weights=weights, cache_dir=tmp_path).name == \
        'onnxruntime'
    with pytest.raises(AssertionError, match='unexpected ONNX export'):
        create_backend('onnxruntime', weights=weights, cache_dir=tmp_path, pool_scales=POOL)


def test_without_torch_the_export_is_checked_by_its_own_metadata(exported):
    _, paths, _ = exported
    code = ('from lfnet_core import create_backend\n'
            'from lfnet_core.inference import BackendUnavailableError\n'
            "same = create_backend('onnxruntime', onnx_dir=sys.argv[1], pool_scales=[1.0])\n"
            'print(same.config.descriptor.pool_scales)\n'
            'try:\n'
            "    create_backend('onnxruntime', onnx_dir=sys.argv[1], pool_scales=[0.7, 1.4])\n"
            'except BackendUnavailableError as exc:\n'
            "    print('refused:', exc)\n")
    output = run_without_torch(code, str(paths.dense.parent))
    lines = output.splitlines()
    assert lines[0] == '(1.0,)'
    assert lines[1].startswith('refused:') and 'pool_scales [1.0]' in lines[1]


def test_a_pooled_export_runs_as_the_pooled_torch_model(exported, tmp_path):
    model, _, weights = exported
    image = np.ascontiguousarray(skimage.data.camera()[150:330, 120:360])
    backend = create_backend('onnxruntime', weights=weights, cache_dir=tmp_path,
                             pool_scales=POOL)
    pooled = load_lfnet(weights, pool_scales=POOL)
    assert backend.config.descriptor.pool_scales == POOL
    assert onnx_cache_folder(model_fingerprint(pooled), tmp_path).is_dir()
    got = backend.extract(image, top_k=100)
    expected = create_backend('torch', weights=weights, pool_scales=POOL).extract(image, top_k=100)
    np.testing.assert_allclose(got['keypoints'], expected['keypoints'], rtol=0, atol=1e-3)
    np.testing.assert_allclose(got['descriptors'], expected['descriptors'], rtol=0, atol=1e-4)
