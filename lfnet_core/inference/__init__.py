# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Inference backends behind one interface, chosen by name or `auto` (`create_backend`).

`auto` tries, in order: TensorRT, ONNX Runtime (CUDA provider when present, else CPU), PyTorch;
it logs once which one runs and why the others were passed over. The factory is
`lfnet_core.inference.factory`, the shared contract `lfnet_core.inference.base`; the backends are
`onnxruntime_backend`, `torch_backend` and `lfnet_core.tensorrt.backend`.
"""

from lfnet_core.cache import default_cache_dir, onnx_cache_folder
from lfnet_core.inference.base import Backend, OUTPUT_KEYS, prepare_image, select_top_k
from lfnet_core.inference.factory import BACKEND_NAMES, BackendUnavailableError, create_backend

__all__ = ['Backend', 'BACKEND_NAMES', 'BackendUnavailableError', 'OUTPUT_KEYS',
           'create_backend', 'default_cache_dir', 'onnx_cache_folder', 'prepare_image',
           'select_top_k']
