# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The visual-odometry front-end: features, frame-to-frame matches and PnP motion, without ROS.

`Frontend.process(frame)` runs, per frame:

1. extraction with the inference backend (optionally at `FrontendConfig.resize`; the outputs
   are always reported in the input image's pixels);
2. back-projection of the keypoints with the frame's depth and intrinsics (`points`);
3. mutual nearest-neighbour matching against the previous frame's descriptors;
4. PnP RANSAC of the previous frame's 3D points against this frame's matched keypoints, its
   inliers checked against this frame's depth (`RansacConfig.min_depth_agreement`), and
   chaining of the camera pose in the odometry frame (the first camera's optical frame):
   `T_odom_cam = T_odom_prev @ inv(T_prev_to_cur)`.

Tracking states (`FrameResult.tracking`):

- 'init': the first frame, the first frame after `reset()`, or a frame whose image size differs
  from the previous frame's. No matches; the pose is the held one (identity only for the very
  first frame: a reset re-initialises from the held pose, it does not jump back to identity).
- 'ok': the motion estimate passed its health gates and the pose was chained.
- 'lost': the estimate failed (see `FrameResult.motion.reason`). Policy: the pose is held (the
  motion between the previous frame and this one is dropped, so the trajectory gains that much
  error) and this frame becomes the reference: the next frame matches against it and tracks
  from the held pose. There is no relocalisation against older frames.
- 'no_depth': matches are computed but no pose can be estimated because the previous frame has
  no 3D points (no depth or K) or this frame has no K; the pose is held. A frame without depth
  (or K) therefore also makes the next frame 'no_depth'.
"""

from dataclasses import dataclass, replace
import math
import time
from types import SimpleNamespace
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from lfnet_core.blas_threads import single_blas_thread
from lfnet_core.image_scaling import rescale_pixels, resize_image
from lfnet_core.inference import Backend
from lfnet_core.keypoint_points import keypoint_points
from lfnet_core.local_features import as_features, Features
from lfnet_core.matching import mutual_nearest_neighbours
from lfnet_core.pyramid import extract_pyramid, has_two_stages
from lfnet_core.rigid_poses import invert_pose
from lfnet_core.vo import check_intrinsics, estimate_motion, MotionEstimate, RansacConfig

__all__ = ['BACKEND_STAGES', 'Frame', 'FrameResult', 'Frontend', 'FrontendConfig',
           'TRACKING_STATES']

TRACKING_STATES = ('init', 'ok', 'lost', 'no_depth')
# Stage keys every FrameResult.timings holds (0.0 when a stage did not run).
BACKEND_STAGES = ('preprocess', 'dense', 'select', 'describe')


@dataclass(frozen=True)
class FrontendConfig:
    """Front-end settings.

    Attributes:
        top_k: maximum keypoints per frame (>= 1).
        resize: optional (width, height) the network runs at; keypoints, scales and
            orientations are mapped back to input pixels (pixel centres at integers:
            u_in = (u_net + 0.5) / sx - 0.5 with sx = width / input width).
        resize_scale: optional factor in (0, 4]: the network runs at the input size times
            this (rounded); `resize`, when set, takes precedence.
        pyramid_levels: detect over this many image pyramid levels 2^(-l/2) below the network
            size, K shared by area, twins merged (`lfnet_core.pyramid`); 1: one level.
        match_metric: 'l2' (LF-Net's float descriptors) or 'hamming' (packed-bit descriptors).
        match_max_distance: optional upper bound on a match's descriptor distance.
        match_ratio: optional symmetric ratio test in (0, 1] (off by default: it hurts LF-Net).
        depth_min: smallest valid depth in metres.
        depth_max: largest valid depth in metres.
        ransac: PnP RANSAC settings and health gates. Its `reprojection_px` is in pixels of
            the image the network sees: with `resize`, PnP runs on input pixels with the
            threshold scaled by input / network size (see `ransac_for`), because keypoints are
            only as precise as the network's pixels.

    """

    top_k: int = 1000
    resize: Optional[Tuple[int, int]] = None
    resize_scale: Optional[float] = None
    pyramid_levels: int = 1
    match_metric: str = 'l2'
    match_max_distance: Optional[float] = None
    match_ratio: Optional[float] = None
    depth_min: float = 0.1
    depth_max: float = 10.0
    ransac: RansacConfig = RansacConfig()

    def __post_init__(self) -> None:
        if isinstance(self.top_k, bool) or int(self.top_k) != self.top_k or self.top_k < 1:
            raise ValueError(f'top_k: must be an integer >= 1, got {self.top_k!r}')
        if self.resize is not None:
            try:
                ok = len(self.resize) == 2 and all(int(v) == v and v > 0 for v in self.resize)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f'resize: expected (width, height) positive integers or None, '
                                 f'got {self.resize!r}')
        if self.resize_scale is not None and not 0 < self.resize_scale <= 4:
            raise ValueError(f'resize_scale: must be in (0, 4] or None, got {self.resize_scale}')
        levels = self.pyramid_levels
        if isinstance(levels, bool) or int(levels) != levels or not 1 <= levels <= 8:
            raise ValueError(f'pyramid_levels: must be an integer in [1, 8], got '
                             f'{self.pyramid_levels!r}')
        if self.match_metric not in ('l2', 'hamming'):
            raise ValueError(f"match_metric: expected 'l2' or 'hamming', got "
                             f'{self.match_metric!r}')
        if self.match_max_distance is not None and not self.match_max_distance >= 0:
            raise ValueError(f'match_max_distance: must be >= 0 or None, got '
                             f'{self.match_max_distance}')
        if self.match_ratio is not None and not 0 < self.match_ratio <= 1:
            raise ValueError(f'match_ratio: must be in (0, 1] or None, got {self.match_ratio}')
        if not (math.isfinite(self.depth_min) and self.depth_min >= 0
                and self.depth_max > self.depth_min):
            raise ValueError(f'depth_min, depth_max: need 0 <= depth_min < depth_max, got '
                             f'{self.depth_min}, {self.depth_max}')
        if not isinstance(self.ransac, RansacConfig):
            raise ValueError(f'ransac: expected a RansacConfig, got {type(self.ransac).__name__}')

    def network_size(self, width: int, height: int) -> Tuple[int, int]:
        """Return the (width, height) the network runs at for input images of this size."""
        if self.resize is not None:
            return int(self.resize[0]), int(self.resize[1])
        if self.resize_scale is not None:
            return (max(1, round(width * self.resize_scale)),
                    max(1, round(height * self.resize_scale)))
        return width, height

    def ransac_for(self, width: int, height: int) -> RansacConfig:
        """Return the RANSAC settings for input images of this size (threshold in input px).

        At the network's own size this is `ransac`; otherwise its `reprojection_px` times
        sqrt((width / net width) * (height / net height)).
        """
        net_w, net_h = self.network_size(width, height)
        if (net_w, net_h) == (width, height):
            return self.ransac
        factor = math.sqrt(width / net_w * height / net_h)
        return replace(self.ransac, reprojection_px=self.ransac.reprojection_px * factor)


@dataclass(frozen=True, eq=False)
class Frame:
    """One input frame.

    Attributes:
        image: (H, W) grey or (H, W, 3) RGB, uint8 (anything `Backend.extract` accepts).
        stamp: time in seconds (finite).
        depth: optional (H, W) depth in metres registered to the image (0, NaN, inf invalid).
        K: optional (3, 3) intrinsics of the image.

    """

    image: np.ndarray
    stamp: float
    depth: Optional[np.ndarray] = None
    K: Optional[np.ndarray] = None


def _features_array(name: str, doc: str) -> property:
    """Return a read-only property that reads `features.<name>` (documented by `doc`)."""
    return property(lambda result: getattr(result.features, name), doc=doc)


@dataclass(eq=False)
class FrameResult:
    """Everything the front-end computed for one frame.

    Attributes:
        stamp: this frame's stamp (seconds).
        prev_stamp: the stamp of the frame matched against, None without matching ('init').
        features: this frame's keypoints, scales, orientations, scores and descriptors, in
            input-image pixels (`lfnet_core.local_features.Features`; LF-Net scales in input
            pixels' units); `keypoints`, `scales`, `orientations`, `scores` and `descriptors`
            read them directly.
        points: (N, 3) float64 metres in this camera's optical frame, NaN where unknown.
        matches: (M, 2) int64 [index into the previous frame's keypoints, index into these].
        distances: (M,) float32 descriptor distances.
        inliers: (M,) bool PnP inliers (all False unless tracking is 'ok').
        motion: the PnP estimate, None when none was attempted ('init', 'no_depth').
        T_odom_cam: (4, 4) float64 camera-to-odom pose (odom = the first camera's optical
            frame); held from the previous frame unless tracking is 'ok'.
        tracking: one of 'init', 'ok', 'lost', 'no_depth' (see the module docstring).
        timings: seconds per stage: 'extract' (including any resize) and the backend's
            'preprocess', 'dense', 'select', 'describe', then 'match', 'pose' and 'total'.

    """

    stamp: float
    prev_stamp: Optional[float]
    features: Features
    points: np.ndarray
    matches: np.ndarray
    distances: np.ndarray
    inliers: np.ndarray
    motion: Optional[MotionEstimate]
    T_odom_cam: np.ndarray
    tracking: str
    timings: Dict[str, float]

    keypoints = _features_array('keypoints', '(N, 2) float32 (x, y) in input-image pixels.')
    scales = _features_array('scales', "(N,) float32 scales in input-image pixels' units.")
    orientations = _features_array('orientations', '(N,) float32 radians in the input image.')
    scores = _features_array('scores', '(N,) float32 detector scores.')
    descriptors = _features_array('descriptors', '(N, D) descriptors.')


def _check_frame(frame: Frame) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """Validate a frame; return the image, depth and K (float64 copy) ready for use."""
    if not isinstance(frame, Frame):
        raise ValueError(f'frame: expected a Frame, got {type(frame).__name__}')
    try:
        stamp = float(frame.stamp)
    except (TypeError, ValueError):
        raise ValueError(f'stamp: expected a number of seconds, got {frame.stamp!r}') from None
    if not math.isfinite(stamp):
        raise ValueError(f'stamp: must be finite, got {frame.stamp}')
    image = frame.image
    if not isinstance(image, np.ndarray):
        raise ValueError(f'image: expected a numpy array, got {type(image).__name__}')
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))):
        raise ValueError(f'image: expected (H, W) or (H, W, 3), got shape {image.shape}')
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f'image: must not be empty, got shape {image.shape}')
    depth = frame.depth
    if depth is not None:
        depth = np.asarray(depth)
        if depth.ndim == 3 and depth.shape[2] == 1:
            depth = depth[:, :, 0]
        if depth.shape != image.shape[:2]:
            raise ValueError(f'depth: shape {depth.shape} does not match the image '
                             f'{image.shape[:2]} (register and resize depth to the colour '
                             f'image first)')
        if depth.dtype.kind != 'f':
            raise ValueError(f'depth: expected float metres, got {depth.dtype} (convert 16UC1 '
                             f'millimetres with depth.astype(np.float32) / 1000)')
    K = None if frame.K is None else check_intrinsics(frame.K, 'K')
    return image, depth, K


class Frontend:
    """Frame-to-frame RGB-D visual odometry front-end (see the module docstring).

    Not thread-safe: call `process` from one thread (the ROS node's callback).
    """

    def __init__(self, backend: Backend, config: FrontendConfig = FrontendConfig()) -> None:
        if not isinstance(config, FrontendConfig):
            raise ValueError(f'config: expected a FrontendConfig, got {type(config).__name__}')
        self.backend = backend
        self.config = config
        self._previous: Optional[FrameResult] = None
        self._previous_shape: Optional[Tuple[int, int]] = None
        self._T_odom_cam = np.eye(4)
        self._reset_pending = True

    @property
    def previous(self) -> Optional[FrameResult]:
        """The last processed frame's result (the next frame's reference), None before any."""
        return self._previous

    @property
    def T_odom_cam(self) -> np.ndarray:
        """(4, 4) the current (held) camera pose in the odometry frame (a copy)."""
        return self._T_odom_cam.copy()

    def reset(self) -> None:
        """Make the next frame 'init': it is not matched, and tracking restarts from it.

        The pose is kept: the next frame takes the held pose and tracking continues from there.
        """
        self._reset_pending = True

    def _extract_levels(self, image: np.ndarray) -> Tuple[Features, Dict[str, float]]:
        """Backend extraction at the network size, over the pyramid levels (stage times summed)."""
        metric = self.config.match_metric
        if self.config.pyramid_levels == 1:
            features = as_features(self.backend.extract(image, self.config.top_k), metric)
            return features, dict(self.backend.last_timings)
        stages: Dict[str, float] = {}

        def timed(call: Callable[..., Features]) -> Callable[..., Features]:
            def run(*args: Any) -> Features:
                out = as_features(call(*args), metric)
                for stage, seconds in self.backend.last_timings.items():
                    stages[stage] = stages.get(stage, 0.0) + seconds
                return out
            return run

        # A backend's two stages let the pyramid describe only the keypoints it keeps.
        source = (SimpleNamespace(detect=self.backend.detect,
                                  describe_detected=timed(self.backend.describe_detected))
                  if has_two_stages(self.backend)
                  else timed(self.backend.extract))
        features = extract_pyramid(source, image, self.config.top_k, self.config.pyramid_levels)
        return replace(features, levels=None), stages

    def _extract(self, image: np.ndarray) -> Tuple[Features, Dict[str, float]]:
        h, w = image.shape[:2]
        net_w, net_h = self.config.network_size(w, h)
        if (net_w, net_h) == (w, h):
            return self._extract_levels(image)
        features, stages = self._extract_levels(resize_image(image, (net_w, net_h)))
        sx, sy = net_w / w, net_h / h
        ori = features.orientations.astype(np.float64)
        return replace(
            features,
            keypoints=rescale_pixels(features.keypoints, (net_w, net_h),
                                     (w, h)).astype(np.float32),
            scales=(features.scales / math.sqrt(sx * sy)).astype(np.float32),
            orientations=np.arctan2(np.sin(ori) / sy, np.cos(ori) / sx).astype(np.float32),
        ), stages

    def process(self, frame: Frame) -> FrameResult:
        """Process one frame: extract, back-project, match to the previous frame, track.

        Args:
            frame: the image with its stamp and optional depth and intrinsics.

        Returns:
            The FrameResult; it also becomes `previous` for the next call.

        Raises:
            ValueError: bad stamp, image, depth (shape differs from the image) or K.

        """
        image, depth, K = _check_frame(frame)
        cfg = self.config
        start = time.perf_counter()
        features, stages = self._extract(image)
        timings = {'extract': time.perf_counter() - start}
        for stage in BACKEND_STAGES:
            timings[stage] = float(stages.pop(stage, 0.0))
        timings.update({k: float(v) for k, v in stages.items()})

        keypoints = features.keypoints
        points = keypoint_points(keypoints, depth, K, cfg.depth_min, cfg.depth_max)

        shape = tuple(image.shape[:2])
        prev = self._previous
        restart = self._reset_pending or prev is None or self._previous_shape != shape
        matches = np.zeros((0, 2), dtype=np.int64)
        distances = np.zeros(0, dtype=np.float32)
        motion: Optional[MotionEstimate] = None
        tracking = 'init'
        prev_stamp: Optional[float] = None

        # Matching and PnP are small BLAS work: on one thread, so that no spinning BLAS
        # workers take the cores from the next frame's network (lfnet_core.blas_threads).
        with single_blas_thread():
            t = time.perf_counter()
            if not restart:
                result = mutual_nearest_neighbours(prev.descriptors, features.descriptors,
                                                   cfg.match_metric, cfg.match_max_distance,
                                                   cfg.match_ratio)
                matches, distances = result.matches, result.distances
                prev_stamp = prev.stamp
            timings['match'] = time.perf_counter() - t

            t = time.perf_counter()
            inliers = np.zeros(matches.shape[0], dtype=bool)
            if not restart:
                prev_has_points = bool(np.isfinite(prev.points).all(axis=1).any())
                if K is None or not prev_has_points:
                    tracking = 'no_depth'
                else:
                    ransac = cfg.ransac_for(shape[1], shape[0])
                    motion = estimate_motion(
                        prev.points[matches[:, 0]], keypoints[matches[:, 1]], K, ransac,
                        points_cur=points[matches[:, 1]])
                    if motion.ok:
                        tracking = 'ok'
                        inliers = motion.inliers.copy()
                        self._T_odom_cam = self._T_odom_cam @ invert_pose(motion.T_prev_to_cur)
                    else:
                        tracking = 'lost'
            timings['pose'] = time.perf_counter() - t
        timings['total'] = time.perf_counter() - start

        out = FrameResult(
            stamp=float(frame.stamp), prev_stamp=prev_stamp, features=features, points=points,
            matches=matches, distances=distances, inliers=inliers, motion=motion,
            T_odom_cam=self._T_odom_cam.copy(), tracking=tracking, timings=timings)
        self._previous = out
        self._previous_shape = shape
        self._reset_pending = False
        return out
