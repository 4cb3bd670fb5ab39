# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Unit tests of the LF-Net training losses on hand-made cases."""

import math

import pytest
import torch

from lfnet_core.config import DetectorConfig, LFNetConfig
from lfnet_core.model.lfnet import LFNet
from lfnet_training.keypoint_branch import jitter_scales, KeypointBranch, select_keypoints
from lfnet_training.loss_config import LossConfig, num_mine
from lfnet_training.losses import compute_losses, contrastive_loss, gaussian_kernel, \
    image_loss, orientation_loss, scale_loss, triplet_loss, virtual_target, warp_map


def _grid(size: int, dx: float = 0.0, dy: float = 0.0) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
    return torch.stack([xs + dx, ys + dy], -1).float()[None]


def test_gaussian_kernel_is_unnormalised_with_peak_one():
    kernel = gaussian_kernel(15, 0.5, torch.device('cpu'))[0, 0]
    assert kernel.shape == (15, 15)
    assert kernel[7, 7] == pytest.approx(1.0)
    assert kernel[7, 8] == pytest.approx(math.exp(-1.0 / (2 * 0.25)))
    assert kernel[7, 9] == pytest.approx(math.exp(-4.0 / (2 * 0.25)))


def test_num_mine_schedule():
    cfg = LossConfig()
    assert num_mine(0, cfg) == 64
    assert num_mine(1000, cfg) == int(64 * 0.9)
    assert num_mine(30000, cfg) == 5
    values = [num_mine(s, cfg) for s in range(0, 40000, 500)]
    assert values == sorted(values, reverse=True)
    # int() truncation: 64 * 0.9^(s/1000) < 6 from s ~ 22.46k on (in the release's doubled
    # counter), so M is 5 from there.
    assert num_mine(22400, cfg) == 6 and num_mine(22500, cfg) == 5


def test_warp_map_identity_and_shift():
    values = torch.arange(36.0).view(1, 1, 6, 6)
    assert torch.allclose(warp_map(values, _grid(6)), values)
    shifted = warp_map(values, _grid(6, dx=1.0))
    assert torch.allclose(shifted[0, 0, :, :5], values[0, 0, :, 1:])
    assert torch.all(shifted[0, 0, :, 5] == 0)  # outside view j: zero padding


def test_select_keypoints_strict_peaks_and_padding():
    score = torch.zeros(1, 1, 40, 40)
    score[0, 0, 10, 12] = 0.9
    score[0, 0, 30, 25] = 0.5
    score[0, 0, 20, 20] = score[0, 0, 20, 21] = 0.7  # a plateau: no strict peak
    keypoints, valid = select_keypoints(score, 4)
    assert valid.tolist() == [[True, True, False, False]]
    assert keypoints[0, :2].tolist() == [[12, 10], [25, 30]]


def test_virtual_target_places_gaussians_at_warped_peaks():
    cfg = LossConfig(top_k=8)
    score_j = torch.zeros(1, 1, 48, 48)
    score_j[0, 0, 20, 24] = 0.8
    vis = torch.ones(1, 48, 48, dtype=torch.bool)
    target = virtual_target(score_j, _grid(48, dx=3.0), vis, cfg)  # pixel x of i is x+3 in j
    assert target.max() == pytest.approx(1.0)
    peak = (target[0, 0] == target.max()).nonzero().tolist()
    assert peak == [[20, 21]]
    assert target[0, 0, 20, 22] == pytest.approx(math.exp(-1.0 / 0.5))
    vis[0, :, :30] = False  # the peak's region is not visible: no target there
    assert virtual_target(score_j, _grid(48, dx=3.0), vis, cfg).max() == 0.0


def test_image_loss_zero_when_score_matches_target():
    cfg = LossConfig(top_k=8)
    score_j = torch.zeros(1, 1, 48, 48)
    score_j[0, 0, 20, 24] = 0.8
    vis = torch.ones(1, 48, 48, dtype=torch.bool)
    target = virtual_target(score_j, _grid(48), vis, cfg)
    assert image_loss(target, score_j, _grid(48), vis, cfg).item() == pytest.approx(0.0)
    assert image_loss(torch.zeros_like(target), score_j, _grid(48), vis, cfg).item() > 0


