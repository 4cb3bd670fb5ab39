# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Distillation of the pooled descriptor into one pass: the teacher, the loss, the run."""

import copy
import csv
from pathlib import Path
from typing import Dict, Optional, Sequence

import pytest
import torch

from lfnet_core.config import DescriptorConfig, LFNetConfig
from lfnet_core.model.descriptor import unit_length
from lfnet_core.model.lfnet import LFNet
from lfnet_core.ops.sampling import gather_at
from lfnet_training.keypoint_branch import keypoint_branch, pooled_descriptors, \
    select_keypoints
from lfnet_training.loss_config import LossConfig
from lfnet_training.losses import compute_losses, distill_loss
from lfnet_training.teacher import load_teacher
from lfnet_training.train import load_config, train

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'training' / 'configs' / 'tiny.yaml'
SMALL = ['data.train.sources.0.size=64', 'data.val.sources.0.size=64', 'loss.top_k=24',
         'train.batch_size=2', 'data.val.num_pairs=1', 'data.val.sources.0.num_pairs=1']
POOL = (0.7071, 1.4142)
SIZE, SHIFT = 48, 12  # view 1 is view 0 moved 12 px: its right quarter leaves the image


def _image(seed: int) -> torch.Tensor:
    noise = torch.rand(2, 1, SIZE // 4, SIZE // 4, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.interpolate(noise, size=(SIZE, SIZE), mode='bilinear')


def _shifted_batch() -> Dict[str, torch.Tensor]:
    """Two different images, pixel (x, y) of view 0 at (x + SHIFT, y) in view 1."""
    grid = torch.stack(torch.meshgrid(torch.arange(float(SIZE)), torch.arange(float(SIZE)),
                                      indexing='xy'), -1).expand(2, -1, -1, -1)
    shift = torch.tensor([float(SHIFT), 0.0])
    ones = torch.ones(2, SIZE, SIZE)
    return {'image0': _image(1), 'image1': _image(2), 'xy_0to1': grid + shift,
            'xy_1to0': grid - shift, 'vis_0to1': grid[..., 0] + SHIFT <= SIZE - 1,
            'vis_1to0': grid[..., 0] - SHIFT >= 0, 'angle_0to1': 0 * ones,
            'angle_1to0': 0 * ones, 'scale_0to1': ones, 'scale_1to0': ones}


def _pooled_twin(model: LFNet) -> LFNet:
    """Return a model with the same weights and inference pooling over POOL."""
    twin = LFNet(LFNetConfig(descriptor=DescriptorConfig(pool_scales=POOL))).eval()
    twin.load_state_dict(model.state_dict())
    return twin


def _losses(model: LFNet, teacher: Optional[torch.nn.Module], factors: Sequence[float],
            pair_keypoints: int = 4) -> Dict[str, torch.Tensor]:
    cfg = LossConfig(top_k=16, pair_keypoints=pair_keypoints, distill_weight=0.5,
                     distill_pool_scales=factors)
    return compute_losses(model, _shifted_batch(), 0, cfg, torch.Generator().manual_seed(0),
                          teacher)


def test_pooled_descriptors_are_the_inference_pooling():
    torch.manual_seed(0)
    single = LFNet().eval()
    image = _image(1)
    with torch.no_grad():
        score, scale, ori, _ = single.dense(image)
        keypoints_int, _ = select_keypoints(score, 8)
        expected = _pooled_twin(single).describe(image, score, scale, ori, keypoints_int)[3]
        keypoints, scales, oris = single.keypoint_frames(score, scale, ori, keypoints_int)
        got = pooled_descriptors(single.descriptor, single.normalize_input(image), keypoints,
                                 scales, oris, POOL)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize('pair_keypoints', [0, 4, 100])  # all keypoints, a subset, more than K
def test_the_teacher_describes_the_students_frames_in_both_views(pair_keypoints):
    torch.manual_seed(0)
    model = LFNet().eval()
    twin = _pooled_twin(model)
    batch = _shifted_batch()
    cfg = LossConfig(top_k=16, pair_keypoints=pair_keypoints, distill_weight=1.0,
                     distill_pool_scales=POOL)
    with torch.no_grad():
        images = torch.cat([batch['image0'], batch['image1']])
        x = model.normalize_input(images)
        score, scale, ori = model.detector(x)
        inputs = dict(batch, x0=x[:2], x1=x[2:], score0=score[:2], score1=score[2:],
                      scale0=scale[:2], scale1=scale[2:], ori0=ori[:2], ori1=ori[2:])
        branch, _ = keypoint_branch(model, inputs, 0, 1, cfg, torch.Generator().manual_seed(0),
                                    copy.deepcopy(model.descriptor))
        # View 0: the inference pooling at the detected keypoints.
        keypoints_int, valid = select_keypoints(score[:2], 16)
        anchors = twin.describe(batch['image0'], score[:2], scale[:2], ori[:2], keypoints_int)
        # View 1: the keypoints moved by the shift, clamped where they leave the image, with
        # view 1's scale and orientation read at the nearest pixel inside it.
        moved = keypoints_int.float() + torch.tensor([float(SHIFT), 0.0])
        inside = moved.round().clamp(0, SIZE - 1).long()
        frames = (moved.clamp(max=float(SIZE)), gather_at(scale[2:], inside)[..., 0],
                  gather_at(ori[2:], inside))
        positives = unit_length(sum(twin.describe_patches(patches) for patches in
                                    twin.pooled_patches(batch['image1'], *frames)))
        single_positives = model.describe_patches(model.pooled_patches(batch['image1'],
                                                                       *frames)[0])
    visible = valid & (moved[..., 0] <= SIZE - 1)
    assert bool((~visible).any()) and bool(visible.any())  # both cases occur
    assert torch.equal(branch.visible, visible)
    torch.testing.assert_close(branch.teacher_anchors, anchors[3], rtol=0, atol=1e-5)
    torch.testing.assert_close(branch.teacher_positives, positives, rtol=0, atol=1e-5)
    torch.testing.assert_close(branch.positives, single_positives, rtol=0, atol=1e-5)
    d_anchor = ((branch.anchors - anchors[3]) ** 2).sum(-1)[valid]
    d_positive = ((single_positives - positives) ** 2).sum(-1)[visible]
    expected = (d_anchor.sum() + d_positive.sum()) / (d_anchor.numel() + d_positive.numel())
    torch.testing.assert_close(distill_loss(branch), expected, rtol=1e-5, atol=1e-7)


def test_the_distill_term_is_zero_for_the_unpooled_student_and_joins_the_descriptor_loss():
    torch.manual_seed(0)
    model = LFNet().eval()
    teacher = copy.deepcopy(model.descriptor)
    with torch.no_grad():
        unpooled = _losses(model, teacher, (1.0,))
        pooled = _losses(model, teacher, POOL)
    assert float(unpooled['distill']) < 1e-8
    assert float(pooled['distill']) > 1e-3
    torch.testing.assert_close(pooled['descriptor'], pooled['triplet'] + 0.5 * pooled['distill'])


def test_distillation_trains_the_student_alone():
    torch.manual_seed(0)
    model = LFNet().eval()  # BatchNorm statistics fixed: the student moves by its weights only
    teacher = copy.deepcopy(model.descriptor)  # trainable parameters: only no_grad guards it
    optimizer = torch.optim.Adam(model.descriptor.parameters(), lr=1e-3)
    history = []
    for _ in range(8):
        distill = _losses(model, teacher, POOL)['distill']
        optimizer.zero_grad()
        distill.backward()
        optimizer.step()
        history.append(float(distill.detach()))
    assert history[-1] < 0.7 * history[0]
    assert all(p.grad is None for p in teacher.parameters())
    assert all(p.grad is None for p in model.detector.parameters())
    assert all(p.grad is not None for p in model.descriptor.parameters())


def test_distillation_needs_a_teacher():
    with pytest.raises(ValueError, match='teacher'):
        _losses(LFNet().eval(), None, POOL)


@pytest.mark.parametrize('values', [{'distill_weight': -1.0},
                                    {'distill_weight': float('nan')},
                                    {'distill_pool_scales': ()},
                                    {'distill_pool_scales': (1.0,) * 9},
                                    {'distill_pool_scales': (0.0, 1.0)}])
def test_bad_distillation_settings_are_refused(values):
    with pytest.raises(ValueError, match='distill'):
        LossConfig(**values)


def _config(tmp_path: Path, *overrides: str):
    return load_config(str(TINY), SMALL + [f'train.out_dir={tmp_path / "run"}'] + list(overrides))


def test_the_teacher_is_frozen_in_eval_mode_and_must_match_the_student(tmp_path):
    teacher_file = tmp_path / 'teacher.pt'
    torch.manual_seed(1)
    LFNet().save(teacher_file)
    cfg = _config(tmp_path, 'loss.distill_weight=1.0', f'train.teacher_weights={teacher_file}')
    teacher = load_teacher(cfg, LFNet(), torch.device('cpu'))
    assert not teacher.training
    assert all(not p.requires_grad and p.device.type == 'cpu' for p in teacher.parameters())
    expected = LFNet.from_pretrained(teacher_file).descriptor.state_dict()
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, expected[key]), key
    assert load_teacher(_config(tmp_path), LFNet(), torch.device('cpu')) is None
    deeper = LFNetConfig(descriptor=DescriptorConfig(residual_blocks=(0, 1, 0)))
    assert load_teacher(cfg, LFNet(deeper), torch.device('cpu')) is not None  # its own network
    for other in (LFNetConfig(descriptor=DescriptorConfig(descriptor_dim=128)),
                  LFNetConfig(input_inst_norm=False)):
        with pytest.raises(ValueError, match='differs'):
            load_teacher(cfg, LFNet(other), torch.device('cpu'))


def test_a_run_distils_from_its_teacher_and_refuses_half_a_setting(tmp_path):
    teacher = tmp_path / 'teacher.pt'
    torch.manual_seed(1)
    LFNet().save(teacher)
    out = tmp_path / 'run'
    common = ['train.iterations=2', 'train.ckpt_every=2', 'train.val_every=2',
              'train.log_every=1', 'loss.pair_keypoints=4']
    for half in ('loss.distill_weight=1.0', f'train.teacher_weights={teacher}'):
        with pytest.raises(ValueError, match='teacher_weights'):
            _config(tmp_path, *common, half)
    inside = out / 'checkpoints' / 'latest.pt'
    with pytest.raises(ValueError, match='out_dir'):
        _config(tmp_path, *common, 'loss.distill_weight=1.0', f'train.teacher_weights={inside}')
    train(_config(tmp_path, *common, 'loss.distill_weight=1.0',
                  f'train.teacher_weights={teacher}'))
    with open(out / 'metrics.csv', newline='') as handle:
        distill = [float(row['value']) for row in csv.DictReader(handle)
                   if row['key'] == 'distill']
    assert len(distill) == 2 and all(value > 0 for value in distill)
