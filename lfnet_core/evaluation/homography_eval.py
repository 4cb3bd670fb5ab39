# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Repeatability, matching score and homography accuracy on planar (homography) sequences.

Layouts: Oxford (`img1..6.{png,ppm,pgm,jpg}` + `H1to{2..6}p`) and HPatches (`1..6.ppm` +
`H_1_{2..6}`); the pairs are (1, n) for n = 2..6 and H maps image 1 to image n.

Definitions, per pair (image 1 = the first image, keypoints k1; image 2 = image n, k2), the same
for every method. `correspondence_metrics` is shared with the RGB-D evaluation, which supplies
its own projection and visibility.

- Visible: a keypoint of image 1 whose projection H k1 lies inside image 2 (0 <= x <= W2 - 1,
  0 <= y <= H2 - 1; `homography.homography_visibility`). This is the shared region.
- Matches: mutual nearest neighbours of the descriptors (`matching.mutual_nearest_neighbours`,
  L2 or Hamming by method, no ratio test, no distance gate).
- Correct match at eps: a match (i, j) whose k1_i is visible and ||k2_j - H k1_i|| <= eps.
- Matching score at eps = #correct matches / #visible keypoints of image 1 (the release's
  section 4.1 definition, with mutual NN instead of one-way NN as the matcher for all methods).
- Match precision at eps = #correct matches / #matches whose k1 is visible.
- Repeatability at eps (one-sided, image 1 -> image 2) = fraction of the visible keypoints of
  image 1 whose projection has a detected keypoint of image 2 (any of them) within eps px.
- Homography accuracy at t px: H_est from the matches by `cv2.findHomography(..., cv2.RANSAC,
  3.0)` (OpenCV's RNG seeded with 0); the pair is a success when the mean corner error
  (`homography.homography_corner_error`, corners of image 1) is <= t. Fewer than 4 matches or no
  estimate count as failures (error inf). Reported for t = 1, 3, 5 px.

Aggregation: each per-pair value is averaged over the pairs of a sequence (pairs without any
visible keypoint are left out of the matching-score and repeatability means); homography
accuracy is the fraction of all pairs that succeed.
"""

from dataclasses import dataclass
from pathlib import Path
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from lfnet_core.cli.extract import read_image
from lfnet_core.evaluation.features import FeatureExtractor, to_grey_uint8
from lfnet_core.homography import (homography_corner_error, homography_visibility,
                                   warp_points_homography)
from lfnet_core.local_features import Features
from lfnet_core.matching import mutual_nearest_neighbours
from lfnet_core.visualization import draw_matches, save_rgb

THRESHOLDS = (3.0, 5.0)
HOMOGRAPHY_THRESHOLDS = (1.0, 3.0, 5.0)
RANSAC_PX = 3.0
_IMAGE_EXTS = ('.png', '.ppm', '.pgm', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
_BLOCK = 2048


@dataclass(frozen=True)
class HomographySequence:
    """A planar sequence: image paths by index (1..6) and H_1toN for N >= 2.

    Attributes:
        name: the folder name.
        layout: 'oxford' or 'hpatches'.
        images: {index: path}.
        homographies: {index: (3, 3) float64 H from image 1 to image index}.

    """

    name: str
    layout: str
    images: Dict[int, Path]
    homographies: Dict[int, np.ndarray]

    @property
    def pairs(self) -> List[Tuple[int, int]]:
        """(1, n) for every n with both an image and a homography, in order."""
        return [(1, n) for n in sorted(self.homographies) if n in self.images]


def _find_image(root: Path, stem: str) -> Optional[Path]:
    for ext in _IMAGE_EXTS:
        for candidate in (root / f'{stem}{ext}', root / f'{stem}{ext.upper()}'):
            if candidate.is_file():
                return candidate
    return None


def load_homography_sequence(root: Union[str, Path]) -> HomographySequence:
    """Read an Oxford (`img1.*`, `H1to2p`) or HPatches (`1.ppm`, `H_1_2`) sequence folder.

    Raises:
        FileNotFoundError: the folder has neither layout or no usable pair.

    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f'{root}: not a folder')
    layouts = (('oxford', 'img{}', re.compile(r'^H1to(\d+)p$')),
               ('hpatches', '{}', re.compile(r'^H_1_(\d+)$')))
    for layout, image_stem, h_pattern in layouts:
        first = _find_image(root, image_stem.format(1))
        if first is None:
            continue
        images, homographies = {1: first}, {}
        for path in sorted(root.iterdir()):
            match = h_pattern.match(path.name)
            if not match or not path.is_file():
                continue
            n = int(match.group(1))
            image = _find_image(root, image_stem.format(n))
            if image is None:
                continue
            H = np.loadtxt(path, dtype=np.float64)
            if H.shape != (3, 3):
                raise ValueError(f'{path}: expected a 3x3 homography, got shape {H.shape}')
            images[n], homographies[n] = image, H
        if homographies:
            return HomographySequence(root.name, layout, images, homographies)
    raise FileNotFoundError(f'{root}: no Oxford (img1.* + H1toNp) or HPatches (1.ppm + H_1_N) '
                            'sequence found')


