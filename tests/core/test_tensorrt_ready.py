# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The exported ONNX graphs stay inside what TensorRT's ONNX parser builds without plugins.

Checked against `lfnet_core.tensorrt.ops` (TensorRT 10.15's operator matrix): every operator is
listed, in the default domain, with the listed restrictions met; every tensor has a supported type;
every dynamic dimension is H, W or N (or an expression of them), within the export's ranges.
This needs no GPU and no TensorRT; it does not prove that TensorRT builds the engine.
"""

import re

import onnx
from onnx import helper
import pytest

from lfnet_core import export
from lfnet_core.config import DetectorConfig
from lfnet_core.tensorrt import ops as tensorrt_ops, shape_profile
from model_helpers import randomised_model, randomised_with, shared_export

SYMBOLS = {'height', 'width', 'num_keypoints'}
# functions of them that symbolic shapes may use (the DoG's half-size crop is Min(height, ...))
SHAPE_FUNCTIONS = {'Min', 'Max', 'floor', 'ceiling', 'Mod', 'FloorDiv', 'CeilToInt'}


@pytest.fixture(scope='module', params=[DetectorConfig(), DetectorConfig(scale_source='dog'),
                                        DetectorConfig(scale_source='dog', min_contrast=0.05)])
def graphs(tmp_path_factory, request):
    # both scale sources: the DoG scale (DetectorConfig.scale_source) adds its own operators,
    # and the contrast gate (DetectorConfig.min_contrast) a comparison and a Where
    paths, _ = shared_export(tmp_path_factory, randomised_with(request.param))
    return {'dense': onnx.load(str(paths.dense)), 'describe': onnx.load(str(paths.describe))}


def _ops(model):
    return {node.op_type for node in model.graph.node}


def _constants(model):
    names = {init.name for init in model.graph.initializer}
    return names | {out for node in model.graph.node if node.op_type == 'Constant'
                    for out in node.output}


def _ranks(model):
    tensors = list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output)
    ranks = {vi.name: len(vi.type.tensor_type.shape.dim) for vi in tensors
             if vi.type.tensor_type.HasField('shape')}
    ranks.update({init.name: len(init.dims) for init in model.graph.initializer})
    return ranks


def test_operators_are_supported_without_plugins(graphs):
    used = {}
    for name, model in graphs.items():
        assert not model.functions, f'{name}: model-local functions'
        domains = {node.domain for node in model.graph.node}
        assert domains <= {'', 'ai.onnx'}, f'{name}: custom-domain ops need plugins: {domains}'
        opsets = {imp.domain: imp.version for imp in model.opset_import}
        low, high = tensorrt_ops.OPSET_RANGE
        assert low <= opsets.get('', opsets.get('ai.onnx', 0)) <= high, name
        unsupported = _ops(model) - tensorrt_ops.SUPPORTED_OPS
        assert not unsupported, f'{name}: not in TensorRT {tensorrt_ops.TENSORRT_VERSION} ' \
                                f'parser list: {sorted(unsupported)}'
        used[name] = sorted(_ops(model))
    print('operators used:', used)


def test_operator_restrictions(graphs):
    for name, model in graphs.items():
        constants = _constants(model)
        ranks = _ranks(model)
        for node in model.graph.node:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            where = f'{name}: {node.op_type} {node.name}'
            if node.op_type in ('ReduceMax', 'ReduceMean', 'ReduceSum', 'Squeeze', 'Unsqueeze'):
                assert len(node.input) < 2 or not node.input[1] or node.input[1] in constants, \
                    f'{where}: axes must be an initializer'
            if node.op_type in ('MaxPool', 'AveragePool'):
                assert len(attrs['kernel_shape']) in (2, 3), where
                assert all(d == 1 for d in attrs.get('dilations', [1])), where
                assert len(node.output) == 1 or not node.output[1], f'{where}: Indices output'
            if node.op_type == 'GridSample':
                assert ranks.get(node.input[0]) == 4, f'{where}: input must be 4D'
                assert attrs.get('mode', b'linear') in (b'bilinear', b'linear', b'nearest'), where
            if node.op_type == 'Resize':
                assert attrs.get('antialias', 0) == 0, where
                assert attrs.get('mode', b'nearest').decode() in tensorrt_ops.RESIZE_MODES, where
                mode = attrs.get('coordinate_transformation_mode', b'half_pixel').decode()
                assert mode in tensorrt_ops.RESIZE_COORDINATE_MODES, where
            if node.op_type == 'TopK':
                assert attrs.get('sorted', 1) == 1, where
            if node.op_type == 'Dropout':
                pytest.fail(f'{where}: export in eval mode')


def test_tensor_types_are_supported(graphs):
    for name, model in graphs.items():
        tensors = list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output)
        for vi in tensors:
            assert vi.type.tensor_type.elem_type in tensorrt_ops.SUPPORTED_ELEM_TYPES, \
                f'{name}: {vi.name} has type {vi.type.tensor_type.elem_type}'
        for init in model.graph.initializer:
            assert init.data_type in tensorrt_ops.SUPPORTED_ELEM_TYPES, f'{name}: {init.name}'


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_io_shapes_are_static_or_declared(graphs):
    expected = {
        'image': [1, 1, 'height', 'width'], 'score': [1, 1, 'height', 'width'],
        'scale': [1, 1, 'height', 'width'], 'orientation': [1, 2, 'height', 'width'],
        'peaks': [1, 1, 'height', 'width'], 'keypoints': [1, 'num_keypoints', 2],
        'keypoints_refined': [1, 'num_keypoints', 2], 'scales': [1, 'num_keypoints'],
        'orientations': [1, 'num_keypoints', 2], 'descriptors': [1, 'num_keypoints', 256]}
    for model in graphs.values():
        for vi in list(model.graph.input) + list(model.graph.output):
            assert _dims(vi) == expected[vi.name], vi.name


def test_intermediate_shapes_depend_only_on_h_w_n(graphs):
    """No data-dependent dimension (NonZero-like): every symbol is an expression of H, W, N."""
    for name, model in graphs.items():
        for vi in model.graph.value_info:
            for dim in vi.type.tensor_type.shape.dim:
                if dim.dim_param:
                    names = set(re.findall(r'[A-Za-z_]\w*', dim.dim_param)) - SHAPE_FUNCTIONS
                    assert names <= SYMBOLS, f'{name}: {vi.name} has dim {dim.dim_param!r}'


def test_engine_profiles_stay_inside_the_export_ranges():
    min_side = 2 * randomised_model(0).config.detector.border + 1
    profile = shape_profile.default_profile(min_side)
    profile.check_min_side(min_side)
    assert min(profile.min_hw) >= min_side and max(profile.max_hw) <= export.MAX_SIDE
    assert 1 <= profile.min_keypoints and profile.max_keypoints <= export.MAX_KEYPOINTS
    with pytest.raises(ValueError, match='export limits'):
        shape_profile.ShapeProfile((64, 64), (64, 64), (64, export.MAX_SIDE + 1))
    with pytest.raises(ValueError, match='smallest'):
        shape_profile.ShapeProfile((8, 8), (64, 64), (64, 64)).check_min_side(min_side)
