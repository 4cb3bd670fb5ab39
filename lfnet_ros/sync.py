# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Colour/depth pairing by approximate time, and the newest-frame slot (no ROS imports).

:class:`ApproximateSync` pairs each colour message with the buffered depth message whose stamp is
nearest, if it lies within ``slop``. A colour message that finds no depth waits at most ``wait``
seconds of wall time (default: ``slop``) and is then released alone (depth ``None``), so the
front-end keeps running when depth stops. :class:`LatestSlot` hands the newest frame to a worker
thread and counts every frame it overwrites.

Time jumps (:class:`StampTimeline`, one per stream): a stamp must be newer than the last accepted
one and at most ``max_jump`` seconds ahead of it. A stamp that breaks the rule is dropped and
counted, and remembered as a candidate: when the next stamp continues the candidate's timeline
(newer than it, within ``max_jump``), the stream is taken to have jumped (a looping bag, a
restarted driver, a clock step) and restarts there; that frame is released with ``restart``
set, so the front-end re-initialises instead of matching across the jump. A single stale,
duplicated or far-future stamp therefore costs one frame and never wedges the stream.

Drop counters (``ApproximateSync.drops`` / ``LatestSlot.dropped``):

* ``out_of_order``: colour stamp not newer than the previous colour (or released) stamp.
* ``stamp_jump``: colour stamp more than ``max_jump`` ahead of the previous one.
* ``depth_out_of_order`` / ``depth_stamp_jump``: the same for depth.
* ``superseded``: a colour frame passed over because a newer one was ready first (in the sync
  or, for ``LatestSlot``, replaced before the worker took it).
