# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``lfnet-eval BAG``: a recorded RGB-D bag through the real front-end node, scored against its truth.

The bag is what ``lfnet-bag-from-tum`` writes: colour on ``/camera/color/image_raw``, depth on
``/camera/aligned_depth_to_color/image_raw``, camera info on ``/camera/color/camera_info`` and
the ground truth on ``/ground_truth/pose`` (the topic names are options).

1. Environment as ``lfnet-demo`` (:func:`lfnet_ros.demo.ros_environment`: the big-SHM Fast DDS
   profile, ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``, a private ``ROS_DOMAIN_ID``, each only
   where unset). The node's parameters are ``config/frontend.yaml`` with ``backend``,
   ``top_k``, ``weights``, ``qos_reliability`` (and with ``--resize`` ``resize_width`` /
   ``resize_height``) overridden, written to
   ``DIR/node_params.yaml``.
2. The node: with ``launch_ros`` importable and this package in the ament index (a colcon
   install), ``launch/frontend.launch.py`` runs in a ``launch.LaunchService`` in its own
   process (its topic arguments already are the bag's topics); otherwise (``ros2 launch`` is
   not on PyPI) ``python -m lfnet_ros.frontend_node`` with the same parameters file and the
   inputs remapped to the bag topics (:class:`lfnet_ros.demo.NodeProcess`).
