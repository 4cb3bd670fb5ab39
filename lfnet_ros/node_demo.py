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
     ground truth, the ATE / per-frame RPE over time, and under them the per-frame tracking
     state and rotation error (:func:`lfnet_ros.trajectory_plots.plot_overview`);
   * ``matches.png``: the frame pair with the most ground-truth motion among those the node's
     matches (chained over a few consecutive frames) still connect with PnP inliers, drawn from
     the published keypoints (circles of their scale, orientation ticks) and matches clouds on
     the two published colour frames (green PnP inliers, red outliers;
     :mod:`lfnet_ros.match_image`);
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
``lost`` includes the node's ``no_depth``), ``trajectory`` (scored from the two TUM files
with evo, as ``lfnet-eval`` does: :func:`lfnet_ros.trajectory_scores.score_trajectory`;
``ate_rmse_m`` / ``ate_mean_m`` / ``ate_max_m`` after SE(3) alignment, ``ate_aligned``,
``drift_percent`` = final-position error / ground-truth path length, ``final_error_m``,
``path_length_m``, per-frame RPE ``rpe_trans_rmse_m`` / ``rpe_trans_mean_m`` /
``rpe_rot_rmse_deg``; ``error`` when fewer than 3 poses could be scored), ``latency_ms`` (the
node's diagnostics per stage and ``end_to_end`` p50/p90, and ``demo_in_to_keypoints`` /
``demo_in_to_odom`` p50/p90 measured here from colour publish to message receipt), ``wall_s``,
``processing_rate_hz``, ``ros`` (the environment used) and ``files``. evo writes its settings
under ``$HOME``; a temporary one is used where it is missing or read-only.
"""

import argparse
from dataclasses import dataclass
import os
from pathlib import Path
import sys
import time
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import rclpy
from tqdm import tqdm

from lfnet_core import trajectory
from lfnet_core.inference import BACKEND_NAMES
from lfnet_core.scenes import generate_sequence
from lfnet_core.summary_stats import distribution, percentiles_ms
from lfnet_core.tum import TumSequence
from lfnet_ros.cli_arguments import parse_size
from lfnet_ros.frame_messages import DEPTH_ENCODINGS, frame_messages
from lfnet_ros.match_image import write_matches_image
from lfnet_ros.node_process import node_command, NodeError, NodeLaunch, NodeProcess, \
    weights_status
from lfnet_ros.node_recorder import Recorder
from lfnet_ros.recorded_outputs import node_latencies, write_run_record
from lfnet_ros.ros_environment import ros_environment, ros_variables, temporary_environ
from lfnet_ros.trajectory_plots import plot_overview
from lfnet_ros.trajectory_scores import evo_home, score_trajectory


@dataclass
class DemoSequence:
    """
    The frames the demo publishes, with their truth.

    Attributes:
        rgb: (N, H, W, 3) uint8.
        depth: (N, H, W) float32 metres (0: no depth).
        T_world_cam: (N, 4, 4) ground-truth camera-to-world poses.
        K: (3, 3) intrinsics.
        timestamps: (N,) seconds.

    """

    rgb: np.ndarray
    depth: np.ndarray
    T_world_cam: np.ndarray
    K: np.ndarray
    timestamps: np.ndarray

    @classmethod
    def generated(cls, frames: int, width: int, height: int, seed: int) -> 'DemoSequence':
        """Render the default synthetic sequence (exact depth and poses)."""
        sequence = generate_sequence(frames, width, height, seed=seed, progress=True)
        return cls(sequence.rgb, sequence.depth, sequence.T_world_cam, sequence.K,
                   sequence.timestamps)

    @classmethod
    def from_tum(cls, root: str, max_frames: int) -> 'DemoSequence':
        """Read the first ``max_frames`` frames of a TUM RGB-D folder."""
        frames = list(TumSequence(root))[:max_frames]
        if len(frames) < 2:
            raise NodeError(f'{root}: fewer than 2 frames with depth and ground truth')
        return cls(rgb=np.stack([f.rgb for f in frames]),
                   depth=np.stack([f.depth for f in frames]).astype(np.float32),
                   T_world_cam=np.stack([f.T_world_cam for f in frames]),
                   K=frames[0].K, timestamps=np.array([f.timestamp for f in frames]))


def node_launch(args: argparse.Namespace) -> NodeLaunch:
    """Return the node's parameter overrides for the demo's arguments."""
    return NodeLaunch(backend=args.backend, top_k=args.top_k, weights=args.weights)


def publish_frames(recorder: Recorder, node: NodeProcess, sequence: DemoSequence,
                   stamps: List[int], args: argparse.Namespace) -> Dict[int, float]:
    """Publish every frame with the chosen pacing; return {stamp ns: colour publish time}."""
    sent: Dict[int, float] = {}
    period = 1.0 / args.rate if args.rate > 0 else 0.0
    start = time.monotonic()
    last = -np.inf
    for index in tqdm(range(len(stamps)), desc='publishing', unit='frame'):
        messages = frame_messages(sequence.rgb[index], sequence.depth[index], sequence.K,
                                  stamps[index], args.depth_encoding)
        recorder.wait_until(start + index * period if args.open_loop else last + period, node)
        last = time.monotonic()
        recorder.publish_frame(messages)
        sent[stamps[index]] = time.monotonic()
        if not args.open_loop:
            recorder.wait_for_keypoints(stamps[index], args.frame_timeout, node)
    if args.open_loop:  # the newest frame is always processed: wait for it
        recorder.wait_for_keypoints(stamps[-1], args.frame_timeout, node)
    return sent


def trajectory_entry(report: Mapping[str, object]) -> Dict[str, object]:
    """Return the summary's flat ``trajectory`` entry from evo's scores (see the doc)."""
    ate = report.get('ate') or {}
    rpe = report.get('rpe_per_frame') or {}
    drift = report.get('drift') or {}
    entry = {
        'frames': report['frames'], 'ate_rmse_m': ate.get('rmse_m'),
        'ate_mean_m': ate.get('mean_m'), 'ate_max_m': ate.get('max_m'),
        'ate_aligned': report.get('ate_aligned'),
        'drift_percent': drift.get('drift_percent'), 'final_error_m': drift.get('final_error_m'),
        'path_length_m': report['path_length_m'],
        'rpe_trans_rmse_m': rpe.get('trans_rmse_m'), 'rpe_trans_mean_m': rpe.get('trans_mean_m'),
        'rpe_rot_rmse_deg': rpe.get('rot_rmse_deg'),
    }
    if 'error' in report:
        entry['error'] = report['error']
    return entry


def analyse(sequence: DemoSequence, stamps: List[int], sent: Dict[int, float],
            recorder: Recorder, out: Path, weights: Dict[str, object]) -> Dict[str, object]:
    """Compute the summary and write the files (see the module doc); return the summary."""
    run = recorder.recorded_run(stamps, sent)
    if not run.processed:
        raise NodeError('the node processed no frame')

    # trajectory: the estimate in the odom frame (= the first processed camera), the ground
    # truth expressed in that same frame, scored with evo
    T_world_origin = sequence.T_world_cam[stamps.index(run.processed[0])]
    T_gt = np.linalg.inv(T_world_origin) @ sequence.T_world_cam
    trajectory.write_tum(out / 'estimate.tum', *run.estimate_seconds())
    trajectory.write_tum(out / 'groundtruth.tum', np.asarray(stamps, np.float64) * 1e-9, T_gt)
    score = score_trajectory(out / 'groundtruth.tum', out / 'estimate.tum')
    traj = trajectory_entry(score.report)
    if score.curves is not None:
        title = (f'LF-Net front-end: {traj["frames"]} frames, ATE {traj["ate_rmse_m"]:.3f} m, '
                 f'drift {traj["drift_percent"]:.1f} % of {traj["path_length_m"]:.2f} m')
        if weights['untrained']:
            title += ' - UNTRAINED weights: not LF-Net accuracy'
        plot_overview(out / 'trajectory.png', score.curves, title, run.tracking_over_time())

    pair = write_matches_image(out / 'matches.png', sequence.rgb, stamps, recorder,
                               run.processed, bool(weights['untrained']),
                               poses=dict(zip(stamps, T_gt)), pose_source='ground truth')
    return {
        **weights,
        'backend': run.diagnostics.get('backend', 'unknown'),
        'image_size': [int(sequence.rgb.shape[2]), int(sequence.rgb.shape[1])],
        'frames': {'published': len(sent), 'processed': len(run.processed),
                   'dropped': len(sent) - len(run.processed), 'node': run.node_drops()},
        'keypoints_per_frame': distribution(run.keypoint_counts),
        'keypoints_with_depth_per_frame': distribution(run.keypoints_with_depth),
        'matches_per_frame': distribution(run.match_counts),
        'inliers_per_frame': distribution(run.inlier_counts),
        'inlier_ratio': run.inlier_ratio,
        'tracking': run.tracking,
        'trajectory': traj,
        'latency_ms': {'node': node_latencies(run.diagnostics),
                       'demo_in_to_keypoints': percentiles_ms(run.in_to_keypoints),
                       'demo_in_to_odom': percentiles_ms(run.in_to_odom)},
        'processing_rate_hz': run.throughput_hz,
        'matches_image': pair,
    }


def _fmt(value: Optional[float], spec: str = '.1f') -> str:
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


def run_demo(args: argparse.Namespace) -> Dict[str, object]:
    """Run the demo with parsed arguments (the ROS environment already set); return the summary."""
    start = time.monotonic()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = weights_status(args.weights)
    if args.tum:
        sequence = DemoSequence.from_tum(args.tum, args.frames)
    else:
        sequence = DemoSequence.generated(args.frames, *args.size, seed=args.seed)
    stamps = [int(round(t * 1e9)) for t in sequence.timestamps]

    node = NodeProcess(node_command(node_launch(args)), out / 'node.log')
    context = rclpy.Context()
    recorder = None
    try:
        rclpy.init(args=[], context=context)
        recorder = Recorder(context)
        if not recorder.spin_until(recorder.matched, args.startup_timeout, node):
            raise NodeError(f'the node did not match the demo topics within '
                            f'{args.startup_timeout} s:\n{node.log_tail()}')
        sent = publish_frames(recorder, node, sequence, stamps, args)
        recorder.wait_for_outputs(stamps, node)
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
    summary['ros'] = ros_variables()
    write_run_record(out, 'summary.json', summary, str)
    return summary


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
    parser.add_argument('--depth-encoding', choices=DEPTH_ENCODINGS, default='32FC1',
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
        with temporary_environ({**ros_environment(os.environ, os.getpid()),
                                **evo_home(os.environ)}):
            summary = run_demo(args)
    except NodeError as exc:
        print(f'lfnet-demo: {exc}', file=sys.stderr)
        return 1
    print(format_summary(summary))
    print(f'wrote {", ".join(summary["files"])} into {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
