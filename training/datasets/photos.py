# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Homography pairs from folders of real photos, sampled by folder, both views warped.

``python -m lfnet_training.datasets.photos ROOT OUT.png`` draws one pair with correspondences.

Each item picks a folder (probability proportional to a per-folder weight, by default the
square root of its photo count, so a large folder of near-duplicates cannot dominate), a photo
in it, a source scale (content shrunk by s in [0.5, 1] by default: structures the size they have
in a 640x480 or 320x240 camera frame rather than in an 800-pixel photo), a mild homography that
makes view 0 and a stronger one from view 0 to view 1 (rotation, zoom, shear, perspective).
"""

import math
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from torch.utils.data import Dataset

from lfnet_training.datasets.homography import draw_overlapping_homography, random_homography, \
    warped_pair_record
from lfnet_training.datasets.photometric import Photometric

PHOTO_SUFFIXES = ('.jpg', '.jpeg', '.png')


def list_photo_folders(root: Union[str, Path], include: Optional[Sequence[str]] = None,
                       exclude: Sequence[str] = ()) -> Dict[str, List[Path]]:
    """Return {folder name: sorted photo paths} for the sub-folders of `root`.

    Args:
        root: folder of photo folders (e.g. the shared data's ``photos``).
        include: folder names to keep (all when None); an unknown name is an error.
        exclude: folder names to leave out (held out for validation).

    Raises:
        FileNotFoundError: `root` does not exist or holds no photos.
        ValueError: `include` or `exclude` names a folder that is not there.

    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f'photo folder root not found: {root}')
    found = {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
             for d in sorted(root.iterdir()) if d.is_dir()}
    found = {name: paths for name, paths in found.items() if paths}
    unknown = (set(include or ()) | set(exclude)) - set(found)
    if unknown:
        raise ValueError(f'{root}: no photo folders named {sorted(unknown)} '
                         f'(found {sorted(found)})')
    keep = [n for n in found if (include is None or n in include) and n not in exclude]
    if not keep:
        raise FileNotFoundError(f'{root}: no photo folders left to use')
    return {name: found[name] for name in keep}


def _read_grey(path: Path, max_side: int) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise OSError(f'could not read {path}')
    factor = max_side / max(image.shape)
    if factor < 1.0:
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return image


