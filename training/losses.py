# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""LF-Net training losses: virtual-target image, orientation/scale consistency, pair, triplet.

Follows `train_lfnet.py:build_training_network` of vcg-uvic/lf-net-release (docs/network.md,
"Losses"), plus two options: a contrastive descriptor loss over every negative in place of the
triplet, and a distillation term towards a frozen teacher's pooled descriptors.
Every term is symmetric: each image plays the role of "i" once, halves are averaged. Pair
records come from `lfnet_training.datasets` (keys documented in
`training/datasets/record.py`).
"""

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from lfnet_core.model.lfnet import LFNet
from lfnet_training.keypoint_branch import keypoint_branch, KeypointBranch, select_keypoints
from lfnet_training.loss_config import LossConfig, num_mine


def gaussian_kernel(ksize: int, sigma: float, device: torch.device) -> torch.Tensor:
    """Unnormalised Gaussian (peak 1) as a (1, 1, k, k) conv kernel."""
    ticks = torch.arange(ksize, device=device, dtype=torch.float32) - ksize // 2
    g = torch.exp(-(ticks ** 2) / (2.0 * sigma ** 2))
    return (g[:, None] * g[None, :]).view(1, 1, ksize, ksize)


def warp_map(values: torch.Tensor, xy_itoj: torch.Tensor, mode: str = 'bilinear') -> torch.Tensor:
    """Pull a map of view j into view i: out[i-pixel] = values_j[xy_itoj[i-pixel]].

    Args:
        values: (B, C, H, W) map of view j.
        xy_itoj: (B, H, W, 2) pixel coordinates in view j for each pixel of view i.
        mode: 'bilinear' or 'nearest'.

    """
    height, width = values.shape[-2:]
    grid = torch.stack([xy_itoj[..., 0] * (2.0 / (width - 1)) - 1.0,
                        xy_itoj[..., 1] * (2.0 / (height - 1)) - 1.0], dim=-1)
    return F.grid_sample(values, grid, mode=mode, padding_mode='zeros', align_corners=True)


def virtual_target(score_j: torch.Tensor, xy_itoj: torch.Tensor, vis_i: torch.Tensor,
                   cfg: LossConfig) -> torch.Tensor:
    """Clean target heat map for view i from view j's score map (no gradient).

    Warp S_j into view i, mask by visibility, strict 5x5 NMS, top-K, 15x15 Gaussian (sigma
    0.5, peak 1), clip at 1.
    """
    with torch.no_grad():
        warped = warp_map(score_j, xy_itoj) * vis_i.unsqueeze(1)
        keypoints, valid = select_keypoints(warped, cfg.top_k)
        binary = torch.zeros_like(warped).flatten(1)
        index = keypoints[..., 1] * warped.shape[-1] + keypoints[..., 0]
        binary.scatter_(1, index, valid.to(binary.dtype))
        binary = binary.view_as(warped)
        kernel = gaussian_kernel(cfg.hm_ksize, cfg.hm_sigma, warped.device)
        return F.conv2d(binary, kernel, padding=cfg.hm_ksize // 2).clamp(max=1.0)


def _masked_mean(per_pixel: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """Visibility-weighted per-image mean (sum / max(sum vis, 1)), then a batch mean."""
    vis = vis.to(per_pixel.dtype)
    num = (per_pixel * vis).flatten(1).sum(1)
    return (num / vis.flatten(1).sum(1).clamp(min=1.0)).mean()


def image_loss(score_i: torch.Tensor, score_j: torch.Tensor, xy_itoj: torch.Tensor,
               vis_i: torch.Tensor, cfg: LossConfig) -> torch.Tensor:
    """L_im: squared difference of S_i and the virtual target from S_j, over visible pixels."""
    target = virtual_target(score_j, xy_itoj, vis_i, cfg)
    return _masked_mean(((score_i - target) ** 2)[:, 0], vis_i)


def orientation_loss(ori_i: torch.Tensor, ori_j: torch.Tensor, xy_itoj: torch.Tensor,
                     angle_itoj: torch.Tensor, vis_i: torch.Tensor) -> torch.Tensor:
    """L_ori: (cos, sin) of view i vs view j's, nearest-sampled and rotated back by the warp."""
    warped = warp_map(ori_j, xy_itoj, mode='nearest')
    cos_d, sin_d = torch.cos(angle_itoj), torch.sin(angle_itoj)
    target_cos = warped[:, 0] * cos_d + warped[:, 1] * sin_d
    target_sin = warped[:, 1] * cos_d - warped[:, 0] * sin_d
    diff = (ori_i[:, 0] - target_cos) ** 2 + (ori_i[:, 1] - target_sin) ** 2
    return _masked_mean(diff, vis_i)


