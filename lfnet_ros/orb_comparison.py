# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``lfnet-eval --compare orb``: the same back-end on ORB features, in this process, on the bag.

:class:`OrbBackend` (``cv2.ORB_create(nfeatures=top_k)``, packed 32-byte descriptors) runs
through the same :class:`lfnet_core.frontend.Frontend` as the node (mutual nearest neighbour
with the Hamming distance instead of L2, the node's depth range and PnP RANSAC settings from
the same parameters) on every colour frame of the bag, decoded with the node's own conversions
(:func:`lfnet_ros.bag_reading.bag_frames`). No ROS is involved; the latencies are this
process's.
"""

from pathlib import Path
import time
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np
from tqdm import tqdm

from lfnet_core import trajectory
from lfnet_core.evaluation.features import OrbExtractor, to_grey_uint8
from lfnet_core.frontend import Frame, Frontend, FrontendConfig
from lfnet_core.local_features import Features
from lfnet_core.summary_stats import percentiles_ms
from lfnet_ros.bag_eval_report import method_entry
from lfnet_ros.bag_reading import bag_frames, Topics
from lfnet_ros.node_parameters import ransac_config
from lfnet_ros.trajectory_scores import score_trajectory, TrajectoryCurves

LATENCY_PERCENTS = (50, 90, 99)


class OrbBackend:
    """
    ORB behind the ``Backend.extract`` contract, for :class:`lfnet_core.frontend.Frontend`.

    :class:`lfnet_core.evaluation.features.OrbExtractor` (``cv2.ORB_create(nfeatures=top_k)``)
    on the grey image LF-Net sees (:func:`lfnet_core.evaluation.features.to_grey_uint8`), the
    ``top_k`` strongest responses kept, as :class:`lfnet_core.local_features.Features`:
    ``scales`` are OpenCV's keypoint diameters in pixels, ``orientations`` radians,
    ``descriptors`` (N, 32) packed uint8 bits: use ``FrontendConfig(match_metric='hamming')``.
    """

    name = 'orb'

    def __init__(self) -> None:
        self.last_timings: Dict[str, float] = {}

    def extract(self, image: np.ndarray, top_k: Optional[int] = None) -> Features:
        """Detect and describe at most ``top_k`` (default 1000) ORB keypoints in ``image``."""
        top_k = 1000 if top_k is None else int(top_k)
        if top_k < 1:
            raise ValueError(f'top_k must be >= 1, got {top_k}')
        start = time.perf_counter()
        grey = to_grey_uint8(image)
        preprocess = time.perf_counter() - start
        start = time.perf_counter()
        features = OrbExtractor(top_k).extract(grey)
        self.last_timings = {'preprocess': preprocess, 'orb': time.perf_counter() - start}
        return features


def orb_frontend_config(params: Mapping[str, object],
                        resize: Optional[Tuple[int, int]]) -> FrontendConfig:
    """Return the node's front-end settings (``params``) with Hamming matching for ORB."""
    return FrontendConfig(
        top_k=int(params['top_k']), resize=resize, match_metric='hamming',
        resize_scale=None if resize else float(params.get('resize_scale', 1.0)),
        depth_min=float(params['depth_min']),
        depth_max=float(params['depth_max']), ransac=ransac_config(params))


def run_orb(bag: str, topics: Topics, params: Mapping[str, object],
            resize: Optional[Tuple[int, int]], groundtruth: Path,
            out: Path) -> Tuple[Dict[str, object], Optional[TrajectoryCurves]]:
    """
    Run the ORB back-end over the bag's frames; write ``estimate_orb.tum`` into ``out``.

    Returns:
        ORB's comparison entry (the same keys as LF-Net's) and its trajectory curves.

    """
    frontend = Frontend(OrbBackend(), orb_frontend_config(params, resize))
    depth_scale = float(params['depth_scale'])
    stamps, poses, keypoints, matches, inliers = [], [], [], [], []
    states = {'ok': 0, 'init': 0, 'lost': 0}
    timings: Dict[str, List[float]] = {}
    for stamp, rgb, depth, K in tqdm(bag_frames(bag, topics, depth_scale),
                                     desc='ORB comparison', unit='frame'):
        result = frontend.process(Frame(rgb, stamp * 1e-9, depth, K))
        stamps.append(stamp * 1e-9)
        poses.append(result.T_odom_cam)
        keypoints.append(len(result.keypoints))
        if result.tracking != 'init':
            matches.append(len(result.matches))
            inliers.append(int(result.inliers.sum()))
        states['lost' if result.tracking == 'no_depth' else result.tracking] += 1
        for stage, seconds in result.timings.items():
            timings.setdefault(stage, []).append(seconds)
    estimate = out / 'estimate_orb.tum'
    trajectory.write_tum(estimate, stamps, np.array(poses).reshape(-1, 4, 4))
    score = score_trajectory(groundtruth, estimate)
    entry = method_entry(len(stamps), len(stamps), keypoints, matches, inliers, states,
                         score.report)
    entry['latency_ms'] = {stage: percentiles_ms(v, LATENCY_PERCENTS)
                           for stage, v in sorted(timings.items()) if any(v)}
    entry['latency_ms']['source'] = 'this process (no ROS)'
    return entry, score.curves
