# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``lfnet-bench``'s ROS part: the front-end node's overhead over real topics, and its 30 Hz rate.

At one size, the node runs in its own process (``config/frontend.yaml`` with the backend,
top-K, weights, ``resize_scale`` 1 since the frames come at the size measured, and the thread
count) and this process's :class:`lfnet_ros.node_recorder.Recorder` plays the frames to it:

* closed loop: message in (colour publish) to odometry out, per frame, minus the core
  pipeline timed in-process on the same frames with the same backend (the node's overhead);
* a 30 Hz stream for ``stream_seconds``: the frames per second that come out.
"""

from dataclasses import dataclass
import os
from pathlib import Path
import tempfile
import time
from typing import Dict, List, Optional

import rclpy

from lfnet_core import benchmark as bench
from lfnet_core.inference import create_backend
from lfnet_core.summary_stats import percentiles_ms
from lfnet_ros.frame_messages import frame_messages, FrameMessages
from lfnet_ros.node_process import node_command, NodeError, NodeLaunch, NodeProcess
from lfnet_ros.node_recorder import Recorder
from lfnet_ros.recorded_outputs import node_latencies

FRAME_NS = 33_333_333  # 30 Hz stamps
STREAM_HZ = 30.0
START_TIMEOUT = 120.0
ODOM_TIMEOUT = 60.0


@dataclass(frozen=True)
class OverheadSettings:
    """
    How to measure the node.

    Attributes:
        backend: the node's (and the in-process core pipeline's) backend.
        weights: checkpoint, None for the shipped weights.
        threads: threads for both (0: the node's default, one per core here).
        warmup: untimed closed-loop frames.
        frames: timed closed-loop frames.
        stream_seconds: length of the 30 Hz stream.

    """

    backend: str
    weights: Optional[str]
    threads: int
    warmup: int
    frames: int
    stream_seconds: float

    def core_threads(self) -> int:
        """Return the threads of the in-process core pipeline (0: one per core)."""
        return self.threads or len(os.sched_getaffinity(0))


def measure_node(settings: OverheadSettings, frames: bench.BenchFrames, width: int, height: int,
                 top_k: int) -> Dict[str, object]:
    """Measure the node at one size: closed-loop overhead and the sustained 30 Hz rate."""
    at_size = frames.resized(width, height)
    n = len(at_size.rgb)
    # Core pipeline on the same frames, same backend, same thread count, in this process.
    backend = create_backend(settings.backend, weights=settings.weights,
                             threads=settings.core_threads())
    core = bench.time_backend(backend, at_size, top_k, settings.warmup,
                              max(settings.frames, 10), settings.weights)
    del backend
    command = node_command(NodeLaunch(
        backend=settings.backend, top_k=top_k, weights=settings.weights,
        resize_scale=1.0, threads=settings.threads or None))

    def messages(index: int, stamp: int) -> FrameMessages:
        return frame_messages(at_size.rgb[index % n], at_size.depth[index % n], at_size.K,
                              stamp, '16UC1')

    with tempfile.TemporaryDirectory() as tmp:
        node = NodeProcess(command, Path(tmp) / 'node.log')
        context = rclpy.Context()
        recorder = None
        try:
            rclpy.init(args=[], context=context)
            recorder = Recorder(context)
            if not recorder.spin_until(recorder.matched, START_TIMEOUT, node):
                raise NodeError(f'the node did not match the bench topics:\n{node.log_tail()}')
            stamp = 1_000_000_000
            closed: List[float] = []
            for i in range(settings.warmup + settings.frames):
                stamp += FRAME_NS
                frame = messages(i, stamp)
                recorder.pub_info.publish(frame.camera_info)
                recorder.pub_depth.publish(frame.depth)
                sent = time.monotonic()
                recorder.pub_color.publish(frame.color)
                if not recorder.spin_until(lambda s=stamp: s in recorder.odom, ODOM_TIMEOUT,
                                           node):
                    raise NodeError(f'no odometry for frame {i}:\n{node.log_tail()}')
                if i >= settings.warmup:
                    closed.append(recorder.odom[stamp][0] - sent)
            closed_diagnostics = recorder.fresh_diagnostics(node)
            # The camera streams at 30 Hz: how many frames per second come out?
            first = stamp + FRAME_NS
            start = time.monotonic()
            count = int(round(settings.stream_seconds * STREAM_HZ))
            for i in range(count):
                due = start + i / STREAM_HZ
                recorder.spin_until(lambda d=due: time.monotonic() >= d, 5.0, node)
                stamp += FRAME_NS
                recorder.publish_frame(messages(i, stamp))
            recorder.spin_until(lambda: stamp in recorder.odom, 30.0, node)
            out_times = sorted(t for s, (t, _) in recorder.odom.items() if s >= first)
            stream_diagnostics = recorder.fresh_diagnostics(node)
        finally:
            node.stop()
            if recorder is not None:
                recorder.destroy()
            rclpy.try_shutdown(context=context)
    closed_latency = {**percentiles_ms(closed), 'n': len(closed)}
    window = out_times[-1] - out_times[0] if len(out_times) > 1 else 0.0
    latencies = node_latencies(closed_diagnostics)
    return {
        'width': width, 'height': height, 'top_k': top_k, 'backend': settings.backend,
        'closed_loop_in_to_out': closed_latency,
        'core_frame': core['frame'],
        'overhead_p50_ms': closed_latency['p50_ms'] - core['frame']['p50_ms'],
        'node_reported_overhead': latencies.get('overhead', {}),
        'stream_30hz': {'sent': count, 'processed': len(out_times),
                        'fps': (len(out_times) - 1) / window if window > 0 else 0.0},
        'node_latencies': latencies,
        'node_latencies_streaming': node_latencies(stream_diagnostics),
    }
