# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""`lfnet-bench`: per-stage timings of every backend, OpenCV references and the node's overhead.

In one process and one run, at each size: the FLOPs of the network and the machine's measured
FP32 matrix-multiply rate (the compute limit); for every available backend the median and
p90 of each stage of `Frontend.process` on real frames (a TUM-layout RGB-D sequence, by default
``../shared/data/tum_fr3_cabinet``; the generated sequence without it); OpenCV ORB and SIFT with
the same matcher; then the front-end node in its own process over real ROS 2 topics: message
in to message out, closed loop, minus the core pipeline on the same frames (the node's
overhead), and the rate it sustains when the camera streams at 30 Hz.
"""

import argparse
import json
import os
from pathlib import Path
import sys
from typing import Dict, Optional, Sequence

from lfnet_core import benchmark as bench
from lfnet_core.inference import BackendUnavailableError, create_backend
from lfnet_ros.cli_arguments import parse_size
from lfnet_ros.ros_environment import ros_environment, temporary_environ

DEFAULT_TUM = Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'tum_fr3_cabinet'


def _size(text: str) -> tuple:
    """Parse ``WIDTHxHEIGHT[:TOP_K]`` into (width, height, top_k or None)."""
    spec, _, top_k = text.strip().partition(':')
    width, height = parse_size(spec)
    try:
        count = int(top_k) if top_k else None
    except ValueError:
        raise argparse.ArgumentTypeError(f'top-K in {text!r} must be an integer') from None
    if count is not None and count < 1:
        raise argparse.ArgumentTypeError(f'top-K in {text!r} must be >= 1')
    return width, height, count


def _sizes(args: argparse.Namespace) -> list:
    """Return [(width, height, top_k)], the --top-k default where a size gives none."""
    out = []
    for text in args.sizes.split(','):
        if text.strip():
            width, height, top_k = _size(text)
            out.append((width, height, top_k or args.top_k))
    return out


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of lfnet-bench."""
    parser = argparse.ArgumentParser(prog='lfnet-bench', description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='640x480,320x240',
                        help='comma-separated WIDTHxHEIGHT[:TOP_K] sizes (default '
                             '640x480,320x240; TOP_K overrides --top-k at that size)')
    parser.add_argument('--top-k', type=int, default=1000, help='keypoint budget (default 1000)')
    parser.add_argument('--backends', default='torch,onnxruntime,tensorrt',
                        help='backends to time; unavailable ones are reported and skipped')
    parser.add_argument('--opencv', default='orb,sift', help='OpenCV references ("" for none)')
    parser.add_argument('--tum', default=None,
                        help=f'TUM-layout RGB-D folder (default {DEFAULT_TUM} when present, '
                             'else the generated sequence)')
    parser.add_argument('--frames', type=int, default=20, help='distinct frames to cycle over')
    parser.add_argument('--warmup', type=int, default=3, help='untimed frames per backend')
    parser.add_argument('--repeats', type=int, default=20, help='timed frames per backend')
    parser.add_argument('--threads', type=int, default=0,
                        help='threads for every backend (0: one per core)')
    parser.add_argument('--weights', default=None, help='checkpoint (default: shipped weights)')
    parser.add_argument('--node-backend', default='onnxruntime',
                        help='backend of the node run ("none" skips the ROS measurement)')
    parser.add_argument('--node-frames', type=int, default=30,
                        help='closed-loop frames for the node overhead')
    parser.add_argument('--stream-seconds', type=float, default=10.0,
                        help='length of the 30 Hz stream for the sustained rate')
    parser.add_argument('--profile', action='store_true',
                        help='also print ONNX Runtime kernel time per operator type')
    parser.add_argument('--json', default=None, help='write every number to this JSON file')
    return parser


def _threads(args: argparse.Namespace) -> int:
    return args.threads or len(os.sched_getaffinity(0))


def _backends(args: argparse.Namespace) -> Dict[str, object]:
    """Create each requested backend once; {name: backend or the reason it is unavailable}."""
    import torch
    torch.set_num_threads(_threads(args))
    out: Dict[str, object] = {}
    for name in [n.strip() for n in args.backends.split(',') if n.strip()]:
        try:
            out[name] = create_backend(name, weights=args.weights, threads=_threads(args))
        except (BackendUnavailableError, ImportError) as exc:
            out[name] = f'unavailable: {exc}'
    return out


