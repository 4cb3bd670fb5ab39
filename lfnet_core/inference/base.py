# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""One output contract for every backend: image in, keypoints and descriptors out.

A backend implements the two network stages (`dense`, `describe`) on numpy arrays; the host
steps around them (grey conversion, top-K selection, output formatting) live here once.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
import time
from typing import Callable, Dict, Optional, Tuple

import cv2
import numpy as np

from lfnet_core.config import LFNetConfig
from lfnet_core.local_features import empty_features, FEATURE_FIELDS, Features

Maps = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Described = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
OUTPUT_KEYS = FEATURE_FIELDS
DenseStage = Callable[[np.ndarray], Maps]
DescribeStage = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], Described]


def prepare_image(image: np.ndarray) -> np.ndarray:
    """Convert an image to float32 grey in [0, 1].

    Args:
        image: (H, W), (H, W, 1) or (H, W, 3) RGB; uint8, uint16, or float in [0, 1].

    Returns:
        (H, W) float32, C-contiguous.

    Raises:
        ValueError: unsupported shape, dtype, non-finite or out-of-range values.

    """
    if not isinstance(image, np.ndarray):
        raise ValueError(f'image must be a numpy array, got {type(image).__name__}')
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f'image must be (H, W), (H, W, 1) or (H, W, 3), got {image.shape}')
    if image.dtype == np.uint8:
        if image.ndim == 3:
            image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        return np.ascontiguousarray(image, dtype=np.float32) / np.float32(255.0)
    if image.dtype == np.uint16:
        image = image.astype(np.float32) / np.float32(65535.0)
    elif image.dtype.kind != 'f':
        raise ValueError(f'unsupported image dtype {image.dtype} (use uint8, uint16 or float)')
    if image.ndim == 3:
        image = image @ np.array([0.299, 0.587, 0.114], dtype=image.dtype)
    if image.size and not np.isfinite(image).all():
        raise ValueError('image contains NaN or inf')
    if image.size and (image.min() < -1e-3 or image.max() > 1.0 + 1e-3):
        raise ValueError('float images must lie in [0, 1] (divide uint8 data by 255)')
    return np.ascontiguousarray(np.clip(image, 0.0, 1.0), dtype=np.float32)


