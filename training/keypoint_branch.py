# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Describe the keypoints of one view and their positives in the other, for the losses.

The descriptor side of `train_lfnet.py:build_training_network` of vcg-uvic/lf-net-release:
top-K strict-NMS keypoints, their frames and patches in both views, descriptors for the pair and
triplet losses, and a frozen teacher's pooled descriptors for distillation.
"""

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import torch

from lfnet_core.model.descriptor import pool_descriptors, stacked_patches
from lfnet_core.model.lfnet import LFNet
from lfnet_core.ops.nms import strict_nms_mask
from lfnet_core.ops.sampling import gather_at
from lfnet_training.loss_config import LossConfig


def select_keypoints(score: torch.Tensor, top_k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Top-K strict-NMS peaks per image (no gradient).

    Returns:
        keypoints_int (B, K, 2) int64 (x, y) and valid (B, K) bool (False where fewer peaks).

    """
    with torch.no_grad():
        peaks = score * strict_nms_mask(score).to(score.dtype)
        flat = peaks.flatten(1)
        values, index = flat.topk(min(top_k, flat.shape[1]), dim=1)
        width = score.shape[-1]
        keypoints = torch.stack([index % width, index // width], dim=-1)
        return keypoints, values > 0


@dataclass
class KeypointBranch:
    """Anchor and positive descriptors for the keypoints of view i."""

    anchors: torch.Tensor  # (B, K, D)
    positives: torch.Tensor  # (B, K, D)
    warped: torch.Tensor  # (B, K, 2) keypoint positions in view j
    visible: torch.Tensor  # (B, K) bool: valid keypoint, visible in view j
    valid: torch.Tensor  # (B, K) bool: a real keypoint (not padding)
    teacher_anchors: Optional[torch.Tensor] = None  # (B, K, D) distillation targets, if any
    teacher_positives: Optional[torch.Tensor] = None  # (B, K, D)


def jitter_scales(scales: torch.Tensor, amount: float,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Return `scales` each times 2^u, u uniform in [-amount, amount] (drawn on the CPU)."""
    u = torch.rand(scales.shape, generator=generator, dtype=scales.dtype).to(scales.device)
    return scales * torch.exp2(amount * (2.0 * u - 1.0))


@torch.no_grad()
def pooled_descriptors(descriptor: torch.nn.Module, x: torch.Tensor, keypoints: torch.Tensor,
                       scales: torch.Tensor, orientations: torch.Tensor,
                       factors: Sequence[float]) -> torch.Tensor:
    """Return (B, N, D) unit sums of `descriptor` over patches at the scales times `factors`.

    `x` is the normalised (B, 1, H, W) image; this is `LFNet.describe`'s pooling, without
    gradient, for a teacher network (its own `stack_scales` stacked as in `LFNet.describe`).
    """
    batch, count = keypoints.shape[:2]

    def describe(factor: float) -> torch.Tensor:
        patches = stacked_patches(x, keypoints, scales * factor, orientations, descriptor.config)
        return descriptor(patches.flatten(0, 1)).reshape(batch, count, -1)

    return pool_descriptors([describe(factor) for factor in factors])


def keypoint_branch(model: LFNet, inputs: Dict[str, torch.Tensor], i: int, j: int,
                    cfg: LossConfig, generator: Optional[torch.Generator] = None,
                    teacher: Optional[torch.nn.Module] = None
                    ) -> Tuple[KeypointBranch, KeypointBranch]:
    """Describe view i's top-K keypoints and their positives in view j (the release's way).

    Returns:
        the branch for the triplet loss and the branch for the pair loss: the same object, or,
        with `cfg.pair_keypoints` > 0, the triplet branch on patches detached from the detector
        and a pair branch on a random subset of keypoints whose patches keep the detector's
        gradient (drawn with `generator`). With a `teacher` descriptor network the triplet
        branch carries its pooled descriptors of the same frames (`cfg.distill_pool_scales`).

    """
    score_i, scale_i, ori_i = inputs[f'score{i}'], inputs[f'scale{i}'], inputs[f'ori{i}']
    keypoints_int, valid = select_keypoints(score_i, cfg.top_k)
    xy_itoj = inputs[f'xy_{i}to{j}']  # (B, H, W, 2)
    vis_itoj = inputs[f'vis_{i}to{j}']
    height, width = score_i.shape[-2:]
    flat_index = keypoints_int[..., 1] * width + keypoints_int[..., 0]
    warped = xy_itoj.flatten(1, 2).gather(1, flat_index.unsqueeze(-1).expand(-1, -1, 2))
    visible = vis_itoj.flatten(1).gather(1, flat_index) & valid
    warped_int = torch.stack([warped[..., 0].round().clamp(0, width - 1),
                              warped[..., 1].round().clamp(0, height - 1)], -1).long()

    maps = {'x_i': inputs[f'x{i}'], 'x_j': inputs[f'x{j}'], 'score_i': score_i,
            'scale_i': scale_i, 'ori_i': ori_i, 'scale_j': inputs[f'scale{j}'],
            'ori_j': inputs[f'ori{j}']}

    def describe(index: torch.Tensor, maps: Dict[str, torch.Tensor], jitter: float = 0.0,
                 teach: bool = False) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor],
                                               Optional[torch.Tensor]]:
        """Anchor and positive descriptors of the keypoints at `index` (B, N).

        Then, with `teach`, the teacher's pooled anchor and positive descriptors (else None),
        described at the true scales when `jitter` resizes the student's patches.
        """
        pick = index.unsqueeze(-1).expand(-1, -1, 2)
        kp_int, kp_j, kp_j_int = (t.gather(1, pick) for t in (keypoints_int, warped, warped_int))
        keypoints, scales, oris = model.keypoint_frames(maps['score_i'], maps['scale_i'],
                                                        maps['ori_i'], kp_int)
        scales_j = gather_at(maps['scale_j'], kp_j_int)[..., 0]
        oris_j = gather_at(maps['ori_j'], kp_j_int)
        kp_j = kp_j.clamp(min=-1.0, max=max(height, width))
        targets = (None, None)
        if teach:
            factors = cfg.distill_pool_scales
            targets = (pooled_descriptors(teacher, maps['x_i'], keypoints, scales, oris,
                                          factors),
                       pooled_descriptors(teacher, maps['x_j'], kp_j, scales_j, oris_j,
                                          factors))
        if jitter > 0:
            scales = jitter_scales(scales, jitter, generator)
            scales_j = jitter_scales(scales_j, jitter, generator)
        patches_i = stacked_patches(maps['x_i'], keypoints, scales, oris, model.config.descriptor)
        patches_j = stacked_patches(maps['x_j'], kp_j, scales_j, oris_j, model.config.descriptor)
        batch, count = index.shape
        both = torch.cat([patches_i, patches_j], 1).flatten(0, 1)
        desc = model.descriptor(both).reshape(batch, 2 * count, -1)
        return desc[:, :count], desc[:, count:], targets[0], targets[1]

    batch, count = keypoints_int.shape[:2]
    everything = torch.arange(count, device=keypoints_int.device).expand(batch, count)
    teach = teacher is not None
    if cfg.pair_keypoints <= 0 or cfg.pair_keypoints >= count:
        anchors, positives, teacher_anchors, teacher_positives = describe(everything, maps,
                                                                          teach=teach)
        branch = KeypointBranch(anchors, positives, warped, visible, valid,
                                teacher_anchors=teacher_anchors,
                                teacher_positives=teacher_positives)
        return branch, branch
    anchors, positives, teacher_anchors, teacher_positives = describe(
        everything, {k: v.detach() for k, v in maps.items()}, cfg.patch_scale_jitter, teach)
    triplet = KeypointBranch(anchors, positives, warped, visible, valid,
                             teacher_anchors=teacher_anchors, teacher_positives=teacher_positives)
    order = torch.stack([torch.randperm(count, generator=generator) for _ in range(batch)])
    subset = order[:, :cfg.pair_keypoints].to(keypoints_int.device)
    anchors, positives = describe(subset, maps)[:2]
    pick = subset.unsqueeze(-1).expand(-1, -1, 2)
    pair = KeypointBranch(anchors, positives, warped.gather(1, pick), visible.gather(1, subset),
                          valid.gather(1, subset))
    return triplet, pair
