# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Where exported ONNX models and TensorRT engines are cached ($LFNET_CACHE_DIR)."""

import os
from pathlib import Path
from typing import Optional, Union

from lfnet_core.onnx_model import GRAPH_VERSION

PathLike = Union[str, os.PathLike]


def default_cache_dir() -> Path:
    """Folder for exported ONNX models: $LFNET_CACHE_DIR, else $XDG_CACHE_HOME/lfnet_ros."""
    if os.environ.get('LFNET_CACHE_DIR'):
        return Path(os.environ['LFNET_CACHE_DIR'])
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'lfnet_ros'


def onnx_cache_folder(fingerprint: str, cache_dir: Optional[PathLike] = None) -> Path:
    """Folder of the cached export of the weights with this fingerprint, for this graph version."""
    return Path(cache_dir or default_cache_dir()) / 'onnx' / f'{fingerprint[:16]}-g{GRAPH_VERSION}'
