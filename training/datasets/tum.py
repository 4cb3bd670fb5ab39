# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Overlapping training pairs from TUM RGB-D sequences (frames read by `lfnet_core.tum`).

``python -m lfnet_training.datasets.tum ROOT OUT.png`` draws one pair with correspondences.
"""

import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from torch.utils.data import Dataset

from lfnet_core.pinhole import sample_depth
from lfnet_core.rgbd_warp import warp_pixels_rgbd
from lfnet_core.rigid_poses import relative_pose
from lfnet_core.tum import TumSequence
from lfnet_training.datasets.record import (build_rgbd_record, pixel_grid, raw_size,
                                            RgbdView, sample_augmentation, to_grey)


def square_view(image: np.ndarray, depth: np.ndarray, K: np.ndarray, T_world_cam: np.ndarray,
                side: int) -> RgbdView:
    """Resize a frame so its short side is `side`, with square pixels, and centre-crop a square.

    The two axes are scaled so that fx' = fy' (TUM fr3's 535.4 / 539.2 becomes a 0.7% aspect
    change), which makes the rotation augmentation an exact camera roll. Grey is low-pass
    filtered before shrinking and resampled bilinearly; depth is resampled nearest.
    """
    h, w = depth.shape
    base = side / min(h, w)
    fmin = min(K[0, 0], K[1, 1])
    sx, sy = base * K[1, 1] / fmin, base * K[0, 0] / fmin
    M = np.array([[sx, 0.0, (side - 1) / 2 - sx * (w - 1) / 2],
                  [0.0, sy, (side - 1) / 2 - sy * (h - 1) / 2], [0.0, 0.0, 1.0]])
    grey = to_grey(image)
    shrink = min(sx, sy)
    if shrink < 1:
        grey = cv2.GaussianBlur(grey, (0, 0), 0.5 * math.sqrt(1 / shrink ** 2 - 1))
    grey = cv2.warpAffine(grey, M[:2], (side, side), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    uv = pixel_grid(side, side)
    src = (uv - M[:2, 2]) / np.array([sx, sy])
    d = np.nan_to_num(sample_depth(depth, src, 'nearest'), nan=0.0).reshape(side, side)
    K_out = M @ np.asarray(K, np.float64)
    return RgbdView(grey, d.astype(np.float32), K_out, np.asarray(T_world_cam, np.float64))


def pair_overlap(depth0: np.ndarray, K0: np.ndarray, depth1: np.ndarray, K1: np.ndarray,
                 T_0to1: np.ndarray, stride: int = 8, depth_thresh: float = 0.05,
                 depth_rel_thresh: float = 0.03) -> float:
    """Fraction of a stride-subsampled grid of image 0 that is visible in image 1."""
    d0, d1 = depth0[::stride, ::stride], depth1[::stride, ::stride]
    sub = np.diag([1.0 / stride, 1.0 / stride, 1.0])
    warp = warp_pixels_rgbd(pixel_grid(*d0.shape), d0, sub @ K0, T_0to1, sub @ K1, d1.shape, d1,
                            depth_thresh=depth_thresh, depth_rel_thresh=depth_rel_thresh)
    return float(warp.visible.mean())


class TumPairs(Dataset):
    """Training pairs from a TUM sequence, chosen by frame gap and overlap.

    Pairs (i, i + g) for g in `gap_range` (inclusive) whose overlap both ways (`pair_overlap`
    on the full frames, stride 8) is at least `min_overlap`, computed once here. Item k is a
    function of (seed, k): the order is swapped with p = 0.5 (`flip`) and image 1 gets the
    release's augmentation when `augment`. Frames become ceil(S * sqrt(2)) squares by
    `square_view`, then `build_rgbd_record` (record.py lists the keys).

    Args:
        root: sequence folder (or a `TumSequence`).
        size: crop size S.
        gap_range: inclusive (min, max) frame gap.
        min_overlap: minimum visible fraction in both directions.
        augment: rotation / scale augmentation of image 1.
        max_degree: rotation bound in degrees.
        max_scale: scale bound.
        seed: dataset seed.
        flip: swap the pair order at random.
        depth_thresh: occlusion threshold in metres.
        depth_rel_thresh: relative occlusion threshold (sensor noise grows with depth).
        **sequence_kwargs: passed to `TumSequence` (depth_factor, intrinsics, max_dt, ...).

    """

    def __init__(self, root: Union[str, Path, TumSequence], size: int = 256,
                 gap_range: Tuple[int, int] = (1, 3), min_overlap: float = 0.3,
                 augment: bool = True, max_degree: float = 180.0,
                 max_scale: float = math.sqrt(2.0), seed: int = 0, flip: bool = True,
                 depth_thresh: float = 0.05, depth_rel_thresh: float = 0.03,
                 **sequence_kwargs) -> None:
        if isinstance(root, TumSequence):
            self.sequence = root
        else:
            self.sequence = TumSequence(root, **sequence_kwargs)
        self.size, self.seed, self.flip, self.augment = int(size), int(seed), flip, augment
        self.max_degree, self.max_scale = float(max_degree), float(max_scale)
        self.thresholds = {'depth_thresh': depth_thresh, 'depth_rel_thresh': depth_rel_thresh}
        seq = self.sequence
        depths = [seq.load_depth(k) for k in range(len(seq))]
        self.pairs: List[Tuple[int, int, float]] = []
        for i in range(len(seq)):
            for j in range(i + gap_range[0], min(i + gap_range[1], len(seq) - 1) + 1):
                if j == i:
                    continue
                T = relative_pose(seq.T_world_cam[i], seq.T_world_cam[j])
                ov = min(pair_overlap(depths[i], seq.K, depths[j], seq.K, T, **self.thresholds),
                         pair_overlap(depths[j], seq.K, depths[i], seq.K, np.linalg.inv(T),
                                      **self.thresholds))
                if ov >= min_overlap:
                    self.pairs.append((i, j, ov))
        if not self.pairs:
            raise ValueError(f'{seq.root}: no pair with gap in {gap_range} and overlap >= '
                             f'{min_overlap}')

    def __len__(self) -> int:
        return len(self.pairs)

    def view(self, frame: int) -> RgbdView:
        """Frame `frame` as a ceil(S * sqrt(2)) square view."""
        f = self.sequence[frame]
        return square_view(f.rgb, f.depth, f.K, f.T_world_cam, raw_size(self.size))

    def __getitem__(self, index: int) -> Dict[str, object]:
        if not 0 <= index < len(self):
            raise IndexError(f'pair {index} out of range for {len(self)} pairs')
        rng = np.random.default_rng([self.seed, int(index)])
        i, j, _ = self.pairs[index]
        if self.flip and rng.random() < 0.5:
            i, j = j, i
        angle, scale = (sample_augmentation(rng, self.max_degree, self.max_scale)
                        if self.augment else (0.0, 1.0))
        name = f'tum:{self.sequence.root.name}:{i}-{j}'
        return build_rgbd_record(self.view(i), self.view(j), self.size, angle, scale, name,
                                 **self.thresholds)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI: draw one TUM pair with correspondences to a PNG."""
    from lfnet_training.datasets.visualize import pair_cli_parser, write_pair
    parser = pair_cli_parser('python -m lfnet_training.datasets.tum', __doc__.split('\n')[0],
                             before_out=[('root', 'TUM sequence folder')])
    parser.add_argument('--no-augment', action='store_true', help='no rotation / scale')
    args = parser.parse_args(argv)
    data = TumPairs(args.root, args.size, augment=not args.no_augment)
    return write_pair(data[args.index % len(data)], args.out, args.matches,
                      f' ({len(data)} pairs)')


if __name__ == '__main__':
    raise SystemExit(main())
