# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``matches.png`` of the ROS tools: one frame pair with real motion, as the node matched it.

The node's ``matches`` cloud relates consecutive processed frames only, and consecutive frames
of a camera barely move. :func:`choose_pair` therefore chains the node's own matches through up
to :data:`MAX_SPAN` consecutive processed pairs (:func:`chain_matches`: a track is a match in
every link, a PnP inlier when it was an inlier in every link) and picks, among the chains that
keep enough inliers (at least :data:`MIN_INLIERS` and :data:`MIN_INLIER_SHARE` of the best
chain's, relaxed to any inlier, then to any match), the one whose two frames moved most
(:func:`apparent_motion`: rotation plus translation seen at :data:`DEPTH_M`, from the ground
truth or the estimate, as the caller gives).

:func:`draw_pair` draws the two colour frames side by side: every keypoint as a circle whose
radius follows its scale (:func:`circle_radius`, the descriptor's support) with an orientation
tick, unmatched keypoints faint, matched ones green (PnP inlier) or red (outlier), and lines for
an even subsample of at most :data:`MAX_LINES` matches (:func:`drawn_rows`). The caption names
the frames and stamps, the motion, the inlier and outlier counts and how many lines are drawn.
Without any matched pair the first processed frame's keypoints are drawn instead.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np

from lfnet_core.rigid_poses import invert_pose, rotation_angle
from lfnet_core.visualization import save_rgb, to_rgb
from lfnet_ros.node_recorder import Recorder
from lfnet_ros.recorded_outputs import tracking_state

MAX_LINES = 200  # match lines drawn (an even subsample)
MAX_SPAN = 8  # consecutive processed pairs chained at most
MIN_INLIERS = 8  # inliers a chain keeps to be preferred
MIN_INLIER_SHARE = 0.25  # ... and this share of the best chain's inliers
DEPTH_M = 2.0  # translation is weighed as seen at this depth
PATCH_SIZE = 32  # descriptor patch at scale 1 (pixels): circle radius = PATCH_SIZE * scale / 2
INLIER, OUTLIER, UNMATCHED = (0, 230, 0), (255, 40, 40), (150, 200, 255)


@dataclass
class FramePair:
    """
    Two processed frames and the node's matches chained between them.

    Attributes:
        first: stamp (ns) of the earlier frame.
        last: stamp (ns) of the later frame.
        matches: (M, 2) rows of the first and the last frame's keypoints clouds.
        inliers: (M,) bool, PnP inlier in every link.
        links: consecutive processed pairs chained (1: the node's matches as published).
        translation_m: camera translation between the two frames (None without poses).
        rotation_deg: camera rotation between the two frames (None without poses).

    """

    first: int
    last: int
    matches: np.ndarray
    inliers: np.ndarray
    links: int
    translation_m: Optional[float] = None
    rotation_deg: Optional[float] = None


def chain_matches(clouds: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """
    Chain consecutive matches clouds (``index0``, ``index1``, ``inlier``) into tracks.

    Args:
        clouds: the matches of frames 0 -> 1, 1 -> 2, ... in order (at least one).

    Returns:
        ((M, 2) int64 rows of frame 0's and the last frame's keypoints, (M,) bool inlier in
        every link).

    """
    first = clouds[0]
    matches = np.stack([first['index0'], first['index1']], axis=1).astype(np.int64)
    inliers = first['inlier'].astype(bool)
    for cloud in clouds[1:]:
        index0 = cloud['index0'].astype(np.int64)
        lookup = np.full(int(index0.max()) + 1 if len(index0) else 0, -1, np.int64)
        lookup[index0] = np.arange(len(index0))
        rows = np.full(len(matches), -1, np.int64)
        known = matches[:, 1] < len(lookup)
        rows[known] = lookup[matches[known, 1]]
        keep = rows >= 0
        matches = np.stack([matches[keep, 0], cloud['index1'][rows[keep]]], axis=1)
        matches = matches.astype(np.int64)
        inliers = inliers[keep] & cloud['inlier'][rows[keep]].astype(bool)
    return matches, inliers


def apparent_motion(T0: np.ndarray, T1: np.ndarray) -> Tuple[float, float, float]:
    """Return (translation m, rotation deg, score) between two camera poses (4x4).

    The score is the rotation in radians plus the translation over :data:`DEPTH_M`: roughly
    how far the image content moves, in focal lengths.
    """
    motion = invert_pose(np.asarray(T0, np.float64)) @ np.asarray(T1, np.float64)
    translation = float(np.linalg.norm(motion[:3, 3]))
    angle = rotation_angle(motion[:3, :3])
    return translation, float(np.degrees(angle)), angle + translation / DEPTH_M


def linked_clouds(processed: Sequence[int], clouds: Mapping[int, np.ndarray]) -> List[bool]:
    """Return, per processed frame, whether its matches cloud links it to the previous one."""
    linked = [False]
    for prev, cur in zip(processed, processed[1:]):
        cloud = clouds.get(cur)
        ok = cloud is not None and len(cloud) > 0 and \
            int(cloud['prev_stamp_sec'][0]) * 1_000_000_000 + \
            int(cloud['prev_stamp_nanosec'][0]) == prev
        linked.append(bool(ok))
    return linked


def choose_pair(processed: Sequence[int], clouds: Mapping[int, np.ndarray],
                poses: Mapping[int, np.ndarray], max_span: int = MAX_SPAN) -> Optional[FramePair]:
    """
    Return the chained pair with the most motion among those that keep inliers (module doc).

    Args:
        processed: stamps (ns) of the processed frames, in order.
        clouds: stamp -> the node's matches cloud of that frame (to the previous processed one).
        poses: stamp -> camera pose (4x4) used to measure the motion; frames without one score 0.
        max_span: most consecutive pairs chained.

    Returns:
        The pair, or None when no processed frame has a linked matches cloud.

    """
    linked = linked_clouds(processed, clouds)
    candidates = []  # (pair, score)
    for start in range(len(processed) - 1):
        chain: List[np.ndarray] = []
        for end in range(start + 1, min(start + max_span, len(processed) - 1) + 1):
            if not linked[end]:
                break
            chain.append(clouds[processed[end]])
            matches, inliers = chain_matches(chain)
            if not len(matches):
                break
            first, last = processed[start], processed[end]
            pair = FramePair(first, last, matches, inliers, len(chain))
            score = 0.0
            if first in poses and last in poses:
                pair.translation_m, pair.rotation_deg, score = apparent_motion(poses[first],
                                                                               poses[last])
            candidates.append((pair, score))
    if not candidates:
        return None
    best = max(int(p.inliers.sum()) for p, _ in candidates)
    for floor in (max(MIN_INLIERS, int(np.ceil(MIN_INLIER_SHARE * best))), 1, 0):
        kept = [(p, s) for p, s in candidates if int(p.inliers.sum()) >= floor]
        if kept:  # most motion; ties: more inliers, then fewer links
            return max(kept, key=lambda c: (c[1], int(c[0].inliers.sum()), -c[0].links))[0]
    return None  # not reached: floor 0 keeps every candidate


def drawn_rows(count: int, max_lines: int = MAX_LINES) -> np.ndarray:
    """Return the rows of an even subsample of at most ``max_lines`` out of ``count`` matches."""
    if count <= max_lines:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, max_lines).round().astype(np.int64))


def circle_radius(scale: float) -> int:
    """Return a keypoint circle's radius in pixels: the descriptor support at ``scale``."""
    return max(int(round(PATCH_SIZE * float(scale) / 2.0)), 2)


def draw_keypoint(canvas: np.ndarray, uv: np.ndarray, scale: float, orientation: float,
                  colour: Tuple[int, int, int], offset: float = 0.0) -> None:
    """Draw one keypoint on ``canvas`` in place: a circle of its scale and an orientation tick."""
    x, y = float(uv[0]) + offset, float(uv[1])
    radius = circle_radius(scale)
    centre = (int(round(x)), int(round(y)))
    tip = (int(round(x + radius * np.cos(orientation))),
           int(round(y + radius * np.sin(orientation))))
    cv2.circle(canvas, centre, radius, colour, 1, cv2.LINE_AA)
    cv2.line(canvas, centre, tip, colour, 1, cv2.LINE_AA)


def keypoint_fields(keypoints: Mapping[str, np.ndarray]) -> Tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """Return (uv, scale, orientation) of a recorded keypoints entry (default scale 1, angle 0)."""
    uv = np.asarray(keypoints['uv'], np.float64).reshape(-1, 2)
    scale = np.asarray(keypoints.get('scale', np.ones(len(uv))), np.float64)
    orientation = np.asarray(keypoints.get('orientation', np.zeros(len(uv))), np.float64)
    return uv, scale, orientation


def draw_pair(image0: np.ndarray, image1: np.ndarray, keypoints0: Mapping[str, np.ndarray],
              keypoints1: Mapping[str, np.ndarray], matches: np.ndarray, inliers: np.ndarray,
              max_lines: int = MAX_LINES) -> Tuple[np.ndarray, int]:
    """
    Draw the two frames side by side with keypoints and matches (see the module doc).

    Args:
        image0, image1: the two frames.
        keypoints0, keypoints1: ``uv`` (N, 2), ``scale`` (N,), ``orientation`` (N,) radians.
        matches: (M, 2) rows of ``keypoints0`` and ``keypoints1``.
        inliers: (M,) bool.
        max_lines: most match lines drawn.

    Returns:
        (the RGB drawing, the number of match lines drawn).

    """
    left, right = to_rgb(image0), to_rgb(image1)
    canvas = np.zeros((max(left.shape[0], right.shape[0]), left.shape[1] + right.shape[1], 3),
                      np.uint8)
    canvas[:left.shape[0], :left.shape[1]] = left
    canvas[:right.shape[0], left.shape[1]:] = right
    sides = [(keypoint_fields(keypoints0), 0.0, matches[:, 0]),
             (keypoint_fields(keypoints1), float(left.shape[1]), matches[:, 1])]
    faint = canvas.copy()
    for (uv, scale, angle), offset, matched in sides:
        for i in np.setdiff1d(np.arange(len(uv)), matched):
            draw_keypoint(faint, uv[i], scale[i], angle[i], UNMATCHED, offset)
    canvas = cv2.addWeighted(faint, 0.45, canvas, 0.55, 0.0)
    order = np.argsort(inliers, kind='stable')  # outliers first, inliers on top
    for (uv, scale, angle), offset, matched in sides:
        for row in order:
            colour = INLIER if inliers[row] else OUTLIER
            draw_keypoint(canvas, uv[matched[row]], scale[matched[row]], angle[matched[row]],
                          colour, offset)
    rows = drawn_rows(len(matches), max_lines)
    uv0, uv1 = sides[0][0][0], sides[1][0][0]
    for row in rows[np.argsort(inliers[rows], kind='stable')]:
        p0 = tuple(int(round(v)) for v in uv0[matches[row, 0]])
        p1 = (int(round(uv1[matches[row, 1], 0] + left.shape[1])),
              int(round(uv1[matches[row, 1], 1])))
        cv2.line(canvas, p0, p1, INLIER if inliers[row] else OUTLIER, 1, cv2.LINE_AA)
    return canvas, len(rows)


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


def pair_caption(pair: FramePair, frames: Tuple[int, int], drawn: int, states: Sequence[str],
                 pose_source: str) -> List[str]:
    """Return the caption lines of a drawn pair (every count as drawn)."""
    count, inliers = len(pair.matches), int(pair.inliers.sum())
    motion = ('motion unknown' if pair.translation_m is None else
              f'camera moved {100 * pair.translation_m:.1f} cm, {pair.rotation_deg:.1f} deg '
              f'({pose_source})')
    how = ("the node's matches between consecutive processed frames" if pair.links == 1 else
           f"the node's matches chained through {pair.links} consecutive processed pairs "
           '(inlier = inlier in every pair)')
    return [
        f'frames {frames[0]} -> {frames[1]} (stamps {pair.first * 1e-9:.3f} s -> '
        f'{pair.last * 1e-9:.3f} s), the pair with the most motion that keeps inliers: {motion}',
        f'{count} matches, {how}',
        f'{inliers} PnP inliers (green), {count - inliers} outliers (red); lines for {drawn} of '
        f'{count} matches drawn{" (even subsample)" if drawn < count else ""}',
        f'circle radius = keypoint scale, tick = orientation, blue: unmatched keypoints; '
        f'tracking {", ".join(states)}',
    ]


def write_matches_image(path: Path, images: Sequence[np.ndarray], stamps: List[int],
                        recorder: Recorder, processed: List[int], untrained: bool,
                        poses: Optional[Mapping[int, np.ndarray]] = None,
                        pose_source: str = 'estimated') -> Dict[str, object]:
    """
    Draw the chosen pair (see the module doc) into ``path``; return what was drawn.

    Args:
        path: the PNG to write.
        images: ``images[i]`` is the RGB frame stamped ``stamps[i]``.
        stamps: the frames sent, in order (ns).
        recorder: the run's recorder (keypoints, matches, odometry).
        processed: the stamps whose keypoints came back.
        untrained: add an "UNTRAINED weights" line to the caption.
        poses: stamp -> camera pose (4x4) measuring the motion; default: the node's odometry.
        pose_source: what ``poses`` are, for the caption ('ground truth', 'estimated').

    Returns:
        ``{'frames': [i, j], 'stamps': [s, t], 'links', 'matches', 'inliers', 'outliers',
        'drawn', 'translation_m', 'rotation_deg'}`` or, without a pair,
        ``{'frame': i, 'matches': 0}``.

    """
    index_of = {s: i for i, s in enumerate(stamps)}
    frames = [s for s in processed if s in index_of and s in recorder.keypoints]
    clouds = {s: recorder.matches[s][1] for s in frames if s in recorder.matches}
    if poses is None:
        poses = recorder.odometry_poses(frames)
    pair = choose_pair(frames, clouds, poses)
    if pair is None:
        first = processed[0]
        canvas, _ = draw_pair(images[index_of[first]], images[index_of[first]],
                              recorder.keypoints[first][1], recorder.keypoints[first][1],
                              np.zeros((0, 2), np.int64), np.zeros(0, bool))
        canvas = canvas[:, :canvas.shape[1] // 2]
        lines = [f'frame {index_of[first]}: {len(recorder.keypoints[first][1]["uv"])} '
                 'keypoints, no matched pair']
        if untrained:
            lines.append('UNTRAINED weights: not LF-Net accuracy')
        save_rgb(str(path), np.concatenate([caption(lines, canvas.shape[1]), canvas], axis=0))
        return {'frame': index_of[first], 'matches': 0}
    chain = frames[frames.index(pair.first):frames.index(pair.last) + 1]
    states = sorted({tracking_state(recorder.odom[s][1]) if s in recorder.odom else 'unknown'
                     for s in chain[1:]})
    canvas, drawn = draw_pair(images[index_of[pair.first]], images[index_of[pair.last]],
                              recorder.keypoints[pair.first][1], recorder.keypoints[pair.last][1],
                              pair.matches, pair.inliers)
    indices = (index_of[pair.first], index_of[pair.last])
    lines = pair_caption(pair, indices, drawn, states, pose_source)
    if untrained:
        lines.append('UNTRAINED weights: not LF-Net accuracy')
    save_rgb(str(path), np.concatenate([caption(lines, canvas.shape[1]), canvas], axis=0))
    inliers = int(pair.inliers.sum())
    return {'frames': list(indices), 'stamps': [pair.first, pair.last], 'links': pair.links,
            'matches': len(pair.matches), 'inliers': inliers,
            'outliers': len(pair.matches) - inliers, 'drawn': drawn,
            'translation_m': pair.translation_m, 'rotation_deg': pair.rotation_deg}
