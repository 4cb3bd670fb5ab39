# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The front-end node's health: the level and message of its ``/diagnostics`` status (no ROS).

:class:`HealthMonitor` takes the node's life events (model loading, frames in, drops, frames
processed without depth, processing errors, the tracking state) with their times and
:meth:`HealthMonitor.assess` turns the last ``window`` seconds into one verdict, worst first:

* ``ERROR``: the model failed to load, or frames failed in processing within the window;
* ``STALE``: no colour image for ``stale_after`` seconds (or none yet) once the model is ready;
* ``WARN``: tracking is lost; else odometry is withheld (``no_odometry``: the camera's pose in
  ``base_frame`` is unknown); else more than ``drop_warn`` of the colour frames in the window
  were dropped (bad input, stamp or size trouble; ``superseded`` frames are not counted:
  dropping all but the newest frame is the node's policy when the camera is faster than the
  network); else frames went without 3D (no depth, no camera info) while depth is expected;
* ``OK``: otherwise, and in any state but ``running`` and ``failed``: ``starting`` (the model
  loads) and a lifecycle node's ``unconfigured`` and ``inactive``, which expect no input.
"""

import collections
from dataclasses import dataclass
import threading
from typing import Deque, Dict, Optional, Tuple

OK, WARN, ERROR, STALE = 'OK', 'WARN', 'ERROR', 'STALE'
POLICY_DROPS = frozenset({'superseded'})


@dataclass(frozen=True)
class HealthConfig:
    """Thresholds of the verdict (see the module doc); times in seconds."""

    window: float = 5.0
    stale_after: float = 3.0
    drop_warn: float = 0.2

    def __post_init__(self) -> None:
        if not self.window > 0 or not self.stale_after > 0 or not 0 <= self.drop_warn <= 1:
            raise ValueError(f'health: need window > 0, stale_after > 0 and 0 <= drop_warn <= 1, '
                             f'got {self.window}, {self.stale_after}, {self.drop_warn}')


class HealthMonitor:
    """Thread-safe record of the node's events and the verdict over a sliding window."""

    def __init__(self, config: HealthConfig = HealthConfig(), started: float = 0.0) -> None:
        self.config = config
        self.state = 'starting'
        self.state_detail = 'loading the model'
        self.tracking = 'waiting'
        self.no_odometry = ''  # why odometry is withheld, '' when it is not
        self._started = started
        self._last_input: Optional[float] = None
        self._events: Deque[Tuple[float, str, str]] = collections.deque()
        self._last_error = self._last_no_depth = ''
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ events

    def ready(self, detail: str, now: Optional[float] = None) -> None:
        """Record that frames are processed from now on; `detail` names the backend.

        With `now` (a lifecycle activation) the window and the STALE clock start again.
        """
        with self._lock:
            self.state, self.state_detail = 'running', detail
            if now is not None:
                self._started, self._last_input = now, None
                self._events.clear()

    def idle(self, state: str, detail: str) -> None:
        """Record a state that processes nothing and expects no input (e.g. ``inactive``)."""
        with self._lock:
            self.state, self.state_detail = state, detail

    def failed(self, detail: str) -> None:
        """Record that the model could not be loaded: the node processes nothing."""
        with self._lock:
            self.state, self.state_detail = 'failed', detail

    def frame_in(self, now: float) -> None:
        """Record a colour image arriving."""
        self._record(now, 'in', '')
        with self._lock:
            self._last_input = now

    def drop(self, now: float, reason: str, count: int = 1) -> None:
        """Record `count` colour frames (or depth images) dropped for `reason`."""
        for _ in range(count):
            self._record(now, 'drop', reason)

    def no_depth(self, now: float, reason: str) -> None:
        """Record a frame processed without 3D for `reason` (e.g. ``no_depth``)."""
        self._record(now, 'no_depth', reason)
        with self._lock:
            self._last_no_depth = reason

    def error(self, now: float, detail: str) -> None:
        """Record a frame that failed in processing."""
        self._record(now, 'error', detail)
        with self._lock:
            self._last_error = detail

    # ------------------------------------------------------------------ verdict

    def counts(self, now: float) -> Dict[str, int]:
        """Return the window's counts: frames in, drops (not superseded), no depth, errors."""
        with self._lock:
            self._trim(now)
            counts = collections.Counter(kind for _, kind, reason in self._events
                                         if not (kind == 'drop' and reason in POLICY_DROPS))
        return {'in': counts['in'], 'drop': counts['drop'], 'no_depth': counts['no_depth'],
                'error': counts['error']}

    def assess(self, now: float, expect_depth: bool = True) -> Tuple[str, str]:
        """Return (level, message) for the window ending at `now` (see the module doc)."""
        window = self.config.window
        counts = self.counts(now)
        with self._lock:
            state, detail, last_input = self.state, self.state_detail, self._last_input
            last_error, last_no_depth = self._last_error, self._last_no_depth
        if state == 'failed':
            return ERROR, f'model failed to load: {detail}'
        if state != 'running':  # idle: errors of frames before the pause no longer count
            return OK, f'{state}: {detail}'
        if counts['error']:
            return ERROR, (f"{counts['error']} frames failed in the last {window:g} s "
                           f'(last: {last_error})')
        since = now - (last_input if last_input is not None else self._started)
        if since >= self.config.stale_after:
            what = 'no colour image yet' if last_input is None else 'no colour image'
            return STALE, f'{what} for {since:.0f} s'
        if self.tracking == 'lost':
            return WARN, 'tracking lost'
        if self.no_odometry:
            return WARN, f'odometry withheld: {self.no_odometry}'
        if counts['in'] and counts['drop'] > self.config.drop_warn * counts['in']:
            return WARN, (f"dropped {counts['drop']} of {counts['in']} frames in the last "
                          f'{window:g} s')
        if expect_depth and counts['no_depth']:
            return WARN, (f"{counts['no_depth']} frames without 3D in the last {window:g} s "
                          f'(last: {last_no_depth})')
        return OK, f'tracking {self.tracking}'

    # ------------------------------------------------------------------ internals

    def _record(self, now: float, kind: str, reason: str) -> None:
        with self._lock:
            self._events.append((now, kind, reason))
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0][0] > self.config.window:
            self._events.popleft()
