# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Self-supervised pairs from single photos warped by random homographies.

``python -m lfnet_training.datasets.homography OUT.png`` draws one pair with correspondences.
"""

import math
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from torch.utils.data import Dataset

from lfnet_training.datasets.photometric import Photometric
from lfnet_training.datasets.record import (pack_record, pixel_grid, raw_size,
                                            sample_augmentation, to_grey)

SKIMAGE_PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera', 'brick', 'grass',
                  'gravel', 'text', 'page', 'coins', 'moon', 'immunohistochemistry',
                  'hubble_deep_field')
ImageSource = Union[str, Path, np.ndarray]


def default_homography_images(shared_dir: Optional[Union[str, Path]] = None,
                              exclude: Sequence[str] = ()) -> List[ImageSource]:
    """scikit-image's bundled photos plus ``<shared_dir>/unlabelled/*.png`` when present.

    `shared_dir` defaults to $LFNET_SHARED_DATA, else ``<repo>/../shared/data``. `exclude` names
    scikit-image photos to leave out (to hold them out for validation).
    """
    unknown = set(exclude) - set(SKIMAGE_PHOTOS)
    if unknown:
        raise ValueError(f'exclude: unknown scikit-image photos {sorted(unknown)}')
    images = [load_named_image(f'skimage:{name}') for name in SKIMAGE_PHOTOS
              if name not in exclude]
    if shared_dir is None:
        repo = Path(__file__).resolve().parents[2]
        shared_dir = os.environ.get('LFNET_SHARED_DATA') or repo.parent / 'shared' / 'data'
    images += sorted((Path(shared_dir) / 'unlabelled').glob('*.png'))
    return images


def load_named_image(source: ImageSource) -> ImageSource:
    """Resolve ``'skimage:<name>'`` to that bundled photo; return anything else unchanged."""
    if isinstance(source, str) and source.startswith('skimage:'):
        import skimage.data
        name = source.split(':', 1)[1]
        if name not in SKIMAGE_PHOTOS:
            raise ValueError(f'unknown scikit-image photo {name!r} (one of {SKIMAGE_PHOTOS})')
        return getattr(skimage.data, name)()
    return source


def _load_grey_u8(source: ImageSource, min_side: int, scale: float = 1.0) -> np.ndarray:
    if isinstance(source, (str, Path)):
        image = cv2.imread(str(source), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise OSError(f'could not read {source}')
    else:
        image = np.clip(to_grey(source) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    # One resize: by `scale`, but never to a short side below `min_side` (the crop needs it).
    f = max(scale, min_side / min(image.shape[:2]))
    if f != 1.0:
        size = (max(min_side, round(image.shape[1] * f)), max(min_side, round(image.shape[0] * f)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if f < 1.0
                           else cv2.INTER_CUBIC)
    return image


def homography_jacobian(H: np.ndarray, uv: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Return H(uv) (NaN where w <= 0) and the (N, 2, 2) Jacobian d(H uv)/d(uv), for (N, 2) uv."""
    uvw = uv @ H[:, :2].T + H[:, 2]
    w = uvw[:, 2:3]
    with np.errstate(divide='ignore', invalid='ignore'):
        out = uvw[:, :2] / w
        J = (H[None, :2, :2] - out[:, :, None] * H[None, 2:3, :2]) / w[:, :, None]
    out[(w[:, 0] <= 0) | ~np.all(np.isfinite(out), axis=1)] = np.nan
    return out, J


def random_homography(rng: np.random.Generator, size: int, max_degree: float = 180.0,
                      max_scale: float = math.sqrt(2.0), perspective: float = 0.0008,
                      shear: float = 0.15, max_shift: float = 0.1) -> np.ndarray:
    """Draw a random homography about the centre of a size x size image.

    Rotation ~ U[-max_degree, max_degree], scale log-uniform in [1/max_scale, max_scale], shear
    and anisotropy ~ U[-shear, shear], translation ~ U[-max_shift, max_shift] * size and
    perspective terms ~ U[-perspective, perspective] per pixel at size 256 (scaled by 256 / size,
    so the distortion does not depend on the size).
    """
    angle, scale = sample_augmentation(rng, max_degree, max_scale)
    c, s = math.cos(angle), math.sin(angle)
    sh, an = rng.uniform(-shear, shear, 2)
    affine = scale * np.array([[c, -s], [s, c]]) @ np.array([[1.0, sh], [0.0, 1.0]]) \
        @ np.diag([math.exp(an), math.exp(-an)])
    H = np.eye(3)
    H[:2, :2] = affine
    H[:2, 2] = rng.uniform(-max_shift, max_shift, 2) * size
    H[2, :2] = rng.uniform(-perspective, perspective, 2) * 256.0 / size
    centre = np.eye(3)
    centre[:2, 2] = (size - 1) / 2.0
    return centre @ H @ np.linalg.inv(centre)


