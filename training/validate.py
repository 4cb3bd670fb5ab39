# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""`lfnet-validate`: score checkpoints on real data that training never sees, to pick one.

    lfnet-validate --weights A.pt B.pt [--methods orb,sift,akaze] [--data DIR] [--json F]

Three held-out sets, each skipped with a message when its data is absent:

- ``photos``: homography pairs of whole photo folders that `training/configs/real.yaml` leaves
  out (``sceaux_castle``, ``monstree``): 256x256 views, content at 0.5-1x, zoom up to 2x,
  rotation up to +-30 deg, camera-like jitter. MS@5 with mutual nearest neighbours.
- ``strecha``: consecutive views of one Strecha scene (``fountain-P11``; training uses no
  Strecha image) with their real camera poses. A match is correct when it lies within 4 px
  (full-size pixels) of its epipolar line in both images; the score is correct matches over
  the keypoints of the first image (the same ratio as MS, with epipolar correctness).
- ``stereo``: scikit-image's Middlebury "motorcycle" pair (real non-planar depth, dense
  ground-truth disparity): MS@5 where the left keypoint's disparity is known.

Strecha and the stereo pair run at `--image-scale` (default 0.5: 400x267 and 370x250, the
size class of the node's input), scored in full-size pixels. `mean` averages the three.
"""

import argparse
import json
import math
import os
from pathlib import Path
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import skimage.data
from tqdm import tqdm

from lfnet_core.evaluation.features import (FeatureExtractor, make_extractor, ScaledExtractor,
                                            to_grey_uint8)
from lfnet_core.evaluation.homography_eval import (correspondence_metrics, homography_pair_metrics,
                                                   match_features)
from lfnet_core.inference import create_backend
from lfnet_core.rigid_poses import relative_pose
from lfnet_training.datasets.photos import PhotoFolderPairs

HELD_OUT_FOLDERS = ('sceaux_castle', 'monstree')
STRECHA_SCENE = 'fountain-P11'
EPIPOLAR_PX = 4.0
Scores = Dict[str, float]


def default_data_dir() -> Path:
    """$LFNET_SHARED_DATA, else ``<repo>/../shared/data``."""
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get('LFNET_SHARED_DATA') or repo.parent / 'shared' / 'data')


PhotoPair = Tuple[np.ndarray, np.ndarray, np.ndarray]


def photo_pairs(root: Path, num_pairs: int = 24) -> List[PhotoPair]:
    """Held-out homography pairs: (image0 uint8, image1 uint8, H_0to1)."""
    pairs = PhotoFolderPairs(root, size=256, num_pairs=num_pairs, seed=2024,
                             include=list(HELD_OUT_FOLDERS), source_scale=(0.5, 1.0),
                             max_degree=30.0, max_scale=2.0, photometric='camera')
    out = []
    for index in range(num_pairs):
        record = pairs[index]
        H_0to1 = pairs.draw(index)[3]
        out.append(tuple(np.clip(record[k][0].numpy() * 255.0 + 0.5, 0, 255).astype(np.uint8)
                         for k in ('image0', 'image1')) + (H_0to1,))
    return out


def score_photos(extractor: FeatureExtractor, pairs: Sequence[PhotoPair]) -> float:
    """Mean MS@5 over held-out homography pairs."""
    values = []
    for image0, image1, H_0to1 in pairs:
        f0, f1 = extractor.extract(image0), extractor.extract(image1)
        metrics = homography_pair_metrics(f0, f1, H_0to1, image0.shape[:2], image1.shape[:2])
        values.append(metrics['ms@5'])
    return float(np.nanmean(values))


def read_strecha(scene_dir: Path) -> List[Tuple[Path, np.ndarray, np.ndarray]]:
    """Return (image path, K, T_world_from_camera) per line of a Strecha `cameras.txt`."""
    views = []
    for line in (scene_dir / 'cameras.txt').read_text().splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        parts = line.split()
        fx, fy, cx, cy = (float(v) for v in parts[3:7])
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        T = np.eye(4)
        T[:3, :4] = np.array([float(v) for v in parts[7:19]]).reshape(3, 4)
        views.append((scene_dir / 'images' / parts[0], K, T))
    return views


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


def score_strecha(extractor: FeatureExtractor, scene_dir: Path, max_pairs: int = 6) -> float:
    """Mean epipolar matching score over consecutive views of a Strecha scene."""
    views = read_strecha(scene_dir)
    values = []
    for (path0, K0, T0), (path1, K1, T1) in list(zip(views, views[1:]))[:max_pairs]:
        image0 = to_grey_uint8(cv2.imread(str(path0)))
        image1 = to_grey_uint8(cv2.imread(str(path1)))
        f0, f1 = extractor.extract(image0), extractor.extract(image1)
        if len(f0) == 0:
            values.append(0.0)
            continue
        matches = match_features(f0, f1)
        F = fundamental_matrix(K0, K1, relative_pose(T0, T1))
        distances = epipolar_distances(F, f0.keypoints[matches[:, 0]].astype(np.float64),
                                       f1.keypoints[matches[:, 1]].astype(np.float64))
        values.append(float((distances <= EPIPOLAR_PX).sum()) / len(f0))
    return float(np.mean(values))


def score_stereo(extractor: FeatureExtractor) -> float:
    """MS@5 on the Middlebury motorcycle pair (disparity: x_right = x_left - d)."""
    left, right, disparity = skimage.data.stereo_motorcycle()
    image0, image1 = to_grey_uint8(left), to_grey_uint8(right)
    f0, f1 = extractor.extract(image0), extractor.extract(image1)
    keypoints0 = f0.keypoints.astype(np.float64)
    height, width = disparity.shape
    cols = np.clip(np.round(keypoints0[:, 0]).astype(int), 0, width - 1)
    rows = np.clip(np.round(keypoints0[:, 1]).astype(int), 0, height - 1)
    d = disparity[rows, cols].astype(np.float64)
    projected = np.c_[keypoints0[:, 0] - d, keypoints0[:, 1]]
    visible = np.isfinite(d) & (projected[:, 0] >= 0) & (projected[:, 0] <= width - 1)
    projected[~visible] = np.nan
    metrics = correspondence_metrics(f1.keypoints, match_features(f0, f1), projected, visible)
    return float(metrics['ms@5'])


def validate(extractor: FeatureExtractor, data_dir: Path, image_scale: float,
             photo_set: Optional[Sequence[PhotoPair]]) -> Scores:
    """Score one extractor on every available held-out set; 'mean' over those that ran."""
    scaled = extractor if image_scale == 1.0 else ScaledExtractor(extractor, image_scale)
    scores: Scores = {}
    if photo_set:
        scores['photos'] = score_photos(extractor, photo_set)
    strecha = data_dir / 'strecha_mvs' / STRECHA_SCENE
    if (strecha / 'cameras.txt').is_file():
        scores['strecha'] = score_strecha(scaled, strecha)
    scores['stereo'] = score_stereo(scaled)
    scores['mean'] = float(np.mean(list(scores.values())))
    return scores


def build_parser() -> argparse.ArgumentParser:
    """Arguments of `lfnet-validate`."""
    parser = argparse.ArgumentParser(prog='lfnet-validate', description=__doc__.split('\n')[0])
    parser.add_argument('--weights', nargs='*', default=[],
                        help='LF-Net checkpoints to score (default: the shipped weights)')
    parser.add_argument('--methods', default='',
                        help='comma-separated OpenCV references to score too (orb,sift,akaze)')
    parser.add_argument('--top-k', type=int, default=500, help='keypoint budget K')
    parser.add_argument('--pyramid-levels', type=int, nargs='+', default=[1], metavar='N',
                        help='LF-Net pyramid levels to score each checkpoint with (default 1)')
    parser.add_argument('--image-scale', type=float, default=0.5,
                        help='image scale of the Strecha and stereo sets (default 0.5)')
    parser.add_argument('--data', type=Path, default=None,
                        help='shared data folder (default: $LFNET_SHARED_DATA or ../shared/data)')
    parser.add_argument('--json', type=Path, help='write the scores to this JSON file')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `lfnet-validate`."""
    args = build_parser().parse_args(argv)
    data_dir = args.data or default_data_dir()
    photos = data_dir / 'photos'
    if all((photos / name).is_dir() for name in HELD_OUT_FOLDERS):
        photo_set = photo_pairs(photos)
    else:
        photo_set = None
        print(f'lfnet-validate: no held-out photo folders under {photos}: photos set skipped',
              file=sys.stderr)
    if not (data_dir / 'strecha_mvs' / STRECHA_SCENE).is_dir():
        print(f'lfnet-validate: no {STRECHA_SCENE} under {data_dir}: strecha set skipped',
              file=sys.stderr)
    candidates = [('lfnet', w and str(w), n) for w in args.weights or [None]
                  for n in args.pyramid_levels]
    candidates += [(m.strip(), None, 1) for m in args.methods.split(',') if m.strip()]
    results: Dict[str, Scores] = {}
    for method, weights, levels in tqdm(candidates, desc='validate',
                                        disable=len(candidates) < 2):
        backend = None
        if method == 'lfnet':
            backend = create_backend('torch', weights=weights)
        extractor = make_extractor(method, args.top_k, lfnet_backend=backend,
                                   pyramid_levels=levels)
        name = method if weights is None and method != 'lfnet' else (weights or 'shipped')
        name += f' pyramid {levels}' if levels > 1 else ''
        results[name] = validate(extractor, data_dir, args.image_scale, photo_set)
    columns = list(next(iter(results.values())))
    print(f"{'candidate':48s} " + ' '.join(f'{c:>8s}' for c in columns))
    for name, scores in results.items():
        print(f'{name[-48:]:48s} ' + ' '.join(f'{scores[c]:8.4f}' for c in columns))
    if args.json:
        clean = {k: {c: (None if math.isnan(v) else v) for c, v in s.items()}
                 for k, s in results.items()}
        args.json.write_text(json.dumps({'top_k': args.top_k, 'image_scale': args.image_scale,
                                         'results': clean}, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
