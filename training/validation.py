# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Validation during training: the release's matching score at 5 px on held-out pairs."""

from typing import Dict, Iterable

import torch

from lfnet_core.model.lfnet import LFNet
from lfnet_training.keypoint_branch import select_keypoints


@torch.no_grad()
def describe_view(model: LFNet, image: torch.Tensor, top_k: int) -> Dict[str, torch.Tensor]:
    """Top-K keypoints of one (1, 1, H, W) image: integer and refined positions, descriptors."""
    score, scale, orientation, _ = model.dense(image)
    keypoints_int, valid = select_keypoints(score, top_k)
    keypoints_int = keypoints_int[:, valid[0]]
    keypoints, _, _, descriptors = model.describe(image, score, scale, orientation,
                                                  keypoints_int)
    return {'keypoints_int': keypoints_int[0], 'keypoints': keypoints[0],
            'descriptors': descriptors[0]}


@torch.no_grad()
def matching_score(model: LFNet, records: Iterable[Dict[str, torch.Tensor]], top_k: int = 512,
                   threshold_px: float = 5.0) -> Dict[str, float]:
    """Mean matching score over pairs, as the release computes it.

    Nearest neighbour from image 0 to image 1 (squared L2, no ratio test, no mutual check); a
    keypoint of image 0 counts if visible in image 1; a match is correct if the neighbour lies
    within `threshold_px` of the keypoint's true position. Score = correct / visible.
    """
    was_training = model.training
    model.eval()
    scores, visible_counts = [], []
    device = next(model.parameters()).device
    for record in records:
        view0 = describe_view(model, record['image0'][None].to(device), top_k)
        view1 = describe_view(model, record['image1'][None].to(device), top_k)
        if len(view0['keypoints']) == 0 or len(view1['keypoints']) == 0:
            scores.append(0.0)
            continue
        kp_int = view0['keypoints_int'].cpu()
        visible = record['vis_0to1'][kp_int[:, 1], kp_int[:, 0]]
        truth = record['xy_0to1'][kp_int[:, 1], kp_int[:, 0]]
        nearest = torch.cdist(view0['descriptors'], view1['descriptors']).argmin(1).cpu()
        error = (view1['keypoints'].cpu()[nearest] - truth).norm(dim=1)
        correct = (error <= threshold_px) & visible
        scores.append(float(correct.sum()) / max(int(visible.sum()), 1))
        visible_counts.append(int(visible.sum()))
    model.train(was_training)
    return {'matching_score': sum(scores) / max(len(scores), 1),
            'visible_keypoints': sum(visible_counts) / max(len(visible_counts), 1)}
