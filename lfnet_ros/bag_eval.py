# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``lfnet-eval BAG``: a recorded RGB-D bag through the real front-end node, scored against its truth.

The bag is what ``lfnet-bag-from-tum`` writes: colour on ``/camera/color/image_raw``, depth on
``/camera/aligned_depth_to_color/image_raw``, camera info on ``/camera/color/camera_info`` and
the ground truth on ``/ground_truth/pose`` (the topic names are options).

1. Environment as ``lfnet-demo`` (:func:`lfnet_ros.ros_environment.ros_environment`: the
   big-SHM Fast DDS profile, ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``, a private
   ``ROS_DOMAIN_ID``, each only where unset). The node's parameters are
   ``config/frontend.yaml`` with ``backend``, ``top_k``, ``weights``, ``qos_reliability`` (and
   with ``--resize`` ``resize_width`` / ``resize_height``, with ``--pyramid-levels``
   ``pyramid_levels``, with ``--pool-scales`` ``descriptor_pool_scales``) overridden, written
   to ``DIR/node_params.yaml``.
2. The node: with ``launch_ros`` importable and this package in the ament index (a colcon
   install), ``launch/frontend.launch.py`` runs in a ``launch.LaunchService`` in its own
   process (its topic arguments already are the bag's topics); otherwise (``ros2 launch`` is
   not on PyPI) ``python -m lfnet_ros.frontend_node`` with the same parameters file and the
   inputs remapped to the bag topics (:mod:`lfnet_ros.node_process`).
