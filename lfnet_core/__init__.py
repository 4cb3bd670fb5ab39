# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""LF-Net learned local features (Ono et al., NeurIPS 2018) in PyTorch, without ROS.

The one-import API::

    from lfnet_core import create_backend, Frame, Frontend, LFNet, mutual_nearest_neighbours

`LFNet` (the PyTorch model) is imported on first use (PEP 562 `__getattr__`), so that
`import lfnet_core` works without torch: the ONNX Runtime path needs no torch.
"""

from typing import Any

from lfnet_core.frontend import Frame, Frontend
from lfnet_core.inference.factory import create_backend
from lfnet_core.matching import mutual_nearest_neighbours

__version__ = '0.1.0'
__all__ = ['create_backend', 'Frame', 'Frontend', 'LFNet', 'mutual_nearest_neighbours']


def __getattr__(name: str) -> Any:
    """Return `LFNet` from `lfnet_core.model.lfnet` on first use (it imports torch)."""
    if name == 'LFNet':
        from lfnet_core.model.lfnet import LFNet
        return LFNet
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
