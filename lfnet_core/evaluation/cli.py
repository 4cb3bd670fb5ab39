# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""`lfnet-match-eval`: LF-Net vs ORB / SIFT / AKAZE matching on homography, RGB-D and posed data.

Every method runs at the same keypoint budget (--top-k) with the same matcher (mutual nearest
neighbour, no ratio test). Homography folders (Oxford or HPatches layout) give repeatability
and matching score at 3 and 5 px and homography accuracy at 1 / 3 / 5 px; TUM folders give
matching score at 3 and 5 px and PnP relative-pose accuracy on (i, i + gap) pairs; posed
folders (``cameras.txt`` or ``pairs_with_gt.txt``: photos with camera poses, no depth) give
the epipolar matching score and essential-matrix pose AUC. The metric definitions are in
`homography_eval`, `rgbd_eval` and `pose_eval`. The command prints a table per data set,
optionally writes every number to JSON (--json; non-finite values become null) and one match
image per data set and method (--png-dir; green = correct at 5 px, or within 4 px of the
epipolar line for posed folders; red = wrong).

Example::

    lfnet-match-eval --homography data/oxford_affine/bikes --tum data/tum_fr3_cabinet
        --methods lfnet,orb,sift,akaze --top-k 1000 --json out/eval.json --png-dir out
"""

import argparse
import json
import logging
import math
from pathlib import Path
import sys
import time
from typing import Dict, List, Optional, Sequence

from lfnet_core.evaluation.features import (
    check_image_scale, lfnet_is_untrained, make_extractor, METHODS)
from lfnet_core.evaluation.homography_eval import evaluate_homography_sequence
from lfnet_core.evaluation.pose_eval import (EPIPOLAR_PX, evaluate_posed_pairs, RANSAC_PX,
                                             summarise_posed)
from lfnet_core.evaluation.rgbd_eval import evaluate_tum_sequence

HOMOGRAPHY_COLUMNS = (('kpts', 'mean_keypoints', '{:.0f}'), ('matches', 'num_matches', '{:.0f}'),
                      ('rep@3', 'rep@3', '{:.3f}'), ('rep@5', 'rep@5', '{:.3f}'),
                      ('MS@3', 'ms@3', '{:.3f}'), ('MS@5', 'ms@5', '{:.3f}'),
                      ('H@1px', 'h@1', '{:.2f}'), ('H@3px', 'h@3', '{:.2f}'),
                      ('H@5px', 'h@5', '{:.2f}'))
RGBD_COLUMNS = (('kpts', 'mean_keypoints', '{:.0f}'), ('matches', 'num_matches', '{:.0f}'),
                ('MS@3', 'ms@3', '{:.3f}'), ('MS@5', 'ms@5', '{:.3f}'),
                ('rep@5', 'rep@5', '{:.3f}'), ('PnP ok', 'pnp_success', '{:.2f}'),
                ('rot deg', 'median_rot_err_deg', '{:.2f}'),
                ('t cm', 'median_trans_err_cm', '{:.1f}'),
                ('tdir deg', 'median_tdir_err_deg', '{:.1f}'),
                ('pose5/5', 'pose@5deg5cm', '{:.2f}'))
POSE_COLUMNS = (('kpts', 'mean_keypoints', '{:.0f}'), ('matches', 'num_matches', '{:.0f}'),
                ('correct', 'num_correct', '{:.0f}'), ('MS epi', 'ms_epi', '{:.3f}'),
                ('precis.', 'precision', '{:.3f}'), ('pose deg', 'median_pose_err_deg', '{:.1f}'),
                ('AUC@5', 'auc@5', '{:.3f}'), ('AUC@10', 'auc@10', '{:.3f}'),
                ('AUC@20', 'auc@20', '{:.3f}'))
UNTRAINED_BANNER = ('!' * 79 + '\n'
                    '!! WARNING: LF-Net runs with UNTRAINED RANDOM WEIGHTS (no --weights and no '
                    'shipped\n!! weights). Its numbers below test the plumbing only and say '
                    'NOTHING about LF-Net.\n' + '!' * 79)


def _parse_methods(text: str) -> List[str]:
    methods = [m.strip().lower() for m in text.split(',') if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise argparse.ArgumentTypeError(f'unknown method(s) {unknown}; choose from '
                                         f'{",".join(METHODS)}')
    return list(dict.fromkeys(methods))


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `lfnet-match-eval`."""
    parser = argparse.ArgumentParser(
        prog='lfnet-match-eval', description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--homography', nargs='+', default=[], metavar='DIR',
                        help='homography sequences (Oxford img1..6 + H1toNp, or HPatches '
                             '1..6.ppm + H_1_N)')
    parser.add_argument('--tum', nargs='+', default=[], metavar='DIR',
                        help='TUM RGB-D sequences (rgb.txt, depth.txt, groundtruth.txt)')
    parser.add_argument('--poses', nargs='+', default=[], metavar='DIR',
                        help='photos with camera poses: cameras.txt (consecutive views, as '
                             'the Strecha sets) or pairs_with_gt.txt (ScanNet pairs)')
    parser.add_argument('--methods', type=_parse_methods, default=list(METHODS),
                        help=f'comma-separated subset of {",".join(METHODS)} (default: all)')
    parser.add_argument('--top-k', type=int, default=1000, help='keypoint budget K per image')
    parser.add_argument('--weights', help='LF-Net checkpoint (default: the shipped weights)')
    parser.add_argument('--image-scale', type=float, default=1.0, metavar='F',
                        help='every method runs on the images resized by F (area averaging '
                        'when shrinking); keypoints are mapped back and scored in full-size '
                        'pixels (default 1)')
    parser.add_argument('--backend', default='auto', choices=('auto', 'onnxruntime', 'torch'),
                        help='LF-Net inference backend')
    parser.add_argument('--pyramid-levels', type=int, default=1, metavar='N',
                        help='LF-Net detects over N image pyramid levels 2^(-l/2) apart, K '
                        'shared by area, twins across levels merged (default 1)')
    parser.add_argument('--json', metavar='FILE', help='write all results to this JSON file')
    parser.add_argument('--png-dir', metavar='DIR', help='write one match image per data set '
                                                         'and method here')
    parser.add_argument('--tum-gap', type=int, nargs='+', default=[1], metavar='K',
                        help='frame gap(s) of the TUM pairs (default 1: consecutive frames)')
    parser.add_argument('--pose-gap', type=int, default=1, metavar='N',
                        help='cameras.txt folders: pair views 1 to N apart (default 1: '
                             'consecutive views)')
    parser.add_argument('--max-pairs', type=int, metavar='N',
                        help='evaluate at most N pairs per data set (and gap)')
    parser.add_argument('--threads', type=int, metavar='N',
                        help='limit OpenCV and torch CPU threads')
    return parser


