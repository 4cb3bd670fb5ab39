# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Draw a pair record: both images side by side with random correspondences, plus a warp check."""

import argparse
from pathlib import Path
from typing import Dict, Sequence, Tuple, Union

import cv2
import numpy as np


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(image, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def draw_pair(record: Dict[str, object], num_matches: int = 50, seed: int = 0) -> np.ndarray:
    """Render a record as a BGR image.

    Top row: image 0 | image 1, with `num_matches` random visible pixels of image 0 joined to
    their ``xy_0to1`` positions in image 1. Bottom row: image 0 with non-visible pixels tinted red
    | image 1 resampled at ``xy_0to1`` (image 1 brought into image 0's frame; where the warp is
    right it looks like image 0), black where not visible.

    Args:
        record: a pair record (see lfnet_training.datasets.record).
        num_matches: number of correspondences to draw.
        seed: seed of the choice of correspondences.

    Returns:
        (2 * S, 2 * S, 3) uint8 BGR image.

    """
    img0 = np.asarray(record['image0'])[0]
    img1 = np.asarray(record['image1'])[0]
    xy = np.asarray(record['xy_0to1'], np.float32)
    vis = np.asarray(record['vis_0to1'], bool)
    S = img0.shape[0]
    top = cv2.cvtColor(np.concatenate([_to_uint8(img0), _to_uint8(img1)], 1), cv2.COLOR_GRAY2BGR)
    ys, xs = np.nonzero(vis)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(xs), size=min(num_matches, len(xs)), replace=False)
    colours = cv2.applyColorMap(np.linspace(0, 255, max(len(pick), 1)).astype(np.uint8)[:, None],
                                cv2.COLORMAP_HSV)[:, 0]
    for k, i in enumerate(pick):
        p0 = (int(xs[i]), int(ys[i]))
        u, v = xy[ys[i], xs[i]]
        p1 = (int(round(float(u))) + S, int(round(float(v))))
        colour = tuple(int(c) for c in colours[k])
        cv2.line(top, p0, p1, colour, 1, cv2.LINE_AA)
        cv2.circle(top, p0, 3, colour, 1, cv2.LINE_AA)
        cv2.circle(top, p1, 3, colour, 1, cv2.LINE_AA)
    warped = cv2.remap(img1.astype(np.float32), xy[..., 0], xy[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    warped = np.where(vis, warped, 0.0)
    tinted = cv2.cvtColor(_to_uint8(img0), cv2.COLOR_GRAY2BGR)
    tinted[~vis] = (0.5 * tinted[~vis] + np.array([0, 0, 127])).astype(np.uint8)
    bottom = np.concatenate([tinted, cv2.cvtColor(_to_uint8(warped), cv2.COLOR_GRAY2BGR)], 1)
    out = np.concatenate([top, bottom], 0)
    label = str(record.get('name', ''))
    cv2.putText(out, label[:60], (4, 2 * S - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 255),
                1, cv2.LINE_AA)
    return out


def save_pair_png(record: Dict[str, object], path: Union[str, Path],
                  num_matches: int = 50) -> Path:
    """Write `draw_pair(record, num_matches)` to `path` (PNG) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), draw_pair(record, num_matches)):
        raise OSError(f'could not write {path}')
    return path


def pair_cli_parser(prog: str, description: str,
                    before_out: Sequence[Tuple[str, str]] = ()) -> argparse.ArgumentParser:
    """Arguments every `python -m lfnet_training.datasets.<name>` visualiser shares.

    `before_out` lists (name, help) positionals that come before the output PNG (TUM's ROOT).
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    for name, text in before_out:
        parser.add_argument(name, help=text)
    parser.add_argument('out', help='output PNG')
    parser.add_argument('--index', type=int, default=0, help='pair index')
    parser.add_argument('--size', type=int, default=256, help='crop size')
    parser.add_argument('--matches', type=int, default=50, help='correspondences to draw')
    return parser


def write_pair(record: Dict[str, object], out: Union[str, Path], num_matches: int,
               label: str = '') -> int:
    """Draw a record's correspondences into `out`, print what was written; exit status 0."""
    save_pair_png(record, out, num_matches)
    print(f"{record['name']}{label}: visible {float(record['vis_0to1'].float().mean()):.2f}, "
          f'wrote {out}')
    return 0
