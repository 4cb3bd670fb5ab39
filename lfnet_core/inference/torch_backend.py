# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""PyTorch backend (CPU or CUDA): runs the LFNet module eagerly."""

from typing import Optional, Union

import numpy as np
import torch

from lfnet_core.inference.base import Backend, Described, Maps
from lfnet_core.model.lfnet import LFNet


class TorchBackend(Backend):
    """Eager PyTorch inference on a given device."""

    name = 'torch'

    def __init__(self, model: LFNet, device: Optional[Union[str, torch.device]] = None) -> None:
        super().__init__(model.config)
        self.device = torch.device(device) if device else next(model.parameters()).device
        self.model = model.to(self.device).eval()

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    @torch.no_grad()
    def dense(self, image: np.ndarray) -> Maps:
        outputs = self.model.dense(self._tensor(image))
        return tuple(t.cpu().numpy() for t in outputs)

    @torch.no_grad()
    def describe(self, image: np.ndarray, score: np.ndarray, scale: np.ndarray,
                 orientation: np.ndarray, keypoints_int: np.ndarray) -> Described:
        outputs = self.model.describe(
            self._tensor(image), self._tensor(score), self._tensor(scale),
            self._tensor(orientation), self._tensor(keypoints_int.astype(np.int64)))
        return tuple(t.cpu().numpy() for t in outputs)
