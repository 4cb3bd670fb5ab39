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
from lfnet_core.evaluation.pose_eval import epipolar_correct, load_posed_pairs
from lfnet_core.inference import create_backend
from lfnet_training.datasets.photos import PhotoFolderPairs

HELD_OUT_FOLDERS = ('sceaux_castle', 'monstree')
STRECHA_SCENE = 'fountain-P11'
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


def score_strecha(extractor: FeatureExtractor, scene_dir: Path, max_pairs: int = 6) -> float:
    """Mean epipolar matching score over consecutive views of a Strecha scene.

    `pose_eval`'s 'ms_epi', but on grey images made from OpenCV's BGR read as RGB, as every
    recorded held-out score was: `lfnet-match-eval --poses` (true RGB) differs slightly.
    """
    values = []
    for pair in load_posed_pairs(scene_dir)[:max_pairs]:
        image0 = to_grey_uint8(cv2.imread(str(pair.image0)))
        image1 = to_grey_uint8(cv2.imread(str(pair.image1)))
        f0, f1 = extractor.extract(image0), extractor.extract(image1)
        correct = epipolar_correct(f0, f1, match_features(f0, f1), pair)
        values.append(float(correct.sum()) / max(len(f0), 1))
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
