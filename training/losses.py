# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""LF-Net training losses: virtual-target image loss, orientation/scale consistency, pair, triplet.

Follows `train_lfnet.py:build_training_network` of vcg-uvic/lf-net-release (docs/network.md,
"Losses"). Every term is symmetric: each image plays the role of "i" once, halves are averaged.
Pair records come from `lfnet_training.datasets` (keys documented in
`training/datasets/record.py`).
"""

from dataclasses import dataclass
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from lfnet_core.model.lfnet import LFNet
from lfnet_core.ops.nms import strict_nms_mask
from lfnet_core.ops.sampling import extract_patches, gather_at


@dataclass(frozen=True)
class LossConfig:
    """Loss hyper-parameters (release defaults)."""

    top_k: int = 512  # top_k
    hm_ksize: int = 15  # hm_ksize: Gaussian of the virtual target
    hm_sigma: float = 0.5  # hm_sigma
    weight_det_loss: float = 0.01  # weight of the pair loss in the detector loss
    weight_ori: float = 0.1  # ori_weight
    weight_scale: float = 0.1  # scale_weight
    triplet_margin: float = 1.0  # desc_margin
    hard_geom_thresh: float = 0.0  # px; the released config effectively used 0 (a release quirk)
    init_num_mine: int = 64  # init_num_mine
    min_num_pickup: int = 5  # min_num_pickup
    pickup_delay: float = 0.9  # pickup_delay
    # Additions to the release (all off at these defaults, which reproduce it):
    mine_fraction: float = 0.0  # > 0: mining starts at max(round(K * this), min_num_pickup)
    mine_decay_steps: float = 1000.0  # global steps per pickup_delay factor
    batch_negatives: bool = False  # negatives from every positive of the batch, not one pair
    pair_keypoints: int = 0  # > 0: L_pair on this many random keypoints per image; L_tri on
    # patches detached from the detector (its gradient never reaches it anyway)
    alternate_directions: bool = False  # one anchor direction per step (i = step parity)
    patch_scale_jitter: float = 0.0  # > 0: in L_tri's patches, each scale times 2^u, u uniform
    # in [-this, this], drawn per patch (anchor and positive apart): patch sizes the scale got
    # wrong, as a one-level scale does under zoom. Needs `pair_keypoints` > 0, so that L_pair,
    # which trains the detector, keeps the true sizes.

    def __post_init__(self) -> None:
        jitter = self.patch_scale_jitter
        if not 0.0 <= jitter < math.inf or (jitter > 0 and self.pair_keypoints <= 0):
            raise ValueError(f'patch_scale_jitter: need a finite value >= 0, and pair_keypoints '
                             f'> 0 when it is > 0; got {jitter}, {self.pair_keypoints}')


def gaussian_kernel(ksize: int, sigma: float, device: torch.device) -> torch.Tensor:
    """Unnormalised Gaussian (peak 1) as a (1, 1, k, k) conv kernel."""
    ticks = torch.arange(ksize, device=device, dtype=torch.float32) - ksize // 2
    g = torch.exp(-(ticks ** 2) / (2.0 * sigma ** 2))
    return (g[:, None] * g[None, :]).view(1, 1, ksize, ksize)


def num_mine(step: int, cfg: LossConfig) -> int:
    """Candidates M of random-hard mining at a step: max(int(M0 * 0.9^(step/1000)), 5).

    M0 is `init_num_mine` (64), or K * `mine_fraction` when that is set; 1000 is
    `mine_decay_steps`.
    """
    start = cfg.init_num_mine
    if cfg.mine_fraction > 0:
        start = max(int(round(cfg.top_k * cfg.mine_fraction)), cfg.min_num_pickup)
    decay = cfg.pickup_delay ** (step / cfg.mine_decay_steps)
    return max(int(start * decay), cfg.min_num_pickup)


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


@dataclass
class KeypointBranch:
    """Anchor and positive descriptors for the keypoints of view i."""

    anchors: torch.Tensor  # (B, K, D)
    positives: torch.Tensor  # (B, K, D)
    warped: torch.Tensor  # (B, K, 2) keypoint positions in view j
    visible: torch.Tensor  # (B, K) bool: valid keypoint, visible in view j
    valid: torch.Tensor  # (B, K) bool: a real keypoint (not padding)


def jitter_scales(scales: torch.Tensor, amount: float,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Return `scales` each times 2^u, u uniform in [-amount, amount] (drawn on the CPU)."""
    u = torch.rand(scales.shape, generator=generator, dtype=scales.dtype).to(scales.device)
    return scales * torch.exp2(amount * (2.0 * u - 1.0))


