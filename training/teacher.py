# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The frozen teacher of descriptor distillation (`loss.distill_weight`, `train.teacher_weights`).

The teacher describes the student's keypoint frames on the student's normalised image, pooled
over `loss.distill_pool_scales` (`lfnet_training.keypoint_branch.pooled_descriptors`). It is read
from its file at every start of a run, so that file must stay put while the run lasts: a path
inside the run's own folder, which the run rewrites, is refused.
"""

from dataclasses import replace
from pathlib import Path
from typing import Optional

from omegaconf import DictConfig
import torch
from tqdm import tqdm

from lfnet_core.model.lfnet import LFNet
from lfnet_training.loss_config import LossConfig


def teacher_path(cfg: DictConfig) -> Optional[str]:
    """Return `train.teacher_weights`, checked against `loss.distill_weight` and `out_dir`.

    Raises:
        ValueError: one of the two settings without the other, or a teacher inside the run's
            output folder.

    """
    path = cfg.train.get('teacher_weights')
    weight = LossConfig(**cfg.get('loss', {})).distill_weight
    if (weight > 0) != bool(path):
        raise ValueError('loss.distill_weight > 0 and train.teacher_weights go together; got '
                         f'{weight} and {path!r}')
    if path and Path(cfg.train.out_dir).resolve() in Path(path).resolve().parents:
        raise ValueError(f"train.teacher_weights {path!r} lies in the run's own out_dir, which "
                         'the run rewrites: use a file that stays put')
    return str(path) if path else None


def load_teacher(cfg: DictConfig, model: LFNet, device: torch.device
                 ) -> Optional[torch.nn.Module]:
    """Return the frozen, eval-mode descriptor of `train.teacher_weights` on `device`, or None.

    Raises:
        ValueError: the settings `teacher_path` refuses, or a teacher whose descriptor or input
            normalisation differs from the trained model's (its pooling setting, residual
            blocks and stacked patch scales are ignored: it runs its own network).

    """
    path = teacher_path(cfg)
    if path is None:
        return None
    teacher = LFNet.from_pretrained(path)
    ours, theirs = model.config, teacher.config
    like_ours = replace(theirs.descriptor, pool_scales=(1.0,),
                        residual_blocks=ours.descriptor.residual_blocks,
                        stack_scales=ours.descriptor.stack_scales)
    if (like_ours != ours.descriptor
            or (theirs.input_inst_norm, theirs.input_inst_norm_eps)
            != (ours.input_inst_norm, ours.input_inst_norm_eps)):
        raise ValueError(f'teacher {path}: its descriptor or input normalisation differs from '
                         f"the trained model's ({theirs} against {ours})")
    factors = LossConfig(**cfg.get('loss', {})).distill_pool_scales
    tqdm.write(f'distilling from {path}, pooled over {factors}')
    return teacher.descriptor.to(device).eval().requires_grad_(False)
