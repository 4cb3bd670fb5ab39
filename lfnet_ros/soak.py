# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``lfnet-soak``: run the front-end node for many frames and watch its memory and latency.

The node runs in its own process (``python -m lfnet_ros.frontend_node``, reliable QoS) and this
process plays a looping sequence to it over real ROS 2 topics: the embedded synthetic RGB-D
sequence (``--loop-frames`` frames, rendered once) played forwards and backwards (a ping-pong
loop, so that the camera motion stays continuous and tracking never has to jump), with stamps
that keep growing. By default the player runs closed loop (``--rate 0``: the next frame is sent
when the previous one's keypoints came back), so every frame is processed; ``--rate HZ`` plays
open loop and lets the node drop what it cannot keep up with.

Every ``--sample-every`` frames it reads the node process's resident memory (``VmRSS`` in
``/proc/<pid>/status``) and the end-to-end latency (colour published -> keypoints received) of
the frames since the previous sample. Memory growth is measured from the first sample after
``--warmup`` frames (allocators, caches and ONNX Runtime arenas settle first) to the end (median
of the last three samples); the run fails (exit 1) when it exceeds ``--max-growth`` (default
0.05 = 5 %), when the node dies, or when frames time out.

Outputs in ``--out`` (default ``out/soak``): ``soak.json`` (arguments, samples, summary),
``soak.png`` (RSS and latency over frames; needs matplotlib), ``node.log``; a table on stdout.
"""

import argparse
import json
import os
from pathlib import Path
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import rclpy

from lfnet_core.inference import BACKEND_NAMES
from lfnet_core.scenes import generate_sequence
from lfnet_core.summary_stats import percentiles_ms
from lfnet_ros.cli_arguments import parse_size
from lfnet_ros.frame_messages import frame_messages
from lfnet_ros.node_process import node_command, NodeError, NodeLaunch, NodeProcess
from lfnet_ros.node_recorder import Recorder
from lfnet_ros.ros_environment import ros_environment, temporary_environ

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def read_rss_kib(pid: int) -> int:
    """Return the resident set size of process ``pid`` in KiB (``VmRSS``; 0 if unreadable)."""
    try:
        with open(f'/proc/{pid}/status') as status:
            for line in status:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def ping_pong(count: int, loop_frames: int) -> List[int]:
    """Return ``count`` sequence indices 0, 1, .., F-1, F-2, .., 1, 0, 1, .. (F = loop_frames)."""
    if loop_frames < 2:
        return [0] * count
    period = 2 * loop_frames - 2
    return [i if i < loop_frames else period - i for i in (k % period for k in range(count))]


def analyse(samples: Sequence[Dict[str, float]], warmup: int,
            max_growth: float) -> Dict[str, object]:
    """
    Summarise the samples: memory at warm-up and at the end, growth, latency, pass/fail.

    ``samples`` are dicts with ``frame`` (frames sent so far), ``rss_kib`` and optional
    ``p50_ms``/``p90_ms``. The baseline is the first sample at or after ``warmup`` frames; the
    end is the median of the last three samples (one-sample noise does not decide the verdict).
    """
    after = [s for s in samples if s['frame'] >= warmup]
    if len(after) < 2:
        return {'ok': False, 'reason': f'fewer than 2 samples after the {warmup}-frame warm-up',
                'growth': None}
    baseline = float(after[0]['rss_kib'])
    end = float(np.median([s['rss_kib'] for s in after[-3:]]))
    peak = float(max(s['rss_kib'] for s in after))
    growth = (end - baseline) / baseline if baseline > 0 else float('inf')
    frames = np.array([s['frame'] for s in after], np.float64)
    rss = np.array([s['rss_kib'] for s in after], np.float64)
    slope = float(np.polyfit(frames, rss, 1)[0] * 1000) if np.ptp(frames) > 0 else 0.0
    ok = growth <= max_growth
    return {'ok': ok, 'reason': '' if ok else
            f'memory grew {growth * 100:.2f} % after warm-up (limit {max_growth * 100:.1f} %)',
            'rss_warm_kib': baseline, 'rss_end_kib': end, 'rss_peak_kib': peak,
            'growth': growth, 'peak_growth': (peak - baseline) / baseline if baseline else None,
            'slope_kib_per_1000_frames': slope}


def plot(path: Path, samples: Sequence[Dict[str, float]], warmup: int) -> bool:
    """Write RSS and latency over frames to ``path``; False when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    frames = [s['frame'] for s in samples]
    fig, (ax_mem, ax_lat) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax_mem.plot(frames, [s['rss_kib'] / 1024 for s in samples], '.-')
    ax_mem.axvline(warmup, color='grey', linestyle='--', label='end of warm-up')
    ax_mem.set_ylabel('node RSS (MiB)')
    ax_mem.legend(loc='lower right')
    for key, style in (('p50_ms', '.-'), ('p90_ms', '.--')):
        ax_lat.plot(frames, [s[key] if s[key] is not None else np.nan for s in samples], style,
                    label=key.replace('_ms', ''))
    ax_lat.set_ylabel('end-to-end latency (ms)')
    ax_lat.set_xlabel('frames sent')
    ax_lat.legend(loc='upper right')
    fig.suptitle('lfnet-soak: front-end node memory and latency')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def format_table(report: Dict[str, object]) -> str:
    """Return the samples and the summary as a text table."""
    lines = [f'{"frames":>7} {"RSS MiB":>8} {"p50 ms":>7} {"p90 ms":>7} {"processed":>9}']
    for s in report['samples']:
        p50 = '-' if s['p50_ms'] is None else f'{s["p50_ms"]:.1f}'
        p90 = '-' if s['p90_ms'] is None else f'{s["p90_ms"]:.1f}'
        lines.append(f'{s["frame"]:>7} {s["rss_kib"] / 1024:>8.1f} {p50:>7} {p90:>7} '
                     f'{s["processed"]:>9}')
    summary = report['summary']
    if summary.get('growth') is not None:
        lines.append(f'RSS after warm-up {summary["rss_warm_kib"] / 1024:.1f} MiB, at the end '
                     f'{summary["rss_end_kib"] / 1024:.1f} MiB: growth '
                     f'{summary["growth"] * 100:+.2f} % (peak {summary["peak_growth"] * 100:+.2f}'
                     f' %, slope {summary["slope_kib_per_1000_frames"]:.0f} KiB per 1000 '
                     'frames)')
    lines.append(f'frames sent {report["frames_sent"]}, processed {report["frames_processed"]}, '
                 f'timed out {report["frames_timed_out"]}; latency p50 '
                 f'{report["latency"]["p50_ms"]:.1f} ms, p90 {report["latency"]["p90_ms"]:.1f} ms'
                 if report['latency']['p50_ms'] is not None else 'no latency measured')
    lines.append('PASS' if summary['ok'] else f'FAIL: {summary["reason"]}')
    return '\n'.join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``lfnet-soak`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='lfnet-soak', description='Run the front-end node on a looping sequence for N '
        'frames; report its memory (RSS) and latency over time.')
    parser.add_argument('--frames', type=int, default=5000, help='frames to send (default 5000)')
    parser.add_argument('--warmup', type=int, default=None,
                        help='frames before the memory baseline (default: 10 %% of --frames, '
                        'at most 500)')
    parser.add_argument('--max-growth', type=float, default=0.05,
                        help='largest allowed RSS growth after warm-up (default 0.05 = 5 %%)')
    parser.add_argument('--sample-every', type=int, default=None,
                        help='frames between samples (default: --frames / 50, at least 10)')
    parser.add_argument('--loop-frames', type=int, default=30,
                        help='frames of the generated sequence, played ping-pong (default 30)')
    parser.add_argument('--size', type=parse_size, default=(160, 120),
                        help='image size WxH (default 160x120)')
    parser.add_argument('--backend', choices=BACKEND_NAMES, default='onnxruntime')
    parser.add_argument('--top-k', type=int, default=100)
    parser.add_argument('--weights', help='checkpoint (default: the shipped weights)')
    parser.add_argument('--rate', type=float, default=0.0,
                        help='frames per second, open loop; 0 (default): closed loop')
    parser.add_argument('--frame-timeout', type=float, default=30.0,
                        help='seconds to wait for one frame in closed loop')
    parser.add_argument('--startup-timeout', type=float, default=120.0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='out/soak', help='output folder')
    return parser


def run_soak(args: argparse.Namespace) -> Dict[str, object]:
    """Run the soak (see the module doc) and return the report."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    width, height = args.size
    sequence = generate_sequence(args.loop_frames, width, height, seed=args.seed)
    order = ping_pong(args.frames, args.loop_frames)
    period_ns = int(round(1e9 / (args.rate if args.rate > 0 else 30.0)))
    stamp0 = 1_000_000_000_000
    context = rclpy.Context()
    rclpy.init(args=[], context=context)
    recorder = Recorder(context)
    launch = NodeLaunch(backend=args.backend, top_k=args.top_k, weights=args.weights)
    node = NodeProcess(node_command(launch), out / 'node.log')
    samples: List[Dict[str, float]] = []
    all_latencies: List[float] = []
    window: List[float] = []
    sent: Dict[int, float] = {}
    timed_out = 0
    processed = 0
    started = time.monotonic()
    try:
        def ready() -> bool:
            return recorder.matched() and bool(recorder.diagnostics)
        if not recorder.spin_until(ready, args.startup_timeout, node):
            raise NodeError(f'the node did not start within {args.startup_timeout} s:\n'
                            f'{node.log_tail()}')

        def collect() -> None:
            nonlocal processed
            for stamp in [s for s in recorder.keypoints if s in sent]:
                received, _ = recorder.keypoints.pop(stamp)
                latency = received - sent.pop(stamp)
                window.append(latency)
                all_latencies.append(latency)
                processed += 1
            recorder.matches.clear()
            recorder.odom.clear()
            del recorder.diagnostics[:-1]

        def sample(frame: int) -> None:
            collect()
            entry = {'frame': frame, 'seconds': time.monotonic() - started,
                     'rss_kib': read_rss_kib(node.proc.pid), 'processed': processed}
            entry.update(percentiles_ms(window))
            window.clear()
            samples.append(entry)

        sample(0)
        for k, index in enumerate(order):
            stamp = stamp0 + k * period_ns
            messages = frame_messages(sequence.rgb[index], sequence.depth[index], sequence.K,
                                      stamp, '16UC1')
            if args.rate > 0:
                due = started + k / args.rate
                recorder.spin_until(lambda: time.monotonic() >= due, 1e9, node)
            recorder.publish_frame(messages)
            sent[stamp] = time.monotonic()
            if args.rate <= 0 and not recorder.spin_until(
                    lambda: stamp in recorder.keypoints, args.frame_timeout, node):
                timed_out += 1
                sent.pop(stamp, None)
            else:
                recorder.executor.spin_once(timeout_sec=0.0)
            if (k + 1) % args.sample_every == 0 or k + 1 == len(order):
                sample(k + 1)
        if args.rate > 0:  # the newest frame is always processed: wait for it
            last = stamp0 + (len(order) - 1) * period_ns
            recorder.spin_until(lambda: last in recorder.keypoints, args.frame_timeout, node)
            collect()
        # One sent after the last frame, so its counters include every frame.
        diagnostics = recorder.fresh_diagnostics(node) or (
            recorder.diagnostics[-1][1] if recorder.diagnostics else {})
    finally:
        status = node.stop()
        recorder.destroy()
        rclpy.try_shutdown(context=context)
    summary = analyse(samples, args.warmup, args.max_growth)
    if timed_out and args.rate <= 0:
        summary['ok'] = False
        summary['reason'] = (summary['reason'] + '; ' if summary['reason'] else '') + \
            f'{timed_out} frames timed out'
    report = {
        'arguments': {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()},
        'frames_sent': len(order), 'frames_processed': processed,
        'frames_timed_out': timed_out, 'node_exit_status': status,
        'seconds': time.monotonic() - started,
        'latency': percentiles_ms(all_latencies),
        'node_diagnostics': diagnostics, 'samples': samples, 'summary': summary,
    }
    (out / 'soak.json').write_text(json.dumps(report, indent=2))
    report['plot'] = str(out / 'soak.png') if plot(out / 'soak.png', samples, args.warmup) \
        else None
    return report


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``lfnet-soak``; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.frames < 2 or args.loop_frames < 1 or args.top_k < 1:
        parser.error('--frames must be >= 2, --loop-frames and --top-k >= 1')
    if args.warmup is None:
        args.warmup = min(args.frames // 10, 500)
    if args.sample_every is None:
        args.sample_every = max(args.frames // 50, 10)
    if not 0 <= args.warmup < args.frames or args.sample_every < 1:
        parser.error('need 0 <= --warmup < --frames and --sample-every >= 1')
    try:
        with temporary_environ(ros_environment(os.environ, os.getpid())):
            report = run_soak(args)
    except NodeError as exc:
        print(f'lfnet-soak: {exc}', file=sys.stderr)
        return EXIT_FAILED
    print(format_table(report))
    print(f'wrote {Path(args.out) / "soak.json"}' +
          (f' and {report["plot"]}' if report['plot'] else ''))
    return EXIT_OK if report['summary']['ok'] else EXIT_FAILED


if __name__ == '__main__':
    sys.exit(main())