class PhotoFolderPairs(Dataset):
    """Homography pairs of real photos, sampled by folder (see the module doc).

    Item i is a function of (seed, i). The record is `warped_pair_record`'s: vis keeps pixels
    that land inside the other view on photo content; angle and scale targets come from the
    Jacobian of H_0to1.

    Args:
        root: folder of photo folders.
        size: crop size S.
        num_pairs: dataset length.
        seed: dataset seed.
        include, exclude: folder selection (`list_photo_folders`).
        folder_weights: weight per folder name; folders not named get sqrt(photo count).
        source_scale: (low, high) range of the log-uniform content scale of view 0.
        view0_degree, view0_scale: rotation (+-deg) and zoom range (1/x..x) of view 0's warp.
        max_degree, max_scale, perspective, shear, max_shift: H_0to1 (`random_homography`).
        min_overlap: minimum fraction of view 0 that lands in view 1 (redrawn up to 20 times).
        photometric: per-view jitter (`Photometric` spec or ``'camera'``).
        max_side: photos are shrunk to this long side when loaded (memory).

    """

    def __init__(self, root: Union[str, Path], size: int = 160, num_pairs: int = 100000,
                 seed: int = 0, include: Optional[Sequence[str]] = None,
                 exclude: Sequence[str] = (), folder_weights: Optional[Mapping[str, float]] = None,
                 source_scale: Tuple[float, float] = (0.5, 1.0), view0_degree: float = 10.0,
                 view0_scale: float = 1.1, max_degree: float = 180.0, max_scale: float = 1.6,
                 perspective: float = 0.0008, shear: float = 0.15, max_shift: float = 0.1,
                 min_overlap: float = 0.4,
                 photometric: Union[None, str, Dict[str, float], Photometric] = 'camera',
                 max_side: int = 800) -> None:
        folders = list_photo_folders(root, include, exclude)
        low, high = (float(v) for v in source_scale)
        if not 0.1 <= low <= high <= 4.0:
            raise ValueError(f'source_scale: need 0.1 <= low <= high <= 4, got {source_scale}')
        self.size, self.num_pairs, self.seed = int(size), int(num_pairs), int(seed)
        self.source_scale = (low, high)
        self.view0 = {'max_degree': float(view0_degree), 'max_scale': float(view0_scale),
                      'perspective': perspective / 2.0, 'shear': shear / 2.0, 'max_shift': 0.0}
        self.params = {'max_degree': max_degree, 'max_scale': max_scale,
                       'perspective': perspective, 'shear': shear, 'max_shift': max_shift}
        self.min_overlap = float(min_overlap)
        self.photometric = photometric if isinstance(photometric, Photometric) \
            else Photometric.from_spec(photometric)
        self.folder_names = list(folders)
        self.photos = [[_read_grey(p, max_side) for p in folders[n]] for n in self.folder_names]
        weights = dict(folder_weights or {})
        raw = np.array([float(weights.get(n, math.sqrt(len(folders[n]))))
                        for n in self.folder_names])
        if np.any(raw < 0) or raw.sum() <= 0:
            raise ValueError(f'folder_weights must be >= 0 with a positive sum, got {weights}')
        self.folder_probability = raw / raw.sum()

    def __len__(self) -> int:
        return self.num_pairs

    def draw(self, index: int) -> Tuple[int, int, np.ndarray, np.ndarray]:
        """Return (folder, photo, H_photo_to_0, H_0to1) of item `index`."""
        if not 0 <= index < self.num_pairs:
            raise IndexError(f'index {index} out of range for {self.num_pairs} pairs')
        rng = np.random.default_rng([self.seed, int(index)])
        folder = int(rng.choice(len(self.photos), p=self.folder_probability))
        photo = int(rng.integers(len(self.photos[folder])))
        h, w = self.photos[folder][photo].shape
        S = self.size
        low, high = self.source_scale
        # Content scale s (view pixels per photo pixel); the photo must cover the view.
        scale = math.exp(rng.uniform(math.log(low), math.log(high)))
        scale = max(scale, 1.15 * S / min(h, w))
        span = S / scale  # photo pixels under the view
        cx = rng.uniform(span / 2.0, max(w - span / 2.0, span / 2.0))
        cy = rng.uniform(span / 2.0, max(h - span / 2.0, span / 2.0))
        to_view = np.array([[scale, 0.0, (S - 1) / 2.0 - scale * cx],
                            [0.0, scale, (S - 1) / 2.0 - scale * cy], [0.0, 0.0, 1.0]])
        H_photo_to_0 = random_homography(rng, S, **self.view0) @ to_view
        H_0to1 = draw_overlapping_homography(rng, S, self.params, self.min_overlap)
        return folder, photo, H_photo_to_0, H_0to1

    def __getitem__(self, index: int) -> Dict[str, object]:
        folder, photo, H_photo_to_0, H_0to1 = self.draw(index)
        name = f'photos:{self.folder_names[folder]}:{photo}:{self.seed}:{index}'
        record = warped_pair_record(self.photos[folder][photo], H_photo_to_0, H_0to1,
                                    self.size, name)
        if self.photometric.enabled:
            rng = np.random.default_rng([self.seed, int(index), 1])
            for key in ('image0', 'image1'):
                jittered = self.photometric.apply(record[key][0].numpy(), rng)
                record[key] = record[key].new_tensor(jittered)[None]
        return record


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI: draw one pair of real photos with correspondences to a PNG."""
    from lfnet_training.datasets.visualize import pair_cli_parser, write_pair
    parser = pair_cli_parser('python -m lfnet_training.datasets.photos', __doc__.split('\n')[0],
                             before_out=[('root', 'folder of photo folders')])
    parser.add_argument('--seed', type=int, default=0, help='dataset seed')
    args = parser.parse_args(argv)
    data = PhotoFolderPairs(args.root, size=args.size, num_pairs=args.index + 1, seed=args.seed)
    return write_pair(data[args.index], args.out, args.matches)


if __name__ == '__main__':
    raise SystemExit(main())