def test_orientation_loss_zero_for_consistent_rotation():
    angle = 0.7
    theta_i = torch.rand(1, 16, 16) * 6.0 - 3.0
    ori_i = torch.stack([torch.cos(theta_i), torch.sin(theta_i)], 1)
    theta_j = theta_i + angle  # identity warp: the feature turned by `angle` in view j
    ori_j = torch.stack([torch.cos(theta_j), torch.sin(theta_j)], 1)
    vis = torch.ones(1, 16, 16, dtype=torch.bool)
    angles = torch.full((1, 16, 16), angle)
    assert orientation_loss(ori_i, ori_j, _grid(16), angles, vis).item() < 1e-10
    assert orientation_loss(ori_i, ori_j, _grid(16), -angles, vis).item() > 0.1


def test_scale_loss_zero_for_consistent_scales():
    scale_i = torch.full((1, 1, 16, 16), 0.9)
    scale_j = torch.full((1, 1, 16, 16), 1.2)
    ratio = torch.full((1, 16, 16), 1.2 / 0.9)
    vis = torch.ones(1, 16, 16, dtype=torch.bool)
    args = (_grid(16), ratio, vis, 1 / math.sqrt(2), math.sqrt(2))
    assert scale_loss(scale_i, scale_j, *args).item() < 1e-10
    assert scale_loss(scale_i * 1.1, scale_j, *args).item() > 1e-3


def test_triplet_mining_picks_among_hardest_negatives():
    # Anchor k's positive is k; the hardest other positive for anchor 0 is 2.
    anchors = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]])
    positives = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]]])
    positives = positives / positives.norm(dim=-1, keepdim=True)
    warped = torch.tensor([[[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]]])
    ones = torch.ones(1, 3, dtype=torch.bool)
    branch = KeypointBranch(anchors, positives, warped, ones, ones)
    cfg = LossConfig(init_num_mine=1, min_num_pickup=1, triplet_margin=1.0)
    loss = triplet_loss(branch, 0, cfg, torch.Generator().manual_seed(0))
    d_neg0 = float(((anchors[0, 0] - positives[0, 2]) ** 2).sum())  # hardest for anchor 0
    d_neg1 = float(((anchors[0, 1] - positives[0, 2]) ** 2).sum())
    d_neg2 = float(((anchors[0, 2] - positives[0, 1]) ** 2).sum())
    d_pos2 = float(((anchors[0, 2] - positives[0, 2]) ** 2).sum())
    expected = (max(0, 1 - d_neg0) + max(0, 1 - d_neg1) + max(0, 1 + d_pos2 - d_neg2)) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # A geometric exclusion radius that covers keypoint 2 removes it as a negative for 0.
    far = LossConfig(init_num_mine=1, min_num_pickup=1, hard_geom_thresh=25.0)
    near_all = triplet_loss(branch, 0, far, torch.Generator().manual_seed(0))
    assert near_all.item() != pytest.approx(loss.item())


def test_mining_sized_to_k_and_its_decay():
    cfg = LossConfig(top_k=128, mine_fraction=0.125, mine_decay_steps=400)
    assert num_mine(0, cfg) == 16
    assert num_mine(400, cfg) == int(16 * 0.9)
    assert num_mine(100000, cfg) == cfg.min_num_pickup