def select_top_k(peaks: np.ndarray, top_k: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pick the K strongest NMS peaks and drop those without contrast among them.

    Args:
        peaks: (H, W) peak map (0 where not a peak; minus the score at a peak whose contrast
            is below `DetectorConfig.min_contrast`, see `LFNet.dense`).
        top_k: maximum number of keypoints.

    Returns:
        keypoints_int (N, 2) int64 (x, y) and scores (N,) float32, N <= top_k, sorted by
        decreasing score (ties by raster order): the K strongest peaks by |peaks|, less the
        negative ones (a peak without contrast is not replaced by a weaker one).

    """
    flat = peaks.ravel()
    candidates = np.flatnonzero(flat != 0)
    # a full sort (a few thousand peaks): ties at the K cut go by raster order, so the count
    # returned does not depend on how a partial sort orders them
    candidates = candidates[np.lexsort((candidates, -np.abs(flat[candidates])))[:top_k]]
    candidates = candidates[flat[candidates] > 0]
    width = peaks.shape[1]
    keypoints = np.stack([candidates % width, candidates // width], axis=1).astype(np.int64)
    return keypoints, flat[candidates].astype(np.float32)


@dataclass(frozen=True)
class Detection:
    """One image's dense maps and its strongest peaks, before description (`Backend.detect`).

    Attributes:
        batch: (1, 1, H, W) float32 grey image in [0, 1].
        maps: the dense stage's score, scale, orientation and peak maps (None for an image
            too small for the network's border).
        keypoints_int: (N, 2) int64 (x, y) peak pixels, strongest first.
        scores: (N,) float32 their scores, decreasing.
        timings: seconds of the host steps and the dense stage.

    """

    batch: np.ndarray
    maps: Optional[Maps]
    keypoints_int: np.ndarray
    scores: np.ndarray
    timings: Dict[str, float]


def detect_features(config: LFNetConfig, dense: DenseStage, image: np.ndarray,
                    top_k: Optional[int] = None) -> Detection:
    """Grey conversion, the dense stage and the K strongest peaks of one image.

    Args:
        config: the model's configuration (border, default top_k).
        dense: the dense stage on numpy arrays (`Backend.dense`).
        image: as for `Backend.extract`.
        top_k: as for `Backend.extract`.

    """
    top_k = config.detector.top_k if top_k is None else int(top_k)
    if top_k < 1:
        raise ValueError(f'top_k must be >= 1, got {top_k}')
    start = time.perf_counter()
    grey = prepare_image(image)
    batch = grey[None, None]
    none = np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
    if min(grey.shape) < 2 * config.detector.border + 1:
        return Detection(batch, None, *none, {'preprocess': time.perf_counter() - start})
    timings = {'preprocess': time.perf_counter() - start}
    start = time.perf_counter()
    maps = dense(batch)
    timings['dense'] = time.perf_counter() - start
    start = time.perf_counter()
    keypoints_int, scores = select_top_k(maps[3][0, 0], top_k)
    timings['select'] = time.perf_counter() - start
    return Detection(batch, maps, keypoints_int, scores, timings)


def describe_detection(config: LFNetConfig, describe: DescribeStage, detection: Detection,
                       index: Optional[np.ndarray] = None) -> Tuple[Features, Dict[str, float]]:
    """Describe a detection's peaks (those at `index`, default all) in the order given.

    Returns:
        `Backend.extract`'s result for those peaks and the timings of every step so far.

    """
    keypoints_int, scores = detection.keypoints_int, detection.scores
    if index is not None:
        keypoints_int, scores = keypoints_int[index], scores[index]
    timings = dict(detection.timings)
    if keypoints_int.shape[0] == 0:
        return empty_features(config.descriptor.descriptor_dim), timings
    start = time.perf_counter()
    score, scale, orientation, _ = detection.maps
    keypoints, scales, cos_sin, descriptors = describe(
        detection.batch, score, scale, orientation, keypoints_int[None])
    timings['describe'] = time.perf_counter() - start
    result = Features(
        keypoints=np.ascontiguousarray(keypoints[0], dtype=np.float32),
        scales=np.ascontiguousarray(scales[0], dtype=np.float32),
        orientations=np.arctan2(cos_sin[0, :, 1], cos_sin[0, :, 0]).astype(np.float32),
        scores=np.ascontiguousarray(scores, dtype=np.float32),
        descriptors=np.ascontiguousarray(descriptors[0], dtype=np.float32))
    return result, timings


def extract_features(config: LFNetConfig, dense: DenseStage, describe: DescribeStage,
                     image: np.ndarray, top_k: Optional[int] = None
                     ) -> Tuple[Features, Dict[str, float]]:
    """Run the host steps around a model's two stages on one image (see `Backend.extract`).

    Args:
        config: the model's configuration (border, default top_k, descriptor size).
        dense: the dense stage on numpy arrays (`Backend.dense`).
        describe: the keypoint stage on numpy arrays (`Backend.describe`).
        image: as for `Backend.extract`.
        top_k: as for `Backend.extract`.

    Returns:
        `Backend.extract`'s result and the seconds each step took (`Backend.last_timings`).

    """
    return describe_detection(config, describe, detect_features(config, dense, image, top_k))


class Backend(ABC):
    """An inference backend. Subclasses implement `dense` and `describe` on numpy arrays."""

    name = 'abstract'
    # Keypoint slices the describe stage runs at once (ONNX Runtime on a CPU: one per core).
    describe_workers = 1

    def __init__(self, config: LFNetConfig) -> None:
        self.config = config
        self.last_timings: Dict[str, float] = {}

    @abstractmethod
    def dense(self, image: np.ndarray) -> Maps:
        """(1, 1, H, W) float32 in [0, 1] -> score, scale, orientation, peaks (see LFNet.dense)."""

    @abstractmethod
    def describe(self, image: np.ndarray, score: np.ndarray, scale: np.ndarray,
                 orientation: np.ndarray, keypoints_int: np.ndarray) -> Described:
        """Keypoint stage on (1, N, 2) int64 keypoints (see LFNet.describe)."""

    def extract(self, image: np.ndarray, top_k: Optional[int] = None) -> Features:
        """Detect and describe keypoints in one image.

        Args:
            image: (H, W) grey or (H, W, 3) RGB, uint8/uint16 or float in [0, 1], any size.
            top_k: maximum number of keypoints (default: the config's `top_k`).

        Returns:
            `lfnet_core.local_features.Features` (metric 'l2'; `result['keypoints']` reads
            like the dict this returned before) of float32 arrays, N <= top_k keypoints sorted
            by decreasing score:
              - `keypoints` (N, 2): sub-pixel (x, y) in input pixels, pixel centres at integers;
              - `scales` (N,): LF-Net scale s (the descriptor patch spans 32 * s pixels);
              - `orientations` (N,): radians, atan2(sin, cos), from +x towards +y (y down);
              - `scores` (N,): detector score in [0, 1];
              - `descriptors` (N, 256): unit L2 norm.

        """
        result, self.last_timings = extract_features(self.config, self.dense, self.describe,
                                                     image, top_k)
        return result

    def detect(self, image: np.ndarray, top_k: Optional[int] = None) -> Detection:
        """Run the first half of `extract`: the dense stage and the K strongest peaks."""
        detection = detect_features(self.config, self.dense, image, top_k)
        self.last_timings = dict(detection.timings)
        return detection

    def describe_detected(self, detection: Detection,
                          index: Optional[np.ndarray] = None) -> Features:
        """Run the second half of `extract`: describe the peaks at `index` (default all).

        `last_timings` then holds the detection's steps too, as after `extract`.
        """
        result, self.last_timings = describe_detection(self.config, self.describe, detection,
                                                       index)
        return result
