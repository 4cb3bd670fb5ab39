# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Detect over an image pyramid, as ORB and SIFT do: keypoint scale that follows the image.

Level l is the image shrunk by 2^(-l/2) (area averaging); each level gets a share of the budget
K in proportion to its area; every level's keypoints are mapped back to input pixels and their
LF-Net scale multiplied by the level's shrink factor, so a feature seen in a zoomed image is
described from the same scene area. The network itself runs unchanged on each level.
"""

from dataclasses import replace
import math
from typing import Callable, List, Mapping, Tuple, Union

import numpy as np

from lfnet_core.image_scaling import rescale_pixels, resize_image
from lfnet_core.local_features import as_features, Features

LEVEL_FACTOR = math.sqrt(0.5)
Extract = Callable[[np.ndarray, int], Union[Features, Mapping[str, np.ndarray]]]


def pyramid_sizes(width: int, height: int, levels: int,
                  factor: float = LEVEL_FACTOR) -> List[Tuple[int, int]]:
    """(width, height) of each level, level 0 the input, each `factor` times the previous.

    Raises:
        ValueError: `levels` < 1 or `factor` not in (0, 1).

    """
    if isinstance(levels, bool) or int(levels) != levels or levels < 1:
        raise ValueError(f'pyramid levels: must be an integer >= 1, got {levels!r}')
    if not 0 < factor < 1:
        raise ValueError(f'pyramid factor: must be in (0, 1), got {factor}')
    return [(max(1, round(width * factor ** level)), max(1, round(height * factor ** level)))
            for level in range(int(levels))]


def budget_by_area(top_k: int, sizes: List[Tuple[int, int]]) -> List[int]:
    """Split K over the levels in proportion to their pixel counts (each level gets >= 1)."""
    areas = np.array([w * h for w, h in sizes], np.float64)
    shares = np.maximum(1, np.floor(top_k * areas / areas.sum())).astype(int)
    shares[0] += max(0, top_k - int(shares.sum()))  # rounding leftovers go to the finest level
    return shares.tolist()


def extract_pyramid(extract: Extract, image: np.ndarray, top_k: int,
                    levels: int) -> Features:
    """Run `extract(image, k)` on every level and merge the results (module doc).

    Args:
        extract: one-level extraction with `Backend.extract`'s output contract (Features, or
            a mapping with the same arrays).
        image: the input image (any layout `Backend.extract` accepts).
        top_k: total keypoint budget K.
        levels: number of pyramid levels (1: the input only, exactly `extract(image, K)`).

    Returns:
        The Features over all levels, sorted by decreasing score, with `levels` (N,) int32:
        the level each keypoint came from.

    """
    height, width = image.shape[:2]
    sizes = pyramid_sizes(width, height, levels)
    parts = []
    for level, (size, budget) in enumerate(zip(sizes, budget_by_area(top_k, sizes))):
        small = image if level == 0 else resize_image(image, size)
        out = as_features(extract(small, budget))
        if level:
            out = replace(out, keypoints=rescale_pixels(out.keypoints, size,
                                                        (width, height)).astype(np.float32),
                          scales=(out.scales * (width / size[0])).astype(np.float32))
        parts.append(replace(out, levels=np.full(len(out), level, np.int32)))
    merged = replace(parts[0], **{key: np.concatenate([p[key] for p in parts])
                                  for key in parts[0].keys()})
    return merged.select(np.argsort(-merged.scores, kind='stable'))
