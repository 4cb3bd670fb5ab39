# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Summary statistics every tool reports with: latency percentiles and count distributions.

One implementation, without ROS: `lfnet-bench`'s backend timings (`lfnet_core.benchmark`), the
node's ``/diagnostics`` latencies (`lfnet_ros.stats`) and the ROS tools' JSON records
(``lfnet-demo``, ``lfnet-eval``, ``lfnet-soak``) all use it.
"""

from typing import Dict, Optional, Sequence

import numpy as np


def percentiles_ms(seconds: Sequence[float],
                   percents: Sequence[int] = (50, 90)) -> Dict[str, Optional[float]]:
    """Return ``{'p50_ms': .., 'p90_ms': ..}`` (one key per percent) of durations in seconds.

    Every value is None when there is no sample.
    """
    keys = [f'p{p:g}_ms' for p in percents]
    values = np.asarray(seconds, dtype=np.float64).reshape(-1) * 1e3
    if values.size == 0:
        return dict.fromkeys(keys)
    return {key: float(v) for key, v in zip(keys, np.percentile(values, list(percents)))}


def distribution(values: Sequence[float]) -> Dict[str, Optional[float]]:
    """Return ``{'mean', 'median', 'min', 'max'}`` of ``values`` (every value None when empty)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        return {'mean': None, 'median': None, 'min': None, 'max': None}
    return {'mean': float(values.mean()), 'median': float(np.median(values)),
            'min': float(values.min()), 'max': float(values.max())}
