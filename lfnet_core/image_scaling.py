# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Resize an image and map pixel coordinates between its sizes: the one place for both.

Used by the front-end (`FrontendConfig.resize`), `lfnet-match-eval --image-scale`, the
detector's scale pyramid, the scene renderer and `PinholeCamera.scaled`, so that all of them
shrink images and map keypoints (or a principal point) the same way.
"""

from typing import Optional, Tuple

import cv2
import numpy as np


def resize_image(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize an image to (width, height): area averaging when shrinking, else bilinear."""
    height, width = image.shape[:2]
    shrink = size[0] * size[1] < width * height
    return cv2.resize(np.ascontiguousarray(image), (int(size[0]), int(size[1])),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def rescale_pixels(uv: np.ndarray, from_size: Tuple[int, int],
                   to_size: Tuple[int, int]) -> np.ndarray:
    """Map (N, 2) pixels (x, y) between two sizes (width, height) of one image.

    Pixel centres are at integers, so u_to = (u_from + 0.5) * W_to / W_from - 0.5 (and the same
    for v): a resized pixel covers the scene area of the original pixels it was made from.
    Returns float64.
    """
    return scale_pixels(uv, to_size[0] / from_size[0], to_size[1] / from_size[1])


def scale_pixels(uv: np.ndarray, sx: float, sy: Optional[float] = None) -> np.ndarray:
    """Map (N, 2) pixels (x, y) into the image resized by factors (sx, sy) (sy defaults to sx).

    u' = (u + 0.5) * sx - 0.5 and v' = (v + 0.5) * sy - 0.5 (see `rescale_pixels`), as
    cv2.resize maps them. Returns (N, 2) float64.
    """
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    scale = np.array([sx, sx if sy is None else sy], np.float64)
    return (uv + 0.5) * scale - 0.5
