# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Run one ONNX graph on slices of its keypoint axis, one single-threaded session per core.

ONNX Runtime's CPU GridSample parallelises over channels only, and the patch sampler has one
channel: inside a two-thread session it runs on one core while the other waits (27 ms of the
describe graph at 640x480 with 1000 keypoints). Every keypoint's outputs depend on that
keypoint alone, so the keypoints can instead be cut into one slice per core, each slice run by
its own one-thread session, at the same time. Sampling then uses every core, and the
descriptor network's convolutions keep the same total throughput. The outputs are the
concatenated slices, bitwise equal to one session's (tested).
"""

from concurrent.futures import ThreadPoolExecutor
import os
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

MAX_WORKERS = 8


def default_workers(providers: Sequence[str], threads: Optional[int]) -> int:
    """Slices to run at once: the thread budget on a CPU, else 1 (a GPU runs one call)."""
    if not providers or providers[0] != 'CPUExecutionProvider':
        return 1
    cores = threads or len(os.sched_getaffinity(0))
    return max(1, min(int(cores), MAX_WORKERS))


class SplitRunner:
    """One ONNX graph, `workers` sessions, each running a slice of the inputs' split axis.

    Args:
        open_session: callable(threads) -> onnxruntime.InferenceSession of the graph.
        workers: slices run at once; 1 opens one session with `threads` and never splits.
        threads: intra-op threads of the single session when `workers` is 1.
        min_slice: no slice gets fewer items than this: a call with fewer than 2 * min_slice
            items runs as one slice, on one thread (a few ms at most).

    """

    def __init__(self, open_session: Callable[[Optional[int]], object], workers: int,
                 threads: Optional[int] = None, min_slice: int = 32) -> None:
        if workers < 1:
            raise ValueError(f'workers must be >= 1, got {workers}')
        self.workers = int(workers)
        self.min_slice = max(1, int(min_slice))
        self.sessions = [open_session(threads if workers == 1 else 1) for _ in range(workers)]
        self._pool = (ThreadPoolExecutor(workers - 1, thread_name_prefix='lfnet-ort')
                      if workers > 1 else None)

    def slices(self, count: int) -> List[slice]:
        """Near-equal contiguous slices of `count` items, at most `workers` of them."""
        parts = max(1, min(self.workers, count // self.min_slice))
        bounds = np.linspace(0, count, parts + 1).round().astype(int)
        return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def run(self, feeds: Dict[str, np.ndarray], split: Sequence[str],
            axis: int = 1) -> List[np.ndarray]:
        """Run the graph; inputs named in `split` and every output are cut along `axis`.

        Args:
            feeds: every input of the graph.
            split: names of the inputs whose `axis` is the item axis (the others are shared).
            axis: the item axis, of those inputs and of every output.

        Returns:
            The outputs, as one session run on all of `feeds` would return them.

        """
        count = feeds[split[0]].shape[axis]
        parts = self.slices(count)
        if len(parts) == 1:
            return self.sessions[0].run(None, feeds)

        def cut(part: slice) -> Dict[str, np.ndarray]:
            index = (slice(None),) * axis + (part,)
            return {**feeds, **{name: np.ascontiguousarray(feeds[name][index]) for name in split}}

        futures = [self._pool.submit(self.sessions[i].run, None, cut(part))
                   for i, part in enumerate(parts[1:], start=1)]
        first = self.sessions[0].run(None, cut(parts[0]))  # this thread takes a slice too
        results = [first] + [future.result() for future in futures]
        return [np.concatenate(outputs, axis=axis) for outputs in zip(*results)]