def draw_overlapping_homography(rng: np.random.Generator, size: int, params: Dict[str, float],
                                min_overlap: float, tries: int = 20) -> np.ndarray:
    """Draw `random_homography(rng, size, **params)` until it fits, at most `tries` times.

    It fits when every image corner maps with positive w both ways and at least `min_overlap`
    of a 16x16 grid over the image lands inside it; the last draw is returned otherwise.
    """
    corners = np.array([[0, 0], [size - 1, 0], [size - 1, size - 1], [0, size - 1]], np.float64)
    coarse = pixel_grid(16, 16) * (size - 1) / 15.0
    H = np.eye(3)
    for _ in range(tries):
        H = random_homography(rng, size, **params)
        fwd, _ = homography_jacobian(H, corners)
        bwd, _ = homography_jacobian(np.linalg.inv(H), corners)
        if not (np.all(np.isfinite(fwd)) and np.all(np.isfinite(bwd))):
            continue
        landed, _ = homography_jacobian(H, coarse)
        if np.all((landed >= 0) & (landed <= size - 1), axis=1).mean() >= min_overlap:
            break
    return H


class HomographyPairs(Dataset):
    """Pairs (a random crop of a photo, the same crop under a random homography).

    Item i is a function of (seed, i): a generator seeded with [seed, i] picks the photo, the
    crop and the homography H_0to1 (redrawn, up to 20 times, until every image corner maps with
    positive w both ways and at least `min_overlap` of image 0 lands in image 1). Image 1 is the
    photo warped by H_0to1 (so it shows photo content around the crop as well; black where the
    photo ends). Record (record.py): depth0 = 1 everywhere, depth1 = 1 where image 1 has photo
    content, else 0; T_0to1 = identity; K0 = K1 = focal S, centred (placeholders);
    xy maps from H (``cv2.perspectiveTransform`` equivalent), vis = lands inside the other
    image; angle = atan2 of the Jacobian's first column, scale = sqrt|det J| (1 where not
    visible). Photos with a short side below ceil(S * sqrt(2)) are upsampled to it.

    Args:
        images: photos (paths, ``'skimage:<name>'`` or arrays, RGB or grey); default
            `default_homography_images()`.
        size: crop size S.
        num_pairs: dataset length.
        seed: dataset seed.
        max_degree, max_scale, perspective, shear, max_shift: see `random_homography`.
        min_overlap: minimum fraction of image 0 visible in image 1.
        photometric: per-view photometric jitter (`Photometric`, a mapping of its fields or
            ``'camera'``); off by default.
        source_scale: resize every photo by this factor before cropping (2 makes image
            structures twice as large in pixels, as in a higher-resolution camera).

    """

    def __init__(self, images: Optional[Sequence[ImageSource]] = None, size: int = 256,
                 num_pairs: int = 1000, seed: int = 0, max_degree: float = 180.0,
                 max_scale: float = math.sqrt(2.0), perspective: float = 0.0008,
                 shear: float = 0.15, max_shift: float = 0.1, min_overlap: float = 0.3,
                 photometric: Union[None, str, Dict[str, float], Photometric] = None,
                 source_scale: float = 1.0) -> None:
        sources = default_homography_images() if images is None else list(images)
        sources = [load_named_image(src) for src in sources]
        if not sources or num_pairs < 1:
            raise ValueError('need at least one image and num_pairs >= 1')
        if not 0.1 <= source_scale <= 8.0:
            raise ValueError(f'source_scale: must be in [0.1, 8], got {source_scale}')
        self.size, self.num_pairs, self.seed = int(size), int(num_pairs), int(seed)
        self.images = [_load_grey_u8(src, raw_size(self.size), float(source_scale))
                       for src in sources]
        self.params = {'max_degree': max_degree, 'max_scale': max_scale,
                       'perspective': perspective, 'shear': shear, 'max_shift': max_shift}
        self.min_overlap = float(min_overlap)
        self.photometric = photometric if isinstance(photometric, Photometric) \
            else Photometric.from_spec(photometric)

    def __len__(self) -> int:
        return self.num_pairs

    def draw(self, index: int) -> Tuple[int, int, int, np.ndarray]:
        """Return the photo index, crop corner (x0, y0) and H_0to1 of item `index`."""
        if not 0 <= index < self.num_pairs:
            raise IndexError(f'index {index} out of range for {self.num_pairs} pairs')
        rng = np.random.default_rng([self.seed, int(index)])
        k = int(rng.integers(len(self.images)))
        h, w = self.images[k].shape
        S = self.size
        x0, y0 = int(rng.integers(0, w - S + 1)), int(rng.integers(0, h - S + 1))
        H = draw_overlapping_homography(rng, S, self.params, self.min_overlap)
        return k, x0, y0, H

    def __getitem__(self, index: int) -> Dict[str, object]:
        k, x0, y0, H = self.draw(index)
        record = self.record(k, x0, y0, H, f'homography:{self.seed}:{index}:img{k}')
        if self.photometric.enabled:
            rng = np.random.default_rng([self.seed, int(index), 1])
            for key in ('image0', 'image1'):
                jittered = self.photometric.apply(record[key][0].numpy(), rng)
                record[key] = record[key].new_tensor(jittered)[None]
        return record

    def record(self, k: int, x0: int, y0: int, H: np.ndarray,
               name: str = '') -> Dict[str, object]:
        """Build the record of photo k cropped at (x0, y0) with H_0to1 (see the class doc)."""
        crop = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])  # photo -> image 0
        return warped_pair_record(self.images[k], crop, H, self.size, name)


