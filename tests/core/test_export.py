# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for lfnet_core.export: ONNX graphs, metadata, ONNX Runtime vs PyTorch parity, CLI.

The dynamic-shape export takes ~20-40 s, so it runs once per session: this module and
test_backends.py build the same seeded model and share its export folder under pytest's base
temporary directory (keyed by the model fingerprint).
"""

from dataclasses import replace
import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import skimage.data
import torch

from lfnet_core.config import DetectorConfig, LFNetConfig
from lfnet_core.export import (
    check_parity, config_for_metadata, DENSE_INPUTS, DENSE_OUTPUTS, DESCRIBE_INPUTS,
    DESCRIBE_OUTPUTS, export_onnx, ExportMismatchError, main, model_fingerprint, OnnxModel,
    parity_images, ParityImage)
from lfnet_core.inference.base import prepare_image, select_top_k
from lfnet_core.inference.onnxruntime_backend import OnnxRuntimeBackend
from lfnet_core.inference.torch_backend import TorchBackend
from lfnet_core.model.lfnet import LFNet
from model_helpers import randomised_model, randomised_with, shared_export

ATOL = 1e-4
METADATA_KEYS = {'lfnet_config', 'lfnet_fingerprint', 'lfnet_input_shape'}


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    model = randomised_model(0)
    paths, weights = shared_export(tmp_path_factory, model)
    return model, paths, weights


def _max_abs(a, b):
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


# --------------------------------------------------------------------------- graph structure


def test_graphs_metadata_opset_and_io(exported):
    model, paths, _ = exported
    assert sorted(p.name for p in paths.dense.parent.iterdir()) == [
        'lfnet_dense.onnx', 'lfnet_describe.onnx']  # self-contained: no external data files
    for path, inputs, outputs in ((paths.dense, DENSE_INPUTS, DENSE_OUTPUTS),
                                  (paths.describe, DESCRIBE_INPUTS, DESCRIBE_OUTPUTS)):
        graph = onnx.load(str(path))
        onnx.checker.check_model(graph)
        meta = {p.key: p.value for p in graph.metadata_props}
        assert set(meta) == METADATA_KEYS
        assert json.loads(meta['lfnet_config']) == json.loads(json.dumps(
            config_for_metadata(model)))
        assert LFNetConfig.from_dict(json.loads(meta['lfnet_config'])) == model.config
        assert meta['lfnet_fingerprint'] == model_fingerprint(model)
        assert meta['lfnet_input_shape'] == 'dynamic'
        opsets = {o.domain: o.version for o in graph.opset_import}
        assert opsets.get('', opsets.get('ai.onnx', 0)) >= 17
        assert [i.name for i in graph.graph.input] == inputs
        assert [o.name for o in graph.graph.output] == outputs
        image = graph.graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_value for d in image[:2]] == [1, 1]
        assert image[2].dim_param and image[3].dim_param, 'height and width must be dynamic'
    keypoints = onnx.load(str(paths.describe)).graph.input[4].type.tensor_type
    assert keypoints.elem_type == onnx.TensorProto.INT64
    assert keypoints.shape.dim[1].dim_param, 'the number of keypoints must be dynamic'


def test_dense_graph_has_depthwise_batchnorms_fused_with_leaky_relu(exported):
    """The four pre-activation BatchNorms export as depthwise 1x1 Convs (no BatchNormalization).

    ONNX Runtime then fuses each with its LeakyReLU inside the blocked layout: the optimised
    graph has no LeakyRelu node left and no layout reorders inside the backbone.
    """
    import onnxruntime as ort

    _, paths, _ = exported
    graph = onnx.load(str(paths.dense)).graph
    ops = [node.op_type for node in graph.node]
    assert 'BatchNormalization' not in ops
    depthwise = [node for node in graph.node if node.op_type == 'Conv'
                 and any(a.name == 'group' and a.i == 16 for a in node.attribute)]
    assert len(depthwise) == 4
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(paths.dense.parent.parent / 'dense_optimised.onnx')
    ort.InferenceSession(str(paths.dense), options, providers=['CPUExecutionProvider'])
    optimised = [node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node]
    assert 'LeakyRelu' not in optimised
    assert optimised.count('ReorderInput') <= 4  # the four resized scale branches only


def test_export_rejects_old_opset(tmp_path):
    with pytest.raises(ValueError, match='opset'):
        export_onnx(LFNet(), tmp_path, opset=16)
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- parity


def compare_dense_and_describe(model, onnx_backend, image, top_k=500):
    """Run both backends' dense stage once and describe torch's top-K peaks with both.

    Returns a dict of max abs differences, the fraction of orientation-map pixels off by more
    than ATOL, and whether the two top-K integer keypoint sets are identical.
    """
    grey = prepare_image(image)[None, None]
    torch_backend = TorchBackend(model)
    maps_ref, maps_onnx = torch_backend.dense(grey), onnx_backend.dense(grey)
    assert [m.shape for m in maps_onnx] == [m.shape for m in maps_ref]
    assert all(m.dtype == np.float32 for m in maps_onnx)
    report = {'score': _max_abs(maps_ref[0], maps_onnx[0]),
              'scale': _max_abs(maps_ref[1], maps_onnx[1]),
              'orientation_outliers': float(np.mean(np.abs(maps_ref[2] - maps_onnx[2]) > ATOL))}
    kps_ref, _ = select_top_k(maps_ref[3][0, 0], top_k)
    kps_onnx, _ = select_top_k(maps_onnx[3][0, 0], top_k)
    report['count'] = len(kps_ref)
    report['same_keypoints'] = (
        len(kps_ref) == len(kps_onnx)
        and set(map(tuple, kps_ref.tolist())) == set(map(tuple, kps_onnx.tolist())))
    if len(kps_ref):
        described_ref = torch_backend.describe(grey, *maps_ref[:3], kps_ref[None])
        described_onnx = onnx_backend.describe(grey, *maps_ref[:3], kps_ref[None])
        for name, a, b in zip(DESCRIBE_OUTPUTS, described_ref, described_onnx):
            assert a.shape == b.shape and b.dtype == a.dtype, name
            report[name] = _max_abs(a, b)
    return report


def _assert_parity(report, real):
    assert report['count'] > 0
    assert report['score'] <= ATOL, report
    assert report['scale'] <= 1e-3, report  # soft scale: softmax of strength 100 over scales
    # (cos, sin) is a normalised conv output: where the raw vector nearly vanishes, float32
    # rounding is amplified, so a few isolated pixels may exceed ATOL.
    assert report['orientation_outliers'] <= 1e-4, report
    for name in DESCRIBE_OUTPUTS:
        assert report[name] <= ATOL, (name, report)
    if real:
        assert report['same_keypoints'], report


@pytest.fixture(scope='module')
def onnx_backend(exported):
    return OnnxRuntimeBackend(exported[1])


@pytest.mark.parametrize('height,width', [(33, 47), (97, 131)])
def test_parity_random_images(exported, onnx_backend, height, width):
    image = np.random.default_rng(height).integers(0, 256, (height, width), dtype=np.uint8)
    _assert_parity(compare_dense_and_describe(exported[0], onnx_backend, image), real=False)


@pytest.mark.parametrize('name', ['astronaut', 'camera'])
def test_parity_skimage_images(exported, onnx_backend, name):
    image = getattr(skimage.data, name)()
    report = compare_dense_and_describe(exported[0], onnx_backend, image)
    _assert_parity(report, real=True)
    assert report['count'] == 500


def test_describe_graph_directly(exported, onnx_backend):
    model, _, _ = exported
    describe = onnx_backend.describe_session
    rng = np.random.default_rng(3)
    image = rng.random((1, 1, 61, 90), dtype=np.float32)
    with torch.no_grad():
        maps = [t.numpy() for t in model.dense(torch.from_numpy(image))[:3]]
    kps = np.stack([rng.integers(16, 90 - 16, 7), rng.integers(16, 61 - 16, 7)], -1)[None]
    inputs = (image, *maps, kps.astype(np.int64))
    with torch.no_grad():
        expected = model.describe(*(torch.from_numpy(a) for a in inputs))
    got = describe.run(None, dict(zip(DESCRIBE_INPUTS, inputs)))
    assert [g.shape for g in got] == [(1, 7, 2), (1, 7), (1, 7, 2), (1, 7, 256)]
    for g, e in zip(got, expected):
        assert _max_abs(g, e.numpy()) <= ATOL


def test_check_parity_passes_and_detects_a_different_model(exported):
    model, paths, _ = exported
    image = ParityImage('noise', np.random.default_rng(0).integers(0, 256, (50, 60), np.uint8),
                        False)
    report = check_parity(model, paths, [image])[0]
    assert report['name'] == 'noise' and report['max_abs_score'] <= ATOL
    with pytest.raises(ExportMismatchError, match='noise'):
        check_parity(randomised_model(1), paths, [image])


def test_parity_images_list():
    images = parity_images()
    assert [item.real for item in images] == [False, False, True, True]
    assert [item.name for item in images[2:]] == ['astronaut', 'camera']


SHARED_IMAGES = {
    'tum_fr3_cabinet': lambda folder: sorted((folder / 'rgb').glob('*.jpg'))[0],
    'tum_fr2_desk_pair': lambda folder: folder / '1.png',
    'oxford_affine': lambda folder: folder / 'boat' / 'img1.png',
}


@pytest.mark.parametrize('name', [
    'tum_fr3_cabinet', 'tum_fr2_desk_pair',
    pytest.param('oxford_affine', marks=pytest.mark.slow),  # 850x680: ~10 s on 2 busy cores
])
def test_parity_shared_real_images(exported, onnx_backend, require_shared, name):
    path = SHARED_IMAGES[name](require_shared(name))
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f'cannot read {path}'
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    _assert_parity(compare_dense_and_describe(exported[0], onnx_backend, image), real=True)


def test_onnxruntime_backend_reads_metadata(exported):
    model, paths, _ = exported
    backend = OnnxRuntimeBackend(paths)
    assert backend.config == model.config
    assert backend.fingerprint == model_fingerprint(model)
    assert backend.providers[-1] == 'CPUExecutionProvider'


# --------------------------------------------------------------------------- CLI, fixed shape


def test_cli_fixed_shape_export(exported, tmp_path, capsys):
    model, _, weights = exported
    out = tmp_path / 'fixed'
    assert main(['--weights', str(weights), '--out', str(out), '--shape', '48x64',
                 '--top-k', '200']) == 0
    printed = capsys.readouterr().out
    assert 'parity OK on 4 images' in printed  # the CLI's own check, on 48x64 resized images
    paths = OnnxModel.in_dir(out)
    assert paths.exists()
    for path in (paths.dense, paths.describe):
        graph = onnx.load(str(path))
        meta = {p.key: p.value for p in graph.metadata_props}
        assert meta['lfnet_input_shape'] == '48x64'
        assert meta['lfnet_fingerprint'] == model_fingerprint(model)
        dims = graph.graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_value for d in dims] == [1, 1, 48, 64]
    # The fixed graph runs at its shape, like PyTorch, and refuses another one.
    image = cv2.resize(skimage.data.camera(), (64, 48))
    expected = TorchBackend(model).extract(image, top_k=100)
    backend = OnnxRuntimeBackend(paths)
    got = backend.extract(image, top_k=100)
    assert len(got['keypoints']) == len(expected['keypoints']) > 0
    assert _max_abs(got['keypoints'], expected['keypoints']) <= 1e-3
    assert _max_abs(got['descriptors'], expected['descriptors']) <= ATOL
    grey = prepare_image(cv2.resize(image, (70, 48)))[None, None]
    with pytest.raises(Exception):  # ONNX Runtime's InvalidArgument
        backend.dense(grey)
    keypoints, _ = select_top_k(backend.dense(prepare_image(image)[None, None])[3][0, 0], 10)
    assert len(keypoints) == 10


@pytest.mark.parametrize('argv', [['--shape', '48by64'], ['--opset'], ['--bogus']])
def test_cli_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


@pytest.mark.parametrize('edge_power, min_contrast', [(0.0, 0.0), (2.0, 0.0), (2.0, 0.05)])
def test_dog_scale_model_exports_with_parity(tmp_path, edge_power, min_contrast):
    # scale_source 'dog' (lfnet_core.ops.dog_scale): the blur stack and the soft argmax over
    # levels export too, and ONNX Runtime's scale map agrees with PyTorch's; so does the score
    # with the edge weighting and the contrast gate
    model = randomised_model(0)
    dog_model = randomised_with(DetectorConfig(scale_source='dog', dog_edge_power=edge_power,
                                               min_contrast=min_contrast))
    paths = export_onnx(dog_model, tmp_path / 'onnx')
    check_parity(dog_model, paths, parity_images(), top_k=500)
    scales = TorchBackend(dog_model).extract(skimage.data.camera(), 500)['scales']
    assert np.ptp(scales) > 0.5  # scales vary by keypoint, unlike the learned ones
    # a scale map alone off by 10%: the same weights with another DoG reference
    other = LFNet(LFNetConfig(detector=DetectorConfig(scale_source='dog', dog_reference=1.65)))
    other.load_state_dict(model.state_dict())
    noise = ParityImage('noise', np.random.default_rng(0).integers(0, 256, (60, 80), np.uint8),
                        False)  # no keypoint-identity test: only the scale map can fail
    with pytest.raises(ExportMismatchError, match='noise'):
        check_parity(other.eval(), paths, [noise])


def test_fingerprint_ignores_the_dog_settings_of_a_learned_scale_model():
    model = randomised_model(0)
    learned = LFNet(LFNetConfig(detector=DetectorConfig(dog_reference=3.0)))
    dog = LFNet(LFNetConfig(detector=DetectorConfig(scale_source='dog')))
    for other in (learned, dog):
        other.load_state_dict(model.state_dict())
    assert model_fingerprint(learned) == model_fingerprint(model)  # older exports stay valid
    assert model_fingerprint(dog) != model_fingerprint(model)


def test_a_neutral_edge_power_leaves_fingerprint_and_metadata_as_before_the_option():
    stage7 = Path(__file__).resolve().parents[2] / 'training/runs/real_dog_descriptor/checkpoints'
    if not (stage7 / 'latest.pt').is_file():
        pytest.skip('no stage-7 checkpoint')
    dog = LFNet.from_pretrained(stage7 / 'latest.pt')
    assert dog.config.detector.dog_edge_power == 0.0
    # computed before `dog_edge_power` existed: its exports and engines stay valid
    assert model_fingerprint(dog) == ('1aa06b74d768b7fbd1a90e0439ba3821'
                                      'aa55f23fcc4cebf7868e04d6658cc7b7')
    assert 'dog_edge_power' not in config_for_metadata(dog)['detector']
    assert LFNetConfig.from_dict(config_for_metadata(dog)) == dog.config
    edged = LFNet(replace(dog.config, detector=replace(dog.config.detector,
                                                       dog_edge_power=2.0)))
    edged.load_state_dict(dog.state_dict())
    assert config_for_metadata(edged)['detector']['dog_edge_power'] == 2.0
    assert model_fingerprint(edged) != model_fingerprint(dog)


def test_quadratic_refinement_exports_with_parity_and_its_own_fingerprint(tmp_path):
    quadratic = randomised_with(DetectorConfig(scale_source='dog', kp_refine='quadratic'))
    paths = export_onnx(quadratic, tmp_path / 'onnx')
    check_parity(quadratic, paths, parity_images(), top_k=500)
    keypoints = TorchBackend(quadratic).extract(skimage.data.camera(), 500)['keypoints']
    offsets = keypoints - np.round(keypoints)
    assert np.abs(offsets).max() <= 0.5 + 1e-6 and np.abs(offsets).mean() > 0.05
    # the release's soft argmax is the neutral value: left out of fingerprint and metadata
    soft = randomised_with(DetectorConfig(scale_source='dog', kp_refine='soft_argmax'))
    assert 'kp_refine' not in config_for_metadata(soft)['detector']
    assert config_for_metadata(quadratic)['detector']['kp_refine'] == 'quadratic'
    assert model_fingerprint(quadratic) != model_fingerprint(soft)
    with pytest.raises(ValueError, match='kp_refine'):
        DetectorConfig(kp_refine='centroid')
