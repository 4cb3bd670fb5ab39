# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Statistics (no ROS imports): the node's ``/diagnostics`` counters.

Latency percentiles come from :func:`lfnet_core.summary_stats.percentiles_ms`, the one
implementation the node's diagnostics, ``lfnet-bench`` and the ROS tools report with.

:meth:`FrontendStats.report` returns the key/value pairs published in the DiagnosticStatus, in a
stable order:

* ``frames_in``, ``frames_processed``: colour messages received / frames processed (totals).
* ``rate_in_hz``, ``rate_processed_hz``: over the last ``window`` seconds.
* ``dropped_total`` and ``dropped.<reason>``: frames (or depth messages) thrown away;
  ``degraded.<reason>``: frames processed without 3D; ``events.<name>``: other counted events
  (tracking lost, restarts). Reasons and names are listed in the node docstring.
* ``latency.<stage>.p50_ms`` / ``.p90_ms``: per front-end stage (the FrameResult timings) plus
  ``queue`` (arrival to worker start) and ``end_to_end`` (arrival to outputs published), over
  the last ``latency_window`` frames.
"""

import collections
import threading
from typing import Counter, Deque, Dict, List, Tuple

from lfnet_core.summary_stats import percentiles_ms


class RateMeter:
    """Events per second over a sliding wall-clock window."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self._times: Deque[float] = collections.deque()

    def tick(self, now: float) -> None:
        """Record one event at ``now`` (seconds)."""
        self._times.append(now)
        self._trim(now)

    def rate(self, now: float) -> float:
        """Return events per second over the window ending at ``now``."""
        self._trim(now)
        if len(self._times) < 2:
            return 0.0
        span = max(now - self._times[0], 1e-9)
        return (len(self._times) - 1) / span if span < self.window else \
            len(self._times) / self.window

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()


class FrontendStats:
    """Thread-safe counters, rates and latency windows for the front-end node."""

    def __init__(self, window: float = 5.0, latency_window: int = 100) -> None:
        self.frames_in = 0
        self.frames_processed = 0
        self.dropped: Counter[str] = collections.Counter()
        self.degraded: Counter[str] = collections.Counter()
        self.events: Counter[str] = collections.Counter()
        self._rate_in = RateMeter(window)
        self._rate_out = RateMeter(window)
        self._latency: Dict[str, Deque[float]] = {}
        self._latency_window = latency_window
        self._lock = threading.Lock()

    def frame_in(self, now: float) -> None:
        """Count one received colour message."""
        with self._lock:
            self.frames_in += 1
            self._rate_in.tick(now)

    def frame_processed(self, now: float) -> None:
        """Count one processed frame."""
        with self._lock:
            self.frames_processed += 1
            self._rate_out.tick(now)

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` dropped frames or messages for ``reason``."""
        if count:
            with self._lock:
                self.dropped[reason] += count

    def set_drops(self, reason: str, total: int) -> None:
        """Set a drop counter kept elsewhere (sync, slot) to its running ``total``."""
        with self._lock:
            if total:
                self.dropped[reason] = total

    def degrade(self, reason: str) -> None:
        """Count one frame processed without 3D for ``reason``."""
        with self._lock:
            self.degraded[reason] += 1

    def event(self, name: str) -> None:
        """Count one occurrence of ``name``, reported as ``events.<name>``."""
        with self._lock:
            self.events[name] += 1

    def latency(self, stage: str, seconds: float) -> None:
        """Record one latency sample for ``stage``."""
        with self._lock:
            window = self._latency.get(stage)
            if window is None:
                window = self._latency[stage] = collections.deque(maxlen=self._latency_window)
            window.append(float(seconds))

    def report(self, now: float) -> List[Tuple[str, str]]:
        """Return the diagnostics key/value pairs (see the module docstring)."""
        with self._lock:
            values = [
                ('frames_in', str(self.frames_in)),
                ('frames_processed', str(self.frames_processed)),
                ('rate_in_hz', f'{self._rate_in.rate(now):.2f}'),
                ('rate_processed_hz', f'{self._rate_out.rate(now):.2f}'),
                ('dropped_total', str(sum(self.dropped.values()))),
            ]
            values += [(f'dropped.{k}', str(v)) for k, v in sorted(self.dropped.items())]
            values += [(f'degraded.{k}', str(v)) for k, v in sorted(self.degraded.items())]
            values += [(f'events.{k}', str(v)) for k, v in sorted(self.events.items())]
            for stage in sorted(self._latency):
                values += [(f'latency.{stage}.{key}', f'{value:.1f}')
                           for key, value in percentiles_ms(self._latency[stage]).items()]
            return values
