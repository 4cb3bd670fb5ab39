# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ONNX operators that TensorRT's ONNX parser supports natively (no plugin), for export checks.

Source: onnx/onnx-tensorrt `docs/operators.md`, the "Operator Support Matrix" of TensorRT 10.15
("TensorRT 10.15 supports operators in the inclusive range of opset 9 to opset 24"),
https://github.com/onnx/onnx-tensorrt/blob/main/docs/operators.md (retrieved 2026-11 from a stored
copy of the repository; the commit was not recorded). Only rows marked `Y` are listed. Update the
list (and SOURCE) together when moving to another TensorRT release.

An operator outside this list is not necessarily impossible (the parser then looks for a plugin
of that name), but it would need a plugin library at build and run time: the LF-Net graphs must
stay inside the list (tests/core/test_tensorrt_ready.py).
"""

from typing import Dict, FrozenSet

SOURCE = 'https://github.com/onnx/onnx-tensorrt/blob/main/docs/operators.md'
TENSORRT_VERSION = '10.15'
OPSET_RANGE = (9, 24)

# Tensor element types the parser accepts for ordinary (non-quantised) tensors:
# onnx.TensorProto FLOAT, FLOAT16, BFLOAT16, INT32, INT64, BOOL (UINT8 only as network I/O,
# DOUBLE only by a clamping cast to FLOAT, INT8/INT4/FP8/FP4 only through quantisation).
SUPPORTED_ELEM_TYPES: FrozenSet[int] = frozenset({1, 10, 16, 6, 7, 9})

SUPPORTED_OPS: FrozenSet[str] = frozenset('''
Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool
BatchNormalization BlackmanWindow Cast CastLike Ceil Celu Clip Concat Constant ConstantOfShape
Conv ConvTranspose Cos Cosh CumSum DeformConv DepthToSpace DequantizeLinear Div Dropout Einsum Elu
Equal Erf Exp Expand EyeLike Flatten Floor Gather GatherElements GatherND Gelu Gemm
GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample GroupNormalization
GRU HammingWindow HannWindow HardSigmoid HardSwish Hardmax Identity If ImageScaler
InstanceNormalization IsInf IsNaN LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax
Loop LRN LSTM LpNormalization LpPool MatMul Max MaxPool Mean MeanVarianceNormalization Min Mish
Mod Mul Neg NonMaxSuppression NonZero Not OneHot Or Pad ParametricSoftplus Pow PRelu
QuantizeLinear RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range Reciprocal
ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum
ReduceSumSquare Relu Reshape Resize ReverseSequence RMSNormalization RNN RoiAlign RotaryEmbedding
Round STFT ScaledTanh Scan Scatter ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin
Sinh Size Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh
TensorScatter ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Upsample Where Xor
'''.split())

# Restrictions from the same table for operators an LF-Net export uses or could plausibly use
# (paraphrased). The machine-checkable ones are checked by tests/core/test_tensorrt_ready.py.
RESTRICTIONS: Dict[str, str] = {
    'AveragePool': '2D or 3D pooling only; dilations empty or all ones',
    'MaxPool': '2D or 3D pooling only; no Indices output; dilations empty or all ones',
    'GridSample': 'input must be 4D; FP32/FP16 only',
    'ReduceMax': 'axes must be an initializer',
    'ReduceMean': 'axes must be an initializer',
    'ReduceSum': 'axes must be an initializer',
    'Squeeze': 'axes must resolve to a constant',
    'Unsqueeze': 'axes must resolve to a constant',
    'Resize': ('coordinate transformation half_pixel, pytorch_half_pixel, tf_half_pixel_for_nn, '
               'asymmetric or align_corners; mode nearest or linear; nearest mode floor, ceil, '
               'round_prefer_floor or round_prefer_ceil; aspect ratio policy stretch; no '
               'antialiasing'),
    'TopK': 'sorted must be 1; K below 3840',
    'Range': 'none in 10.x (TensorRT 8.4 needed initializer start/limit/delta for floats)',
    'Gather': 'none (the 10.x table lists INT64; 8.x cast INT64 down to INT32)',
    'GatherElements': 'none',
    'Dropout': 'is_training must be an initializer that is False',
    'Pad': 'none listed',
}

RESIZE_COORDINATE_MODES = frozenset({'half_pixel', 'pytorch_half_pixel', 'tf_half_pixel_for_nn',
                                     'asymmetric', 'align_corners'})
RESIZE_MODES = frozenset({'nearest', 'linear'})
RESIZE_NEAREST_MODES = frozenset({'floor', 'ceil', 'round_prefer_floor', 'round_prefer_ceil'})
