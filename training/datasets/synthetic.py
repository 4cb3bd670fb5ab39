# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Endless synthetic RGB-D training pairs rendered from `lfnet_core.scene_geometry` rooms.

``python -m lfnet_training.datasets.synthetic OUT.png`` draws one pair with correspondences.
"""

import functools
import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from torch.utils.data import Dataset

from lfnet_core.scene_geometry import frame_pose, make_scene, Scene
from lfnet_core.scene_render import render_frame
from lfnet_core.sensor_effects import SensorEffects
from lfnet_training.datasets.record import (build_rgbd_record, raw_size, RgbdView,
                                            sample_augmentation, to_grey)


@functools.lru_cache(maxsize=32)
def _scene(seed: int, texture_dir: Optional[str]) -> Scene:
    """Build (once per process) the scene of `seed`."""
    return make_scene(seed, texture_dir)


class SyntheticPairs(Dataset):
    """Pairs of frames `gap` apart on the camera loop of a small pool of synthetic rooms.

    Item i is a pure function of (seed, i): a generator seeded with [seed, i] draws the scene
    (from `scene_seeds`), the start frame, the gap, the pair order (swapped with p = 0.5 when
    `flip`, as the release's flip_pair) and image 1's augmentation. Both views are rendered at
    ceil(size * sqrt(2)) square with fx = fy = focal * width and the principal point at the
    centre, then go through `build_rgbd_record` (see record.py for the record's keys).

    Args:
        num_pairs: dataset length.
        size: crop size S.
        seed: dataset seed.
        gap_range: inclusive (min, max) frame gap at 30 fps and 0.4 m/s (~1.3 cm, < 1.5 deg
            per frame).
        max_degree: rotation augmentation bound in degrees (0 disables).
        max_scale: scale augmentation bound (1 disables).
        texture_dir: optional folder of extra textures for the scenes.
        effects: sensor effects applied to every rendered view.
        scene_seeds: seeds of the scene pool (use disjoint pools for training and validation).
        flip: swap the pair order at random.
        focal: focal length as a fraction of the render width.
        depth_thresh: occlusion test threshold in metres.

    """

    def __init__(self, num_pairs: int = 1000, size: int = 256, seed: int = 0,
                 gap_range: Tuple[int, int] = (2, 15), max_degree: float = 180.0,
                 max_scale: float = math.sqrt(2.0), texture_dir: Optional[str] = None,
                 effects: SensorEffects = SensorEffects(),
                 scene_seeds: Sequence[int] = tuple(range(8)), flip: bool = True,
                 focal: float = 0.8, depth_thresh: float = 0.05) -> None:
        if num_pairs < 1 or size < 8 or len(scene_seeds) == 0:
            raise ValueError(f'need num_pairs >= 1, size >= 8 and scene seeds, got {num_pairs}, '
                             f'{size}, {scene_seeds}')
        if not 0 <= gap_range[0] <= gap_range[1]:
            raise ValueError(f'gap_range: expected 0 <= min <= max, got {gap_range}')
        self.num_pairs = int(num_pairs)
        self.size = int(size)
        self.seed = int(seed)
        self.gap_range = (int(gap_range[0]), int(gap_range[1]))
        self.max_degree = float(max_degree)
        self.max_scale = float(max_scale)
        self.texture_dir = None if texture_dir is None else str(texture_dir)
        self.effects = effects
        self.scene_seeds = tuple(int(s) for s in scene_seeds)
        self.flip = bool(flip)
        self.focal = float(focal)
        self.depth_thresh = float(depth_thresh)

    def __len__(self) -> int:
        return self.num_pairs

    def intrinsics(self) -> np.ndarray:
        """Return the (3, 3) intrinsics of the rendered (uncropped) views."""
        n = raw_size(self.size)
        f, c = self.focal * n, (n - 1) / 2.0
        return np.array([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]])

    def draw(self, index: int) -> Dict[str, float]:
        """Return the random choices of item `index`: scene seed, frames and augmentation."""
        if not 0 <= index < self.num_pairs:
            raise IndexError(f'index {index} out of range for {self.num_pairs} pairs')
        rng = np.random.default_rng([self.seed, int(index)])
        scene_seed = self.scene_seeds[int(rng.integers(len(self.scene_seeds)))]
        start = int(rng.integers(0, 1_000_000))
        gap = int(rng.integers(self.gap_range[0], self.gap_range[1] + 1))
        frames = (start, start + gap)
        if self.flip and rng.random() < 0.5:
            frames = frames[::-1]
        angle, scale = sample_augmentation(rng, self.max_degree, self.max_scale)
        return {'scene': scene_seed, 'frame0': frames[0], 'frame1': frames[1],
                'angle': angle, 'scale': scale}

    def view(self, scene_seed: int, frame: int, index: int, which: int) -> RgbdView:
        """Render frame `frame` of scene `scene_seed` at the raw size."""
        scene = _scene(scene_seed, self.texture_dir)
        n, K = raw_size(self.size), self.intrinsics()
        T = frame_pose(scene, frame)
        rng = np.random.default_rng([self.seed, int(index), 1, which])
        rgb, depth = render_frame(scene, T, K, n, n, effects=self.effects, rng=rng)
        return RgbdView(to_grey(rgb), depth, K, T)

    def __getitem__(self, index: int) -> Dict[str, object]:
        d = self.draw(index)
        view0 = self.view(d['scene'], d['frame0'], index, 0)
        if d['frame1'] == d['frame0']:
            view1 = view0  # same frame (gap 0): identical render, noise included
        else:
            view1 = self.view(d['scene'], d['frame1'], index, 1)
        name = f"synthetic:{self.seed}:{index}:scene{d['scene']}:{d['frame0']}-{d['frame1']}"
        return build_rgbd_record(view0, view1, self.size, d['angle'], d['scale'], name,
                                 depth_thresh=self.depth_thresh)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI: draw one synthetic pair with correspondences to a PNG."""
    from lfnet_training.datasets.visualize import pair_cli_parser, write_pair
    parser = pair_cli_parser('python -m lfnet_training.datasets.synthetic', __doc__.split('\n')[0])
    parser.add_argument('--seed', type=int, default=0, help='dataset seed')
    parser.add_argument('--max-degree', type=float, default=180.0, help='rotation augmentation')
    args = parser.parse_args(argv)
    data = SyntheticPairs(args.index + 1, args.size, args.seed, max_degree=args.max_degree)
    return write_pair(data[args.index], args.out, args.matches)


if __name__ == '__main__':
    raise SystemExit(main())