def nearest_distances(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Distance from each point to its nearest target (inf when there is no target).

    Args:
        points: (N, 2) coordinates.
        targets: (M, 2) coordinates.

    Returns:
        (N,) float64 distances.

    """
    points = np.asarray(points, np.float64).reshape(-1, 2)
    targets = np.asarray(targets, np.float64).reshape(-1, 2)
    out = np.full(points.shape[0], np.inf)
    if targets.shape[0] == 0:
        return out
    for start in range(0, points.shape[0], _BLOCK):
        block = points[start:start + _BLOCK]
        d2 = ((block[:, None, :] - targets[None, :, :]) ** 2).sum(axis=2)
        out[start:start + _BLOCK] = np.sqrt(d2.min(axis=1))
    return out


def correspondence_metrics(keypoints1: np.ndarray, matches: np.ndarray, projected0: np.ndarray,
                           visible0: np.ndarray,
                           thresholds: Sequence[float] = THRESHOLDS) -> Dict[str, float]:
    """Compute matching score, match precision and repeatability of a pair (module docstring).

    Args:
        keypoints1: (M, 2) keypoints of image 2.
        matches: (K, 2) int indices (image-1 keypoint, image-2 keypoint).
        projected0: (N, 2) image-1 keypoints projected into image 2 (NaN allowed where not
            visible).
        visible0: (N,) bool visibility of the image-1 keypoints in image 2.
        thresholds: pixel thresholds eps.

    Returns:
        dict with num_visible, num_matches, num_matches_visible and, for each eps (key suffix
        f'{eps:g}', e.g. 'ms@3'): 'ms@', 'precision@', 'rep@', 'correct@'; NaN where the
        denominator is 0.

    """
    visible0 = np.asarray(visible0, bool)
    matches = np.asarray(matches, np.int64).reshape(-1, 2)
    keypoints1 = np.asarray(keypoints1, np.float64).reshape(-1, 2)
    num_visible = int(visible0.sum())
    match_visible = visible0[matches[:, 0]]
    with np.errstate(invalid='ignore'):
        err = np.linalg.norm(keypoints1[matches[:, 1]] - projected0[matches[:, 0]], axis=1)
    err[~match_visible] = np.inf
    nearest = nearest_distances(projected0[visible0], keypoints1)
    out = {'num_visible': float(num_visible), 'num_matches': float(matches.shape[0]),
           'num_matches_visible': float(match_visible.sum())}
    for eps in thresholds:
        key = f'{eps:g}'
        correct = int((err <= eps).sum())
        out[f'correct@{key}'] = float(correct)
        out[f'ms@{key}'] = correct / num_visible if num_visible else float('nan')
        out[f'precision@{key}'] = (correct / float(match_visible.sum()) if match_visible.any()
                                   else float('nan'))
        out[f'rep@{key}'] = (float((nearest <= eps).mean()) if num_visible else float('nan'))
    return out


def match_features(features0: Features, features1: Features) -> np.ndarray:
    """Mutual nearest-neighbour matches (K, 2) with the method's metric."""
    if features0.metric != features1.metric:
        raise ValueError(f'metrics differ: {features0.metric} != {features1.metric}')
    return mutual_nearest_neighbours(features0.descriptors, features1.descriptors,
                                     metric=features0.metric).matches


def estimate_homography(keypoints0: np.ndarray, keypoints1: np.ndarray, matches: np.ndarray,
                        ransac_px: float = RANSAC_PX) -> Optional[np.ndarray]:
    """H (3, 3) from image 1 to image 2 by OpenCV RANSAC on the matches, or None."""
    if len(matches) < 4:
        return None
    src = np.asarray(keypoints0, np.float64)[matches[:, 0]].reshape(-1, 1, 2)
    dst = np.asarray(keypoints1, np.float64)[matches[:, 1]].reshape(-1, 1, 2)
    cv2.setRNGSeed(0)
    try:
        H, _ = cv2.findHomography(src, dst, cv2.RANSAC, float(ransac_px))
    except cv2.error:
        return None
    if H is None or H.shape != (3, 3) or not np.all(np.isfinite(H)):
        return None
    return H


def homography_pair_metrics(features0: Features, features1: Features, H_0to1: np.ndarray,
                            shape0: Tuple[int, int], shape1: Tuple[int, int],
                            thresholds: Sequence[float] = THRESHOLDS,
                            matches: Optional[np.ndarray] = None) -> Dict[str, float]:
    """Compute all metrics of one homography pair (module docstring), plus the corner error."""
    if matches is None:
        matches = match_features(features0, features1)
    kp0 = features0.keypoints.astype(np.float64)
    projected = warp_points_homography(kp0, H_0to1)
    visible = homography_visibility(kp0, H_0to1, shape1)
    out = correspondence_metrics(features1.keypoints, matches, projected, visible, thresholds)
    H_est = estimate_homography(features0.keypoints, features1.keypoints, matches)
    error = homography_corner_error(H_est, H_0to1, shape0)
    out['corner_error'] = error
    for t in HOMOGRAPHY_THRESHOLDS:
        out[f'h@{t:g}'] = float(error <= t)
    out['num_kp0'], out['num_kp1'] = float(len(features0)), float(len(features1))
    return out


def summarise(pairs: Sequence[Dict[str, float]]) -> Dict[str, float]:
    """Mean of every per-pair value over the pairs, NaN-ignoring ('corner_error': median)."""
    if not pairs:
        return {'num_pairs': 0.0}
    out = {'num_pairs': float(len(pairs))}
    for key in pairs[0]:
        values = np.array([p.get(key, np.nan) for p in pairs], np.float64)
        if key == 'corner_error':
            out['median_corner_error'] = float(np.median(values))
            continue
        finite = values[np.isfinite(values)]
        out[key] = float(finite.mean()) if finite.size else float('nan')
    return out


def save_match_png(path: Union[str, Path], image0: np.ndarray, image1: np.ndarray,
                   features0: Features, features1: Features, matches: np.ndarray,
                   projected0: np.ndarray, visible0: np.ndarray, eps: float = 5.0) -> None:
    """Draw the matches, green where correct at eps (visible and within eps), red otherwise."""
    with np.errstate(invalid='ignore'):
        err = np.linalg.norm(features1.keypoints[matches[:, 1]].astype(np.float64)
                             - projected0[matches[:, 0]], axis=1)
    correct = visible0[matches[:, 0]] & (err <= eps)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_rgb(str(path), draw_matches(image0, image1, features0.keypoints, features1.keypoints,
                                     matches, correct=correct, max_lines=400))


def evaluate_homography_sequence(sequence: Union[HomographySequence, str, Path],
                                 extractor: FeatureExtractor,
                                 thresholds: Sequence[float] = THRESHOLDS,
                                 max_pairs: Optional[int] = None,
                                 png_path: Optional[Union[str, Path]] = None) -> Dict[str, object]:
    """Evaluate one method on the (1, n) pairs of a sequence.

    Args:
        sequence: a `HomographySequence` or its folder.
        extractor: the method's extractor.
        thresholds: pixel thresholds for matching score and repeatability.
        max_pairs: evaluate at most this many pairs (the first ones).
        png_path: where to draw the first pair's matches (correct at the largest threshold).

    Returns:
        {'pairs': [per-pair dict with 'pair': 'a-b'], 'summary': summarise(...) plus
        'mean_keypoints' over the distinct images used}.

    """
    if not isinstance(sequence, HomographySequence):
        sequence = load_homography_sequence(sequence)
    pairs = sequence.pairs[:max_pairs] if max_pairs else sequence.pairs
    images, features = {}, {}
    for index in sorted({i for pair in pairs for i in pair}):
        images[index] = to_grey_uint8(read_image(str(sequence.images[index])))
        features[index] = extractor.extract(images[index])
    records = []
    for a, b in pairs:
        H = sequence.homographies[b]
        matches = match_features(features[a], features[b])
        record = homography_pair_metrics(features[a], features[b], H, images[a].shape[:2],
                                         images[b].shape[:2], thresholds, matches)
        records.append(dict(record, pair=f'{a}-{b}'))
        if png_path is not None and len(records) == 1:
            kp0 = features[a].keypoints.astype(np.float64)
            save_match_png(png_path, images[a], images[b], features[a], features[b], matches,
                           warp_points_homography(kp0, H),
                           homography_visibility(kp0, H, images[b].shape[:2]), max(thresholds))
    summary = summarise([{k: v for k, v in r.items() if k != 'pair'} for r in records])
    summary['mean_keypoints'] = float(np.mean([len(f) for f in features.values()]))
    return {'pairs': records, 'summary': summary}