def keypoint_branch(model: LFNet, inputs: Dict[str, torch.Tensor], i: int, j: int,
                    cfg: LossConfig, generator: Optional[torch.Generator] = None
                    ) -> Tuple[KeypointBranch, KeypointBranch]:
    """Describe view i's top-K keypoints and their positives in view j (the release's way).

    Returns:
        the branch for the triplet loss and the branch for the pair loss: the same object, or,
        with `cfg.pair_keypoints` > 0, the triplet branch on patches detached from the detector
        and a pair branch on a random subset of keypoints whose patches keep the detector's
        gradient (drawn with `generator`).

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
    patch = model.config.descriptor.patch_size

    maps = {'x_i': inputs[f'x{i}'], 'x_j': inputs[f'x{j}'], 'score_i': score_i,
            'scale_i': scale_i, 'ori_i': ori_i, 'scale_j': inputs[f'scale{j}'],
            'ori_j': inputs[f'ori{j}']}

    def describe(index: torch.Tensor, maps: Dict[str, torch.Tensor], jitter: float = 0.0
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Anchor and positive descriptors of the keypoints at `index` (B, N)."""
        pick = index.unsqueeze(-1).expand(-1, -1, 2)
        kp_int, kp_j, kp_j_int = (t.gather(1, pick) for t in (keypoints_int, warped, warped_int))
        keypoints, scales, oris = model.keypoint_frames(maps['score_i'], maps['scale_i'],
                                                        maps['ori_i'], kp_int)
        scales_j = gather_at(maps['scale_j'], kp_j_int)[..., 0]
        oris_j = gather_at(maps['ori_j'], kp_j_int)
        if jitter > 0:
            scales = jitter_scales(scales, jitter, generator)
            scales_j = jitter_scales(scales_j, jitter, generator)
        patches_i = extract_patches(maps['x_i'], keypoints, scales, oris, patch)
        patches_j = extract_patches(maps['x_j'], kp_j.clamp(min=-1.0, max=max(height, width)),
                                    scales_j, oris_j, patch)
        batch, count = index.shape
        both = torch.cat([patches_i, patches_j], 1).reshape(batch * 2 * count, 1, patch, patch)
        desc = model.descriptor(both).reshape(batch, 2 * count, -1)
        return desc[:, :count], desc[:, count:]

    batch, count = keypoints_int.shape[:2]
    everything = torch.arange(count, device=keypoints_int.device).expand(batch, count)
    if cfg.pair_keypoints <= 0 or cfg.pair_keypoints >= count:
        anchors, positives = describe(everything, maps)
        branch = KeypointBranch(anchors, positives, warped, visible, valid)
        return branch, branch
    anchors, positives = describe(everything, {k: v.detach() for k, v in maps.items()},
                                  cfg.patch_scale_jitter)
    triplet = KeypointBranch(anchors, positives, warped, visible, valid)
    order = torch.stack([torch.randperm(count, generator=generator) for _ in range(batch)])
    subset = order[:, :cfg.pair_keypoints].to(keypoints_int.device)
    anchors, positives = describe(subset, maps)
    pick = subset.unsqueeze(-1).expand(-1, -1, 2)
    pair = KeypointBranch(anchors, positives, warped.gather(1, pick), visible.gather(1, subset),
                          valid.gather(1, subset))
    return triplet, pair


def pair_loss(branch: KeypointBranch) -> torch.Tensor:
    """L_pair: mean squared descriptor distance of visible anchor/positive pairs."""
    dist = ((branch.anchors - branch.positives) ** 2).sum(-1)
    weight = branch.visible.to(dist.dtype)
    return (dist * weight).sum() / branch.valid.to(dist.dtype).sum().clamp(min=1.0)


def triplet_loss(branch: KeypointBranch, step: int, cfg: LossConfig,
                 generator: torch.Generator) -> torch.Tensor:
    """L_tri with scheduled random-hard negatives among the positives of the same pair.

    With `cfg.batch_negatives` the candidates are the positives of every pair of the batch;
    those of other pairs are never excluded (they show other places), those of the same pair
    are excluded within `hard_geom_thresh` px of the anchor's true position.
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


def compute_losses(model: LFNet, batch: Dict[str, torch.Tensor], step: int, cfg: LossConfig,
                   generator: torch.Generator) -> Dict[str, torch.Tensor]:
    """Run the model on a batch of pairs and return every loss term.

    Returns:
        dict with 'detector' (L_im + 0.01 L_pair + 0.1 L_ori + 0.1 L_scale), 'descriptor'
        (L_tri) and each term ('image', 'pair', 'orientation', 'scale', 'triplet'), plus
        'num_keypoints' and 'visible_ratio' (no gradient) for logging.

    """
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
    terms = {name: [] for name in ('image', 'orientation', 'scale', 'pair', 'triplet')}
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
        branch, pair_branch = keypoint_branch(model, inputs, i, j, cfg, generator)
        terms['pair'].append(pair_loss(pair_branch))
        terms['triplet'].append(triplet_loss(branch, step, cfg, generator))
        visible_ratio = branch.visible.float().sum() / branch.valid.float().sum().clamp(min=1.0)
        stats.append((branch.valid.float().sum(1).mean(), visible_ratio))
    losses = {name: torch.stack(values).mean() for name, values in terms.items()}
    losses['detector'] = (losses['image'] + cfg.weight_det_loss * losses['pair']
                          + cfg.weight_ori * losses['orientation']
                          + cfg.weight_scale * losses['scale'])
    losses['descriptor'] = losses['triplet']
    losses['num_keypoints'] = torch.stack([s[0] for s in stats]).mean().detach()
    losses['visible_ratio'] = torch.stack([s[1] for s in stats]).mean().detach()
    return losses
