# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``matches.png`` of the ROS tools: one frame pair's matches as the node published them.

The pair is the middle processed frame (with a ``matches`` message whose previous frame's
keypoints came back) and its predecessor, drawn from the published ``keypoints`` and
``matches`` clouds on the two colour frames (:func:`lfnet_core.visualization.draw_matches`:
green PnP inliers, red outliers when tracking is ``ok``), under a caption. Without any such pair
the first processed frame's keypoints are drawn instead.
"""

from pathlib import Path
from typing import Dict, List, Sequence

import cv2
import numpy as np

from lfnet_core.visualization import draw_keypoints, draw_matches, save_rgb
from lfnet_ros.node_recorder import Recorder
from lfnet_ros.recorded_outputs import tracking_state

MAX_LINES = 200  # match lines drawn (an even subsample)


def caption(lines: Sequence[str], width: int) -> np.ndarray:
    """Return a black strip of ``width`` pixels with the white text lines, shrunk to fit."""
    font, line_height = cv2.FONT_HERSHEY_SIMPLEX, 22
    strip = np.zeros((line_height * len(lines) + 6, width, 3), np.uint8)
    for row, text in enumerate(lines):
        text_width = cv2.getTextSize(text, font, 0.5, 1)[0][0]
        scale = min(0.5, 0.5 * (width - 16) / max(text_width, 1))
        cv2.putText(strip, text, (8, line_height * (row + 1)), font, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return strip


def write_matches_image(path: Path, images: Sequence[np.ndarray], stamps: List[int],
                        recorder: Recorder, processed: List[int],
                        untrained: bool) -> Dict[str, object]:
    """
    Draw one pair (see the module doc) into ``path``; return what was drawn.

    Args:
        path: the PNG to write.
        images: ``images[i]`` is the RGB frame stamped ``stamps[i]``.
        stamps: the frames sent, in order (ns).
        recorder: the run's recorder (keypoints, matches, odometry).
        processed: the stamps whose keypoints came back.
        untrained: add an "UNTRAINED weights" line to the caption.

    Returns:
        ``{'frames': [i, j], 'matches': n, 'inliers': m}`` or, without a pair,
        ``{'frame': i, 'matches': 0}``.

    """
    index_of = {s: i for i, s in enumerate(stamps)}
    pairs = {}  # current stamp -> previous stamp, for pairs whose both keypoints are known
    for stamp in processed[1:]:
        cloud = recorder.matches[stamp][1] if stamp in recorder.matches else ()
        if len(cloud):
            prev = int(cloud['prev_stamp_sec'][0]) * 1_000_000_000 + \
                int(cloud['prev_stamp_nanosec'][0])
            if prev in recorder.keypoints and prev in index_of:
                pairs[stamp] = prev
    if not pairs:
        first = processed[0]
        image = draw_keypoints(images[index_of[first]], recorder.keypoints[first][1]['uv'])
        save_rgb(str(path), image)
        return {'frame': index_of[first], 'matches': 0}
    cur = list(pairs)[len(pairs) // 2]
    prev, cloud = pairs[cur], recorder.matches[cur][1]
    matches = np.stack([cloud['index0'], cloud['index1']], axis=1).astype(np.int64)
    inliers = cloud['inlier'].astype(bool)
    state = tracking_state(recorder.odom[cur][1]) if cur in recorder.odom else 'unknown'
    canvas = draw_matches(images[index_of[prev]], images[index_of[cur]],
                          recorder.keypoints[prev][1]['uv'], recorder.keypoints[cur][1]['uv'],
                          matches, inliers if state == 'ok' else None, max_lines=MAX_LINES)
    drawn = len(range(0, len(matches), max(len(matches) // MAX_LINES, 1)))
    captions = [f'frames {index_of[prev]} -> {index_of[cur]}: {len(matches)} matches '
                f'({drawn} drawn), {int(inliers.sum())} PnP inliers (green), tracking {state}']
    if untrained:
        captions.append('UNTRAINED weights: not LF-Net accuracy')
    save_rgb(str(path), np.concatenate([caption(captions, canvas.shape[1]), canvas], axis=0))
    return {'frames': [index_of[prev], index_of[cur]], 'matches': len(matches),
            'inliers': int(inliers.sum())}
