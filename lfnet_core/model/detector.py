# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""LF-Net multi-scale detector: ResNet features, per-scale score maps, soft NMS, orientation.

Port of `models/mso_resnet_detector.py` of vcg-uvic/lf-net-release (Ono, Trulls, Fua, Yi,
"LF-Net: Learning Local Features from Images", NeurIPS 2018); see docs/network.md, sections
"Detector backbone" to "Orientation".
"""

from typing import Optional, Tuple

import torch
from torch import nn
import torch.nn.functional as F

from lfnet_core.config import DetectorConfig
from lfnet_core.ops.dog_scale import dog_responses, dog_scale_selection, dog_sigmas
from lfnet_core.ops.nms import border_mask, soft_merge_scales, soft_nms_3d
from lfnet_core.ops.resize import resize_bilinear, resize_rows, scaled_size
from lfnet_core.ops.row_conv import conv2d_rows


def instance_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """Normalise each (batch, channel) map to zero mean, unit variance over H x W, no affine.

    Means are taken over rows, then over columns: the same value, but each float32 sum runs over
    at most max(H, W) terms, so runtimes with naive reductions (ONNX Runtime) agree with
    PyTorch's pairwise sums (a 512x512 one-shot mean differed by ~3e-4 after the soft NMS).
    """
    mean = x.mean(dim=3, keepdim=True).mean(dim=2, keepdim=True)
    centred = x - mean
    var = centred.pow(2).mean(dim=3, keepdim=True).mean(dim=2, keepdim=True)
    return centred / torch.sqrt(var + eps)


class PreActBlock(nn.Module):
    """Pre-activation residual block: (BN, LeakyReLU, conv) twice plus an identity skip."""

    def __init__(self, channels: int, ksize: int, slope: float) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)
        self.conv1 = nn.Conv2d(channels, channels, ksize, padding=ksize // 2)
        self.bn2 = nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)
        self.conv2 = nn.Conv2d(channels, channels, ksize, padding=ksize // 2)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(F.leaky_relu(self.bn1(x), self.slope))
        y = self.conv2(F.leaky_relu(self.bn2(y), self.slope))
        return x + y


class DetectorNet(nn.Module):
    """The detector: image in, score map, soft scale and orientation out (full resolution).

    About 42k parameters with the release's defaults.
    """

    def __init__(self, config: DetectorConfig = DetectorConfig()) -> None:
        super().__init__()
        self.config = config
        ch, k = config.num_channels, config.conv_ksize
        self.init_conv = nn.Conv2d(1, ch, k, padding=k // 2)
        self.blocks = nn.Sequential(
            *[PreActBlock(ch, k, config.leaky_slope) for _ in range(config.num_blocks)])
        self.fin_bn = nn.BatchNorm2d(ch, eps=1e-5, momentum=0.1)
        self.score_convs = nn.ModuleList(
            [nn.Conv2d(ch, 1, k, padding=k // 2) for _ in range(config.num_scales)])
        self.ori_conv = nn.Conv2d(ch, 2, config.ori_ksize, padding=config.ori_ksize // 2)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform convolutions with zero biases; orientation starts at angle 0."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.zeros_(self.ori_conv.weight)
        with torch.no_grad():
            self.ori_conv.bias.copy_(torch.tensor([1.0, 0.0]))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the backbone feature maps (`feat_maps`), (B, C, H, W)."""
        x = self.blocks(self.init_conv(x))
        return F.leaky_relu(self.fin_bn(x), self.config.leaky_slope)

    def heads(self, feat: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per-scale logits (B, S, H, W) and the orientation (B, 2, H, W) unit (cos, sin).

        Scale s: resize the features by 1/s, score conv, instance norm, resize back. The score
        and orientation convolutions run as `conv2d_rows` (same result, a fraction of the CPU
        time); at s = 1 they share one call.
        """
        height, width = feat.shape[-2], feat.shape[-1]
        logits = []
        orientation = None
        feat_t = feat.transpose(2, 3)  # shared by the resizes of every scale
        for factor, conv in zip(self.config.scales, self.score_convs):
            if factor == 1.0 and self.config.ori_ksize == self.config.conv_ksize:
                logit, orientation = conv2d_rows(
                    feat, [conv.weight, self.ori_conv.weight], [conv.bias, self.ori_conv.bias])
            else:
                # Width resize on the shared transposed features, the 1 x k stage on that
                # layout (k x 1), then only its 5 channels are transposed back and
                # row-resized, not the 16 feature channels.
                out_h, out_w = scaled_size(height, factor), scaled_size(width, factor)
                logit, = conv2d_rows(resize_rows(feat_t, out_w), [conv.weight], [conv.bias],
                                     row_resize=lambda x, n=out_h: resize_rows(x, n),
                                     transposed=True)
            logit = instance_norm(logit, self.config.logit_inst_norm_eps)
            if factor != 1.0:
                logit = resize_bilinear(logit, height, width)
            logits.append(logit)
        if orientation is None:
            orientation, = conv2d_rows(feat, [self.ori_conv.weight], [self.ori_conv.bias])
        norm = torch.sqrt((orientation * orientation).sum(dim=1, keepdim=True) + 1e-12)
        return torch.cat(logits, dim=1), orientation / norm

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the detector: `detect` without the contrast map."""
        return self.detect(x, with_contrast=False)[:3]

    def detect(self, x: torch.Tensor, with_contrast: bool = True
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Run the detector.

        Args:
            x: (B, 1, H, W) input image (normalised as the model's config says).
            with_contrast: compute the contrast map (when `min_contrast` > 0).

        Returns:
            score (B, 1, H, W) in [0, 1], zero within `border` px of the edges (with the DoG
                scale and `dog_edge_power` p > 0, times (1 - w)^p, w the coarsest DoG
                level's weight);
            scale (B, 1, H, W): the soft scale in [min_scale, max_scale], or with
                `scale_source` 'dog' the DoG characteristic scale (`DetectorConfig`);
            orientation (B, 2, H, W) unit (cos, sin);
            contrast (B, 1, H, W): the largest |DoG| over the DoG levels in `x`'s units, with
                `min_contrast` > 0 and `with_contrast`; else None.

        """
        cfg = self.config
        logits, orientation = self.heads(self.features(x))
        responses = soft_nms_3d(logits, cfg.sm_ksize, cfg.com_strength)
        score, scale = soft_merge_scales(responses, cfg.scales, cfg.scale_com_strength)
        score = score * border_mask(score, cfg.border)
        dog = None
        if cfg.scale_source == 'dog':
            dog = dog_scale_selection(
                x, cfg.dog_sigma0, cfg.dog_levels, cfg.dog_per_octave, cfg.dog_temperature,
                fallback_sigma=cfg.dog_reference if cfg.dog_edge_fallback else None)
            scale = (dog.sigma / cfg.dog_reference).clamp(*cfg.scale_range)
            if cfg.dog_edge_power > 0:
                score = score * (1.0 - dog.coarsest).clamp(min=0.0) ** cfg.dog_edge_power
        if cfg.min_contrast <= 0 or not with_contrast:
            return score, scale, orientation, None
        if dog is not None:
            return score, scale, orientation, dog.peak
        sigmas = dog_sigmas(cfg.dog_sigma0, cfg.dog_levels, cfg.dog_per_octave)
        return score, scale, orientation, dog_responses(x, sigmas).amax(1, keepdim=True)