def scale_loss(scale_i: torch.Tensor, scale_j: torch.Tensor, xy_itoj: torch.Tensor,
               scale_itoj: torch.Tensor, vis_i: torch.Tensor, min_scale: float,
               max_scale: float) -> torch.Tensor:
    """L_scale: log-scale L2 between s_i and s_j / (s_j / s_i expected ratio), target detached."""
    with torch.no_grad():
        warped = warp_map(scale_j, xy_itoj, mode='nearest')[:, 0]
        target = (warped / scale_itoj.clamp(min=1e-3)).clamp(min_scale, max_scale)
    diff = (torch.log(scale_i[:, 0]) - torch.log(target)) ** 2
    return _masked_mean(diff, vis_i)


def pair_loss(branch: KeypointBranch) -> torch.Tensor:
    """L_pair: mean squared descriptor distance of visible anchor/positive pairs."""
    dist = ((branch.anchors - branch.positives) ** 2).sum(-1)
    weight = branch.visible.to(dist.dtype)
    return (dist * weight).sum() / branch.valid.to(dist.dtype).sum().clamp(min=1.0)


def distill_loss(branch: KeypointBranch) -> torch.Tensor:
    """L_distill: squared distance to the teacher's descriptors, anchors and visible positives.

    The mean over the described descriptors (each valid anchor, each visible positive).
    """
    if branch.teacher_anchors is None or branch.teacher_positives is None:
        raise ValueError('distill_loss: the branch carries no teacher descriptors')
    d_anchor = ((branch.anchors - branch.teacher_anchors) ** 2).sum(-1)
    d_positive = ((branch.positives - branch.teacher_positives) ** 2).sum(-1)
    valid, visible = branch.valid.to(d_anchor.dtype), branch.visible.to(d_anchor.dtype)
    total = (d_anchor * valid).sum() + (d_positive * visible).sum()
    return total / (valid.sum() + visible.sum()).clamp(min=1.0)