3. The player (:mod:`lfnet_ros.bag_eval_playback`): the in-process
   :class:`lfnet_ros.bag_play.BagPlayer` (reliable publishers of the three camera topics on
   this tool's node) or, with ``--player ros2`` or ``auto`` when ``ros2`` is on the PATH and
   ``--rate > 0``, the real ``ros2 bag play`` (the bag's offered sensor-data QoS, so the node
   then subscribes best effort; untested here).

   Pacing. ``--rate 0`` (default): closed loop, the best for evaluation: every message of the
   next frame waits until the node's ``keypoints`` for the previous colour frame came back
   (``--frame-timeout`` s at most), so no frame is dropped however slow the CPU and the scores
   measure the front-end, not the machine. ``--rate R > 0``: open loop, the bag's timing
   scaled by R (1 = real time), as a camera would; the node keeps the newest frame and the
   report counts what it dropped (``frames.dropped``, ``frames.node``).
4. Records ``keypoints``, ``matches``, ``visual_odom`` and ``/diagnostics``
   (:class:`lfnet_ros.node_recorder.Recorder`), stops the node and writes into ``--out`` DIR:

   * ``report.json`` (below) and a printed summary;
   * ``estimate.tum`` (the node's odometry, odom frame) and ``groundtruth.tum`` (the bag's
     ``/ground_truth/pose``, world frame); with ``--compare orb`` also ``estimate_orb.tum``;
   * ``trajectory.png``: top view of the ground truth and the SE(3)-aligned estimate(s), under
     it LF-Net's per-frame tracking state and the per-frame rotation error;
   * ``errors.png``: ATE and per-frame RPE (translation) over time;
   * ``matches.png``: the frame pair with the most estimated motion among those the node's
     matches (chained over a few consecutive frames) still connect with PnP inliers (green
     inliers, red outliers, keypoint circles of their scale; :mod:`lfnet_ros.match_image`);
   * ``node.log``, ``node_params.yaml``.

Trajectory scores come from evo's Python API (:mod:`lfnet_ros.trajectory_scores`): SE(3)
alignment, ATE, RPE per frame and per metre; the same files give the same numbers with
``evo_ape tum groundtruth.tum estimate.tum -a``.

``--compare orb`` runs the same back-end in this process on ORB features through the same
:class:`lfnet_core.frontend.Frontend` (:mod:`lfnet_ros.orb_comparison`).

``report.json`` keys: ``bag``, ``weights``, ``untrained`` (no ``--weights`` and no shipped
``lfnet_default.pt``: random network, the LF-Net numbers say nothing about LF-Net), ``backend``
(as the node reports it), ``top_k``, ``network_size`` (the size the network runs at),
``pyramid_levels``, ``descriptor_pool_scales`` (null: the checkpoint's own), ``image_size``,
``node_launcher``, ``player``, ``pacing``,
``frames`` (``in``: colour frames published, ``processed``, ``dropped``, ``lost_waiting``:
closed-loop waits that timed out, ``node``: the node's drop counters),
``keypoints_per_frame`` / ``matches_per_frame`` / ``inliers_per_frame`` (mean, median, min,
max), ``inlier_ratio`` (PnP inliers / matches), ``tracking`` (frames per state ``ok``,
``init``, ``lost``), ``trajectory`` (:class:`lfnet_ros.trajectory_scores.TrajectoryScore`'s
report: ``frames``, ``path_length_m``, ``ate``, ``rpe_per_frame``, ``rpe_per_metre``,
``drift``), ``latency_ms`` (``node``: the node's diagnostics per stage and ``end_to_end``,
p50/p90 over its last 100 frames (the node publishes no p99); ``in_to_keypoints`` /
``in_to_odom``: colour publish here to receipt here, p50/p90/p99), ``throughput_hz``
(processed frames per second of playback), ``comparison`` (with ``--compare``: ``lfnet`` and
``orb`` side by side with the same keys: frames, keypoints, matches, inliers, inlier ratio,
tracking, trajectory, latency; else null), ``matches_image``, ``node_exit_status``,
``wall_s``, ``ros``, ``files``.
"""

import argparse
import os
from pathlib import Path
import sys
import time
from typing import Dict, Optional, Sequence, Tuple

import rclpy

from lfnet_core import trajectory
from lfnet_core.config import pool_factors
from lfnet_core.frontend import FrontendConfig
from lfnet_core.inference import BACKEND_NAMES
from lfnet_core.summary_stats import percentiles_ms
from lfnet_ros.bag_eval_playback import choose_player, play_builtin, play_ros2, \
    PlaybackError, PLAYERS
from lfnet_ros.bag_eval_report import format_report, json_default, method_entry, pair_title
from lfnet_ros.bag_play import BagPlayError
from lfnet_ros.bag_reading import bag_ground_truth, BagError, BagImages, check_bag, \
    colour_stamps, Topics
from lfnet_ros.cli_arguments import parse_size
from lfnet_ros.match_image import write_matches_image
from lfnet_ros.node_parameters import pool_scales
from lfnet_ros.node_process import launch_available, launch_file_command, node_parameters, \
    NodeError, NodeLaunch, NodeProcess, remapped_node_command, weights_status, \
    write_parameters_file
from lfnet_ros.node_recorder import Recorder
from lfnet_ros.orb_comparison import run_orb
from lfnet_ros.recorded_outputs import node_latencies, write_run_record
from lfnet_ros.ros_environment import ros_environment, ros_variables, temporary_environ
from lfnet_ros.trajectory_plots import plot_errors, plot_top_view
from lfnet_ros.trajectory_scores import evo_home, score_trajectory

COMPARE_METHODS = ('orb',)
LATENCY_PERCENTS = (50, 90, 99)


def start_node(params_file: Path, topics: Topics, log: Path) -> Tuple[NodeProcess, str]:
    """Start the node on the bag's topics (launch file or plain process); return it and how."""
    if launch_available():
        command = launch_file_command({
            'params_file': params_file, 'color_topic': topics.color,
            'depth_topic': topics.depth, 'camera_info_topic': topics.camera_info})
        return NodeProcess(command, log), 'launch_ros (launch/frontend.launch.py)'
    command = remapped_node_command(params_file, {
        'color/image_raw': topics.color, 'depth/image_raw': topics.depth,
        'color/camera_info': topics.camera_info})
    return NodeProcess(command, log), 'process (python -m lfnet_ros.frontend_node)'


def run_eval(args: argparse.Namespace) -> Dict[str, object]:
    """Run the evaluation (the ROS environment already set); return the report."""
    start = time.monotonic()
    topics = Topics(color=args.color_topic, depth=args.depth_topic,
                    camera_info=args.camera_info_topic, ground_truth=args.ground_truth_topic)
    check_bag(args.bag, topics)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = weights_status(args.weights)
    player_kind = choose_player(args.player, args.rate)
    params = node_parameters(NodeLaunch(
        backend=args.backend, top_k=args.top_k, weights=args.weights,
        pyramid_levels=args.pyramid_levels, resize=args.resize,
        pool_scales=tuple(args.pool_scales) if args.pool_scales else None,
        qos_reliability='reliable' if player_kind == 'builtin' else 'best_effort'))
    params_file = write_parameters_file(out / 'node_params.yaml', params)
    bag_stamps = colour_stamps(args.bag, topics.color)

    node, launcher = start_node(params_file, topics, out / 'node.log')
    context = rclpy.Context()
    recorder = None
    try:
        rclpy.init(args=[], context=context)
        recorder = Recorder(context)
        pacing = {'rate': args.rate, 'startup_timeout': args.startup_timeout,
                  'frame_timeout': args.frame_timeout}
        if player_kind == 'builtin':
            played = play_builtin(recorder, node, args.bag, topics, **pacing)
        else:
            played = play_ros2(recorder, node, args.bag, topics, stamps=bag_stamps, **pacing)
        recorder.wait_for_outputs(bag_stamps, node)
    finally:
        node_rc = node.stop()
        if recorder is not None:
            recorder.destroy()
        rclpy.try_shutdown(context=context)

    stamps = [s for s in bag_stamps if s in played.sent] or bag_stamps
    run = recorder.recorded_run(stamps, played.sent)
    if not run.processed:
        raise NodeError(f'the node processed no frame:\n{node.log_tail()}')

    # ground truth and estimate as TUM files, scored with evo
    trajectory.write_tum(out / 'groundtruth.tum',
                         *bag_ground_truth(args.bag, topics.ground_truth))
    trajectory.write_tum(out / 'estimate.tum', *run.estimate_seconds())
    score = score_trajectory(out / 'groundtruth.tum', out / 'estimate.tum')
    traj = score.report
    lfnet = method_entry(len(stamps), len(run.processed), run.keypoint_counts,
                         run.match_counts, run.inlier_counts, run.tracking, traj)
    latency = {'node': node_latencies(run.diagnostics),
               'in_to_keypoints': percentiles_ms(run.in_to_keypoints, LATENCY_PERCENTS),
               'in_to_odom': percentiles_ms(run.in_to_odom, LATENCY_PERCENTS)}
    lfnet['latency_ms'] = latency

    comparison = None
    curves = {'lfnet': score.curves} if score.curves else {}
    if args.compare == 'orb':
        orb, orb_curves = run_orb(args.bag, topics, params, args.resize, out / 'groundtruth.tum',
                                  out)
        if orb_curves:
            curves['orb'] = orb_curves
        comparison = {'methods': ['lfnet', 'orb'], 'lfnet': lfnet, 'orb': orb,
                      'note': 'same frames, same Frontend, mutual NN (L2 for LF-Net, Hamming '
                              'for ORB), same PnP RANSAC; LF-Net through the ROS node, ORB '
                              'in-process'}

    suffix = ' - UNTRAINED LF-Net weights: not LF-Net accuracy' if weights['untrained'] else ''
    methods = {'lfnet': lfnet, **({'orb': comparison['orb']} if comparison else {})}
    title = ', '.join(pair_title(name, entry['trajectory']) for name, entry in methods.items())
    if curves:
        plot_top_view(out / 'trajectory.png', curves, f'{Path(args.bag).name}: {title}{suffix}',
                      {'lfnet': run.tracking_over_time()})
        plot_errors(out / 'errors.png', curves, f'{Path(args.bag).name}: {title}{suffix}')
    images = BagImages(args.bag, topics.color, stamps)
    pair = write_matches_image(out / 'matches.png', images, stamps, recorder, run.processed,
                               bool(weights['untrained']))

    height, width = images[0].shape[:2]
    report = {
        'bag': str(Path(args.bag).resolve()),
        **weights,
        'backend': run.diagnostics.get('backend', 'unknown'),
        'top_k': int(params['top_k']),
        'network_size': list(FrontendConfig(
            resize=args.resize, resize_scale=float(params.get('resize_scale', 1.0))
        ).network_size(int(width), int(height))),
        'pyramid_levels': int(params.get('pyramid_levels', 1)),
        'descriptor_pool_scales': list(pool_scales(params) or ()) or None,
        'image_size': [int(width), int(height)],
        'node_launcher': launcher,
        'player': 'lfnet-bag-play (in-process BagPlayer)' if player_kind == 'builtin'
        else 'ros2 bag play',
        'pacing': 'closed loop' if args.rate == 0 else f'open loop at {args.rate:g}x bag time',
        'frames': {'in': len(stamps), 'processed': len(run.processed),
                   'dropped': len(stamps) - len(run.processed), 'lost_waiting': played.lost,
                   'node': run.node_drops()},
        **{key: lfnet[key] for key in ('keypoints_per_frame', 'matches_per_frame',
                                       'inliers_per_frame', 'inlier_ratio', 'tracking')},
        'trajectory': traj,
        'latency_ms': latency,
        'throughput_hz': run.throughput_hz,
        'comparison': comparison,
        'matches_image': pair,
        'node_exit_status': node_rc,
        'wall_s': time.monotonic() - start,
        'ros': ros_variables(),
    }
    write_run_record(out, 'report.json', report, json_default)
    return report


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
    parser.add_argument('--resize', type=parse_size, default=None, metavar='WxH',
                        help='size the network runs at (node parameters resize_width and '
                        "resize_height; the ORB comparison too); default: the node's "
                        '(resize_scale of config/frontend.yaml)')
    parser.add_argument('--pyramid-levels', type=int, default=None, metavar='N',
                        help="node parameter pyramid_levels (default: the node's)")
    parser.add_argument('--pool-scales', type=float, nargs='+', default=None, metavar='F',
                        help='node parameter descriptor_pool_scales, e.g. 0.7071 1.4142 '
                        "(default: the checkpoint's own)")
    parser.add_argument('--compare', choices=COMPARE_METHODS,
                        help='also run the same back-end on these features in-process')
    parser.add_argument('--rate', type=float, default=0.0,
                        help='0: closed loop (default); R > 0: open loop at R x bag time')
    parser.add_argument('--player', choices=PLAYERS, default='auto',
                        help='auto: ros2 bag play when on the PATH and --rate > 0, else the '
                             'in-process player')
    defaults = Topics()
    parser.add_argument('--color-topic', default=defaults.color)
    parser.add_argument('--depth-topic', default=defaults.depth)
    parser.add_argument('--camera-info-topic', default=defaults.camera_info)
    parser.add_argument('--ground-truth-topic', default=defaults.ground_truth)
    parser.add_argument('--startup-timeout', type=float, default=300.0,
                        help='seconds to wait for the node to start and match')
    parser.add_argument('--frame-timeout', type=float, default=120.0,
                        help="seconds to wait for one frame's keypoints (closed loop)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``lfnet-eval``; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.top_k is not None and args.top_k < 1:
        parser.error('--top-k must be at least 1')
    if args.rate < 0:
        parser.error('--rate must be >= 0')
    if args.pool_scales:
        try:
            args.pool_scales = pool_factors(args.pool_scales)
        except ValueError as exc:
            parser.error(f'--pool-scales: {exc}')
    try:
        with temporary_environ({**ros_environment(os.environ, os.getpid()),
                                **evo_home(os.environ)}):
            report = run_eval(args)
    except (BagError, BagPlayError, NodeError, PlaybackError) as exc:
        print(f'lfnet-eval: {exc}', file=sys.stderr)
        return 1
    print(format_report(report))
    print(f'wrote {", ".join(report["files"])} into {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
