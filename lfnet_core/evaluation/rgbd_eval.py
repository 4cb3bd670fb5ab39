# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Matching score and relative-pose accuracy on TUM RGB-D sequences.

Frames come from `lfnet_core.tum.TumSequence` (depth in metres, K, camera-to-world
ground truth). Pairs are (i, i + gap) for i = 0, 1, ...; image 1 is frame i, image 2 frame
i + gap, and T_1to2 = relative_pose(T_world_cam_i, T_world_cam_i+gap).

Definitions (the same for every method; matching and the per-pair correspondence metrics are
those of `homography_eval.correspondence_metrics`, with this projection and visibility):

- Projection and visibility (release section 4.1): each keypoint k1 of image 1 is lifted with
  depth1 read at the rounded keypoint (nearest), moved with T_1to2 and projected with K
  (`rgbd_warp.warp_pixels_rgbd`). It is visible when its depth is valid, it is in front of
  camera 2, it lands inside image 2 (0 <= x <= W - 1, 0 <= y <= H - 1), and it is not
  occluded: depth2 at the projection (bilinear, nearest fallback) agrees with the projected
  depth within max(0.05 m, 0.03 * z) (`OCCLUSION_ABS_M`, `OCCLUSION_REL`: the thresholds
  `lfnet_training.datasets.tum.TumPairs` trains with).