def test_batch_negatives_come_from_the_other_pairs_too():
    # Within each pair the other positive is far in descriptor space (no hinge); pair 1's first
    # positive is nearly pair 0's first anchor, a hard negative only the batch offers.
    near = torch.nn.functional.normalize(torch.tensor([0.99, 0.14]), dim=0)
    anchors = torch.stack([torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
                           torch.stack([near, torch.tensor([-1.0, 0.0])])])
    positives = anchors.clone()
    warped = torch.tensor([[[0.0, 0.0], [10.0, 0.0]], [[0.0, 0.0], [10.0, 0.0]]])
    ones = torch.ones(2, 2, dtype=torch.bool)
    branch = KeypointBranch(anchors, positives, warped, ones, ones)
    own = LossConfig(init_num_mine=1, min_num_pickup=1, hard_geom_thresh=2.0)
    batch = LossConfig(init_num_mine=1, min_num_pickup=1, hard_geom_thresh=2.0,
                       batch_negatives=True)
    generator = torch.Generator().manual_seed(0)
    assert triplet_loss(branch, 0, own, generator).item() == pytest.approx(0.0, abs=1e-6)
    d_near = float(((anchors[0, 0] - near) ** 2).sum())
    expected = 2 * (1.0 - d_near) / 4  # anchors (0, 0) and (1, 0) meet each other's positive
    assert triplet_loss(branch, 0, batch, generator).item() == pytest.approx(expected, rel=1e-5)


def _identity_batch(image):
    size = image.shape[-1]
    grid = torch.stack(torch.meshgrid(torch.arange(float(size)), torch.arange(float(size)),
                                      indexing='xy'), -1)
    ones = torch.ones(image.shape[0], size, size)
    return {'image0': image, 'image1': image.flip(-1).flip(-1),
            'xy_0to1': grid.expand(image.shape[0], -1, -1, -1),
            'xy_1to0': grid.expand(image.shape[0], -1, -1, -1),
            'vis_0to1': ones.bool(), 'vis_1to0': ones.bool(),
            'angle_0to1': 0 * ones, 'angle_1to0': 0 * ones,
            'scale_0to1': ones, 'scale_1to0': ones}


