# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Loss-curve plots from a training run's metrics.csv."""

from collections import defaultdict
import csv
from pathlib import Path
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

PANELS = (('detector', 'image', 'pair', 'orientation', 'scale'),
          ('descriptor', 'triplet', 'contrastive'), ('val_matching_score',))


def read_metrics(path: Path) -> Dict[str, List[Tuple[int, float]]]:
    """Read `step,key,value` rows into {key: [(step, value), ...]}."""
    series: Dict[str, List[Tuple[int, float]]] = defaultdict(list)
    with open(path, newline='') as handle:
        for row in csv.DictReader(handle):
            series[row['key']].append((int(row['step']), float(row['value'])))
    return series


def plot_curves(metrics_csv: Path, out_png: Path) -> None:
    """Plot detector terms, descriptor loss and validation matching score against step."""
    series = read_metrics(metrics_csv)
    fig, axes = plt.subplots(1, len(PANELS), figsize=(5 * len(PANELS), 4))
    for ax, keys in zip(axes, PANELS):
        for key in keys:
            if series.get(key):
                steps, values = zip(*sorted(series[key]))
                ax.plot(steps, values, label=key, marker='.' if len(steps) < 30 else None)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        if keys[0] == 'detector':
            ax.set_yscale('log')
    fig.tight_layout()
    fig.savefig(str(out_png), dpi=100)
    plt.close(fig)