def keypoints_returned(backends: Dict[str, object], frames: bench.BenchFrames,
                       top_k: int, count: int = 3) -> int:
    """Mean keypoints one backend returns on the first `count` frames (at most `top_k`).

    Fewer than K where `DetectorConfig.min_contrast` drops peaks on flat areas: the describe
    stage's FLOPs are counted for these. K when no backend is available.
    """
    if not backends:
        return top_k
    backend = next(iter(backends.values()))
    found = [len(backend.extract(rgb, top_k)['keypoints']) for rgb in frames.rgb[:count]]
    return max(1, round(sum(found) / len(found)))


def run_core(args: argparse.Namespace, frames: bench.BenchFrames) -> Dict[str, object]:
    """Time every backend and OpenCV reference at every size; return the report dict."""
    threads = _threads(args)
    report: Dict[str, object] = {
        'frames': frames.name, 'top_k': args.top_k, 'threads': threads,
        'cpu': _cpu_name(), 'matmul_probes_gflops': [bench.matmul_rate(threads)], 'sizes': []}
    backends = _backends(args)
    report['unavailable'] = {k: v for k, v in backends.items() if isinstance(v, str)}
    available = {k: v for k, v in backends.items() if not isinstance(v, str)}
    report['describe_workers'] = {k: v.describe_workers for k, v in available.items()}
    from lfnet_core.model.lfnet import load_lfnet  # torch: imported only when timing
    model_config = load_lfnet(args.weights).config  # FLOPs of the model timed (DoG, pooling)
    for width, height, top_k in _sizes(args):
        at_size = frames.resized(width, height)
        described = keypoints_returned(available, at_size, top_k)
        entry = {'width': width, 'height': height, 'top_k': top_k, 'keypoints': described,
                 'flops': bench.network_flops(height, width, described, model_config),
                 'backends': {}, 'opencv': {}}
        if available:
            print(f'timing {", ".join(available)} in turn at {width}x{height} ...',
                  file=sys.stderr, flush=True)
            timed = bench.time_backends(available, at_size, top_k, args.warmup, args.repeats,
                                        args.weights)
            entry['backends'] = timed.stages
            if 'torch' in available:
                entry['speedup_vs_torch'] = {name: timed.speedup(name, 'torch')
                                             for name in available if name != 'torch'}
        if args.profile and 'onnxruntime' in available:
            entry['onnxruntime_profile'] = bench.onnxruntime_profile(
                available['onnxruntime'], at_size.rgb[0], top_k)
        for method in [m.strip() for m in args.opencv.split(',') if m.strip()]:
            entry['opencv'][method] = bench.time_opencv(method, at_size, top_k,
                                                        args.warmup, args.repeats)
        report['sizes'].append(entry)
        # The VM's speed drifts during a run: probe again after each size, and take the
        # fastest probe as the limit (a slow probe would flatter every fraction).
        report['matmul_probes_gflops'].append(bench.matmul_rate(threads))
    report['matmul_gflops'] = max(report['matmul_probes_gflops'])
    return report


def _cpu_name() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown'


# ---------------------------------------------------------------------------------------------
# Output


