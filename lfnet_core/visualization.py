# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Drawing keypoints and matches with OpenCV (RGB uint8 images in, RGB uint8 out)."""

from typing import Optional

import cv2
import numpy as np


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Return an (H, W, 3) uint8 copy of a grey/RGB uint8 or [0, 1] float image."""
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(image)


def draw_keypoints(image: np.ndarray, keypoints: np.ndarray,
                   scales: Optional[np.ndarray] = None,
                   orientations: Optional[np.ndarray] = None,
                   patch_size: int = 32) -> np.ndarray:
    """Draw keypoints as circles of the descriptor support radius with an orientation tick.

    Args:
        image: (H, W) or (H, W, 3) image.
        keypoints: (N, 2) pixel (x, y).
        scales: (N,) LF-Net scales (radius = patch_size * s / 2); default 1.
        orientations: (N,) radians; no tick when None.
        patch_size: descriptor patch size in pixels at scale 1.

    Returns:
        (H, W, 3) uint8 RGB drawing.

    """
    canvas = to_rgb(image).copy()
    count = len(keypoints)
    scales = np.ones(count) if scales is None else scales
    for index in range(count):
        x, y = keypoints[index]
        radius = max(int(round(patch_size * scales[index] / 2.0)), 2)
        centre = (int(round(x)), int(round(y)))
        cv2.circle(canvas, centre, radius, (0, 255, 0), 1, cv2.LINE_AA)
        if orientations is not None:
            tip = (int(round(x + radius * np.cos(orientations[index]))),
                   int(round(y + radius * np.sin(orientations[index]))))
            cv2.line(canvas, centre, tip, (255, 64, 0), 1, cv2.LINE_AA)
    return canvas


def draw_matches(image0: np.ndarray, image1: np.ndarray, keypoints0: np.ndarray,
                 keypoints1: np.ndarray, matches: np.ndarray,
                 correct: Optional[np.ndarray] = None, max_lines: int = 300) -> np.ndarray:
    """Draw two images side by side with match lines (green correct, red wrong, else yellow).

    Args:
        image0, image1: the two images (any size; the shorter is padded).
        keypoints0, keypoints1: (N0, 2), (N1, 2) pixel positions.
        matches: (M, 2) indices into keypoints0 and keypoints1.
        correct: (M,) bool verdict per match, or None.
        max_lines: draw at most this many matches (an even subsample).

    Returns:
        (max(H0, H1), W0 + W1, 3) uint8 RGB drawing.

    """
    left, right = to_rgb(image0), to_rgb(image1)
    height = max(left.shape[0], right.shape[0])
    canvas = np.zeros((height, left.shape[1] + right.shape[1], 3), np.uint8)
    canvas[:left.shape[0], :left.shape[1]] = left
    canvas[:right.shape[0], left.shape[1]:] = right
    offset = np.array([left.shape[1], 0.0])
    step = max(len(matches) // max_lines, 1)
    for row in range(0, len(matches), step):
        i0, i1 = matches[row]
        p0 = tuple(int(round(v)) for v in keypoints0[i0])
        p1 = tuple(int(round(v)) for v in keypoints1[i1] + offset)
        colour = (255, 220, 0) if correct is None else (
            (0, 230, 0) if correct[row] else (255, 40, 40))
        cv2.line(canvas, p0, p1, colour, 1, cv2.LINE_AA)
        cv2.circle(canvas, p0, 2, colour, -1)
        cv2.circle(canvas, p1, 2, colour, -1)
    return canvas


def render_debug_image(image: np.ndarray, keypoints: np.ndarray,
                       keypoints0: Optional[np.ndarray] = None,
                       matches: Optional[np.ndarray] = None,
                       inliers: Optional[np.ndarray] = None) -> np.ndarray:
    """
    Return an (H, W, 3) uint8 RGB copy of ``image`` with keypoints and matches drawn.

    Keypoints are yellow dots; a match is a line from its previous-frame position to its current
    one, green for PnP inliers and red otherwise.
    """
    canvas = np.asarray(image)
    if canvas.ndim == 2:
        canvas = np.repeat(canvas[:, :, None], 3, axis=2)
    canvas = np.ascontiguousarray(canvas[:, :, :3], dtype=np.uint8).copy()
    for u, v in np.round(np.asarray(keypoints).reshape(-1, 2)).astype(int):
        cv2.circle(canvas, (int(u), int(v)), 2, (255, 220, 0), -1, cv2.LINE_AA)
    if keypoints0 is not None and matches is not None and len(matches):
        matches = np.asarray(matches, np.int64).reshape(-1, 2)
        p0 = np.round(np.asarray(keypoints0).reshape(-1, 2)[matches[:, 0]]).astype(int)
        p1 = np.round(np.asarray(keypoints).reshape(-1, 2)[matches[:, 1]]).astype(int)
        good = np.zeros(len(matches), bool) if inliers is None else np.asarray(inliers, bool)
        for a, b, ok in zip(p0, p1, good):
            cv2.line(canvas, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])),
                     (0, 255, 0) if ok else (255, 0, 0), 1, cv2.LINE_AA)
    return canvas


def save_rgb(path: str, image: np.ndarray) -> None:
    """Write an RGB uint8 image with OpenCV (which expects BGR); raise if it fails."""
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f'cannot write image {path}')
