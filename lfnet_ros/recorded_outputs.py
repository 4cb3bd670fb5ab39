# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The front-end node's outputs read back: tracking state, diagnostics, and a run's counts.

:class:`RecordedRun` holds what the ROS tools report about one run through the node (per-frame
keypoint, match and inlier counts, tracking states, the newest diagnostics, latencies measured
by the tool); :meth:`lfnet_ros.node_recorder.Recorder.recorded_run` fills it.
"""

from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
import numpy as np

COVARIANCE_GATE = 1.0  # the node publishes 1e-4 (ok) or 1e3 (lost) on the diagonal
TRACKING_STATES = ('ok', 'init', 'lost')


def write_run_record(out: Path, name: str, record: Dict[str, object],
                     default: Callable[[object], object]) -> None:
    """Write `record` as JSON to out/name, after listing in it every file of `out`."""
    record['files'] = sorted({p.name for p in out.iterdir() if p.is_file()} | {name})
    (out / name).write_text(json.dumps(record, indent=2, default=default) + '\n')


def tracking_state(msg: Odometry) -> str:
    """Return 'ok', 'init' or 'lost' from the node's odometry covariances (``lost``: no_depth too).

    The node publishes a large pose covariance when tracking is lost, and a large twist
    covariance on the first frame (no motion known yet).
    """
    if msg.pose.covariance[0] >= COVARIANCE_GATE:
        return 'lost'
    return 'ok' if msg.twist.covariance[0] < COVARIANCE_GATE else 'init'


def diagnostics_values(array: DiagnosticArray) -> Dict[str, str]:
    """Return the key/value pairs of the front-end's status in ``array`` (or {})."""
    for status in array.status:
        if status.name.endswith(': frontend'):
            return {kv.key: kv.value for kv in status.values}
    return {}


def node_latencies(values: Mapping[str, str]) -> Dict[str, Dict[str, float]]:
    """Return ``{stage: {'p50_ms', 'p90_ms'}}`` from the node's diagnostics values."""
    stages: Dict[str, Dict[str, float]] = {}
    for key, value in values.items():
        parts = key.split('.')
        if len(parts) == 3 and parts[0] == 'latency':
            stages.setdefault(parts[1], {})[parts[2]] = float(value)
    return dict(sorted(stages.items()))


@dataclass
class RecordedRun:
    """
    One run's outputs as the tools report them.

    Attributes:
        stamps: the frames sent (stamps in ns, in order).
        processed: the stamps whose keypoints came back.
        keypoint_counts: keypoints per processed frame.
        keypoints_with_depth: keypoints with a finite depth per processed frame.
        match_counts: matches per processed frame after the first (with a matches message).
        inlier_counts: PnP inliers of the same frames.
        tracking: processed frames per state (``ok``, ``init``, ``lost``), from the odometry.
        diagnostics: the newest front-end diagnostics values ({} if none came).
        in_to_keypoints: seconds from the colour publish to the keypoints' receipt.
        in_to_odom: seconds from the colour publish to the odometry's receipt.
        throughput_hz: processed frames per second between the first publish and the last
            keypoints (None with fewer than 2 processed frames).
        estimate_stamps: stamps (ns) of the processed frames with odometry.
        estimate_poses: (N, 4, 4) their camera-to-odom poses.
        frame_states: (N,) their tracking states (``ok``, ``init``, ``lost``).

    """

    stamps: List[int]
    processed: List[int]
    keypoint_counts: List[int]
    keypoints_with_depth: List[int]
    match_counts: List[int]
    inlier_counts: List[int]
    tracking: Dict[str, int]
    diagnostics: Dict[str, str]
    in_to_keypoints: List[float]
    in_to_odom: List[float]
    throughput_hz: Optional[float]
    estimate_stamps: List[int]
    estimate_poses: np.ndarray
    frame_states: List[str] = field(default_factory=list)

    @property
    def inlier_ratio(self) -> Optional[float]:
        """Return all PnP inliers / all matches (None without matches)."""
        total = sum(self.match_counts)
        return sum(self.inlier_counts) / total if total else None

    def node_drops(self) -> Dict[str, int]:
        """Return the node's ``dropped*`` and ``degraded*`` counters."""
        return {k: int(v) for k, v in self.diagnostics.items()
                if k.startswith(('dropped', 'degraded'))}

    def estimate_seconds(self) -> Tuple[np.ndarray, np.ndarray]:
        """Return (stamps in seconds, (N, 4, 4) poses) of the odometry estimate."""
        return np.asarray(self.estimate_stamps, np.float64) * 1e-9, self.estimate_poses

    def tracking_over_time(self) -> Tuple[np.ndarray, List[str]]:
        """Return (stamps in seconds, tracking state) of the frames with odometry."""
        return np.asarray(self.estimate_stamps, np.float64) * 1e-9, list(self.frame_states)
