# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Hyper-parameters of the training losses, and the mining schedule they set."""

from dataclasses import dataclass
import math
from typing import Tuple


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
    distill_weight: float = 0.0  # > 0: L_tri's anchors and positives are also pulled (squared
    # distance, this weight) to a frozen teacher's descriptors of the same keypoint frames,
    # pooled over `distill_pool_scales` as `DescriptorConfig.pool_scales` pools at inference:
    # one pass learns what the pooled passes give. The teacher (`train.teacher_weights`) sees
    # the true scales when `patch_scale_jitter` resizes the student's patches.
    distill_pool_scales: Tuple[float, ...] = (0.7071, 1.4142)  # 1 to 8 factors
    descriptor_loss: str = 'triplet'  # 'contrastive': in place of L_tri, a cross-entropy of
    # each anchor's positive against every negative of the pool (InfoNCE), with logits
    # cos / `contrastive_temperature`; no mining schedule
    contrastive_temperature: float = 0.1

    def __post_init__(self) -> None:
        jitter = self.patch_scale_jitter
        if not 0.0 <= jitter < math.inf or (jitter > 0 and self.pair_keypoints <= 0):
            raise ValueError(f'patch_scale_jitter: need a finite value >= 0, and pair_keypoints '
                             f'> 0 when it is > 0; got {jitter}, {self.pair_keypoints}')
        if self.descriptor_loss not in ('triplet', 'contrastive') or not (
                0.0 < self.contrastive_temperature < math.inf):
            raise ValueError(f"descriptor_loss must be 'triplet' or 'contrastive' and "
                             f'contrastive_temperature positive; got {self.descriptor_loss!r}, '
                             f'{self.contrastive_temperature}')
        factors = tuple(float(f) for f in self.distill_pool_scales)
        object.__setattr__(self, 'distill_pool_scales', factors)
        if not 0.0 <= self.distill_weight < math.inf or not 1 <= len(factors) <= 8 or not all(
                0.0 < f < math.inf for f in factors):
            raise ValueError(f'distill_weight must be finite and >= 0 and distill_pool_scales '
                             f'positive factors; got {self.distill_weight}, {factors}')


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