def _json_safe(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def format_table(title: str, rows: Dict[str, Dict[str, float]], columns) -> str:
    """Render one data set's summaries (method -> summary) as a fixed-width text table."""
    header = [f'{"method":<8}'] + [f'{name:>9}' for name, _, _ in columns]
    lines = [title, ' '.join(header), '-' * len(' '.join(header))]
    for method, summary in rows.items():
        cells = [f'{method:<8}']
        for _, key, fmt in columns:
            value = summary.get(key, float('nan'))
            cells.append(f'{fmt.format(value) if math.isfinite(value) else "-":>9}')
        lines.append(' '.join(cells))
    return '\n'.join(lines)


def _unique_name(name: str, used: set) -> str:
    candidate, k = name, 2
    while candidate in used:
        candidate, k = f'{name}_{k}', k + 1
    used.add(candidate)
    return candidate


def _pooled_poses(results: Dict, args: argparse.Namespace) -> str:
    """Pool the pairs of every posed folder per method into results['poses_pooled']."""
    pooled = {}
    for method in args.methods:
        runs = [per_method[method] for per_method in results['poses'].values()]
        summary = summarise_posed([pair for run in runs for pair in run['pairs']])
        summary['mean_keypoints'] = sum(run['summary']['mean_keypoints'] * len(run['pairs'])
                                        for run in runs) / max(summary['num_pairs'], 1.0)
        pooled[method] = summary
    results['poses_pooled'] = pooled
    pairs = int(next(iter(pooled.values()))['num_pairs'])
    return format_table(f"\n== all posed folders pooled ({', '.join(results['poses'])}; "
                        f'{pairs} pairs) ==', pooled, POSE_COLUMNS)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `lfnet-match-eval`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    if not args.homography and not args.tum and not args.poses:
        parser.error('give at least one --homography, --tum or --poses folder')
    if args.top_k < 1:
        parser.error('--top-k must be >= 1')
    if any(g < 1 for g in args.tum_gap):
        parser.error('--tum-gap must be >= 1')
    if args.pose_gap < 1:
        parser.error('--pose-gap must be >= 1')
    try:
        check_image_scale(args.image_scale)
    except ValueError as exc:
        parser.error(f'--image-scale: {exc}')
    if args.threads:
        import cv2
        cv2.setNumThreads(args.threads)
        if 'lfnet' in args.methods:
            import torch
            torch.set_num_threads(args.threads)

    untrained = 'lfnet' in args.methods and lfnet_is_untrained(args.weights)
    if untrained:
        print(UNTRAINED_BANNER, flush=True)
    extractors = {m: make_extractor(m, args.top_k, backend=args.backend, weights=args.weights,
                                    image_scale=args.image_scale,
                                    pyramid_levels=args.pyramid_levels)
                  for m in args.methods}
    png_dir = Path(args.png_dir) if args.png_dir else None
    results = {'config': {'methods': args.methods, 'top_k': args.top_k,
                          'matcher': 'mutual nearest neighbour', 'backend': args.backend,
                          'weights': args.weights, 'lfnet_untrained': untrained,
                          'pyramid_levels': args.pyramid_levels,
                          'thresholds_px': [3, 5], 'homography_thresholds_px': [1, 3, 5],
                          'homography_ransac_px': 3.0, 'tum_gaps': args.tum_gap,
                          'pose_gap': args.pose_gap,
                          'max_pairs': args.max_pairs, 'image_scale': args.image_scale,
                          'epipolar_px': EPIPOLAR_PX, 'pose_ransac_px': RANSAC_PX},
               'homography': {}, 'rgbd': {}, 'poses': {}}
    used: set = set()
    tables = []
    jobs = [('homography', Path(d), None) for d in args.homography]
    jobs += [('rgbd', Path(d), g) for d in args.tum for g in args.tum_gap]
    jobs += [('poses', Path(d), None) for d in args.poses]
    for kind, folder, gap in jobs:
        name = folder.resolve().name + (f'_gap{gap}' if gap is not None and gap != 1 else '')
        name = _unique_name(name, used)
        per_method = {}
        for method, extractor in extractors.items():
            start = time.perf_counter()
            png = png_dir / f'{name}_{method}.png' if png_dir else None
            if kind == 'homography':
                result = evaluate_homography_sequence(folder, extractor,
                                                      max_pairs=args.max_pairs, png_path=png)
            elif kind == 'poses':
                result = evaluate_posed_pairs(folder, extractor, max_pairs=args.max_pairs,
                                              png_path=png, max_gap=args.pose_gap)
            else:
                result = evaluate_tum_sequence(folder, extractor, gap=gap,
                                               max_pairs=args.max_pairs, png_path=png)
            result['summary']['seconds'] = time.perf_counter() - start
            if png is not None:
                result['png'] = str(png)
            per_method[method] = result
            logging.getLogger('lfnet-match-eval').info(
                '%s %s: %d pairs in %.1f s', name, method, len(result['pairs']),
                result['summary']['seconds'])
        results[kind][name] = per_method
        pairs = len(next(iter(per_method.values()))['pairs'])
        label = {'homography': 'homography', 'poses': 'camera poses',
                 'rgbd': f'TUM RGB-D, gap {gap}'}[kind]
        tables.append(format_table(
            f'\n== {name} ({label}, {pairs} pairs, K={args.top_k}, mutual NN'
            + (f', images x{args.image_scale:g}' if args.image_scale != 1 else '') + ') ==',
            {m: r['summary'] for m, r in per_method.items()},
            {'homography': HOMOGRAPHY_COLUMNS, 'poses': POSE_COLUMNS,
             'rgbd': RGBD_COLUMNS}[kind]))
    if len(results['poses']) > 1:
        tables.append(_pooled_poses(results, args))
    if untrained:
        tables.insert(0, UNTRAINED_BANNER)
    print('\n'.join(tables), flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(_json_safe(results), indent=1))
        print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