- Matching score at eps = #correct mutual-NN matches / #visible keypoints of image 1, a match
  being correct when k1 is visible and the matched k2 lies within eps px of the projection
  (eps = 3 and 5 px; 5 px is the release's number). Repeatability at eps: one-sided, as in
  `homography_eval`.
- Relative pose: the matched keypoints of image 1 are lifted with depth1 (`keypoint_points`,
  depth in [0.1, 10] m) and `vo.estimate_motion` (PnP RANSAC, default `RansacConfig`: 3 px,
  >= 15 inliers and >= 20 % inlier ratio) fits T_1to2 to the matched keypoints of image 2,
  with the node's depth check of the inliers against depth2 at those keypoints.
  Rotation error = angle of R_est^T R_true in degrees; translation error = ||t_est - t_true||
  in cm; direction error = angle between t_est and t_true in degrees (NaN when the true
  translation is below 1 mm).
- Aggregation over pairs: matching score and repeatability are means over pairs (NaN-ignoring);
  'pnp_success' is the fraction of pairs whose PnP estimate is ok; the medians of the errors are
  over the successful pairs only; 'pose@5deg5cm' is the fraction of ALL pairs with a successful
  estimate whose rotation error < 5 deg and translation error < 5 cm.
"""

from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from lfnet_core.evaluation.features import FeatureExtractor, to_grey_uint8
from lfnet_core.evaluation.homography_eval import (correspondence_metrics, match_features,
                                                   save_match_png, summarise, THRESHOLDS)
from lfnet_core.keypoint_points import keypoint_points
from lfnet_core.local_features import Features
from lfnet_core.rgbd_warp import warp_pixels_rgbd
from lfnet_core.rigid_poses import direction_angle, relative_pose, rotation_angle
from lfnet_core.tum import TumSequence
from lfnet_core.vo import estimate_motion, RansacConfig

OCCLUSION_ABS_M = 0.05
OCCLUSION_REL = 0.03
DEPTH_RANGE_M = (0.1, 10.0)
POSE_ROT_DEG = 5.0
POSE_TRANS_CM = 5.0


def pose_errors(T_est: np.ndarray, T_true: np.ndarray) -> Tuple[float, float, float]:
    """Rotation error (deg), translation error (cm), translation direction error (deg).

    Args:
        T_est: (4, 4) estimated transform from camera 1 to camera 2.
        T_true: (4, 4) ground-truth transform.

    Returns:
        (rot_deg, trans_cm, dir_deg); dir_deg is NaN when ||t_true|| < 1 mm or t_est = 0.

    """
    rot = float(np.degrees(rotation_angle(T_est[:3, :3].T @ T_true[:3, :3])))
    t_est, t_true = T_est[:3, 3], T_true[:3, 3]
    trans = float(np.linalg.norm(t_est - t_true) * 100.0)
    direction = float('nan')
    if np.linalg.norm(t_true) >= 1e-3:
        direction = float(np.degrees(direction_angle(t_est, t_true)))
    return rot, trans, direction


def rgbd_pair_metrics(features0: Features, features1: Features, depth0: np.ndarray,
                      depth1: np.ndarray, K: np.ndarray, T_0to1: np.ndarray,
                      thresholds: Sequence[float] = THRESHOLDS,
                      matches: Optional[np.ndarray] = None) -> Dict[str, float]:
    """All metrics of one RGB-D pair (module docstring).

    Args:
        features0, features1: features of image 1 and image 2.
        depth0, depth1: (H, W) depth maps in metres (0 invalid) of the two images.
        K: (3, 3) intrinsics (both images).
        T_0to1: (4, 4) ground-truth transform from camera 1 to camera 2.
        thresholds: pixel thresholds eps.
        matches: precomputed mutual-NN matches (K, 2), else computed here.

    Returns:
        `correspondence_metrics` plus 'pnp_ok', 'pnp_inliers', 'rot_err_deg', 'trans_err_cm',
        'tdir_err_deg' (NaN when PnP failed), 'pose_ok' (rot < 5 deg and trans < 5 cm) and the
        keypoint counts.

    """
    if matches is None:
        matches = match_features(features0, features1)
    warp = warp_pixels_rgbd(features0.keypoints, depth0, K, T_0to1, K, depth1.shape, depth1,
                            depth_thresh=OCCLUSION_ABS_M, depth_rel_thresh=OCCLUSION_REL)
    out = correspondence_metrics(features1.keypoints, matches, warp.uv1, warp.visible,
                                 thresholds)
    points = keypoint_points(features0.keypoints[matches[:, 0]], depth0, K, *DEPTH_RANGE_M)
    uv = features1.keypoints[matches[:, 1]].astype(np.float64)
    points_cur = keypoint_points(uv, depth1, K, *DEPTH_RANGE_M)
    estimate = estimate_motion(points, uv, K, RansacConfig(), rng_seed=0, points_cur=points_cur)
    rot = trans = direction = float('nan')
    if estimate.ok:
        rot, trans, direction = pose_errors(estimate.T_prev_to_cur, T_0to1)
    out.update({'pnp_ok': float(estimate.ok), 'pnp_inliers': float(estimate.num_inliers),
                'rot_err_deg': rot, 'trans_err_cm': trans, 'tdir_err_deg': direction,
                'pose_ok': float(estimate.ok and rot < POSE_ROT_DEG and trans < POSE_TRANS_CM),
                'num_kp0': float(len(features0)), 'num_kp1': float(len(features1))})
    return out


def summarise_rgbd(pairs: Sequence[Dict[str, float]]) -> Dict[str, float]:
    """Means over pairs, plus success rate and medians of the pose errors over successes."""
    summary = summarise(pairs)
    if not pairs:
        return summary
    ok = np.array([p['pnp_ok'] > 0 for p in pairs])
    summary['pnp_success'] = float(ok.mean())
    summary['pose@5deg5cm'] = float(np.mean([p['pose_ok'] for p in pairs]))
    for key in ('rot_err_deg', 'trans_err_cm', 'tdir_err_deg'):
        values = np.array([p[key] for p in pairs], np.float64)[ok]
        values = values[np.isfinite(values)]
        summary.pop(key, None)
        summary[f'median_{key}'] = float(np.median(values)) if values.size else float('nan')
    for key in ('pnp_ok', 'pose_ok'):
        summary.pop(key, None)
    return summary


def evaluate_tum_sequence(sequence, extractor: FeatureExtractor, gap: int = 1,
                          thresholds: Sequence[float] = THRESHOLDS,
                          max_pairs: Optional[int] = None,
                          png_path: Optional[Union[str, Path]] = None) -> Dict[str, object]:
    """Evaluate one method on the (i, i + gap) pairs of a TUM sequence.

    Args:
        sequence: a `TumSequence` or its folder.
        extractor: the method's extractor.
        gap: frame gap (>= 1).
        thresholds: pixel thresholds for matching score and repeatability.
        max_pairs: evaluate at most this many pairs (the first ones).
        png_path: where to draw the first pair's matches (correct at the largest threshold).

    Returns:
        {'pairs': [per-pair dict with 'pair': 'i-j'], 'summary': `summarise_rgbd` plus
        'mean_keypoints' over the distinct frames used}.

    """
    if not isinstance(sequence, TumSequence):
        sequence = TumSequence(sequence)
    if int(gap) != gap or gap < 1:
        raise ValueError(f'gap: must be an integer >= 1, got {gap}')
    pairs = [(i, i + gap) for i in range(len(sequence) - gap)]
    pairs = pairs[:max_pairs] if max_pairs else pairs
    frames, features = {}, {}
    for index in sorted({i for pair in pairs for i in pair}):
        frames[index] = sequence[index]
        features[index] = extractor.extract(to_grey_uint8(frames[index].rgb))
    records = []
    for a, b in pairs:
        fa, fb = frames[a], frames[b]
        T = relative_pose(fa.T_world_cam, fb.T_world_cam)
        matches = match_features(features[a], features[b])
        record = rgbd_pair_metrics(features[a], features[b], fa.depth, fb.depth, fa.K, T,
                                   thresholds, matches)
        records.append(dict(record, pair=f'{a}-{b}'))
        if png_path is not None and len(records) == 1:
            warp = warp_pixels_rgbd(features[a].keypoints, fa.depth, fa.K, T, fb.K,
                                    fb.depth.shape, fb.depth, depth_thresh=OCCLUSION_ABS_M,
                                    depth_rel_thresh=OCCLUSION_REL)
            save_match_png(png_path, fa.rgb, fb.rgb, features[a], features[b], matches,
                           warp.uv1, warp.visible, max(thresholds))
    summary = summarise_rgbd([{k: v for k, v in r.items() if k != 'pair'} for r in records])
    summary['mean_keypoints'] = (float(np.mean([len(f) for f in features.values()]))
                                 if features else float('nan'))
    return {'pairs': records, 'summary': summary}
