# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Epipolar matching score and relative-pose accuracy on image pairs with known camera poses.

For real photos without depth: multi-view sets (Strecha, or poses converted from a COLMAP or
NeRF capture) and pair lists (ScanNet's ``pairs_with_gt.txt``). Two folder layouts are read:

- ``cameras.txt``: one line per image, ``name width height fx fy cx cy [k1 k2 p1 p2]`` and the
  camera-to-world pose ``T_world_from_camera`` as a row-major 3x4 (OpenCV axes); images in
  ``images/``. Pairs are consecutive lines (i, i + 1). Distortion, when given, is ignored
  (small in the sets this is used with).
- ``pairs_with_gt.txt``: one line per pair, ``name0 name1 K0(9) K1(9) T_0to1(16)`` (row-major,
  X_cam1 = T_0to1 X_cam0); images in ``images/``.

Definitions (the same for every method; mutual nearest-neighbour matches):

- A match is correct when both keypoints lie within `EPIPOLAR_PX` pixels of the epipolar line
  the other one gives (the larger of the two distances). Without depth a correct match is on
  the right line, not necessarily at the right point.
- 'ms_epi' = correct matches / keypoints of image 0 (the ratio of the matching score);
  'precision' = correct matches / matches.
- Relative pose: an essential matrix from the matches (OpenCV's RANSAC on normalised
  coordinates, threshold `RANSAC_PX` over the mean focal length, then the cheirality check)
  gives R and the translation direction. The pose error is the larger of the rotation error
  and the angle between the translation directions (infinite with fewer than 5 matches or no
  model); 'auc@5/10/20' is the area under its cumulative curve up to 5 / 10 / 20 degrees,
  normalised to 1, as in SuperGlue's pose evaluation but without its fold of the translation
  error (min(e, 180 - e)): the cheirality check has fixed the sign, so these AUCs are stricter
  than published ones.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Union

import cv2
import numpy as np

from lfnet_core.cli.extract import read_image
from lfnet_core.evaluation.features import FeatureExtractor, to_grey_uint8
from lfnet_core.evaluation.homography_eval import match_features
from lfnet_core.local_features import Features
from lfnet_core.rigid_poses import direction_angle, relative_pose, rotation_angle
from lfnet_core.visualization import draw_matches, save_rgb

EPIPOLAR_PX = 4.0
RANSAC_PX = 1.0
AUC_DEGREES = (5.0, 10.0, 20.0)


@dataclass(frozen=True)
class PosedPair:
    """Two images, their intrinsics and the motion from camera 0 to camera 1."""

    image0: Path
    image1: Path
    K0: np.ndarray
    K1: np.ndarray
    T_0to1: np.ndarray


def _intrinsics(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def _records(path: Path, counts: Sequence[int], layout: str) -> Iterator[List[str]]:
    """Yield the fields of each line of a text file that is not blank or a comment."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith('#'):
            continue
        if len(parts) not in counts:
            raise ValueError(f'{path}:{number}: expected {" or ".join(map(str, counts))} '
                             f'fields ({layout}), got {len(parts)}')
        yield parts


def read_cameras(folder: Union[str, Path]) -> List[tuple]:
    """Return (image path, K, T_world_from_camera) per line of a folder's ``cameras.txt``."""
    folder = Path(folder)
    views = []
    for parts in _records(folder / 'cameras.txt', (19, 23),
                          'name w h fx fy cx cy [k1 k2 p1 p2] and a 3x4 pose'):
        values = [float(v) for v in parts[3:]]
        T_world_cam = np.eye(4)
        T_world_cam[:3, :4] = np.array(values[-12:]).reshape(3, 4)
        views.append((folder / 'images' / parts[0], _intrinsics(*values[:4]), T_world_cam))
    return views


def read_pair_list(folder: Union[str, Path]) -> List[PosedPair]:
    """Return the pairs of a folder's ``pairs_with_gt.txt``."""
    folder = Path(folder)
    pairs = []
    for parts in _records(folder / 'pairs_with_gt.txt', (36,), 'name0 name1 K0 K1 T_0to1'):
        values = np.array([float(v) for v in parts[2:]])
        pairs.append(PosedPair(folder / 'images' / parts[0], folder / 'images' / parts[1],
                               values[:9].reshape(3, 3), values[9:18].reshape(3, 3),
                               values[18:].reshape(4, 4)))
    return pairs


def load_posed_pairs(folder: Union[str, Path], max_gap: int = 1) -> List[PosedPair]:
    """Pairs of a posed folder: its pair list, else views of ``cameras.txt`` 1 to `max_gap` apart.

    With ``cameras.txt`` the pairs come by gap, then by first view: the consecutive views
    first, as with the default `max_gap` 1. A pair list ignores `max_gap`.
    """
    if max_gap < 1:
        raise ValueError(f'max_gap must be >= 1, got {max_gap}')
    folder = Path(folder)
    if (folder / 'pairs_with_gt.txt').is_file():
        return read_pair_list(folder)
    if (folder / 'cameras.txt').is_file():
        views = read_cameras(folder)
        return [PosedPair(path0, path1, K0, K1, relative_pose(T0, T1))
                for gap in range(1, max_gap + 1)
                for (path0, K0, T0), (path1, K1, T1) in zip(views, views[gap:])]
    raise FileNotFoundError(f'{folder}: neither pairs_with_gt.txt nor cameras.txt')


def fundamental_matrix(K0: np.ndarray, K1: np.ndarray, T_0to1: np.ndarray) -> np.ndarray:
    """F with x1^T F x0 = 0 for pixels x0, x1 (T_0to1 maps camera-0 points into camera 1)."""
    R, t = T_0to1[:3, :3], T_0to1[:3, 3]
    t_cross = np.array([[0.0, -t[2], t[1]], [t[2], 0.0, -t[0]], [-t[1], t[0], 0.0]])
    return np.linalg.inv(K1).T @ t_cross @ R @ np.linalg.inv(K0)


def epipolar_distances(F: np.ndarray, points0: np.ndarray, points1: np.ndarray) -> np.ndarray:
    """Largest of the two point-to-epipolar-line distances (pixels) of each correspondence."""
    x0 = np.c_[points0, np.ones(len(points0))]
    x1 = np.c_[points1, np.ones(len(points1))]
    lines1, lines0 = x0 @ F.T, x1 @ F
    d1 = np.abs((x1 * lines1).sum(1)) / np.linalg.norm(lines1[:, :2], axis=1).clip(1e-12)
    d0 = np.abs((x0 * lines0).sum(1)) / np.linalg.norm(lines0[:, :2], axis=1).clip(1e-12)
    return np.maximum(d0, d1)


def _normalised(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    return (points - K[:2, 2]) / np.diag(K)[:2]


def essential_pose_error(points0: np.ndarray, points1: np.ndarray, K0: np.ndarray,
                         K1: np.ndarray, T_0to1: np.ndarray,
                         ransac_px: float = RANSAC_PX) -> Dict[str, float]:
    """Rotation and translation-direction errors (degrees) of an essential-matrix fit.

    Returns:
        'rot_err_deg', 'tdir_err_deg' and 'pose_err_deg' (their maximum; all infinite when
        there are fewer than 5 correspondences or RANSAC finds no model) and 'inliers'.

    """
    failed = {'rot_err_deg': np.inf, 'tdir_err_deg': np.inf, 'pose_err_deg': np.inf,
              'inliers': 0.0}
    if len(points0) < 5:
        return failed
    n0, n1 = _normalised(points0, K0), _normalised(points1, K1)
    focal = float(np.mean([K0[0, 0], K0[1, 1], K1[0, 0], K1[1, 1]]))
    E, mask = cv2.findEssentialMat(n0, n1, np.eye(3), method=cv2.RANSAC, prob=0.99999,
                                   threshold=ransac_px / focal)
    if E is None:
        return failed
    best = None
    for E_candidate in np.split(E, len(E) // 3):  # up to 3 solutions: keep the best supported
        count, R, t, _ = cv2.recoverPose(E_candidate, n0, n1, np.eye(3), mask=mask.copy())
        if best is None or count > best[0]:
            best = (count, R, t)
    count, R, t = best
    rot = float(np.degrees(rotation_angle(R.T @ T_0to1[:3, :3])))
    tdir = 90.0  # no true baseline (or no estimated one): no direction to get right
    if np.linalg.norm(T_0to1[:3, 3]) > 0 and np.linalg.norm(t) > 0:
        tdir = float(np.degrees(direction_angle(t, T_0to1[:3, 3])))
    return {'rot_err_deg': rot, 'tdir_err_deg': tdir, 'pose_err_deg': max(rot, tdir),
            'inliers': float(count)}


def pose_auc(errors: Sequence[float], thresholds: Sequence[float] = AUC_DEGREES
             ) -> Dict[str, float]:
    """Area under the cumulative pose-error curve up to each threshold, normalised to 1."""
    errors = np.sort(np.asarray(errors, np.float64))
    recall = np.arange(1, len(errors) + 1) / max(len(errors), 1)
    errors, recall = np.r_[0.0, errors], np.r_[0.0, recall]
    out = {}
    for threshold in thresholds:
        last = int(np.searchsorted(errors, threshold))
        x = np.r_[errors[:last], threshold]
        y = np.r_[recall[:last], recall[last - 1]]
        area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))  # trapezoids
        out[f'auc@{threshold:g}'] = area / threshold
    return out


def epipolar_correct(features0: Features, features1: Features, matches: np.ndarray,
                     pair: PosedPair) -> np.ndarray:
    """(M,) bool: each match lies within `EPIPOLAR_PX` of the epipolar lines of the pair."""
    F = fundamental_matrix(pair.K0, pair.K1, pair.T_0to1)
    return epipolar_distances(F, features0.keypoints[matches[:, 0]].astype(np.float64),
                              features1.keypoints[matches[:, 1]].astype(np.float64)
                              ) <= EPIPOLAR_PX


def posed_pair_metrics(features0: Features, features1: Features, pair: PosedPair,
                       matches: Optional[np.ndarray] = None) -> Dict[str, float]:
    """Epipolar matching score, precision and essential-matrix pose error of one pair."""
    if matches is None:
        matches = match_features(features0, features1)
    points0 = features0.keypoints[matches[:, 0]].astype(np.float64)
    points1 = features1.keypoints[matches[:, 1]].astype(np.float64)
    correct = epipolar_correct(features0, features1, matches, pair)
    out = {'num_matches': float(len(matches)), 'num_correct': float(correct.sum()),
           'ms_epi': float(correct.sum()) / max(len(features0), 1),
           'precision': float(correct.mean()) if len(matches) else float('nan')}
    out.update(essential_pose_error(points0, points1, pair.K0, pair.K1, pair.T_0to1))
    return out


def evaluate_posed_pairs(folder: Union[str, Path], extractor: FeatureExtractor,
                         max_pairs: Optional[int] = None,
                         png_path: Optional[Union[str, Path]] = None,
                         max_gap: int = 1) -> Dict[str, object]:
    """Evaluate one method on the pairs of a posed folder (`load_posed_pairs`, `max_gap`).

    Returns:
        {'pairs': [per-pair dict with 'pair': 'name0-name1'], 'summary': the mean of each
        value over the pairs (finite ones; errors as medians), 'auc@5/10/20' and
        'mean_keypoints' over the distinct images used}.

    """
    pairs = load_posed_pairs(folder, max_gap)
    pairs = pairs[:max_pairs] if max_pairs else pairs
    images, features = {}, {}
    for path in dict.fromkeys(p for pair in pairs for p in (pair.image0, pair.image1)):
        images[path] = to_grey_uint8(read_image(str(path)))
        features[path] = extractor.extract(images[path])
    records = []
    for pair in pairs:
        f0, f1 = features[pair.image0], features[pair.image1]
        matches = match_features(f0, f1)
        record = posed_pair_metrics(f0, f1, pair, matches)
        records.append(dict(record, pair=f'{pair.image0.stem}-{pair.image1.stem}'))
        if png_path is not None and len(records) == 1:
            Path(png_path).parent.mkdir(parents=True, exist_ok=True)
            save_rgb(str(png_path), draw_matches(
                images[pair.image0], images[pair.image1], f0.keypoints, f1.keypoints, matches,
                correct=epipolar_correct(f0, f1, matches, pair), max_lines=400))
    summary = summarise_posed(records)
    summary['mean_keypoints'] = (float(np.mean([len(f) for f in features.values()]))
                                 if features else float('nan'))
    return {'pairs': records, 'summary': summary}


def summarise_posed(records: Sequence[Dict[str, float]]) -> Dict[str, float]:
    """Means of the per-pair values (finite ones), median errors and the pose AUCs."""
    summary: Dict[str, float] = {'num_pairs': float(len(records))}
    for key in ('num_matches', 'num_correct', 'ms_epi', 'precision', 'inliers'):
        values = np.array([r[key] for r in records], np.float64)
        finite = values[np.isfinite(values)]
        summary[key] = float(finite.mean()) if finite.size else float('nan')
    for key in ('rot_err_deg', 'tdir_err_deg', 'pose_err_deg'):
        values = [r[key] for r in records]
        summary[f'median_{key}'] = float(np.median(values)) if values else float('nan')
    summary.update(pose_auc([r['pose_err_deg'] for r in records]))
    return summary