def format_report(report: Dict[str, object]) -> str:
    """Return the human-readable tables of a report."""
    rate = report['matmul_gflops']
    lines = [f"lfnet-bench: {report['frames']} frames, top-K {report['top_k']}, "
             f"{report['threads']} threads, {report['cpu']}",
             f'measured FP32 matmul rate (compute limit): {rate:.1f} GFLOP/s, the fastest of '
             f"{len(report['matmul_probes_gflops'])} probes spread over the run ("
             + ', '.join(f'{p:.0f}' for p in report['matmul_probes_gflops']) + ')']
    for name, why in report.get('unavailable', {}).items():
        lines.append(f'{name}: {why}')
    for name, workers in report.get('describe_workers', {}).items():
        if workers > 1:
            lines.append(f'{name}: describe graph run as {workers} keypoint slices at once, '
                         'one one-thread session each')
    for entry in report['sizes']:
        width, height, flops = entry['width'], entry['height'], entry['flops']
        lines += ['', f"== {width}x{height}, top-K {entry['top_k']}: dense "
                      f"{flops['dense'] / 1e9:.2f} GFLOP, describe "
                      f"{flops['describe'] / 1e9:.2f} GFLOP for the {entry['keypoints']} "
                      'keypoints returned']
        header = f"{'stage':12s}" + ''.join(f'{name:>22s}' for name in entry['backends'])
        lines.append(header + '   (p50 / p90 ms)')
        for stage, what in bench.STAGES:
            row = f'{stage:12s}'
            for timings in entry['backends'].values():
                t = timings.get(stage)
                row += f"{t['p50_ms']:13.1f} /{t['p90_ms']:7.1f}" if t else f"{'-':>22s}"
            lines.append(row + f'   {what}')
        for name, timings in entry['backends'].items():
            dense = bench.compute_fraction(flops['dense'], timings['dense']['p50_ms'] / 1e3, rate)
            desc = bench.compute_fraction(flops['describe'],
                                          timings['descriptor']['p50_ms'] / 1e3, rate)
            achieved = flops['dense'] / timings['dense']['p50_ms'] / 1e6
            lines.append(f'{name}: dense at {100 * dense:.1f}% of the compute limit '
                         f'({achieved:.1f} GFLOP/s), '
                         f'descriptor network at {100 * desc:.1f}%; '
                         f'{1000.0 / timings["frame"]["p50_ms"]:.1f} frames/s')
        for name, paired in entry.get('speedup_vs_torch', {}).items():
            ratio_of_p50s = (entry['backends']['torch']['frame']['p50_ms']
                             / entry['backends'][name]['frame']['p50_ms'])
            lines.append(f"{name} vs torch eager (whole frame): {paired['median']:.2f}x, median "
                         f"of {paired['n']} frames timed in turn (IQR {paired['p25']:.2f}-"
                         f"{paired['p75']:.2f}x; ratio of the p50s {ratio_of_p50s:.2f}x)")
        for graph, ops in entry.get('onnxruntime_profile', {}).items():
            top = ', '.join(f'{op} {ms:.1f}' for op, ms in list(ops.items())[:8])
            lines.append(f'onnxruntime profile, {graph} ({sum(ops.values()):.1f} ms of kernels): '
                         f'{top}')
        for method, timings in entry['opencv'].items():
            detect = timings['detect_describe']['p50_ms']
            lines.append(f'opencv {method}: detect+describe {detect:.1f}'
                         f" ms, match {timings['match']['p50_ms']:.1f} ms, frame "
                         f"{timings['frame']['p50_ms']:.1f} ms p50")
    for node in report.get('node', []):
        closed, core = node['closed_loop_in_to_out'], node['core_frame']
        reported = node['node_reported_overhead']
        queue = node['node_latencies'].get('queue', {})
        publish = node['node_latencies'].get('publish', {})
        lines += ['', f"== node over ROS 2 at {node['width']}x{node['height']}, top-K "
                      f"{node['top_k']} ({node['backend']})",
                  f"message in -> odom out (closed loop): p50 {closed['p50_ms']:.1f} ms, "
                  f"p90 {closed['p90_ms']:.1f} ms",
                  f"core pipeline, same frames in-process: p50 {core['p50_ms']:.1f} ms",
                  f'node overhead, measured per frame in the node (colour callback in to last '
                  f'publish out, minus the core pipeline): p50 '
                  f"{reported.get('p50_ms', float('nan')):.1f} ms, p90 "
                  f"{reported.get('p90_ms', float('nan')):.1f} ms (queue "
                  f"{queue.get('p50_ms', float('nan')):.1f}, publish "
                  f"{publish.get('p50_ms', float('nan')):.1f} ms p50); difference of the "
                  f"external and in-process p50s: {node['overhead_p50_ms']:.1f} ms",
                  f"camera at 30 Hz: {node['stream_30hz']['processed']} of "
                  f"{node['stream_30hz']['sent']} frames processed, "
                  f"{node['stream_30hz']['fps']:.1f} frames/s sustained"]
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry point of lfnet-bench."""
    args = build_parser().parse_args(argv)
    tum = args.tum or (str(DEFAULT_TUM) if DEFAULT_TUM.is_dir() else None)
    frames = bench.load_frames(tum, args.frames)
    report = run_core(args, frames)
    report['node'] = []
    if args.node_backend != 'none':
        # The ROS part imports rclpy: optional, so lfnet-bench --node-backend none runs without.
        from lfnet_ros.node_overhead import measure_node, OverheadSettings
        settings = OverheadSettings(
            backend=args.node_backend, weights=args.weights, threads=args.threads,
            warmup=args.warmup, frames=args.node_frames, stream_seconds=args.stream_seconds)
        with temporary_environ(ros_environment(os.environ, os.getpid())):
            for size in _sizes(args):
                print(f'node at {size[0]}x{size[1]} ...', file=sys.stderr, flush=True)
                report['node'].append(measure_node(settings, frames, *size))
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