def negative_distances(branch: KeypointBranch, cfg: LossConfig
                       ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Squared descriptor distances from each anchor to its positive and to the negative pool.

    The pool holds the positives of the same pair, or with `cfg.batch_negatives` those of every
    pair of the batch. Excluded are an anchor's own positive, positives outside view j and, of
    the same pair, positives within `hard_geom_thresh` px of the anchor's true position; those
    of other pairs show other places and are never excluded.

    Returns:
        d_pos (B, K) (0 where the positive is not visible), d_all (B, K, P) and excluded
        (B, K, P) bool.

    """
    anchors, positives = branch.anchors, branch.positives
    batch, count = anchors.shape[:2]
    d_pos = ((anchors - positives) ** 2).sum(-1) * branch.visible.to(anchors.dtype)
    geom = (branch.warped.unsqueeze(2) - branch.warped.unsqueeze(1)).pow(2).sum(-1)
    excluded = geom <= cfg.hard_geom_thresh ** 2
    excluded |= torch.eye(count, dtype=torch.bool, device=anchors.device).unsqueeze(0)
    # Padding keypoints and positives outside view j are never negatives (their patches are
    # border samples, not features).
    excluded |= ~branch.visible.unsqueeze(1)
    if cfg.batch_negatives and batch > 1:
        pool = positives.reshape(1, batch * count, -1).expand(batch, -1, -1)
        other = ~branch.visible.reshape(1, 1, batch * count).expand(batch, count, -1).clone()
        for b in range(batch):
            other[b, :, b * count:(b + 1) * count] = excluded[b]
        excluded = other
    else:
        pool = positives
    d_all = ((anchors * anchors).sum(-1).unsqueeze(2) + (pool * pool).sum(-1).unsqueeze(1)
             - 2.0 * anchors @ pool.transpose(1, 2)).clamp(min=0.0)
    return d_pos, d_all, excluded


def triplet_loss(branch: KeypointBranch, step: int, cfg: LossConfig,
                 generator: torch.Generator) -> torch.Tensor:
    """L_tri with scheduled random-hard negatives from `negative_distances`'s pool."""
    d_pos, d_all, excluded = negative_distances(branch, cfg)
    candidates = d_all.detach() + 1e5 * excluded.to(d_all.dtype)
    num = min(num_mine(step, cfg), candidates.shape[2])
    nearest = candidates.topk(num, dim=2, largest=False).indices  # (B, K, M)
    pick = torch.randint(0, num, nearest.shape[:2], generator=generator,
                         device=generator.device).to(nearest.device)
    negatives = nearest.gather(2, pick.unsqueeze(-1)).squeeze(-1)
    d_neg = d_all.gather(2, negatives.unsqueeze(-1)).squeeze(-1)
    hinge = F.relu(cfg.triplet_margin + d_pos - d_neg)
    valid = branch.valid.to(hinge.dtype)
    return (hinge * valid).sum() / valid.sum().clamp(min=1.0)


def contrastive_loss(branch: KeypointBranch, cfg: LossConfig) -> torch.Tensor:
    """L_nce: cross-entropy of each anchor's positive against every negative of the pool.

    Logits are cosine similarities over `cfg.contrastive_temperature` (for unit descriptors
    cos = 1 - d / 2); the pool and its exclusions are `negative_distances`'s. The mean over
    anchors whose positive is visible.
    """
    d_pos, d_all, excluded = negative_distances(branch, cfg)
    scale = 0.5 / cfg.contrastive_temperature
    logit_pos = -scale * d_pos
    logits_neg = (-scale * d_all).masked_fill(excluded, float('-inf'))
    logits = torch.cat([logit_pos.unsqueeze(-1), logits_neg], dim=-1)
    nll = torch.logsumexp(logits, dim=-1) - logit_pos
    weight = branch.visible.to(nll.dtype)
    return (nll * weight).sum() / weight.sum().clamp(min=1.0)


def compute_losses(model: LFNet, batch: Dict[str, torch.Tensor], step: int, cfg: LossConfig,
                   generator: torch.Generator, teacher: Optional[torch.nn.Module] = None
                   ) -> Dict[str, torch.Tensor]:
    """Run the model on a batch of pairs and return every loss term.

    Args:
        teacher: a frozen descriptor network; needed when `cfg.distill_weight` > 0 (with
            a teacher the distillation term is computed and logged at any weight).

    Returns:
        dict with 'detector' (L_im + 0.01 L_pair + 0.1 L_ori + 0.1 L_scale), 'descriptor'
        (L_tri, or L_nce by `cfg.descriptor_loss`, plus `distill_weight` L_distill) and each
        term ('image', 'pair', 'orientation', 'scale', 'triplet' or 'contrastive', and
        'distill' with a teacher), plus 'num_keypoints' and 'visible_ratio' (no gradient)
        for logging.

    """
    if cfg.distill_weight > 0 and teacher is None:
        raise ValueError('loss.distill_weight > 0 needs a teacher (train.teacher_weights)')
    det = model.config.detector
    images = torch.cat([batch['image0'], batch['image1']], 0)
    x = model.normalize_input(images)
    score, scale, ori = model.detector(x)
    half = batch['image0'].shape[0]
    inputs = {'x0': x[:half], 'x1': x[half:], 'score0': score[:half], 'score1': score[half:],
              'scale0': scale[:half], 'scale1': scale[half:], 'ori0': ori[:half],
              'ori1': ori[half:]}
    for key in ('xy_0to1', 'xy_1to0', 'vis_0to1', 'vis_1to0'):
        inputs[key] = batch[key]
    descriptor_term = cfg.descriptor_loss  # 'triplet' or 'contrastive' (LossConfig checks)
    terms = {name: [] for name in ('image', 'orientation', 'scale', 'pair', descriptor_term)}
    if teacher is not None:
        terms['distill'] = []
    stats = []
    described = ((0, 1), (1, 0))
    if cfg.alternate_directions:
        described = (described[step // 2 % 2],)  # the step advances by 2 per iteration
    for i, j in ((0, 1), (1, 0)):
        xy, vis = batch[f'xy_{i}to{j}'], batch[f'vis_{i}to{j}']
        terms['image'].append(image_loss(inputs[f'score{i}'], inputs[f'score{j}'], xy, vis, cfg))
        terms['orientation'].append(orientation_loss(
            inputs[f'ori{i}'], inputs[f'ori{j}'], xy, batch[f'angle_{i}to{j}'], vis))
        terms['scale'].append(scale_loss(
            inputs[f'scale{i}'], inputs[f'scale{j}'], xy, batch[f'scale_{i}to{j}'], vis,
            *det.scale_range))  # with the DoG no gradient: it logs how well the DoG follows zoom
        if (i, j) not in described:
            continue
        branch, pair_branch = keypoint_branch(model, inputs, i, j, cfg, generator, teacher)
        terms['pair'].append(pair_loss(pair_branch))
        terms[descriptor_term].append(contrastive_loss(branch, cfg)
                                      if descriptor_term == 'contrastive'
                                      else triplet_loss(branch, step, cfg, generator))
        if teacher is not None:
            terms['distill'].append(distill_loss(branch))
        visible_ratio = branch.visible.float().sum() / branch.valid.float().sum().clamp(min=1.0)
        stats.append((branch.valid.float().sum(1).mean(), visible_ratio))
    losses = {name: torch.stack(values).mean() for name, values in terms.items()}
    losses['detector'] = (losses['image'] + cfg.weight_det_loss * losses['pair']
                          + cfg.weight_ori * losses['orientation']
                          + cfg.weight_scale * losses['scale'])
    losses['descriptor'] = losses[descriptor_term]
    if teacher is not None:
        losses['descriptor'] = losses['descriptor'] + cfg.distill_weight * losses['distill']
    losses['num_keypoints'] = torch.stack([s[0] for s in stats]).mean().detach()
    losses['visible_ratio'] = torch.stack([s[1] for s in stats]).mean().detach()
    return losses
