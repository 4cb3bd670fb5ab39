# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""One feature-extractor interface for LF-Net and OpenCV ORB, SIFT and AKAZE.

Every method gets the same grey uint8 image (`to_grey_uint8`: OpenCV's RGB2GRAY for colour
input, which is what the LF-Net backends do inside too) and the same keypoint budget K:

- LF-Net: `Backend.extract(grey, top_k=K)`; 256-D unit float descriptors, metric 'l2'.
- ORB: `cv2.ORB_create(nfeatures=K)`; 32-byte rBRIEF, metric 'hamming'.
- SIFT: `cv2.SIFT_create(nfeatures=K, contrastThreshold=1e-5)`, the release's SIFT baseline
  setting, so that SIFT always reaches K; 128-D float descriptors, metric 'l2'.
- AKAZE: has no nfeatures; its detector threshold is lowered to 1e-4 and the K strongest
  responses are kept before describing; 61-byte binary MLDB, metric 'hamming'.

OpenCV can return more than K keypoints (AKAZE always, SIFT through equal-response ties and
several orientations per location), so every OpenCV method is cut to the K strongest by response
after `detectAndCompute`; a method may return fewer than K (ORB drops keypoints too close to the
border, a blank image has none).
Keypoints are sub-pixel (x, y) float32 with pixel centres at integer coordinates (OpenCV's
convention too); they are not rounded. Every method returns `lfnet_core.local_features.Features`
(re-exported here); the OpenCV methods' scales and orientations are OpenCV's keypoint diameters
and angles.
"""

from abc import ABC, abstractmethod
from dataclasses import replace
import os
from typing import Optional, Union

import cv2
import numpy as np

from lfnet_core.image_scaling import rescale_pixels, resize_image
from lfnet_core.inference import create_backend
from lfnet_core.inference.base import prepare_image
from lfnet_core.local_features import empty_features, Features
from lfnet_core.pyramid import extract_pyramid

METHODS = ('lfnet', 'orb', 'sift', 'akaze')
SIFT_CONTRAST_THRESHOLD = 1e-5
AKAZE_THRESHOLD = 1e-4


def to_grey_uint8(image: np.ndarray) -> np.ndarray:
    """Return the (H, W) uint8 grey image every method sees.

    Args:
        image: (H, W), (H, W, 1) or (H, W, 3) RGB; uint8, uint16 or float in [0, 1].

    Returns:
        (H, W) uint8, C-contiguous. uint8 RGB goes through cv2.COLOR_RGB2GRAY exactly as
        `lfnet_core.inference.base.prepare_image` does, so LF-Net sees the same pixels.

    """
    if isinstance(image, np.ndarray) and image.dtype == np.uint8:
        if image.ndim == 3 and image.shape[2] == 3:
            return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        if image.ndim == 3 and image.shape[2] == 1:
            return np.ascontiguousarray(image[:, :, 0])
        if image.ndim == 2:
            return np.ascontiguousarray(image)
    grey = prepare_image(image)
    return np.ascontiguousarray(np.clip(np.rint(grey * 255.0), 0, 255).astype(np.uint8))


class FeatureExtractor(ABC):
    """Detect and describe at most `top_k` keypoints in a grey image."""

    name = 'abstract'
    metric = 'l2'

    def __init__(self, top_k: int) -> None:
        if int(top_k) != top_k or top_k < 1:
            raise ValueError(f'top_k: must be an integer >= 1, got {top_k}')
        self.top_k = int(top_k)

    @abstractmethod
    def _extract(self, grey: np.ndarray) -> Features:
        """Extract from a (H, W) uint8 grey image."""

    def extract(self, image: np.ndarray) -> Features:
        """Extract features from an image (converted with `to_grey_uint8` first).

        Args:
            image: (H, W) grey or (H, W, 3) RGB, uint8, uint16 or float in [0, 1].

        Returns:
            Features with N <= top_k keypoints, strongest first.

        """
        return self._extract(to_grey_uint8(image))


class _OpenCvExtractor(FeatureExtractor):
    """Shared OpenCV path: detect and describe, then keep the K strongest by response."""

    descriptor_dim = 0

    def _detector(self):
        raise NotImplementedError

    def _extract(self, grey: np.ndarray) -> Features:
        keypoints, descriptors = self._detector().detectAndCompute(grey, None)
        if descriptors is None or not keypoints:
            return empty_features(self.descriptor_dim, self.metric)
        response = np.array([k.response for k in keypoints], np.float32)
        order = np.argsort(-response, kind='stable')[:self.top_k]
        dtype = np.uint8 if self.metric == 'hamming' else np.float32
        return Features(
            keypoints=np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2)[order],
            scales=np.array([k.size for k in keypoints], np.float32)[order],
            orientations=np.radians([k.angle for k in keypoints]).astype(np.float32)[order],
            scores=response[order],
            descriptors=np.ascontiguousarray(descriptors[order], dtype=dtype),
            metric=self.metric)


class OrbExtractor(_OpenCvExtractor):
    """ORB with nfeatures = K (its own Harris ranking picks the K)."""

    name, metric, descriptor_dim = 'orb', 'hamming', 32

    def _detector(self):
        return cv2.ORB_create(nfeatures=self.top_k)


class SiftExtractor(_OpenCvExtractor):
    """SIFT with nfeatures = K and contrastThreshold = 1e-5 (the release's SIFT baseline)."""

    name, metric, descriptor_dim = 'sift', 'l2', 128

    def _detector(self):
        return cv2.SIFT_create(nfeatures=self.top_k,
                               contrastThreshold=SIFT_CONTRAST_THRESHOLD)


class AkazeExtractor(_OpenCvExtractor):
    """AKAZE (MLDB) with threshold 1e-4, the K strongest responses kept."""

    name, metric, descriptor_dim = 'akaze', 'hamming', 61

    def _detector(self):
        return cv2.AKAZE_create(threshold=AKAZE_THRESHOLD)


class LfnetExtractor(FeatureExtractor):
    """LF-Net through an inference backend (`lfnet_core.inference.create_backend`).

    With `pyramid_levels` > 1 it detects over an image pyramid (`lfnet_core.pyramid`).
    """

    name, metric = 'lfnet', 'l2'

    def __init__(self, top_k: int, backend, pyramid_levels: int = 1) -> None:
        super().__init__(top_k)
        self.backend = backend
        self.pyramid_levels = int(pyramid_levels)

    def _extract(self, grey: np.ndarray) -> Features:
        out = extract_pyramid(self.backend, grey, self.top_k, self.pyramid_levels)
        return replace(out, levels=None)


def check_image_scale(factor: float) -> float:
    """Return `factor` as a float if it is a usable image scale, in (0, 4]; else ValueError."""
    if not 0 < factor <= 4:
        raise ValueError(f'image scale: must be in (0, 4], got {factor}')
    return float(factor)


class ScaledExtractor(FeatureExtractor):
    """Another extractor run on the image resized by `factor`; keypoints in full-size pixels.

    The budget K and the descriptors are the inner extractor's; the image is resized with
    `lfnet_core.image_scaling.resize_image` and the keypoints mapped back with
    `rescale_pixels`, as `FrontendConfig.resize` does in the front-end.
    """

    def __init__(self, inner: FeatureExtractor, factor: float) -> None:
        super().__init__(inner.top_k)
        self.inner, self.factor = inner, check_image_scale(factor)
        self.name, self.metric = inner.name, inner.metric

    def _extract(self, grey: np.ndarray) -> Features:
        height, width = grey.shape[:2]
        size = (max(1, round(width * self.factor)), max(1, round(height * self.factor)))
        features = self.inner._extract(resize_image(grey, size))
        keypoints = rescale_pixels(features.keypoints, size, (width, height))
        shrink = np.sqrt(size[0] / width * size[1] / height)
        return replace(features, keypoints=keypoints.astype(np.float32),
                       scales=(features.scales / shrink).astype(np.float32))


def lfnet_is_untrained(weights: Optional[Union[str, os.PathLike]] = None) -> bool:
    """Whether LF-Net would run with random weights (none given and none shipped)."""
    if weights:
        return False
    try:
        from lfnet_core.model.lfnet import DEFAULT_WEIGHTS
    except ImportError:  # no torch: the same path, computed here
        from pathlib import Path
        DEFAULT_WEIGHTS = (Path(__file__).resolve().parent.parent / 'weights'  # noqa: N806
                           / 'lfnet_default.pt')
    return not DEFAULT_WEIGHTS.is_file()


def make_extractor(name: str, top_k: int, backend: str = 'auto',
                   weights: Optional[Union[str, os.PathLike]] = None,
                   lfnet_backend=None, image_scale: float = 1.0,
                   pyramid_levels: int = 1) -> FeatureExtractor:
    """Create the extractor of one method at budget `top_k`.

    Args:
        name: 'lfnet', 'orb', 'sift' or 'akaze'.
        top_k: keypoint budget K (>= 1).
        backend: LF-Net backend name for `create_backend` ('auto', 'onnxruntime', 'torch').
        weights: LF-Net checkpoint (default: the shipped weights, else random ones).
        lfnet_backend: an already created LF-Net `Backend` to reuse (overrides backend and
            weights).
        image_scale: run the method on images resized by this factor (`ScaledExtractor`).
        pyramid_levels: LF-Net detects over this many pyramid levels (`lfnet_core.pyramid`).

    Returns:
        The extractor.

    """
    if name == 'orb':
        extractor = OrbExtractor(top_k)
    elif name == 'sift':
        extractor = SiftExtractor(top_k)
    elif name == 'akaze':
        extractor = AkazeExtractor(top_k)
    elif name == 'lfnet':
        if lfnet_backend is None:
            lfnet_backend = create_backend(backend, weights=weights)
        extractor = LfnetExtractor(top_k, lfnet_backend, pyramid_levels)
    else:
        raise ValueError(f'unknown method {name!r}; choose from {METHODS}')
    return extractor if image_scale == 1.0 else ScaledExtractor(extractor, image_scale)
