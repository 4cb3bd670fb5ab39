# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Distillation of the pooled descriptor into one pass: the teacher, the loss, the run."""

import copy
import csv
from pathlib import Path

import pytest
import torch

from lfnet_core.config import DescriptorConfig, LFNetConfig
from lfnet_core.model.lfnet import LFNet
from lfnet_training.keypoint_branch import pooled_descriptors, select_keypoints
from lfnet_training.loss_config import LossConfig
from lfnet_training.losses import compute_losses
from lfnet_training.train import load_config, train

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'training' / 'configs' / 'tiny.yaml'
SMALL = ['data.train.sources.0.size=64', 'data.val.sources.0.size=64', 'loss.top_k=24',
         'train.batch_size=2', 'data.val.num_pairs=1', 'data.val.sources.0.num_pairs=1']
POOL = (0.7071, 1.4142)


def _image(seed: int, size: int = 48) -> torch.Tensor:
    noise = torch.rand(2, 1, size // 4, size // 4, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.interpolate(noise, size=(size, size), mode='bilinear')


def _identity_batch(image: torch.Tensor) -> dict:
    size = image.shape[-1]
    grid = torch.stack(torch.meshgrid(torch.arange(float(size)), torch.arange(float(size)),
                                      indexing='xy'), -1).expand(image.shape[0], -1, -1, -1)
    ones = torch.ones(image.shape[0], size, size)
    return {'image0': image, 'image1': image.clone(), 'xy_0to1': grid, 'xy_1to0': grid,
            'vis_0to1': ones.bool(), 'vis_1to0': ones.bool(), 'angle_0to1': 0 * ones,
            'angle_1to0': 0 * ones, 'scale_0to1': ones, 'scale_1to0': ones}


def test_the_teachers_pooling_is_the_inference_pooling():
    torch.manual_seed(0)
    single = LFNet().eval()
    pooled = LFNet(LFNetConfig(descriptor=DescriptorConfig(pool_scales=POOL))).eval()
    pooled.load_state_dict(single.state_dict())
    image = _image(1)
    with torch.no_grad():
        score, scale, ori, _ = single.dense(image)
        keypoints_int, _ = select_keypoints(score, 8)
        expected = pooled.describe(image, score, scale, ori, keypoints_int)
        keypoints, scales, oris = single.keypoint_frames(score, scale, ori, keypoints_int)
        got = pooled_descriptors(single.descriptor, single.normalize_input(image), keypoints,
                                 scales, oris, POOL, single.config.descriptor.patch_size)
    torch.testing.assert_close(got, expected[3], rtol=0, atol=1e-5)


def _losses(model: LFNet, teacher: torch.nn.Module, factors, seed: int = 2) -> dict:
    cfg = LossConfig(top_k=16, pair_keypoints=4, distill_weight=0.5,
                     distill_pool_scales=factors)
    return compute_losses(model, _identity_batch(_image(seed)), 0, cfg,
                          torch.Generator().manual_seed(0), teacher)


def test_the_distill_term_measures_the_distance_to_the_pooled_teacher():
    torch.manual_seed(0)
    model = LFNet().eval()
    teacher = copy.deepcopy(model.descriptor).requires_grad_(False)
    with torch.no_grad():
        unpooled = _losses(model, teacher, (1.0,))
        pooled = _losses(model, teacher, POOL)
    # A teacher that is the student without pooling describes every patch as it does.
    assert float(unpooled['distill']) < 1e-8
    assert float(pooled['distill']) > 1e-3
    expected = pooled['triplet'] + 0.5 * pooled['distill']
    torch.testing.assert_close(pooled['descriptor'], expected)


def test_distillation_pulls_the_student_towards_the_teacher():
    torch.manual_seed(0)
    model = LFNet().eval()  # BatchNorm statistics fixed: the student moves by its weights only
    teacher = copy.deepcopy(model.descriptor).requires_grad_(False)
    params = list(model.descriptor.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    history = []
    for _ in range(8):
        distill = _losses(model, teacher, POOL)['distill']
        optimizer.zero_grad()
        distill.backward()
        optimizer.step()
        history.append(float(distill.detach()))
    assert history[-1] < 0.7 * history[0]
    assert all(p.grad is None for p in teacher.parameters())


def test_distillation_needs_a_teacher():
    with pytest.raises(ValueError, match='teacher'):
        _losses(LFNet().eval(), None, POOL)


@pytest.mark.parametrize('values', [{'distill_weight': -1.0},
                                    {'distill_weight': float('nan')},
                                    {'distill_pool_scales': ()},
                                    {'distill_pool_scales': (0.0, 1.0)}])
def test_bad_distillation_settings_are_refused(values):
    with pytest.raises(ValueError, match='distill'):
        LossConfig(**values)


def test_a_run_distils_from_its_teacher_and_refuses_half_a_setting(tmp_path):
    teacher = tmp_path / 'teacher.pt'
    torch.manual_seed(1)
    LFNet().save(teacher)
    out = tmp_path / 'run'
    common = SMALL + [f'train.out_dir={out}', 'train.iterations=2', 'train.ckpt_every=2',
                      'train.val_every=2', 'train.log_every=1', 'loss.pair_keypoints=4']
    with pytest.raises(ValueError, match='teacher_weights'):
        train(load_config(str(TINY), common + ['loss.distill_weight=1.0']))
    with pytest.raises(ValueError, match='teacher_weights'):
        train(load_config(str(TINY), common + [f'train.teacher_weights={teacher}']))
    train(load_config(str(TINY), common + ['loss.distill_weight=1.0',
                                           f'train.teacher_weights={teacher}']))
    with open(out / 'metrics.csv', newline='') as handle:
        distill = [float(row['value']) for row in csv.DictReader(handle)
                   if row['key'] == 'distill']
    assert len(distill) == 2 and all(value > 0 for value in distill)
