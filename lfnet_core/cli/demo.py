# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""`lfnet-pair-demo`: LF-Net on the embedded default data (a generated RGB-D pair), no ROS needed.

Renders a pair of views of the synthetic room with exact depth and poses, extracts LF-Net
features, matches them (mutual nearest neighbour), checks every match against the true geometry
and writes a picture of the matches and of the keypoints.
"""

import argparse
import json
import logging
from pathlib import Path
import sys
import time
from typing import Dict, Optional, Sequence

import numpy as np

from lfnet_core.inference import BACKEND_NAMES, create_backend
from lfnet_core.matching import mutual_nearest_neighbours
from lfnet_core.model.lfnet import DEFAULT_WEIGHTS
from lfnet_core.rgbd_warp import warp_pixels_rgbd
from lfnet_core.rigid_poses import relative_pose
from lfnet_core.scenes import generate_pair
from lfnet_core.visualization import draw_keypoints, draw_matches, save_rgb


def run_pair_demo(out_dir: Path, backend_name: str = 'auto', weights: Optional[str] = None,
                  top_k: int = 1000, gap_frames: int = 10, seed: int = 0,
                  threshold_px: float = 3.0) -> Dict[str, float]:
    """Extract, match and verify on a generated pair; write PNGs and summary.json into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pair = generate_pair(seed=seed, gap_frames=gap_frames)
    T_0to1 = relative_pose(pair.T_world_cam[0], pair.T_world_cam[1])
    backend = create_backend(backend_name, weights=weights)
    backend.extract(pair.rgb[0], top_k)  # warm-up (first call allocates)
    start = time.perf_counter()
    features = [backend.extract(image, top_k) for image in pair.rgb]
    extract_ms = 1000.0 * (time.perf_counter() - start) / 2
    result = mutual_nearest_neighbours(features[0]['descriptors'], features[1]['descriptors'])
    kp0 = features[0]['keypoints'][result.matches[:, 0]]
    kp1 = features[1]['keypoints'][result.matches[:, 1]]
    warp = warp_pixels_rgbd(kp0, pair.depth[0], pair.K, T_0to1, pair.K, pair.depth[1].shape,
                            depth1=pair.depth[1])
    error = np.linalg.norm(warp.uv1 - kp1, axis=1)
    correct = warp.visible & (error <= threshold_px)
    shipped = DEFAULT_WEIGHTS if DEFAULT_WEIGHTS.is_file() else 'UNTRAINED random'
    summary = {
        'backend': backend.name, 'weights': str(weights or shipped),
        'keypoints0': len(features[0]['keypoints']), 'keypoints1': len(features[1]['keypoints']),
        'matches': len(result), 'correct_matches': int(correct.sum()),
        f'precision_at_{threshold_px:g}px': float(correct.mean()) if len(result) else 0.0,
        'extract_ms_per_image': extract_ms,
    }
    save_rgb(str(out_dir / 'matches.png'), draw_matches(
        pair.rgb[0], pair.rgb[1], features[0]['keypoints'], features[1]['keypoints'],
        result.matches, correct))
    save_rgb(str(out_dir / 'keypoints.png'), draw_keypoints(
        pair.rgb[0], features[0]['keypoints'], features[0]['scales'],
        features[0]['orientations']))
    (out_dir / 'summary.json').write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `lfnet-pair-demo`."""
    parser = argparse.ArgumentParser(prog='lfnet-pair-demo',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='out/demo', help='output folder')
    parser.add_argument('--backend', default='auto', choices=BACKEND_NAMES)
    parser.add_argument('--weights', help='checkpoint (.pt); default: the shipped weights')
    parser.add_argument('--top-k', type=int, default=1000)
    parser.add_argument('--gap', type=int, default=10, help='frames between the two views')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    summary = run_pair_demo(Path(args.out), args.backend, args.weights, args.top_k, args.gap)
    print(json.dumps(summary, indent=2))
    print(f'wrote {args.out}/matches.png, keypoints.png, summary.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
