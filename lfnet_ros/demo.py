# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``lfnet-demo`` (``make demo``): the embedded RGB-D sequence through the real ROS 2 front-end node.

What it does:

1. Sets a private ROS environment for itself and its children, each variable only where the
   user has not set it: ``FASTDDS_DEFAULT_PROFILES_FILE`` (the package's
   ``config/fastdds_shm.xml``), ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` and a
   ``ROS_DOMAIN_ID`` derived from the process id (101..200, apart from the test suite's 1..100).
   The variables are restored when :func:`main` returns.
2. Renders the default synthetic sequence (:func:`lfnet_core.scenes.generate_sequence`, exact
   depth and camera poses), starts ``python -m lfnet_ros.frontend_node`` in its own process
   (``config/frontend.yaml`` plus ``backend``, ``top_k``, ``weights`` and
   ``qos_reliability:=reliable``), waits until every topic is matched (no fixed sleeps) and
   publishes each frame as ``color/camera_info``, ``depth/image_raw`` (``32FC1`` metres or
   ``16UC1`` millimetres) and ``color/image_raw`` (``rgb8``), stamped with the sequence's
   timestamps.

   Pacing. Closed loop (default): the next frame goes out when the node's ``keypoints`` for the
   previous one came back, and no sooner than ``1 / --rate`` s after it (``--rate 0``: as fast as
   the node goes), so no frame is dropped however slow the CPU. ``--open-loop``: frames go out
   at ``--rate`` Hz regardless of the node, as a camera would; the node then keeps only the
   newest frame and the summary counts what it dropped. A frame whose keypoints do not come
   back within ``--frame-timeout`` s is counted as lost and the demo goes on.
3. Records ``keypoints``, ``matches``, ``odom`` and ``/diagnostics``, stops the node (SIGINT,
   wait, then kill) and writes into ``--out``:

   * ``summary.json`` (the fields below) and the same summary printed;
   * ``trajectory.png``: top view of the estimate (SE(3)-aligned and unaligned) against the
     ground truth, and the ATE / per-frame RPE over time;
   * ``matches.png``: one frame pair's matches, drawn from the published keypoints and matches
     clouds on the two published colour frames (green PnP inliers, red outliers);
   * ``estimate.tum`` and ``groundtruth.tum`` (``timestamp tx ty tz qx qy qz qw``), both in the
     odometry frame (= the first processed camera optical frame), so they compare directly
     (e.g. ``evo_ape tum groundtruth.tum estimate.tum -a``);
   * ``node.log``: the node's output.

Summary fields: ``weights`` / ``untrained`` (true when no ``--weights`` is given and the shipped
``lfnet_core/weights/lfnet_default.pt`` is missing: the network is random, the numbers say
nothing about LF-Net's accuracy, and the printed summary says so in capitals), ``backend`` (as
the node reports it), ``frames`` (published, processed, dropped, the node's drop counters),
``keypoints_per_frame``, ``matches_per_frame``, ``inliers_per_frame`` (mean/median/min/max over
the frames that had a previous frame), ``inlier_ratio`` (all PnP inliers / all matches),
``tracking`` (frames per state, read from the odometry covariances: ``ok``, ``init``, ``lost``;
``lost`` includes the node's ``no_depth``), ``trajectory`` (``ate_rmse_m`` after SE(3)
alignment, ``ate_max_m``, ``drift_percent`` = final-position error / ground-truth path length,
``final_error_m``, ``path_length_m``, per-frame RPE ``rpe_trans_rmse_m`` /
``rpe_trans_mean_m`` / ``rpe_rot_rmse_deg``), ``latency_ms`` (the node's diagnostics per stage
and ``end_to_end`` p50/p90, and ``demo_in_to_keypoints`` / ``demo_in_to_odom`` p50/p90 measured
here from colour publish to message receipt), ``wall_s``, ``processing_rate_hz``, ``ros`` (the
environment used) and ``files``.
"""

import argparse
import contextlib
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from types import SimpleNamespace
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence

import cv2
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from tqdm import tqdm

from lfnet_core import trajectory
from lfnet_core.inference import BACKEND_NAMES
from lfnet_core.scenes import generate_sequence
from lfnet_core.transforms import make_pose, quaternion_to_rotation
from lfnet_core.tum import TumSequence
from lfnet_core.visualization import draw_keypoints, draw_matches, save_rgb
from lfnet_ros import conversions as conv
from lfnet_ros.ros_environment import find_package_file, ros_environment

FRAME_ID = 'camera_color_optical_frame'
COVARIANCE_GATE = 1.0  # the node publishes 1e-4 (ok) or 1e3 (lost) on the diagonal
STOP_TIMEOUT = 15.0
MAX_LINES = 200  # match lines drawn in matches.png (an even subsample)


class DemoError(RuntimeError):
    """The demo cannot go on (the node did not start, exited, or nothing was processed)."""


# --------------------------------------------------------------------------- environment


@contextlib.contextmanager
def temporary_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, then restore the old ones."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def weights_status(weights: Optional[str]) -> Dict[str, object]:
    """Return ``{'weights': str, 'untrained': bool}`` for ``--weights`` (None: the shipped)."""
    if weights:
        return {'weights': str(Path(weights).resolve()), 'untrained': False}
    try:
        from lfnet_core.model.lfnet import DEFAULT_WEIGHTS
    except ImportError:  # no torch here: the same path, computed
        DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / 'lfnet_core' / 'weights' / \
            'lfnet_default.pt'
    if Path(DEFAULT_WEIGHTS).is_file():
        return {'weights': str(DEFAULT_WEIGHTS), 'untrained': False}
    return {'weights': 'UNTRAINED (random, seeded)', 'untrained': True}


# --------------------------------------------------------------------------- statistics


def _stats(values: Sequence[float]) -> Dict[str, float]:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return {'mean': None, 'median': None, 'min': None, 'max': None}
    return {'mean': float(values.mean()), 'median': float(np.median(values)),
            'min': float(values.min()), 'max': float(values.max())}


def _percentiles_ms(seconds: Sequence[float]) -> Dict[str, Optional[float]]:
    values = np.asarray(seconds, dtype=np.float64) * 1e3
    if values.size == 0:
        return {'p50_ms': None, 'p90_ms': None}
    p50, p90 = np.percentile(values, [50, 90])
    return {'p50_ms': float(p50), 'p90_ms': float(p90)}


def tracking_state(msg: Odometry) -> str:
    """Return 'ok', 'init' or 'lost' from the node's odometry covariances (see the doc)."""
    if msg.pose.covariance[0] >= COVARIANCE_GATE:
        return 'lost'
    return 'ok' if msg.twist.covariance[0] < COVARIANCE_GATE else 'init'


def odom_to_matrix(msg: Odometry) -> np.ndarray:
    """Return the odometry pose as a 4x4 camera-to-odom transform."""
    p, q = msg.pose.pose.position, msg.pose.pose.orientation
    return make_pose(quaternion_to_rotation([q.x, q.y, q.z, q.w]), [p.x, p.y, p.z])


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


# --------------------------------------------------------------------------- the ROS side


def camera_info(K: np.ndarray, width: int, height: int, header: Header) -> CameraInfo:
    """Return a CameraInfo (plumb_bob, no distortion) with intrinsics ``K``."""
    msg = CameraInfo(header=header, width=width, height=height, distortion_model='plumb_bob')
    msg.k = [float(v) for v in np.asarray(K, np.float64).ravel()]
    msg.d = [0.0] * 5
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    P = np.zeros((3, 4))
    P[:, :3] = K
    msg.p = [float(v) for v in P.ravel()]
    return msg


class NodeProcess:
    """The front-end node in its own process, its output in a log file."""

    def __init__(self, args: List[str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, 'w')
        self.proc = subprocess.Popen(args, env=dict(os.environ), stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        """Return whether the process still runs."""
        return self.proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        """Return the end of the node's output."""
        self._log.flush()
        return self.log_path.read_text(errors='replace')[-chars:]

    def stop(self) -> Optional[int]:
        """Stop the node: SIGINT, wait, then SIGKILL; return its exit status."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=STOP_TIMEOUT)
        finally:
            self._log.close()
        return self.proc.returncode


class Recorder:
    """The demo's own node: publishes the frames, records the front-end's outputs."""

    def __init__(self, context: rclpy.Context) -> None:
        self.node = rclpy.create_node('lfnet_demo', context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                         reliability=ReliabilityPolicy.RELIABLE)
        self.pub_color = self.node.create_publisher(Image, 'color/image_raw', qos)
        self.pub_depth = self.node.create_publisher(Image, 'depth/image_raw', qos)
        self.pub_info = self.node.create_publisher(CameraInfo, 'color/camera_info', qos)
        # stamp ns -> (receipt time, payload)
        self.keypoints: Dict[int, tuple] = {}
        self.matches: Dict[int, tuple] = {}
        self.odom: Dict[int, tuple] = {}
        self.diagnostics: List[tuple] = []
        self.subs = [
            self.node.create_subscription(PointCloud2, 'keypoints', self._on_keypoints, 10),
            self.node.create_subscription(PointCloud2, 'matches', self._on_matches, 10),
            self.node.create_subscription(Odometry, 'odom', self._on_odom, 10),
            self.node.create_subscription(DiagnosticArray, '/diagnostics',
                                          self._on_diagnostics, 10),
        ]

    def _on_keypoints(self, msg: PointCloud2) -> None:
        now = time.monotonic()
        cloud = conv.cloud_to_array(msg)
        self.keypoints[conv.stamp_to_ns(msg.header.stamp)] = (now, {
            'uv': np.stack([cloud['u'], cloud['v']], axis=1).astype(np.float32),
            'with_depth': int(np.isfinite(cloud['z']).sum())})

    def _on_matches(self, msg: PointCloud2) -> None:
        now = time.monotonic()
        cloud = conv.cloud_to_array(msg)
        self.matches[conv.stamp_to_ns(msg.header.stamp)] = (now, cloud.copy())

    def _on_odom(self, msg: Odometry) -> None:
        self.odom[conv.stamp_to_ns(msg.header.stamp)] = (time.monotonic(), msg)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        values = diagnostics_values(msg)
        if values:
            self.diagnostics.append((time.monotonic(), values))

    def spin_until(self, predicate: Callable[[], bool], timeout: float,
                   node: Optional[NodeProcess] = None) -> bool:
        """Spin until ``predicate()`` (True) or ``timeout`` (False); raise if the node died."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if node is not None and not node.alive():
                raise DemoError(f'the front-end node exited with {node.proc.returncode}:\n'
                                f'{node.log_tail()}')
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=0.01)
        return True

    def fresh_diagnostics(self, node: Optional[NodeProcess] = None,
                          timeout: float = 5.0) -> Dict[str, str]:
        """Wait for a /diagnostics message received after now; return its values ({} if none).

        The node publishes once a second, so the counters in an older one may miss recent frames.
        """
        after = time.monotonic()
        self.spin_until(lambda: any(t > after for t, _ in self.diagnostics), timeout, node)
        fresh = [values for t, values in self.diagnostics if t > after]
        return fresh[0] if fresh else {}

    def matched(self) -> bool:
        """Return whether every input and output topic is matched with the node."""
        return (all(p.get_subscription_count() >= 1
                    for p in (self.pub_color, self.pub_depth, self.pub_info))
                and all(s.get_publisher_count() >= 1 for s in self.subs))

    def destroy(self) -> None:
        """Destroy the executor and the node."""
        self.executor.shutdown()
        self.node.destroy_node()


def frame_messages(sequence, index: int, stamp_ns: int, depth_encoding: str) -> list:
    """Return [(topic attribute, msg)] for one frame: camera info, depth, then colour."""
    header = Header(stamp=conv.ns_to_stamp(stamp_ns), frame_id=FRAME_ID)
    height, width = sequence.rgb.shape[1:3]
    if depth_encoding == '16UC1':
        millimetres = np.clip(np.round(sequence.depth[index] * 1000.0), 0, 65535)
        depth = conv.array_to_image(millimetres.astype(np.uint16), '16UC1', header)
    else:
        depth = conv.array_to_image(sequence.depth[index].astype(np.float32), '32FC1', header)
    return [('pub_info', camera_info(sequence.K, width, height, header)),
            ('pub_depth', depth),
            ('pub_color', conv.array_to_image(sequence.rgb[index], 'rgb8', header))]


def node_command(args: argparse.Namespace) -> List[str]:
    """Return the command line that starts the front-end node for these demo arguments."""
    command = [sys.executable, '-m', 'lfnet_ros.frontend_node', '--ros-args',
               '--params-file', str(find_package_file('config/frontend.yaml')),
               '-p', f'backend:={args.backend}', '-p', 'qos_reliability:=reliable']
    if args.top_k is not None:
        command += ['-p', f'top_k:={args.top_k}']
    if args.weights:
        command += ['-p', f'weights:={Path(args.weights).resolve()}']
    return command


# --------------------------------------------------------------------------- the run


def _publish_frames(recorder: Recorder, node: NodeProcess, sequence, stamps: List[int],
                    args: argparse.Namespace) -> Dict[int, float]:
    """Publish every frame with the chosen pacing; return {stamp ns: colour publish time}."""
    sent: Dict[int, float] = {}
    period = 1.0 / args.rate if args.rate > 0 else 0.0
    start = time.monotonic()
    last = -np.inf
    for index in tqdm(range(len(stamps)), desc='publishing', unit='frame'):
        messages = frame_messages(sequence, index, stamps[index], args.depth_encoding)
        due = start + index * period if args.open_loop else last + period
        _wait_until(recorder, node, due)
        last = time.monotonic()
        for attribute, msg in messages:
            getattr(recorder, attribute).publish(msg)
        sent[stamps[index]] = time.monotonic()
        if not args.open_loop:
            _wait_for_keypoints(recorder, node, stamps[index], args.frame_timeout)
    if args.open_loop:  # the newest frame is always processed: wait for it
        _wait_for_keypoints(recorder, node, stamps[-1], args.frame_timeout)
    return sent


def _wait_until(recorder: Recorder, node: NodeProcess, due: float) -> None:
    """Spin until the monotonic time ``due``."""
    recorder.spin_until(lambda: time.monotonic() >= due, max(due - time.monotonic(), 0.0) + 1.0,
                        node)


def _wait_for_keypoints(recorder: Recorder, node: NodeProcess, stamp: int,
                        timeout: float) -> bool:
    """Spin until the keypoints stamped ``stamp`` came back (True) or ``timeout`` (False)."""
    return recorder.spin_until(lambda: stamp in recorder.keypoints, timeout, node)


def _collect(recorder: Recorder, node: NodeProcess, stamps: List[int]) -> None:
    """Wait for the odom/matches of every processed frame and for up-to-date diagnostics."""
    def outputs_complete() -> bool:
        done = [s for s in stamps if s in recorder.keypoints]
        return all(s in recorder.odom and s in recorder.matches for s in done)
    recorder.spin_until(outputs_complete, 10.0, node)
    processed = sum(s in recorder.keypoints for s in stamps)
    after = time.monotonic()

    def fresh_diagnostics() -> bool:
        return any(t >= after and int(v.get('frames_processed', 0)) >= processed
                   for t, v in recorder.diagnostics)
    recorder.spin_until(fresh_diagnostics, 5.0, node)


def _caption(lines: List[str], width: int) -> np.ndarray:
    """Return a black strip of ``width`` pixels with the white text lines, shrunk to fit."""
    font, line_height = cv2.FONT_HERSHEY_SIMPLEX, 22
    strip = np.zeros((line_height * len(lines) + 6, width, 3), np.uint8)
    for row, text in enumerate(lines):
        text_width = cv2.getTextSize(text, font, 0.5, 1)[0][0]
        scale = min(0.5, 0.5 * (width - 16) / max(text_width, 1))
        cv2.putText(strip, text, (8, line_height * (row + 1)), font, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return strip


def _matches_image(path: Path, sequence, stamps: List[int], recorder: Recorder,
                   processed: List[int], untrained: bool) -> Dict[str, object]:
    """Draw one pair (the middle processed frame and its predecessor); return what was drawn."""
    index_of = {s: i for i, s in enumerate(stamps)}
    pairs = {}  # current stamp -> previous stamp, for pairs whose both keypoints are known
    for stamp in processed[1:]:
        cloud = recorder.matches[stamp][1] if stamp in recorder.matches else ()
        if len(cloud):
            prev = int(cloud['prev_stamp_sec'][0]) * 1_000_000_000 + \
                int(cloud['prev_stamp_nanosec'][0])
            if prev in recorder.keypoints and prev in index_of:
                pairs[stamp] = prev
    if not pairs:
        first = processed[0]
        image = draw_keypoints(sequence.rgb[index_of[first]], recorder.keypoints[first][1]['uv'])
        save_rgb(str(path), image)
        return {'frame': index_of[first], 'matches': 0}
    cur = list(pairs)[len(pairs) // 2]
    prev, cloud = pairs[cur], recorder.matches[cur][1]
    matches = np.stack([cloud['index0'], cloud['index1']], axis=1).astype(np.int64)
    inliers = cloud['inlier'].astype(bool)
    state = tracking_state(recorder.odom[cur][1]) if cur in recorder.odom else 'unknown'
    canvas = draw_matches(sequence.rgb[index_of[prev]], sequence.rgb[index_of[cur]],
                          recorder.keypoints[prev][1]['uv'], recorder.keypoints[cur][1]['uv'],
                          matches, inliers if state == 'ok' else None, max_lines=MAX_LINES)
    drawn = len(range(0, len(matches), max(len(matches) // MAX_LINES, 1)))
    captions = [f'frames {index_of[prev]} -> {index_of[cur]}: {len(matches)} matches '
                f'({drawn} drawn), {int(inliers.sum())} PnP inliers (green), tracking {state}']
    if untrained:
        captions.append('UNTRAINED weights: not LF-Net accuracy')
    save_rgb(str(path), np.concatenate([_caption(captions, canvas.shape[1]), canvas], axis=0))
    return {'frames': [index_of[prev], index_of[cur]], 'matches': len(matches),
            'inliers': int(inliers.sum())}


def analyse(sequence, stamps: List[int], sent: Dict[int, float], recorder: Recorder,
            out: Path, weights: Dict[str, object]) -> Dict[str, object]:
    """Compute the summary and write the files (see the module doc); return the summary."""
    processed = [s for s in stamps if s in recorder.keypoints]
    if not processed:
        raise DemoError('the node processed no frame')
    index_of = {s: i for i, s in enumerate(stamps)}
    paired = processed[1:]
    match_counts = [len(recorder.matches[s][1]) for s in paired if s in recorder.matches]
    inlier_counts = [int(recorder.matches[s][1]['inlier'].sum()) for s in paired
                     if s in recorder.matches]
    states = {'ok': 0, 'init': 0, 'lost': 0}
    for s in processed:
        if s in recorder.odom:
            states[tracking_state(recorder.odom[s][1])] += 1

    # trajectory: the estimate in the odom frame (= the first processed camera), the ground
    # truth expressed in that same frame
    est_stamps = [s for s in processed if s in recorder.odom]
    T_est = np.array([odom_to_matrix(recorder.odom[s][1]) for s in est_stamps]).reshape(-1, 4, 4)
    T_world_origin = sequence.T_world_cam[index_of[processed[0]]]
    T_gt_all = np.linalg.inv(T_world_origin) @ sequence.T_world_cam
    seconds = np.asarray(stamps, dtype=np.float64) * 1e-9
    i_est, i_gt = trajectory.associate(np.asarray(est_stamps, np.float64) * 1e-9, seconds,
                                       max_difference=1e-3)
    T_est, T_gt, t_pair = T_est[i_est], T_gt_all[i_gt], seconds[i_gt]
    trajectory.write_tum(out / 'estimate.tum', t_pair, T_est)
    trajectory.write_tum(out / 'groundtruth.tum', seconds, T_gt_all)
    traj: Dict[str, object] = {'frames': int(len(i_est))}
    if len(i_est):
        ate = trajectory.ate(T_est, T_gt)
        drift = trajectory.drift(T_est, T_gt)
        rpe = trajectory.rpe(T_est, T_gt) if len(i_est) > 1 else None
        traj.update({
            'ate_rmse_m': ate['rmse'], 'ate_mean_m': ate['mean'], 'ate_max_m': ate['max'],
            'drift_percent': drift['drift_percent'], 'final_error_m': drift['final_error_m'],
            'path_length_m': drift['path_length_m'],
            'rpe_trans_rmse_m': rpe['trans_rmse'] if rpe else None,
            'rpe_trans_mean_m': rpe['trans_mean'] if rpe else None,
            'rpe_rot_rmse_deg': float(np.degrees(rpe['rot_rmse'])) if rpe else None,
        })
        title = (f'LF-Net front-end: {len(i_est)} frames, ATE {ate["rmse"]:.3f} m, drift '
                 f'{drift["drift_percent"]:.1f} % of {drift["path_length_m"]:.2f} m')
        if weights['untrained']:
            title += ' - UNTRAINED weights: not LF-Net accuracy'
        trajectory.plot_trajectories(out / 'trajectory.png', t_pair, T_gt, ate['aligned'], T_est,
                                     rpe['trans_errors'] if rpe else None, title=title)

    pair = _matches_image(out / 'matches.png', sequence, stamps, recorder, processed,
                          bool(weights['untrained']))

    diag = recorder.diagnostics[-1][1] if recorder.diagnostics else {}
    node_drops = {k: int(v) for k, v in diag.items() if k.startswith(('dropped', 'degraded'))}
    in_to_kp = [recorder.keypoints[s][0] - sent[s] for s in processed if s in sent]
    in_to_odom = [recorder.odom[s][0] - sent[s] for s in processed
                  if s in sent and s in recorder.odom]
    first, last = min(sent.values()), max(recorder.keypoints[s][0] for s in processed)
    total_matches, total_inliers = sum(match_counts), sum(inlier_counts)
    return {
        **weights,
        'backend': diag.get('backend', 'unknown'),
        'image_size': [int(sequence.rgb.shape[2]), int(sequence.rgb.shape[1])],
        'frames': {'published': len(sent), 'processed': len(processed),
                   'dropped': len(sent) - len(processed), 'node': node_drops},
        'keypoints_per_frame': _stats([len(recorder.keypoints[s][1]['uv'])
                                       for s in processed]),
        'keypoints_with_depth_per_frame': _stats([recorder.keypoints[s][1]['with_depth']
                                                  for s in processed]),
        'matches_per_frame': _stats(match_counts),
        'inliers_per_frame': _stats(inlier_counts),
        'inlier_ratio': total_inliers / total_matches if total_matches else None,
        'tracking': states,
        'trajectory': traj,
        'latency_ms': {'node': node_latencies(diag),
                       'demo_in_to_keypoints': _percentiles_ms(in_to_kp),
                       'demo_in_to_odom': _percentiles_ms(in_to_odom)},
        'processing_rate_hz': (len(processed) - 1) / (last - first)
        if len(processed) > 1 and last > first else None,
        'matches_image': pair,
    }


def _fmt(value, spec: str = '.1f') -> str:
    return 'n/a' if value is None else format(value, spec)


def format_summary(summary: Mapping[str, object]) -> str:
    """Return the human-readable summary printed at the end of the demo."""
    lines = []
    if summary['untrained']:
        banner = '!' * 78
        lines += [banner,
                  '!! UNTRAINED WEIGHTS: no --weights and no shipped lfnet_default.pt. The',
                  '!! network is random: these numbers test the plumbing and say NOTHING about',
                  "!! LF-Net's accuracy.",
                  banner]
    f, t, lat = summary['frames'], summary['trajectory'], summary['latency_ms']
    kp, mt, inl = (summary['keypoints_per_frame'], summary['matches_per_frame'],
                   summary['inliers_per_frame'])
    lines += [
        f'backend        {summary["backend"]}   weights {summary["weights"]}',
        f'frames         published {f["published"]}, processed {f["processed"]}, dropped '
        f'{f["dropped"]}' + (f'  (node: {f["node"]})' if f['node'] else ''),
        f'keypoints      {_fmt(kp["mean"])} per frame (min {_fmt(kp["min"], ".0f")}, max '
        f'{_fmt(kp["max"], ".0f")})',
        f'matches        {_fmt(mt["mean"])} per frame; PnP inliers {_fmt(inl["mean"])} per '
        f'frame; inlier ratio {_fmt(summary["inlier_ratio"], ".3f")}',
        'tracking       ' + ', '.join(f'{k} {v}' for k, v in summary['tracking'].items()),
        f'trajectory     ATE RMSE {_fmt(t.get("ate_rmse_m"), ".4f")} m (SE(3)-aligned, max '
        f'{_fmt(t.get("ate_max_m"), ".4f")} m); drift {_fmt(t.get("drift_percent"), ".2f")} % '
        f'of {_fmt(t.get("path_length_m"), ".3f")} m',
        f'               RPE per frame {_fmt(t.get("rpe_trans_rmse_m"), ".4f")} m RMSE, '
        f'{_fmt(t.get("rpe_rot_rmse_deg"), ".3f")} deg RMSE',
    ]
    node = lat['node']
    for stage in ['end_to_end', 'total'] + [s for s in node if s not in ('end_to_end', 'total')]:
        if stage in node:
            lines.append(f'latency node   {stage:<12} p50 {_fmt(node[stage].get("p50_ms"))} ms, '
                         f'p90 {_fmt(node[stage].get("p90_ms"))} ms')
    for key in ('demo_in_to_keypoints', 'demo_in_to_odom'):
        lines.append(f'latency demo   {key[8:]:<12} p50 {_fmt(lat[key]["p50_ms"])} ms, '
                     f'p90 {_fmt(lat[key]["p90_ms"])} ms')
    lines.append(f'rate           {_fmt(summary["processing_rate_hz"], ".2f")} frames/s '
                 f'processed ({summary["pacing"]}); wall {summary["wall_s"]:.1f} s')
    return '\n'.join(lines)


def load_tum_sequence(root: str, max_frames: int) -> SimpleNamespace:
    """Read a TUM RGB-D folder as the demo's sequence (rgb, depth, T_world_cam, K, timestamps)."""
    frames = list(TumSequence(root))[:max_frames]
    if len(frames) < 2:
        raise DemoError(f'{root}: fewer than 2 frames with depth and ground truth')
    return SimpleNamespace(rgb=np.stack([f.rgb for f in frames]),
                           depth=np.stack([f.depth for f in frames]).astype(np.float32),
                           T_world_cam=np.stack([f.T_world_cam for f in frames]),
                           K=frames[0].K, timestamps=np.array([f.timestamp for f in frames]))


def run_demo(args: argparse.Namespace) -> Dict[str, object]:
    """Run the demo with parsed arguments (the ROS environment already set); return the summary."""
    start = time.monotonic()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = weights_status(args.weights)
    if args.tum:
        sequence = load_tum_sequence(args.tum, args.frames)
    else:
        width, height = args.size
        sequence = generate_sequence(args.frames, width, height, seed=args.seed, progress=True)
    stamps = [int(round(t * 1e9)) for t in sequence.timestamps]

    node = NodeProcess(node_command(args), out / 'node.log')
    context = rclpy.Context()
    recorder = None
    try:
        rclpy.init(args=[], context=context)
        recorder = Recorder(context)
        if not recorder.spin_until(recorder.matched, args.startup_timeout, node):
            raise DemoError(f'the node did not match the demo topics within '
                            f'{args.startup_timeout} s:\n{node.log_tail()}')
        sent = _publish_frames(recorder, node, sequence, stamps, args)
        _collect(recorder, node, stamps)
    finally:
        node_rc = node.stop()
        if recorder is not None:
            recorder.destroy()
        rclpy.try_shutdown(context=context)

    summary = analyse(sequence, stamps, sent, recorder, out, weights)
    summary['pacing'] = (f'open loop at {args.rate:g} Hz' if args.open_loop else
                         'closed loop' + (f', at most {args.rate:g} Hz' if args.rate > 0 else ''))
    summary['node_exit_status'] = node_rc
    summary['wall_s'] = time.monotonic() - start
    summary['ros'] = {k: os.environ.get(k) for k in (
        'ROS_DOMAIN_ID', 'ROS_AUTOMATIC_DISCOVERY_RANGE', 'FASTDDS_DEFAULT_PROFILES_FILE')}
    summary['files'] = sorted({p.name for p in out.iterdir() if p.is_file()} | {'summary.json'})
    (out / 'summary.json').write_text(json.dumps(summary, indent=2, default=str) + '\n')
    return summary


def parse_size(text: str) -> tuple:
    """Parse ``WIDTHxHEIGHT`` for argparse: (width, height), each at least 33 (2 x border + 1)."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must be WIDTHxHEIGHT, got {text!r}') from None
    if width < 33 or height < 33:
        raise argparse.ArgumentTypeError(f'size {text!r} is too small (at least 33x33)')
    return width, height


def build_parser() -> argparse.ArgumentParser:
    """Return the ``lfnet-demo`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='lfnet-demo', formatter_class=argparse.RawDescriptionHelpFormatter,
        description='Run the embedded RGB-D sequence through the LF-Net ROS 2 front-end node '
                    'over real topics and summarise features, matches, odometry and latency.',
        epilog='Pacing: closed loop by default (the next frame goes out when the previous '
               "frame's keypoints came back, at most --rate Hz; --rate 0: no cap), so nothing "
               'is dropped on a slow CPU. --open-loop publishes at --rate Hz like a camera and '
               'lets the node drop what it cannot keep up with. The no-ROS pair demo is '
               'lfnet-pair-demo.')
    parser.add_argument('--out', default='out/demo', help='output folder (default out/demo)')
    parser.add_argument('--frames', type=int, default=60, help='frames to publish (>= 2)')
    parser.add_argument('--size', type=parse_size, default=(640, 480), help='WIDTHxHEIGHT')
    parser.add_argument('--backend', default='auto', choices=BACKEND_NAMES)
    parser.add_argument('--weights', help='checkpoint (.pt); default: the shipped weights')
    parser.add_argument('--top-k', type=int, default=None,
                        help="keypoints per frame (default: the node's, config/frontend.yaml)")
    parser.add_argument('--rate', type=float, default=10.0,
                        help='frames per second: the open-loop rate, or the closed-loop cap')
    parser.add_argument('--open-loop', action='store_true',
                        help='publish at --rate regardless of the node (frames may be dropped)')
    parser.add_argument('--seed', type=int, default=0, help='scene seed')
    parser.add_argument('--tum', help='publish this TUM RGB-D folder (rgb.txt, depth.txt, '
                        'groundtruth.txt) instead of the generated sequence; --frames caps it')
    parser.add_argument('--depth-encoding', choices=('32FC1', '16UC1'), default='32FC1',
                        help='depth as float metres or uint16 millimetres')
    parser.add_argument('--startup-timeout', type=float, default=300.0,
                        help='seconds to wait for the node to start and match')
    parser.add_argument('--frame-timeout', type=float, default=120.0,
                        help="seconds to wait for one frame's keypoints before moving on")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``lfnet-demo``; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.frames < 2:
        parser.error('--frames must be at least 2')
    if args.top_k is not None and args.top_k < 1:
        parser.error('--top-k must be at least 1')
    if args.open_loop and args.rate <= 0:
        parser.error('--open-loop needs --rate > 0')
    try:
        with temporary_environ(ros_environment(os.environ, os.getpid())):
            summary = run_demo(args)
    except DemoError as exc:
        print(f'lfnet-demo: {exc}', file=sys.stderr)
        return 1
    print(format_summary(summary))
    print(f'wrote {", ".join(summary["files"])} into {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
