# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The LF-Net model: detector + descriptor, tensor-only `dense` and `describe` stages, `extract`.

Credits: Y. Ono, E. Trulls, P. Fua, K. M. Yi, "LF-Net: Learning Local Features from Images",
NeurIPS 2018; reference code vcg-uvic/lf-net-release. This is an independent PyTorch port.
"""

from dataclasses import replace
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from lfnet_core.config import LFNetConfig, pool_factors
from lfnet_core.inference.base import extract_features
from lfnet_core.local_features import Features
from lfnet_core.model.descriptor import DescriptorNet, pool_descriptors, stacked_patches
from lfnet_core.model.detector import DetectorNet, instance_norm
from lfnet_core.ops.nms import strict_nms_mask
from lfnet_core.ops.sampling import gather_at, quadratic_refine, soft_argmax_refine

LOG = logging.getLogger(__name__)
CHECKPOINT_FORMAT = 'lfnet_ros/checkpoint/1'
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / 'weights'
DEFAULT_WEIGHTS = WEIGHTS_DIR / 'lfnet_default.pt'

DenseMaps = Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
Described = Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class LFNet(nn.Module):
    """LF-Net: a multi-scale detector and a patch descriptor.

    The two stages are tensor-only and export to ONNX:
      - `dense(image)`: score, scale, orientation maps and the strict-NMS peak map;
      - `describe(image, score, scale, orientation, keypoints_int)`: sub-pixel keypoints, their
        scale, orientation and descriptors.
    Keypoint selection (top-K of the peak map) runs between them on the host, so every backend
    shares it. `extract(image)` runs the whole pipeline on one image.
    """

    def __init__(self, config: LFNetConfig = LFNetConfig()) -> None:
        super().__init__()
        self.config = config
        self.detector = DetectorNet(config.detector)
        self.descriptor = DescriptorNet(config.descriptor)

    def normalize_input(self, image: torch.Tensor) -> torch.Tensor:
        """Apply the model's input convention to a (B, 1, H, W) image in [0, 1]."""
        if self.config.input_inst_norm:
            return instance_norm(image, self.config.input_inst_norm_eps)
        return image

    def dense(self, image: torch.Tensor) -> DenseMaps:
        """Dense stage.

        Args:
            image: (B, 1, H, W) grey image in [0, 1].

        Returns:
            score (B, 1, H, W) in [0, 1]; scale (B, 1, H, W); orientation (B, 2, H, W) unit
            (cos, sin); peaks (B, 1, H, W): the score where strict 5x5 NMS keeps a pixel, else 0;
            with `min_contrast` c > 0, minus the score at a peak whose contrast is below c
            (`select_top_k` counts such a peak against K and drops it).

        """
        cfg = self.config.detector
        score, scale, orientation, contrast = self.detector.detect(self.normalize_input(image))
        keep = strict_nms_mask(score, cfg.nms_ksize, cfg.nms_thresh)
        peaks = score * keep.to(score.dtype)
        if contrast is not None:
            peaks = torch.where(contrast >= cfg.min_contrast, peaks, -peaks)
        return score, scale, orientation, peaks

    def describe(self, image: torch.Tensor, score: torch.Tensor, scale: torch.Tensor,
                 orientation: torch.Tensor, keypoints_int: torch.Tensor) -> Described:
        """Keypoint stage: sub-pixel refinement, patch sampling and description.

        Args:
            image: (B, 1, H, W) grey image in [0, 1].
            score, scale, orientation: maps from `dense`.
            keypoints_int: (B, N, 2) int64 integer keypoints (x, y).

        Returns:
            keypoints (B, N, 2) sub-pixel (x, y); scales (B, N); orientations (B, N, 2) unit
            (cos, sin); descriptors (B, N, D) unit length, pooled over the patches at the
            scale times each of `DescriptorConfig.pool_scales`. Scale and orientation are read
            at the integer location, as in the release.

        """
        keypoints, scales, orientations = self.keypoint_frames(score, scale, orientation,
                                                               keypoints_int)
        pooled = self.pooled_patches(image, keypoints, scales, orientations)
        descriptors = pool_descriptors([self.describe_patches(patches) for patches in pooled])
        return keypoints, scales, orientations, descriptors

    def pooled_patches(self, image: torch.Tensor, keypoints: torch.Tensor, scales: torch.Tensor,
                       orientations: torch.Tensor) -> List[torch.Tensor]:
        """Return (B, N, C, P, P) `stacked_patches` at the scales times each of `pool_scales`."""
        normalized = self.normalize_input(image)
        config = self.config.descriptor
        return [stacked_patches(normalized, keypoints,
                                scales if factor == 1.0 else scales * factor, orientations,
                                config)
                for factor in config.pool_scales]

    def describe_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """Return (B, N, D) unit descriptors of (B, N, C, P, P) patches ((B, N, P, P): C = 1)."""
        if patches.dim() == 4:
            patches = patches.unsqueeze(2)
        batch, count = patches.shape[0], patches.shape[1]
        descriptors = self.descriptor(patches.reshape(batch * count, *patches.shape[2:]))
        return descriptors.reshape(batch, count, -1)

    def keypoint_frames(self, score: torch.Tensor, scale: torch.Tensor,
                        orientation: torch.Tensor, keypoints_int: torch.Tensor
                        ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (B, N, 2) sub-pixel keypoints, (B, N) scales and (B, N, 2) orientations."""
        cfg = self.config.detector
        scales = gather_at(scale, keypoints_int)[..., 0]
        orientations = gather_at(orientation, keypoints_int)
        if cfg.kp_refine == 'quadratic':
            keypoints = quadratic_refine(score, keypoints_int)
        else:
            keypoints = soft_argmax_refine(score, keypoints_int, scales, cfg.kp_loc_size,
                                           cfg.kp_com_strength)
        return keypoints, scales, orientations

    @torch.no_grad()
    def extract(self, image: np.ndarray, top_k: Optional[int] = None) -> Features:
        """Detect and describe keypoints in one image, as `Backend.extract` does.

        Runs on the model's device, in eval mode (the model stays in eval mode), like the torch
        backend (`lfnet_core.inference.torch_backend`).
        """
        self.eval()
        device = next(self.parameters()).device

        def tensor(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(array)).to(device)

        def dense(image: np.ndarray) -> Tuple[np.ndarray, ...]:
            return tuple(t.cpu().numpy() for t in self.dense(tensor(image)))

        def describe(*arrays: np.ndarray) -> Tuple[np.ndarray, ...]:
            return tuple(t.cpu().numpy() for t in self.describe(*map(tensor, arrays)))

        return extract_features(self.config, dense, describe, image, top_k)[0]

    def checkpoint(self, **meta: Any) -> Dict[str, Any]:
        """Return a checkpoint dict (config, state_dict, meta) loadable with weights_only=True."""
        return {'format': CHECKPOINT_FORMAT, 'config': self.config.to_dict(),
                'state_dict': self.state_dict(), 'meta': dict(meta)}

    def save(self, path: Union[str, os.PathLike], **meta: Any) -> None:
        """Write a checkpoint file (see `checkpoint`)."""
        torch.save(self.checkpoint(**meta), str(path))

    @classmethod
    def from_pretrained(cls, path: Union[str, os.PathLike],
                        device: Optional[Union[str, torch.device]] = None) -> 'LFNet':
        """Load a checkpoint with `weights_only=True` and strict keys, in eval mode.

        Raises:
            FileNotFoundError: the file does not exist.
            ValueError: the file is not a loadable LF-Net checkpoint (message names the file).

        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f'LF-Net weights not found: {path}')
        try:
            data = torch.load(str(path), map_location='cpu', weights_only=True)
        except Exception as exc:  # noqa: B902 - torch raises many types for corrupt files
            raise ValueError(f'cannot read LF-Net weights {path}: {exc}') from exc
        if not isinstance(data, dict):
            raise ValueError(f'{path} does not hold an LF-Net checkpoint dict')
        try:
            if 'state_dict' in data:
                config = LFNetConfig.from_dict(data.get('config', {}))
                state_dict = data['state_dict']
            else:
                config, state_dict = LFNetConfig(), data
            model = cls(config)
            model.load_state_dict(state_dict, strict=True)
        except (RuntimeError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f'weights in {path} do not fit the LF-Net model: {exc}') from exc
        return model.to(device or 'cpu').eval()


def load_lfnet(weights: Optional[Union[str, os.PathLike]] = None,
               device: Optional[Union[str, torch.device]] = None, seed: int = 0,
               pool_scales: Optional[Sequence[float]] = None) -> LFNet:
    """Load weights from a path, else the shipped default, else a seeded random model.

    Random weights are for tests and plumbing only: they make no claim of accuracy, and a
    warning says so. `pool_scales`, when given, replaces the checkpoint's descriptor pooling
    (`DescriptorConfig.pool_scales`; ValueError when invalid).
    """
    if weights:
        model = LFNet.from_pretrained(weights, device)
    elif DEFAULT_WEIGHTS.is_file():
        model = LFNet.from_pretrained(DEFAULT_WEIGHTS, device)
    else:
        LOG.warning('no LF-Net weights given and none shipped: using UNTRAINED random weights '
                    '(seed %d); results mean nothing', seed)
        torch.manual_seed(seed)
        model = LFNet().to(device or 'cpu').eval()
    if pool_scales is not None:
        model.config = replace(model.config, descriptor=replace(
            model.config.descriptor, pool_scales=pool_factors(pool_scales)))
    return model