* ``depth_unmatched``: a depth message that never found a colour partner within ``slop``.
"""

import collections
import dataclasses
import threading
from typing import Any, Counter, Deque, Dict, Generic, List, Optional, Tuple, TypeVar

T = TypeVar('T')


@dataclasses.dataclass
class SyncedFrame:
    """A colour message, its paired depth message (or None) and bookkeeping."""

    stamp_ns: int
    color: Any
    depth: Any = None
    depth_stamp_ns: Optional[int] = None
    received: float = 0.0  # wall time (caller's clock) when the colour message arrived
    restart: bool = False  # first frame after a time jump: the front-end must re-initialise


class StampTimeline:
    """Accept increasing stamps of one stream; confirm a time jump with a second stamp.

    :meth:`check` returns ``'ok'``, ``'restart'`` (the stamp confirms a jump: accepted, the
    stream starts over there), ``'out_of_order'`` (not newer) or ``'stamp_jump'`` (more than
    ``max_jump_ns`` ahead; ``max_jump_ns`` <= 0 disables this check). Not thread-safe.
    """

    def __init__(self, max_jump_ns: int = 0) -> None:
        self.max_jump_ns = int(max_jump_ns)
        self.last: Optional[int] = None
        self._candidate: Optional[int] = None

    def _follows(self, previous: int, stamp_ns: int) -> bool:
        return previous < stamp_ns and (self.max_jump_ns <= 0 or
                                        stamp_ns - previous <= self.max_jump_ns)

    def check(self, stamp_ns: int) -> str:
        """Classify ``stamp_ns`` (see the class doc); accepted stamps become ``last``."""
        if self.last is None or self._follows(self.last, stamp_ns):
            verdict = 'ok'
        elif self._candidate is not None and self._follows(self._candidate, stamp_ns):
            verdict = 'restart'
        else:
            self._candidate = stamp_ns
            return 'out_of_order' if stamp_ns <= self.last else 'stamp_jump'
        self.last, self._candidate = stamp_ns, None
        return verdict

    def reset(self) -> None:
        """Forget the stream: the next stamp is accepted whatever it is."""
        self.last = self._candidate = None


class ApproximateSync:
    """Pair colour and depth by nearest stamp within ``slop``; release colour alone after ``wait``.

    Thread-safe. ``now`` arguments are wall-clock seconds from one monotonic clock of the caller.
    ``max_jump`` (seconds, 0: off) bounds how far a stamp may jump ahead (see the module doc).
    """

    def __init__(self, slop: float = 0.02, use_depth: bool = True, queue_size: int = 10,
                 wait: Optional[float] = None, max_jump: float = 0.0) -> None:
        if slop < 0:
            raise ValueError(f'slop must be >= 0, got {slop}')
        if queue_size < 1:
            raise ValueError(f'queue_size must be >= 1, got {queue_size}')
        if not max_jump >= 0:
            raise ValueError(f'max_jump must be >= 0, got {max_jump}')
        self.slop_ns = int(round(slop * 1e9))
        self.wait = slop if wait is None else float(wait)
        self.use_depth = use_depth
        self.drops: Counter[str] = collections.Counter()
        self._colors: Deque[SyncedFrame] = collections.deque()
        self._depths: Deque[Tuple[int, Any]] = collections.deque()
        self._queue_size = queue_size
        self.max_jump_ns = int(round(max_jump * 1e9))
        self._color_line = StampTimeline(self.max_jump_ns)
        self._depth_line = StampTimeline(self.max_jump_ns)
        self._lock = threading.Lock()

    def drop_counts(self) -> Dict[str, int]:
        """Return a copy of the drop counters, safe while callbacks run on other threads."""
        with self._lock:
            return dict(self.drops)

    @property
    def pending(self) -> int:
        """Return the number of colour messages waiting for depth."""
        with self._lock:
            return len(self._colors)

    def add_color(self, stamp_ns: int, color: Any, now: float) -> List[SyncedFrame]:
        """Add a colour message; return the frames released by it (oldest first, usually 0-1)."""
        with self._lock:
            verdict = self._color_line.check(stamp_ns)
            if verdict in ('out_of_order', 'stamp_jump'):
                self.drops[verdict] += 1
                return []
            frame = SyncedFrame(stamp_ns, color, received=now, restart=verdict == 'restart')
            if frame.restart:
                self._restart_at(stamp_ns)
            if not self.use_depth:
                return [frame]
            self._colors.append(frame)
            while len(self._colors) > self._queue_size:
                self._colors.popleft()
                self.drops['superseded'] += 1
            released = self._pair_buffered()
            released.extend(self._expire(now))
            return released

    def add_depth(self, stamp_ns: int, depth: Any, now: float) -> List[SyncedFrame]:
        """Add a depth message; return the frames released by it (oldest first)."""
        with self._lock:
            if not self.use_depth:
                return []
            verdict = self._depth_line.check(stamp_ns)
            if verdict in ('out_of_order', 'stamp_jump'):
                self.drops[f'depth_{verdict}'] += 1
                return []
            self._depths.append((stamp_ns, depth))
            while len(self._depths) > self._queue_size:
                self._depths.popleft()
                self.drops['depth_unmatched'] += 1
            released = self._pair_buffered()
            released.extend(self._expire(now))
            return released

    def poll(self, now: float) -> List[SyncedFrame]:
        """Release colour messages that waited longer than ``wait`` without depth."""
        with self._lock:
            return self._expire(now)

    def reset(self) -> None:
        """Forget buffered messages and the last stamps (e.g. after a time jump)."""
        with self._lock:
            self._colors.clear()
            self._depths.clear()
            self._color_line.reset()
            self._depth_line.reset()

    # ------------------------------------------------------------------ internals (locked)

    def _restart_at(self, stamp_ns: int) -> None:
        """Colour jumped to ``stamp_ns``: drop what belongs to the old timeline."""
        self.drops['superseded'] += len(self._colors)
        self._colors.clear()
        window = self.max_jump_ns if self.max_jump_ns > 0 else self.slop_ns
        kept = [(ns, d) for ns, d in self._depths if abs(ns - stamp_ns) <= window]
        self.drops['depth_unmatched'] += len(self._depths) - len(kept)
        self._depths = collections.deque(kept)
        if self._depth_line.last is not None and \
                abs(self._depth_line.last - stamp_ns) > window:
            self._depth_line.reset()

    def _pair_buffered(self) -> List[SyncedFrame]:
        """Pair the newest colour that has a depth within slop; drop older colours and depths."""
        for ci in range(len(self._colors) - 1, -1, -1):
            color = self._colors[ci]
            best, best_dt = None, None
            for di, (depth_ns, _) in enumerate(self._depths):
                dt = abs(depth_ns - color.stamp_ns)
                if dt <= self.slop_ns and (best_dt is None or dt < best_dt):
                    best, best_dt = di, dt
            if best is None:
                continue
            depth_ns, depth = self._depths[best]
            for _ in range(ci):  # older colours can no longer be released in order
                self._colors.popleft()
                self.drops['superseded'] += 1
            self._colors.popleft()
            for _ in range(best):  # older depths lost their chance
                self._depths.popleft()
                self.drops['depth_unmatched'] += 1
            self._depths.popleft()
            color.depth, color.depth_stamp_ns = depth, depth_ns
            self._prune_depths(color.stamp_ns)
            return [color]
        if self._colors:
            self._prune_depths(self._colors[0].stamp_ns)
        return []

    def _prune_depths(self, after_ns: int) -> None:
        """Drop depths too old to pair with any colour stamped after ``after_ns``."""
        while self._depths and self._depths[0][0] < after_ns - self.slop_ns:
            self._depths.popleft()
            self.drops['depth_unmatched'] += 1

    def _expire(self, now: float) -> List[SyncedFrame]:
        """Release the newest colour that waited >= ``wait``, dropping older expired ones."""
        expired = [c for c in self._colors if now - c.received >= self.wait]
        if not expired:
            return []
        for _ in range(len(expired)):
            self._colors.popleft()  # expired frames are the oldest (arrival order)
        self.drops['superseded'] += len(expired) - 1
        newest = expired[-1]
        self._prune_depths(newest.stamp_ns)
        return [newest]


class LatestSlot(Generic[T]):
    """A one-item mailbox between a producer and one worker thread: newest item wins."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Optional[T] = None
        self._closed = False
        self.dropped = 0  # items overwritten before the worker took them

    def put(self, item: T) -> bool:
        """Store ``item``; return True when it overwrote an item that was never taken.

        A ``restart`` flag set on the overwritten item is carried over to ``item``.
        """
        with self._cond:
            replaced = self._item is not None
            if replaced:
                self.dropped += 1
                if getattr(self._item, 'restart', False):
                    item.restart = True
            self._item = item
            self._cond.notify()
            return replaced

    def take(self, timeout: Optional[float] = None) -> Optional[T]:
        """Return and clear the newest item; None on timeout or when closed and empty."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake the worker; later ``take`` calls return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Return whether :meth:`close` was called."""
        return self._closed
