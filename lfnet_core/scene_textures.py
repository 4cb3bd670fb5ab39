# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Textures of the synthetic scenes: skimage's bundled images (and a folder's), mip-mapped.

All mip levels of all textures are packed in one flat RGBA array, the `TextureAtlas`, which the
renderer indexes per pixel.
"""

import dataclasses
import functools
from pathlib import Path
from typing import Optional
import warnings

import cv2
import numpy as np

from lfnet_core.image_scaling import resize_image

BUILTIN_TEXTURES = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera', 'brick', 'grass',
                    'gravel', 'text', 'page', 'immunohistochemistry', 'hubble_deep_field', 'coins',
                    'moon')
MIP_LEVELS = 6  # mip levels per texture


@dataclasses.dataclass(frozen=True, eq=False)
class TextureAtlas:
    """All mip levels of all textures packed in one flat RGBA (uint32) array."""

    data: np.ndarray  # (T,) uint32, RGBA bytes
    offset: np.ndarray  # (num_textures * MIP_LEVELS,) int64 start of each (texture, level)
    width: np.ndarray  # (num_textures * MIP_LEVELS,) int64
    height: np.ndarray  # (num_textures * MIP_LEVELS,) int64
    names: tuple  # texture names, in index order


def _normalise_texture(img: np.ndarray, max_side: int = 512) -> np.ndarray:
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3]).astype(np.float32)
    scale = max_side / max(img.shape[:2])
    if scale < 1:
        img = resize_image(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)))
    lo, hi = np.percentile(img, (1, 99))
    img = (img - lo) * (220.0 / max(hi - lo, 1.0)) + 18.0  # stretch contrast to [18, 238]
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _load_textures(texture_dir: Optional[str]) -> list:
    from skimage import data as skdata  # bundled images only: no network download

    textures = []
    for name in BUILTIN_TEXTURES:
        try:
            textures.append((name, _normalise_texture(getattr(skdata, name)())))
        except Exception as err:  # noqa: B902 - a missing image must never break the scene
            warnings.warn(f'skimage.data.{name} unavailable: {err}')
    if texture_dir is not None:
        folder = Path(texture_dir)
        if not folder.is_dir():
            warnings.warn(f'texture_dir {texture_dir} not found: using built-in textures only')
            return textures
        files = sorted(p for p in folder.iterdir()
                       if p.suffix.lower() in ('.png', '.jpg', '.jpeg', '.bmp', '.ppm'))
        for path in files[:64]:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is not None and min(img.shape[:2]) >= 32:
                textures.append((path.name, _normalise_texture(img[:, :, ::-1])))
    return textures


@functools.lru_cache(maxsize=4)
def load_texture_atlas(texture_dir: Optional[str]) -> TextureAtlas:
    """Return the atlas of the built-in textures plus up to 64 images of `texture_dir` (cached).

    A missing built-in image or folder only warns; images under 32 pixels a side are skipped.
    """
    chunks, offset, width, height, start = [], [], [], [], 0
    textures = _load_textures(texture_dir)
    for _, img in textures:
        for _ in range(MIP_LEVELS):
            h, w = img.shape[:2]
            rgba = np.concatenate([img, np.zeros((h, w, 1), np.uint8)], axis=2)
            chunks.append(np.ascontiguousarray(rgba).view(np.uint32).reshape(-1))
            offset.append(start)
            width.append(w)
            height.append(h)
            start += h * w
            img = resize_image(img, (max(1, (w + 1) // 2), max(1, (h + 1) // 2)))
    return TextureAtlas(np.concatenate(chunks), np.array(offset), np.array(width),
                        np.array(height), tuple(name for name, _ in textures))
