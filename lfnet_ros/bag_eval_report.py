# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``lfnet-eval``'s report: one method's entry, the JSON encoding and the printed summary."""

from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from lfnet_core.summary_stats import distribution


def method_entry(frames_in: int, processed: int, keypoints: Sequence[int],
                 matches: Sequence[int], inliers: Sequence[int], states: Mapping[str, int],
                 traj: Dict[str, object]) -> Dict[str, object]:
    """Return one method's comparison entry (the same keys for LF-Net and ORB)."""
    total_matches, total_inliers = sum(matches), sum(inliers)
    return {'frames': {'in': frames_in, 'processed': processed},
            'keypoints_per_frame': distribution(keypoints),
            'matches_per_frame': distribution(matches),
            'inliers_per_frame': distribution(inliers),
            'inlier_ratio': total_inliers / total_matches if total_matches else None,
            'tracking': dict(states), 'trajectory': traj}


def json_default(value: object) -> object:
    """Encode numpy scalars and arrays for ``json.dumps``; anything else as its string."""
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def pair_title(name: str, traj: Mapping[str, object]) -> str:
    """Return ``'<name> ATE <rmse> m'`` for a figure title."""
    ate = traj.get('ate')
    return f'{name} ATE {ate["rmse_m"]:.3f} m' if ate else f'{name} ATE n/a'


def _fmt(value: Optional[float], spec: str = '.3f') -> str:
    return 'n/a' if value is None else format(value, spec)


def _method_lines(name: str, entry: Mapping[str, object]) -> List[str]:
    t = entry['trajectory']
    ate = t.get('ate') or {}
    frame = t.get('rpe_per_frame') or {}
    metre = t.get('rpe_per_metre') or {}
    return [
        f'{name:<6} keypoints {_fmt(entry["keypoints_per_frame"]["mean"], ".1f")}, matches '
        f'{_fmt(entry["matches_per_frame"]["mean"], ".1f")}, inliers '
        f'{_fmt(entry["inliers_per_frame"]["mean"], ".1f")} per frame; inlier ratio '
        f'{_fmt(entry["inlier_ratio"])}; tracking '
        + ', '.join(f'{k} {v}' for k, v in entry['tracking'].items()),
        f'{"":<6} ATE RMSE {_fmt(ate.get("rmse_m"), ".4f")} m (SE(3)); RPE/frame '
        f'{_fmt(frame.get("trans_rmse_m"), ".4f")} m, {_fmt(frame.get("rot_rmse_deg"))} deg; '
        f'RPE/m {_fmt(metre.get("trans_percent"), ".2f")} %',
    ]


def format_report(report: Mapping[str, object]) -> str:
    """Return the printed summary of a report."""
    lines = []
    if report['untrained']:
        lines += ['!' * 78, '!! UNTRAINED WEIGHTS: no --weights and no shipped lfnet_default.pt:'
                  ' the', "!! LF-Net numbers test the plumbing, NOT LF-Net's accuracy.", '!' * 78]
    f = report['frames']
    lines += [f'bag      {report["bag"]}',
              f'node     {report["node_launcher"]}, backend {report["backend"]}, top-k '
              f'{report["top_k"]}, weights {report["weights"]}',
              f'player   {report["player"]}, {report["pacing"]}',
              f'frames   in {f["in"]}, processed {f["processed"]}, dropped {f["dropped"]}'
              + (f' (node: {f["node"]})' if f['node'] else '')]
    comparison = report['comparison']
    if comparison:
        for name in comparison['methods']:
            lines += _method_lines(name, comparison[name])
    else:
        lines += _method_lines('lfnet', {k: report[k] for k in (
            'keypoints_per_frame', 'matches_per_frame', 'inliers_per_frame', 'inlier_ratio',
            'tracking', 'trajectory')})
    latency = report['latency_ms']
    for stage in ('end_to_end', 'total', 'dense', 'describe'):
        if stage in latency['node']:
            v = latency['node'][stage]
            lines.append(f'latency  node {stage:<10} p50 {_fmt(v.get("p50_ms"), ".1f")} ms, '
                         f'p90 {_fmt(v.get("p90_ms"), ".1f")} ms')
    v = latency['in_to_odom']
    lines.append(f'latency  in -> odom       p50 {_fmt(v["p50_ms"], ".1f")} ms, p90 '
                 f'{_fmt(v["p90_ms"], ".1f")} ms, p99 {_fmt(v["p99_ms"], ".1f")} ms')
    lines.append(f'rate     {_fmt(report["throughput_hz"], ".2f")} frames/s; wall '
                 f'{report["wall_s"]:.1f} s')
    return '\n'.join(lines)