3. The player: the in-process :class:`lfnet_ros.bag_play.BagPlayer` (reliable publishers of the
   three camera topics on this tool's node) or, with ``--player ros2`` or ``auto`` when
   ``ros2`` is on the PATH and ``--rate > 0``, the real ``ros2 bag play`` (the bag's offered
   sensor-data QoS, so the node then subscribes best effort; untested here).

   Pacing. ``--rate 0`` (default): closed loop, the best for evaluation: every message of the
   next frame waits until the node's ``keypoints`` for the previous colour frame came back
   (``--frame-timeout`` s at most), so no frame is dropped however slow the CPU and the scores
   measure the front-end, not the machine. ``--rate R > 0``: open loop, the bag's timing
   scaled by R (1 = real time), as a camera would; the node keeps the newest frame and the
   report counts what it dropped (``frames.dropped``, ``frames.node``).
4. Records ``keypoints``, ``matches``, ``odom`` and ``/diagnostics`` (:class:`lfnet_ros.demo.
   Recorder`), stops the node and writes into ``--out`` DIR:

   * ``report.json`` (below) and a printed summary;
   * ``estimate.tum`` (the node's odometry, odom frame) and ``groundtruth.tum`` (the bag's
     ``/ground_truth/pose``, world frame); with ``--compare orb`` also ``estimate_orb.tum``;
   * ``trajectory.png``: top view of the ground truth and the SE(3)-aligned estimate(s);
   * ``errors.png``: ATE and per-frame RPE (translation) over time;
   * ``matches.png``: one frame pair's published matches (green PnP inliers);
   * ``node.log``, ``node_params.yaml``.

Trajectory scores come from evo's Python API: ``file_interface.read_tum_trajectory_file``,
``sync.associate_trajectories`` (10 ms), ``align(correct_scale=False)`` (SE(3), no scale),
``metrics.APE`` (translation) for the ATE; ``metrics.RPE`` on the unaligned pair (RPE is
invariant to the alignment) per frame (``delta`` 1 frame, translation and rotation) and per
metre (``delta`` 1 m of path, all pairs; ``None`` when the path is shorter than 1 m). The same
files give the same numbers with ``evo_ape tum groundtruth.tum estimate.tum -a``.

``--compare orb`` runs the same back-end in this process on ORB features
(:class:`OrbBackend`: ``cv2.ORB_create(nfeatures=top_k)``, packed 32-byte descriptors) through
the same :class:`lfnet_core.frontend.Frontend` (mutual nearest neighbour with the Hamming
distance instead of L2, the node's depth range and PnP RANSAC settings from the same
parameters file) on every colour frame of the bag, decoded with the node's own conversions. No
ROS is involved in that part; its latencies are this process's.

``report.json`` keys: ``bag``, ``weights``, ``untrained`` (no ``--weights`` and no shipped
``lfnet_default.pt``: random network, the LF-Net numbers say nothing about LF-Net), ``backend``
(as the node reports it), ``top_k``, ``network_size`` (``--resize`` [width, height], else
null), ``image_size``, ``node_launcher``, ``player``, ``pacing``,
``frames`` (``in``: colour frames published, ``processed``, ``dropped``, ``lost_waiting``:
closed-loop waits that timed out, ``node``: the node's drop counters),
``keypoints_per_frame`` / ``matches_per_frame`` / ``inliers_per_frame`` (mean, median, min,
max), ``inlier_ratio`` (PnP inliers / matches), ``tracking`` (frames per state ``ok``,
``init``, ``lost``), ``trajectory`` (``frames``, ``path_length_m``, ``ate``: ``rmse_m``,
``mean_m``, ``median_m``, ``max_m``; ``rpe_per_frame``: ``trans_rmse_m``, ``trans_mean_m``,
``rot_rmse_deg``; ``rpe_per_metre``: ``trans_rmse_m``, ``trans_percent``,
``rot_rmse_deg_per_m``, ``pairs``), ``latency_ms`` (``node``: the node's diagnostics per stage
and ``end_to_end``, p50/p90 over its last 100 frames (the node publishes no p99);
``in_to_keypoints`` / ``in_to_odom``: colour publish here to receipt here, p50/p90/p99),
``throughput_hz`` (processed frames per second of playback), ``comparison`` (with
``--compare``: ``lfnet`` and ``orb`` side by side with the same keys: frames, keypoints,
matches, inliers, inlier ratio, tracking, trajectory, latency; else null), ``wall_s``, ``ros``,
``files``.
"""

import argparse
import copy
import json
import math
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from rclpy.serialization import deserialize_message
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import CameraInfo, Image
from tqdm import tqdm
import yaml

from lfnet_core import trajectory
from lfnet_core.evaluation.features import to_grey_uint8
from lfnet_core.frontend import Frame, Frontend, FrontendConfig
from lfnet_core.inference import BACKEND_NAMES
from lfnet_core.transforms import make_pose, quaternion_to_rotation
from lfnet_ros import bag_from_tum as tum_topics
from lfnet_ros import conversions as conv
from lfnet_ros import demo
from lfnet_ros.bag_play import BagPlayer, BagPlayError
from lfnet_ros.node_parameters import ransac_config

PACKAGE = 'lfnet_ros'
COMPARE_METHODS = ('orb',)
PLAYERS = ('auto', 'builtin', 'ros2')
MAX_DIFF_S = 0.01  # evo association tolerance
DEPTH_SLOP_NS = 20_000_000  # colour/depth pairing in the in-process ORB run (the node's slop)
LAUNCH_SNIPPET = '''
import sys
from launch import LaunchDescription, LaunchService
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
arguments = [tuple(a.split(':=', 1)) for a in sys.argv[2:]]
service = LaunchService()
service.include_launch_description(LaunchDescription([IncludeLaunchDescription(
    PythonLaunchDescriptionSource(sys.argv[1]), launch_arguments=arguments)]))
sys.exit(service.run())
'''


class EvalError(RuntimeError):
    """The evaluation cannot go on."""


# --------------------------------------------------------------------------- ORB "backend"


class OrbBackend:
    """
    ORB behind the ``Backend.extract`` contract, for :class:`lfnet_core.frontend.Frontend`.

    ``cv2.ORB_create(nfeatures=top_k)`` on the grey image LF-Net sees
    (:func:`lfnet_core.evaluation.features.to_grey_uint8`), the ``top_k`` strongest responses
    kept; ``scales`` are OpenCV's keypoint diameters in pixels, ``orientations`` radians,
    ``descriptors`` (N, 32) packed uint8 bits: use ``FrontendConfig(match_metric='hamming')``.
    """

    name = 'orb'

    def __init__(self) -> None:
        self.last_timings: Dict[str, float] = {}

    def extract(self, image: np.ndarray, top_k: Optional[int] = None) -> Dict[str, np.ndarray]:
        """Detect and describe at most ``top_k`` (default 1000) ORB keypoints in ``image``."""
        top_k = 1000 if top_k is None else int(top_k)
        if top_k < 1:
            raise ValueError(f'top_k must be >= 1, got {top_k}')
        start = time.perf_counter()
        grey = to_grey_uint8(image)
        preprocess = time.perf_counter() - start
        start = time.perf_counter()
        keypoints, descriptors = cv2.ORB_create(nfeatures=top_k).detectAndCompute(grey, None)
        self.last_timings = {'preprocess': preprocess, 'orb': time.perf_counter() - start}
        if descriptors is None or not keypoints:
            empty = np.zeros(0, np.float32)
            return {'keypoints': np.zeros((0, 2), np.float32), 'scales': empty,
                    'orientations': empty, 'scores': empty,
                    'descriptors': np.zeros((0, 32), np.uint8)}
        response = np.array([k.response for k in keypoints], np.float32)
        order = np.argsort(-response, kind='stable')[:top_k]
        return {
            'keypoints': np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2)[order],
            'scales': np.array([k.size for k in keypoints], np.float32)[order],
            'orientations': np.radians([k.angle for k in keypoints]).astype(np.float32)[order],
            'scores': response[order],
            'descriptors': np.ascontiguousarray(descriptors[order], dtype=np.uint8),
        }


# --------------------------------------------------------------------------- reading the bag


def _read(bag: str, topics: Sequence[str]) -> Iterator[Tuple[str, int, bytes]]:
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if c.topic in topics]
        for connection, stamp_ns, raw in reader.messages(connections=connections):
            yield connection.topic, stamp_ns, raw


def bag_topics(bag: str) -> Dict[str, str]:
    """Return ``{topic: type}`` of the bag."""
    with Reader(bag) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def bag_frames(bag: str, topics: SimpleNamespace, depth_scale: float = 0.001
               ) -> Iterator[Tuple[int, np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]]:
    """
    Yield ``(stamp ns, rgb, depth metres or None, K or None)`` per colour message of the bag.

    Decoded with the node's conversions; the depth is the newest depth message within 20 ms of
    the colour stamp, K the newest camera info (as the node does).
    """
    K, depth = None, None
    for topic, _, raw in _read(bag, (topics.color, topics.depth, topics.info)):
        if topic == topics.info:
            K = conv.camera_info_to_K(deserialize_message(raw, CameraInfo))
        elif topic == topics.depth:
            msg = deserialize_message(raw, Image)
            depth = (conv.stamp_to_ns(msg.header.stamp), conv.depth_to_metres(msg, depth_scale))
        else:
            msg = deserialize_message(raw, Image)
            stamp = conv.stamp_to_ns(msg.header.stamp)
            frame_depth = depth[1] if depth is not None and \
                abs(depth[0] - stamp) <= DEPTH_SLOP_NS else None
            yield stamp, conv.color_to_rgb(msg), frame_depth, K


def bag_ground_truth(bag: str, topic: str) -> Tuple[np.ndarray, np.ndarray]:
    """Return (stamps s, (N, 4, 4) camera-to-world poses) from the bag's PoseStamped topic."""
    from geometry_msgs.msg import PoseStamped
    stamps, poses = [], []
    for _, _, raw in _read(bag, (topic,)):
        msg = deserialize_message(raw, PoseStamped)
        p, q = msg.pose.position, msg.pose.orientation
        stamps.append(conv.stamp_to_ns(msg.header.stamp) * 1e-9)
        poses.append(make_pose(quaternion_to_rotation([q.x, q.y, q.z, q.w]), [p.x, p.y, p.z]))
    return np.asarray(stamps, np.float64), np.array(poses).reshape(-1, 4, 4)


class _BagImages:
    """``images[i]``: the colour image of the i-th colour stamp, read from the bag on demand."""

    def __init__(self, bag: str, topic: str, stamps: List[int]) -> None:
        self.bag, self.topic, self.stamps = bag, topic, stamps

    def __getitem__(self, index: int) -> np.ndarray:
        wanted = self.stamps[index]
        for _, _, raw in _read(self.bag, (self.topic,)):
            msg = deserialize_message(raw, Image)
            if conv.stamp_to_ns(msg.header.stamp) == wanted:
                return conv.color_to_rgb(msg)
        raise KeyError(wanted)


# --------------------------------------------------------------------------- scoring


def _stats(values: Sequence[float]) -> Dict[str, Optional[float]]:
    return demo._stats(values)


def percentiles_ms(seconds: Sequence[float]) -> Dict[str, Optional[float]]:
    """Return ``{'p50_ms', 'p90_ms', 'p99_ms'}`` of latencies in seconds (None when empty)."""
    values = np.asarray(seconds, dtype=np.float64) * 1e3
    if values.size == 0:
        return {'p50_ms': None, 'p90_ms': None, 'p99_ms': None}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {'p50_ms': float(p50), 'p90_ms': float(p90), 'p99_ms': float(p99)}


def _finite(value) -> Optional[float]:
    value = float(value)
    return value if math.isfinite(value) else None


def evaluate_trajectory(groundtruth: Path, estimate: Path) -> Dict[str, object]:
    """
    Score the TUM file ``estimate`` against ``groundtruth`` with evo (see the module doc).

    Returns:
        The report's ``trajectory`` dict, plus private ``_plot`` arrays (stamps, ground truth
        and aligned estimate positions, ATE and RPE errors) that the caller pops.

    """
    from evo.core import metrics, sync
    from evo.core.metrics import PoseRelation, Unit
    from evo.tools import file_interface

    ref = file_interface.read_tum_trajectory_file(str(groundtruth))
    est = file_interface.read_tum_trajectory_file(str(estimate))
    result: Dict[str, object] = {'frames': 0, 'path_length_m': None, 'ate': None,
                                 'rpe_per_frame': None, 'rpe_per_metre': None}
    try:
        ref, est = sync.associate_trajectories(ref, est, max_diff=MAX_DIFF_S)
    except Exception as exc:  # noqa: B902 - evo raises SyncException and others
        result['error'] = f'association failed: {exc}'
        return result
    result['frames'] = int(est.num_poses)
    result['path_length_m'] = float(ref.path_length)
    if est.num_poses < 3:
        result['error'] = f'{est.num_poses} associated poses: too few to align'
        return result
    aligned = copy.deepcopy(est)
    try:
        aligned.align(ref, correct_scale=False)
        result['ate_aligned'] = True
    except Exception as exc:  # noqa: B902 - evo GeometryException: estimate barely moved
        # A front-end that lost track on nearly every frame holds its pose, so the estimate
        # is (almost) one point and SE(3) alignment is undefined: report the ATE unaligned
        # (both trajectories start at the first camera) and say so.
        result['ate_aligned'] = False
        result['ate_alignment_error'] = str(exc)
        aligned = copy.deepcopy(est)
    ape = metrics.APE(PoseRelation.translation_part)
    ape.process_data((ref, aligned))
    s = ape.get_all_statistics()
    result['ate'] = {'rmse_m': s['rmse'], 'mean_m': s['mean'], 'median_m': s['median'],
                     'max_m': s['max']}
    rpe_t = metrics.RPE(PoseRelation.translation_part, delta=1, delta_unit=Unit.frames)
    rpe_t.process_data((ref, est))
    rpe_r = metrics.RPE(PoseRelation.rotation_angle_deg, delta=1, delta_unit=Unit.frames)
    rpe_r.process_data((ref, est))
    result['rpe_per_frame'] = {'trans_rmse_m': rpe_t.get_statistic(metrics.StatisticsType.rmse),
                               'trans_mean_m': rpe_t.get_statistic(metrics.StatisticsType.mean),
                               'rot_rmse_deg': rpe_r.get_statistic(metrics.StatisticsType.rmse)}
    if ref.path_length >= 1.0:
        try:
            per_m_t = metrics.RPE(PoseRelation.translation_part, delta=1.0,
                                  delta_unit=Unit.meters, all_pairs=True)
            per_m_t.process_data((ref, est))
            per_m_r = metrics.RPE(PoseRelation.rotation_angle_deg, delta=1.0,
                                  delta_unit=Unit.meters, all_pairs=True)
            per_m_r.process_data((ref, est))
            rmse = per_m_t.get_statistic(metrics.StatisticsType.rmse)
            result['rpe_per_metre'] = {
                'trans_rmse_m': rmse, 'trans_percent': 100.0 * rmse,
                'rot_rmse_deg_per_m': per_m_r.get_statistic(metrics.StatisticsType.rmse),
                'pairs': int(len(per_m_t.error))}
        except Exception as exc:  # noqa: B902 - evo: no pairs 1 m apart, etc.
            result['rpe_per_metre_error'] = str(exc)
    else:
        result['rpe_per_metre_error'] = f'path {ref.path_length:.3f} m is shorter than 1 m'
    result['_plot'] = {'t': ref.timestamps - ref.timestamps[0], 'gt': ref.positions_xyz,
                       'est': aligned.positions_xyz, 'ate': np.asarray(ape.error),
                       'rpe': np.asarray(rpe_t.error)}
    return result


def _colours() -> Dict[str, str]:
    return {'lfnet': 'tab:blue', 'orb': 'tab:orange'}


def plot_trajectory(path: Path, plots: Dict[str, dict], title: str) -> None:
    """Write the top view: ground truth and every method's SE(3)-aligned estimate."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(7, 6.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    gt = next(iter(plots.values()))['gt']
    a, b = trajectory.top_view_axes(gt)
    axes.plot(gt[:, a], gt[:, b], '-', color='black', lw=2, label='ground truth')
    axes.plot(gt[:1, a], gt[:1, b], 'o', color='black', label='start')
    for name, plot in plots.items():
        axes.plot(plot['est'][:, a], plot['est'][:, b], '.-', color=_colours().get(name),
                  lw=1.2, ms=3, label=f'{name} (SE(3)-aligned)')
    axes.set_xlabel(f'{"xyz"[a]} (m)')
    axes.set_ylabel(f'{"xyz"[b]} (m)')
    axes.set_aspect('equal', adjustable='datalim')
    axes.grid(True, alpha=0.3)
    axes.legend(loc='best', fontsize=8)
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(str(path))


def plot_errors(path: Path, plots: Dict[str, dict], title: str) -> None:
    """Write ATE (aligned) and per-frame RPE translation over time for every method."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(9, 6), dpi=100)
    FigureCanvasAgg(figure)
    ate_axes, rpe_axes = figure.subplots(2, 1, sharex=True)
    for name, plot in plots.items():
        colour = _colours().get(name)
        ate_axes.plot(plot['t'], plot['ate'] * 100.0, '.-', color=colour, label=name)
        rpe_axes.plot(plot['t'][1:len(plot['rpe']) + 1], plot['rpe'] * 100.0, '.-',
                      color=colour, label=name)
    ate_axes.set_ylabel('ATE (cm)')
    rpe_axes.set_ylabel('RPE per frame (cm)')
    rpe_axes.set_xlabel('time (s)')
    for axes in (ate_axes, rpe_axes):
        axes.grid(True, alpha=0.3)
        axes.legend(loc='best', fontsize=8)
    ate_axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(str(path))


# --------------------------------------------------------------------------- the node


def node_parameters(args: argparse.Namespace, reliability: str) -> Dict[str, object]:
    """Return config/frontend.yaml's parameters with this run's overrides."""
    data = yaml.safe_load(demo.find_package_file('config/frontend.yaml').read_text())
    params = dict(data['/**']['ros__parameters'])
    params.update({'backend': args.backend, 'qos_reliability': reliability})
    if args.top_k is not None:
        params['top_k'] = int(args.top_k)
    if args.pyramid_levels is not None:
        params['pyramid_levels'] = int(args.pyramid_levels)
    if args.resize:
        params['resize_width'], params['resize_height'] = args.resize
    if args.weights:
        params['weights'] = str(Path(args.weights).resolve())
    return params


def _launch_available() -> bool:
    try:
        import launch  # noqa: F401
        import launch_ros  # noqa: F401
        from ament_index_python.packages import get_package_share_directory
        get_package_share_directory(PACKAGE)
    except Exception:  # noqa: B902 - not installed or not in the ament index
        return False
    return True


def start_node(params_file: Path, topics: SimpleNamespace, log: Path
               ) -> Tuple[demo.NodeProcess, str]:
    """Start the node (launch file or plain process, see the module doc); return it and how."""
    if _launch_available():
        from ament_index_python.packages import get_package_share_directory
        launch_file = Path(get_package_share_directory(PACKAGE)) / 'launch' / \
            'frontend.launch.py'
        command = [sys.executable, '-c', LAUNCH_SNIPPET, str(launch_file),
                   f'params_file:={params_file}', f'color_topic:={topics.color}',
                   f'depth_topic:={topics.depth}', f'camera_info_topic:={topics.info}']
        return demo.NodeProcess(command, log), 'launch_ros (launch/frontend.launch.py)'
    command = [sys.executable, '-m', 'lfnet_ros.frontend_node', '--ros-args',
               '--params-file', str(params_file),
               '-r', f'color/image_raw:={topics.color}',
               '-r', f'depth/image_raw:={topics.depth}',
               '-r', f'color/camera_info:={topics.info}']
    return demo.NodeProcess(command, log), 'process (python -m lfnet_ros.frontend_node)'


def _choose_player(name: str, rate: float) -> str:
    if name == 'auto':
        return 'ros2' if rate > 0 and shutil.which('ros2') else 'builtin'
    if name == 'ros2' and not shutil.which('ros2'):
        raise EvalError('--player ros2: no ros2 command on the PATH')
    if name == 'ros2' and rate <= 0:
        raise EvalError('--player ros2 cannot run closed loop: give --rate > 0')
    return name


def play_builtin(recorder: demo.Recorder, node: demo.NodeProcess, args: argparse.Namespace,
                 topics: SimpleNamespace) -> Dict[str, object]:
    """Play the camera topics in-process; return ``{'sent': {stamp: time}, 'lost': n}``."""
    player = BagPlayer(recorder.node, args.bag, [topics.info, topics.depth, topics.color],
                       qos='reliable')

    def spin_once(timeout: float) -> None:
        if not node.alive():
            raise demo.DemoError(f'the front-end node exited with {node.proc.returncode}:\n'
                                 f'{node.log_tail()}')
        recorder.executor.spin_once(timeout_sec=timeout)

    def ready() -> bool:
        subscribed = all(s.get_publisher_count() >= 1 for s in recorder.subs)
        return subscribed and not player.unmatched()
    if not recorder.spin_until(ready, args.startup_timeout, node):
        raise EvalError(f'the node did not match the player and recorder topics within '
                        f'{args.startup_timeout} s (unmatched: {player.unmatched()}):\n'
                        f'{node.log_tail()}')
    sent: Dict[int, float] = {}
    state = {'last': None, 'waited': None, 'lost': 0}

    def gate(topic: str, stamp_ns: int) -> None:
        last = state['last']
        if last is None or stamp_ns <= last or state['waited'] == last:
            return
        state['waited'] = last
        if not recorder.spin_until(lambda: last in recorder.keypoints, args.frame_timeout, node):
            state['lost'] += 1

    def published(topic: str, stamp_ns: int) -> None:
        if topic == topics.color:
            sent[stamp_ns] = time.monotonic()
            state['last'] = stamp_ns

    player.play(spin_once, args.rate, gate if args.rate == 0 else None, published)
    if sent and not recorder.spin_until(lambda: max(sent) in recorder.keypoints,
                                        args.frame_timeout, node):
        state['lost'] += 1
    return {'sent': sent, 'lost': state['lost']}


def play_ros2(recorder: demo.Recorder, node: demo.NodeProcess, args: argparse.Namespace,
              topics: SimpleNamespace, stamps: List[int]) -> Dict[str, object]:
    """Play with the real ``ros2 bag play`` at ``--rate`` (open loop); untested on this host."""
    if not recorder.spin_until(lambda: all(s.get_publisher_count() >= 1 for s in recorder.subs),
                               args.startup_timeout, node):
        raise EvalError(f'the node did not start within {args.startup_timeout} s:\n'
                        f'{node.log_tail()}')
    command = ['ros2', 'bag', 'play', args.bag, '--rate', f'{args.rate:g}', '--delay', '2',
               '--topics', topics.info, topics.depth, topics.color]
    start = time.monotonic()
    proc = subprocess.Popen(command, env=dict(os.environ))
    while proc.poll() is None:
        recorder.spin_until(lambda: proc.poll() is not None, 1.0, node)
    # ros2 bag play gives no per-message hook: publish times are estimated from the bag times
    first = stamps[0] if stamps else 0
    offset = start + 2.0
    sent = {s: offset + (s - first) * 1e-9 / args.rate for s in stamps}
    lost = 0
    if stamps and not recorder.spin_until(lambda: stamps[-1] in recorder.keypoints,
                                          args.frame_timeout, node):
        lost = 1
    return {'sent': sent, 'lost': lost}


# --------------------------------------------------------------------------- ORB comparison


def run_orb(args: argparse.Namespace, topics: SimpleNamespace, params: Dict[str, object],
            groundtruth: Path, out: Path) -> Dict[str, object]:
    """Run the ORB back-end over the bag's frames; return its comparison entry."""
    config = FrontendConfig(
        top_k=int(params['top_k']), resize=args.resize, match_metric='hamming',
        resize_scale=None if args.resize else float(params.get('resize_scale', 1.0)),
        depth_min=float(params['depth_min']),
        depth_max=float(params['depth_max']), ransac=ransac_config(params))
    frontend = Frontend(OrbBackend(), config)
    depth_scale = float(params['depth_scale'])
    stamps, poses, keypoints, matches, inliers = [], [], [], [], []
    states = {'ok': 0, 'init': 0, 'lost': 0}
    timings: Dict[str, List[float]] = {}
    for stamp, rgb, depth, K in tqdm(bag_frames(args.bag, topics, depth_scale),
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
    entry = method_entry(len(stamps), len(stamps), keypoints, matches, inliers, states,
                         evaluate_trajectory(groundtruth, estimate))
    entry['latency_ms'] = {stage: percentiles_ms(v) for stage, v in sorted(timings.items())
                           if any(v)}
    entry['latency_ms']['source'] = 'this process (no ROS)'
    return entry


def method_entry(frames_in: int, processed: int, keypoints: Sequence[int],
                 matches: Sequence[int], inliers: Sequence[int], states: Dict[str, int],
                 traj: Dict[str, object]) -> Dict[str, object]:
    """Return one method's comparison entry (the same keys for LF-Net and ORB)."""
    total_matches, total_inliers = sum(matches), sum(inliers)
    return {'frames': {'in': frames_in, 'processed': processed},
            'keypoints_per_frame': _stats(keypoints), 'matches_per_frame': _stats(matches),
            'inliers_per_frame': _stats(inliers),
            'inlier_ratio': total_inliers / total_matches if total_matches else None,
            'tracking': dict(states), 'trajectory': traj}


# --------------------------------------------------------------------------- the run


def _check_bag(bag: str, topics: SimpleNamespace) -> None:
    if not Path(bag).exists():
        raise EvalError(f'{bag}: no such bag')
    try:
        present = bag_topics(bag)
    except Exception as exc:  # noqa: B902 - rosbags raises several error types
        raise EvalError(f'cannot read bag {bag}: {exc}') from exc
    missing = [t for t in (topics.color, topics.depth, topics.info, topics.ground_truth)
               if t not in present]
    if missing:
        raise EvalError(f'{bag} lacks {missing} (has {sorted(present)}); see the --*-topic '
                        'options')


def _pair_title(name: str, traj: Dict[str, object]) -> str:
    ate = traj.get('ate')
    return f'{name} ATE {ate["rmse_m"]:.3f} m' if ate else f'{name} ATE n/a'


def run_eval(args: argparse.Namespace) -> Dict[str, object]:
    """Run the evaluation (the ROS environment already set); return the report."""
    start = time.monotonic()
    topics = SimpleNamespace(color=args.color_topic, depth=args.depth_topic,
                             info=args.camera_info_topic, ground_truth=args.ground_truth_topic)
    _check_bag(args.bag, topics)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = demo.weights_status(args.weights)
    player_kind = _choose_player(args.player, args.rate)
    params = node_parameters(args, 'reliable' if player_kind == 'builtin' else 'best_effort')
    params_file = out / 'node_params.yaml'
    params_file.write_text(yaml.safe_dump({'/**': {'ros__parameters': params}},
                                          sort_keys=False))
    colour_stamps = [conv.stamp_to_ns(deserialize_message(raw, Image).header.stamp)
                     for _, _, raw in _read(args.bag, (topics.color,))]

    import rclpy
    node, launcher = start_node(params_file, topics, out / 'node.log')
    context = rclpy.Context()
    recorder = None
    try:
        rclpy.init(args=[], context=context)
        recorder = demo.Recorder(context)
        if player_kind == 'builtin':
            played = play_builtin(recorder, node, args, topics)
        else:
            played = play_ros2(recorder, node, args, topics, colour_stamps)
        demo._collect(recorder, node, colour_stamps)
    except BagPlayError as exc:
        raise EvalError(str(exc)) from exc
    finally:
        node_rc = node.stop()
        if recorder is not None:
            recorder.destroy()
        rclpy.try_shutdown(context=context)

    sent = played['sent']
    stamps = [s for s in colour_stamps if s in sent] or colour_stamps
    processed = [s for s in stamps if s in recorder.keypoints]
    if not processed:
        raise EvalError(f'the node processed no frame:\n{node.log_tail()}')

    # ground truth and estimate as TUM files, scored with evo
    gt_stamps, gt_poses = bag_ground_truth(args.bag, topics.ground_truth)
    trajectory.write_tum(out / 'groundtruth.tum', gt_stamps, gt_poses)
    est_stamps = [s for s in processed if s in recorder.odom]
    T_est = np.array([demo.odom_to_matrix(recorder.odom[s][1]) for s in est_stamps])
    trajectory.write_tum(out / 'estimate.tum', np.asarray(est_stamps, np.float64) * 1e-9,
                         T_est.reshape(-1, 4, 4))
    traj = evaluate_trajectory(out / 'groundtruth.tum', out / 'estimate.tum')

    match_counts = [len(recorder.matches[s][1]) for s in processed[1:] if s in recorder.matches]
    inlier_counts = [int(recorder.matches[s][1]['inlier'].sum()) for s in processed[1:]
                     if s in recorder.matches]
    states = {'ok': 0, 'init': 0, 'lost': 0}
    for s in processed:
        if s in recorder.odom:
            states[demo.tracking_state(recorder.odom[s][1])] += 1
    keypoint_counts = [len(recorder.keypoints[s][1]['uv']) for s in processed]
    lfnet = method_entry(len(stamps), len(processed), keypoint_counts, match_counts,
                         inlier_counts, states, traj)

    diag = recorder.diagnostics[-1][1] if recorder.diagnostics else {}
    in_to_kp = [recorder.keypoints[s][0] - sent[s] for s in processed if s in sent]
    in_to_odom = [recorder.odom[s][0] - sent[s] for s in processed
                  if s in sent and s in recorder.odom]
    first, last = min(sent.values()), max(recorder.keypoints[s][0] for s in processed)
    latency = {'node': demo.node_latencies(diag),
               'in_to_keypoints': percentiles_ms(in_to_kp),
               'in_to_odom': percentiles_ms(in_to_odom)}
    lfnet['latency_ms'] = latency

    comparison = None
    plots = {}
    if '_plot' in traj:
        plots['lfnet'] = traj.pop('_plot')
    if args.compare == 'orb':
        orb = run_orb(args, topics, params, out / 'groundtruth.tum', out)
        if '_plot' in orb['trajectory']:
            plots['orb'] = orb['trajectory'].pop('_plot')
        comparison = {'methods': ['lfnet', 'orb'], 'lfnet': lfnet, 'orb': orb,
                      'note': 'same frames, same Frontend, mutual NN (L2 for LF-Net, Hamming '
                              'for ORB), same PnP RANSAC; LF-Net through the ROS node, ORB '
                              'in-process'}

    suffix = ' - UNTRAINED LF-Net weights: not LF-Net accuracy' if weights['untrained'] else ''
    methods = {'lfnet': lfnet, **({'orb': comparison['orb']} if comparison else {})}
    title = ', '.join(_pair_title(name, entry['trajectory']) for name, entry in methods.items())
    if plots:
        plot_trajectory(out / 'trajectory.png', plots, f'{Path(args.bag).name}: {title}{suffix}')
        plot_errors(out / 'errors.png', plots, f'{Path(args.bag).name}: {title}{suffix}')
    sequence = SimpleNamespace(rgb=_BagImages(args.bag, topics.color, stamps))
    pair = demo._matches_image(out / 'matches.png', sequence, stamps, recorder, processed,
                               bool(weights['untrained']))

    first_size = _BagImages(args.bag, topics.color, stamps)[0].shape
    report = {
        'bag': str(Path(args.bag).resolve()),
        **weights,
        'backend': diag.get('backend', 'unknown'),
        'top_k': int(params['top_k']),
        'network_size': list(FrontendConfig(
            resize=args.resize, resize_scale=float(params.get('resize_scale', 1.0))
        ).network_size(int(first_size[1]), int(first_size[0]))),
        'pyramid_levels': int(params.get('pyramid_levels', 1)),
        'image_size': [int(first_size[1]), int(first_size[0])],
        'node_launcher': launcher,
        'player': 'lfnet-bag-play (in-process BagPlayer)' if player_kind == 'builtin'
        else 'ros2 bag play',
        'pacing': 'closed loop' if args.rate == 0 else f'open loop at {args.rate:g}x bag time',
        'frames': {'in': len(stamps), 'processed': len(processed),
                   'dropped': len(stamps) - len(processed), 'lost_waiting': played['lost'],
                   'node': {k: int(v) for k, v in diag.items()
                            if k.startswith(('dropped', 'degraded'))}},
        'keypoints_per_frame': lfnet['keypoints_per_frame'],
        'matches_per_frame': lfnet['matches_per_frame'],
        'inliers_per_frame': lfnet['inliers_per_frame'],
        'inlier_ratio': lfnet['inlier_ratio'],
        'tracking': lfnet['tracking'],
        'trajectory': traj,
        'latency_ms': latency,
        'throughput_hz': (len(processed) - 1) / (last - first)
        if len(processed) > 1 and last > first else None,
        'comparison': comparison,
        'matches_image': pair,
        'node_exit_status': node_rc,
        'wall_s': time.monotonic() - start,
        'ros': {k: os.environ.get(k) for k in (
            'ROS_DOMAIN_ID', 'ROS_AUTOMATIC_DISCOVERY_RANGE', 'FASTDDS_DEFAULT_PROFILES_FILE')},
    }
    report['files'] = sorted({p.name for p in out.iterdir() if p.is_file()} | {'report.json'})
    (out / 'report.json').write_text(json.dumps(report, indent=2, default=_json_default) + '\n')
    return report


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _fmt(value, spec: str = '.3f') -> str:
    return 'n/a' if value is None else format(value, spec)


def _method_lines(name: str, entry: Dict[str, object]) -> List[str]:
    t = entry['trajectory']
    ate = t.get('ate') or {}
    frame = t.get('rpe_per_frame') or {}
    metre = t.get('rpe_per_metre') or {}
    return [
        f'{name:<6} keypoints {_fmt(entry["keypoints_per_frame"]["mean"], ".1f")}, matches '
        f'{_fmt(entry["matches_per_frame"]["mean"], ".1f")}, inliers '
        f'{_fmt(entry["inliers_per_frame"]["mean"], ".1f")} per frame; inlier ratio '
        f'{_fmt(entry["inlier_ratio"])}; tracking '
        + ', '.join(f'{k} {v}' for k, v in entry['tracking'].items()),
        f'{"":<6} ATE RMSE {_fmt(ate.get("rmse_m"), ".4f")} m (SE(3)); RPE/frame '
        f'{_fmt(frame.get("trans_rmse_m"), ".4f")} m, {_fmt(frame.get("rot_rmse_deg"))} deg; '
        f'RPE/m {_fmt(metre.get("trans_percent"), ".2f")} %',
    ]


def format_report(report: Dict[str, object]) -> str:
    """Return the printed summary of a report."""
    lines = []
    if report['untrained']:
        lines += ['!' * 78, '!! UNTRAINED WEIGHTS: no --weights and no shipped lfnet_default.pt:'
                  ' the', "!! LF-Net numbers test the plumbing, NOT LF-Net's accuracy.", '!' * 78]
    f = report['frames']
    lines += [f'bag      {report["bag"]}',
              f'node     {report["node_launcher"]}, backend {report["backend"]}, top-k '
              f'{report["top_k"]}, weights {report["weights"]}',
              f'player   {report["player"]}, {report["pacing"]}',
              f'frames   in {f["in"]}, processed {f["processed"]}, dropped {f["dropped"]}'
              + (f' (node: {f["node"]})' if f['node'] else '')]
    comparison = report['comparison']
    if comparison:
        for name in comparison['methods']:
            lines += _method_lines(name, comparison[name])
    else:
        lines += _method_lines('lfnet', {k: report[k] for k in (
            'keypoints_per_frame', 'matches_per_frame', 'inliers_per_frame', 'inlier_ratio',
            'tracking', 'trajectory')})
    latency = report['latency_ms']
    for stage in ('end_to_end', 'total', 'dense', 'describe'):
        if stage in latency['node']:
            v = latency['node'][stage]
            lines.append(f'latency  node {stage:<10} p50 {_fmt(v.get("p50_ms"), ".1f")} ms, '
                         f'p90 {_fmt(v.get("p90_ms"), ".1f")} ms')
    v = latency['in_to_odom']
    lines.append(f'latency  in -> odom       p50 {_fmt(v["p50_ms"], ".1f")} ms, p90 '
                 f'{_fmt(v["p90_ms"], ".1f")} ms, p99 {_fmt(v["p99_ms"], ".1f")} ms')
    lines.append(f'rate     {_fmt(report["throughput_hz"], ".2f")} frames/s; wall '
                 f'{report["wall_s"]:.1f} s')
    return '\n'.join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``lfnet-eval`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='lfnet-eval', formatter_class=argparse.RawDescriptionHelpFormatter,
        description='Play an RGB-D bag (lfnet-bag-from-tum) through the LF-Net front-end node '
                    'and score features, matches, odometry (evo ATE/RPE) and latency.',
        epilog='Pacing: --rate 0 (default) is closed loop: the next frame goes out when the '
               "node's keypoints for the previous one came back, so nothing is dropped and the "
               'scores measure the front-end. --rate R > 0 plays at R x the bag time (open '
               'loop) and counts what the node drops.')
    parser.add_argument('bag', help='rosbag2 folder')
    parser.add_argument('--out', default='out/eval', help='output folder (default out/eval)')
    parser.add_argument('--backend', default='auto', choices=BACKEND_NAMES)
    parser.add_argument('--weights', help='checkpoint (.pt); default: the shipped weights')
    parser.add_argument('--top-k', type=int, default=None,
                        help="keypoints per frame (default: the node's, config/frontend.yaml)")
    parser.add_argument('--resize', type=demo.parse_size, default=None, metavar='WxH',
                        help='size the network runs at (node parameters resize_width and '
                        "resize_height; the ORB comparison too); default: the node's "
                        '(resize_scale of config/frontend.yaml)')
    parser.add_argument('--pyramid-levels', type=int, default=None, metavar='N',
                        help="node parameter pyramid_levels (default: the node's)")
    parser.add_argument('--compare', choices=COMPARE_METHODS,
                        help='also run the same back-end on these features in-process')
    parser.add_argument('--rate', type=float, default=0.0,
                        help='0: closed loop (default); R > 0: open loop at R x bag time')
    parser.add_argument('--player', choices=PLAYERS, default='auto',
                        help='auto: ros2 bag play when on the PATH and --rate > 0, else the '
                             'in-process player')
    parser.add_argument('--color-topic', default=tum_topics.COLOR_TOPIC)
    parser.add_argument('--depth-topic', default=tum_topics.DEPTH_TOPIC)
    parser.add_argument('--camera-info-topic', default=tum_topics.INFO_TOPIC)
    parser.add_argument('--ground-truth-topic', default=tum_topics.POSE_TOPIC)
    parser.add_argument('--startup-timeout', type=float, default=300.0,
                        help='seconds to wait for the node to start and match')
    parser.add_argument('--frame-timeout', type=float, default=120.0,
                        help="seconds to wait for one frame's keypoints (closed loop)")
    return parser


def _writable_home(environ) -> Optional[str]:
    """Return a temporary HOME when $HOME is missing or not writable (evo writes there)."""
    home = environ.get('HOME')
    if home and os.path.isdir(home) and os.access(home, os.W_OK):
        return None
    return tempfile.mkdtemp(prefix='lfnet_eval_home_')


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``lfnet-eval``; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.top_k is not None and args.top_k < 1:
        parser.error('--top-k must be at least 1')
    if args.rate < 0:
        parser.error('--rate must be >= 0')
    set_env = demo.ros_environment(os.environ, os.getpid())
    home = _writable_home(os.environ)
    if home:
        set_env['HOME'] = home
    try:
        with demo.temporary_environ(set_env):
            report = run_eval(args)
    except (EvalError, demo.DemoError) as exc:
        print(f'lfnet-eval: {exc}', file=sys.stderr)
        return 1
    print(format_report(report))
    print(f'wrote {", ".join(report["files"])} into {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