def test_the_scale_term_measures_the_dog_scale_in_its_own_range():
    # Identical views: any scale is consistent. The DoG's scales reach beyond the learned
    # range (1/sqrt 2 to sqrt 2), which the term must not clamp them to.
    torch.manual_seed(0)
    config = LFNetConfig(detector=DetectorConfig(scale_source='dog'))
    model = LFNet(config).train()
    image = torch.rand(2, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    cfg = LossConfig(top_k=16, pair_keypoints=4)
    losses = compute_losses(model, _identity_batch(image), 0, cfg,
                            torch.Generator().manual_seed(0))
    scale = model.detector(model.normalize_input(image))[1]
    assert float(scale.max()) > math.sqrt(2)  # the case the test is about
    assert float(losses['scale']) < 1e-10


def test_pair_subset_and_alternating_directions_keep_the_gradients_apart():
    torch.manual_seed(0)
    model = LFNet().train()
    batch = _identity_batch(torch.rand(2, 1, 48, 48))
    cfg = LossConfig(top_k=16, pair_keypoints=4, alternate_directions=True)
    losses = compute_losses(model, batch, 2, cfg, torch.Generator().manual_seed(0))
    det = list(model.detector.parameters())
    desc = list(model.descriptor.parameters())
    # The triplet loss runs on detached patches: no gradient reaches the detector.
    det_from_triplet = torch.autograd.grad(losses['descriptor'], det, retain_graph=True,
                                           allow_unused=True)
    assert all(g is None or float(g.abs().sum()) == 0.0 for g in det_from_triplet)
    # The pair loss on the subset still reaches the detector (through the patches).
    det_from_pair = torch.autograd.grad(losses['pair'], det, retain_graph=True,
                                        allow_unused=True)
    assert any(g is not None and float(g.abs().sum()) > 0 for g in det_from_pair)
    assert any(g is not None for g in torch.autograd.grad(losses['descriptor'], desc,
                                                          allow_unused=True))
    assert len(losses) and float(losses['num_keypoints']) > 0


def test_patch_scale_jitter_draws_factors_within_its_range_reproducibly():
    scales = torch.full((4, 500), 1.5)
    jittered = jitter_scales(scales, 0.25, torch.Generator().manual_seed(3))
    log2_ratio = torch.log2(jittered / scales)
    assert float(log2_ratio.abs().max()) <= 0.25 + 1e-6
    assert float(log2_ratio.std()) > 0.1  # spread over the range, not a constant
    assert torch.equal(jittered, jitter_scales(scales, 0.25, torch.Generator().manual_seed(3)))


def test_patch_scale_jitter_changes_the_triplet_patches_only_when_on():
    torch.manual_seed(0)
    model = LFNet().eval()
    batch = _identity_batch(torch.rand(2, 1, 48, 48, generator=torch.Generator().manual_seed(2)))

    def triplet(jitter):
        cfg = LossConfig(top_k=16, pair_keypoints=4, patch_scale_jitter=jitter)
        with torch.no_grad():
            return float(compute_losses(model, batch, 0, cfg,
                                        torch.Generator().manual_seed(0))['triplet'])

    assert triplet(0.0) == triplet(0.0)
    assert triplet(0.25) != triplet(0.0)


@pytest.mark.parametrize('values', [{'patch_scale_jitter': -0.1, 'pair_keypoints': 4},
                                    {'patch_scale_jitter': math.inf, 'pair_keypoints': 4},
                                    {'patch_scale_jitter': 0.25}])
def test_bad_patch_scale_jitter_is_refused(values):
    with pytest.raises(ValueError, match='patch_scale_jitter'):
        LossConfig(**values)


def test_contrastive_loss_is_the_cross_entropy_over_the_pool():
    # Three anchors; the third's positive is outside view j: it is neither scored nor a negative.
    anchors = torch.nn.functional.normalize(torch.tensor(
        [[[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]]]), dim=-1)
    positives = torch.nn.functional.normalize(torch.tensor(
        [[[0.8, 0.6], [0.0, 1.0], [1.0, 0.1]]]), dim=-1)
    warped = torch.tensor([[[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]]])
    visible = torch.tensor([[True, True, False]])
    branch = KeypointBranch(anchors, positives, warped, visible, torch.ones(1, 3, dtype=bool))
    cfg = LossConfig(descriptor_loss='contrastive', contrastive_temperature=0.2)
    cos = anchors[0] @ positives[0].T
    expected = 0.0
    for k in range(2):
        logits = torch.tensor([cos[k, k], cos[k, 1 - k]]) / 0.2
        expected += float(torch.logsumexp(logits, 0) - logits[0]) / 2
    assert contrastive_loss(branch, cfg).item() == pytest.approx(expected, rel=1e-5)
    # With every negative excluded by the geometric radius, only the positive is left: loss 0.
    alone = LossConfig(descriptor_loss='contrastive', hard_geom_thresh=25.0)
    assert contrastive_loss(branch, alone).item() == pytest.approx(0.0, abs=1e-6)


def test_contrastive_option_replaces_the_triplet_term():
    torch.manual_seed(0)
    model = LFNet().train()
    batch = _identity_batch(torch.rand(2, 1, 48, 48, generator=torch.Generator().manual_seed(4)))
    cfg = LossConfig(top_k=16, pair_keypoints=4, batch_negatives=True,
                     descriptor_loss='contrastive')
    losses = compute_losses(model, batch, 0, cfg, torch.Generator().manual_seed(0))
    assert 'triplet' not in losses
    assert float(losses['contrastive']) > 0
    assert torch.equal(losses['descriptor'], losses['contrastive'])
    grads = torch.autograd.grad(losses['descriptor'], list(model.descriptor.parameters()))
    assert any(float(g.abs().sum()) > 0 for g in grads)


@pytest.mark.parametrize('values', [{'descriptor_loss': 'infonce'},
                                    {'descriptor_loss': 'contrastive',
                                     'contrastive_temperature': 0.0}])
def test_bad_descriptor_loss_is_refused(values):
    with pytest.raises(ValueError, match='descriptor_loss'):
        LossConfig(**values)
