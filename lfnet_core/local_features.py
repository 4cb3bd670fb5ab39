# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""One container for one image's local features, whatever computed them.

`Features` is what every extractor returns: the inference backends (`Backend.extract`,
`LFNet.extract`), the pyramid (`lfnet_core.pyramid`), the evaluation's OpenCV baselines
(`lfnet_core.evaluation.features`) and the ORB comparison back-end; `FrameResult.features`
holds it for each front-end frame. It also reads like the dict the backends returned before
(`features['keypoints']`, `for name in features`, `dict(features)`, `np.savez(path,
**features)`), so code written against that contract keeps working; only `len(features)` is
the number of keypoints, not of arrays.
"""

from dataclasses import dataclass, replace
from typing import Iterator, Mapping, Optional, Tuple, Union

import numpy as np

# The arrays every extractor fills, in the order the backends' dicts held them.
FEATURE_FIELDS = ('keypoints', 'scales', 'orientations', 'scores', 'descriptors')
METRICS = ('l2', 'hamming')


@dataclass(frozen=True, eq=False)
class Features:
    """Keypoints and descriptors of one image, N of them, strongest first.

    Attributes:
        keypoints: (N, 2) float32 sub-pixel (x, y), pixel centres at integers.
        scales: (N,) float32 keypoint scale: LF-Net's s (its descriptor patch spans 32 s
            pixels); for OpenCV methods the keypoint diameter `cv2.KeyPoint.size` in pixels.
        orientations: (N,) float32 radians, from +x towards +y (y down); for OpenCV methods
            `cv2.KeyPoint.angle` in radians.
        scores: (N,) float32 detector response (higher is stronger), sorted decreasing.
        descriptors: (N, D) float32 (metric 'l2'; LF-Net: D = 256, unit length) or packed
            uint8 bits (metric 'hamming').
        metric: 'l2' or 'hamming', the distance `mutual_nearest_neighbours` must use.
        levels: optional (N,) int32 pyramid level of each keypoint (`lfnet_core.pyramid`).

    """

    keypoints: np.ndarray
    scales: np.ndarray
    orientations: np.ndarray
    scores: np.ndarray
    descriptors: np.ndarray
    metric: str = 'l2'
    levels: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f'metric: expected one of {METRICS}, got {self.metric!r}')
        count = len(self)
        for name in self.keys():
            if len(getattr(self, name)) != count:
                raise ValueError(f'{name}: {len(getattr(self, name))} rows, but {count} '
                                 f'keypoints')

    def __len__(self) -> int:
        """Return the number of keypoints N."""
        return int(self.keypoints.shape[0])

    def keys(self) -> Tuple[str, ...]:
        """Return the array names, as the backends' dicts had them (plus 'levels' when set)."""
        return FEATURE_FIELDS + (() if self.levels is None else ('levels',))

    def __getitem__(self, key: str) -> np.ndarray:
        """Return one array by name: `features['keypoints']` is `features.keypoints`."""
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        """Iterate over the array names, as over the backends' former dicts (`len` is N)."""
        return iter(self.keys())

    def select(self, index: np.ndarray) -> 'Features':
        """Return the keypoints at `index` (an integer index array or a boolean mask)."""
        arrays = {name: np.ascontiguousarray(self[name][index]) for name in self.keys()}
        return replace(self, **arrays)


def empty_features(descriptor_dim: int, metric: str = 'l2') -> Features:
    """Return the features of an image without keypoints (uint8 descriptors for 'hamming')."""
    dtype = np.uint8 if metric == 'hamming' else np.float32
    return Features(np.zeros((0, 2), np.float32), np.zeros(0, np.float32),
                    np.zeros(0, np.float32), np.zeros(0, np.float32),
                    np.zeros((0, descriptor_dim), dtype), metric)


def as_features(value: Union[Features, Mapping[str, np.ndarray]],
                metric: str = 'l2') -> Features:
    """Return `value` as Features: itself, or a mapping with the five arrays in `FEATURE_FIELDS`.

    A mapping is what a backend written for the older dict contract returns: its keypoints,
    scales, orientations and scores become float32, its descriptors (and a 'levels' entry) stay
    as they are; `metric` is the distance its descriptors use.
    """
    if isinstance(value, Features):
        return value
    arrays = {name: np.asarray(value[name], np.float32) for name in FEATURE_FIELDS[:4]}
    return Features(**arrays, descriptors=np.asarray(value['descriptors']), metric=metric,
                    levels=value['levels'] if 'levels' in value else None)