def _photo_content(H_photo_to_view: np.ndarray, grid: np.ndarray, shape: Tuple[int, int]
                   ) -> np.ndarray:
    """Return which view pixels of `grid` come from inside a photo of `shape` (H, W)."""
    in_photo, _ = homography_jacobian(np.linalg.inv(H_photo_to_view), grid)
    h, w = shape
    with np.errstate(invalid='ignore'):
        return np.all(np.isfinite(in_photo), 1) & (in_photo[:, 0] >= -0.5) \
            & (in_photo[:, 0] <= w - 0.5) & (in_photo[:, 1] >= -0.5) \
            & (in_photo[:, 1] <= h - 0.5)


def warped_pair_record(photo: np.ndarray, H_photo_to_0: np.ndarray, H_0to1: np.ndarray,
                       size: int, name: str = '') -> Dict[str, object]:
    """Build the record of two S x S homographic views of one (H, W) uint8 photo.

    View 0 is the photo warped by H_photo_to_0, view 1 is view 0 warped by H_0to1 (both
    resampled from the photo once, black outside it). depth0 / depth1 are 1 where the view
    shows photo content, else 0; vis keeps pixels that land inside the other view on photo
    content; angle and scale come from the local Jacobian of H_0to1 (see `HomographyPairs`).
    """
    S = size
    H_photo_to_1 = H_0to1 @ H_photo_to_0
    warp = {'flags': cv2.INTER_LINEAR, 'borderMode': cv2.BORDER_CONSTANT, 'borderValue': 0}
    image0 = cv2.warpPerspective(photo, H_photo_to_0, (S, S), **warp)
    image1 = cv2.warpPerspective(photo, H_photo_to_1, (S, S), **warp)
    grid = pixel_grid(S, S)
    xy01, J01 = homography_jacobian(H_0to1, grid)
    xy10, J10 = homography_jacobian(np.linalg.inv(H_0to1), grid)
    content0 = _photo_content(H_photo_to_0, grid, photo.shape[:2])
    content1 = _photo_content(H_photo_to_1, grid, photo.shape[:2])

    def inside(xy: np.ndarray) -> np.ndarray:
        with np.errstate(invalid='ignore'):
            return np.all((xy >= 0) & (xy <= S - 1), axis=1)

    vis01, vis10 = inside(xy01) & content0, inside(xy10) & content1
    K = np.array([[S, 0.0, (S - 1) / 2.0], [0.0, S, (S - 1) / 2.0], [0.0, 0.0, 1.0]])
    arrays = {
        'image0': image0.astype(np.float32) / 255.0,
        'image1': image1.astype(np.float32) / 255.0,
        'depth0': content0.reshape(S, S).astype(np.float64),
        'depth1': content1.reshape(S, S).astype(np.float64),
        'K0': K, 'K1': K, 'T_0to1': np.eye(4),
        'xy_0to1': xy01.reshape(S, S, 2), 'vis_0to1': vis01.reshape(S, S),
        'xy_1to0': xy10.reshape(S, S, 2), 'vis_1to0': vis10.reshape(S, S),
        'angle_0to1': np.arctan2(J01[:, 1, 0], J01[:, 0, 0]).reshape(S, S),
        'angle_1to0': np.arctan2(J10[:, 1, 0], J10[:, 0, 0]).reshape(S, S),
        'scale_0to1': np.where(vis01, np.sqrt(np.abs(np.linalg.det(J01))), 1.0).reshape(S, S),
        'scale_1to0': np.where(vis10, np.sqrt(np.abs(np.linalg.det(J10))), 1.0).reshape(S, S),
    }
    return pack_record(arrays, name)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI: draw one homography pair with correspondences to a PNG."""
    from lfnet_training.datasets.visualize import pair_cli_parser, write_pair
    parser = pair_cli_parser('python -m lfnet_training.datasets.homography',
                             __doc__.split('\n')[0])
    parser.add_argument('--seed', type=int, default=0, help='dataset seed')
    args = parser.parse_args(argv)
    data = HomographyPairs(size=args.size, num_pairs=args.index + 1, seed=args.seed)
    return write_pair(data[args.index], args.out, args.matches)


if __name__ == '__main__':
    raise SystemExit(main())
