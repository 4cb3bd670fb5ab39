# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Detect over an image pyramid, as ORB and SIFT do: keypoint scale that follows the image.

Level l is the image shrunk by 2^(-l/2) (area averaging); each level gets a share of the budget
K in proportion to its area (`BUDGET_EXPONENT`; by area squared, held-out matching gains a
little, but the finest level then holds most keypoints and scales follow zoom less). Every
level's keypoints are mapped back to input pixels and their LF-Net scale multiplied by the
level's shrink factor, so a feature seen in a zoomed image is described from the same scene
area. The network itself runs unchanged on each level.

A feature with structure at several sizes is found on more than one level at one place: twin
keypoints with nearly the same descriptor, which a mutual nearest-neighbour match pairs only
once. So keypoints are taken strongest first, each level up to its budget, and one within
`DUPLICATE_RADIUS` input pixels of a taken keypoint of another level is dropped as its twin;
the levels refill from their next candidates. A dropped twin that would have made its level's
budget has its descriptor averaged into the taken one's, which is then described over both
patch sizes, as domain-size pooling does. Given a backend (`Backend.detect` and
`Backend.describe_detected`), only the keypoints that are kept or averaged in are described.
"""

from dataclasses import replace
import math
from typing import Any, Callable, List, Mapping, Tuple, Union

import numpy as np

from lfnet_core.image_scaling import rescale_pixels, resize_image
from lfnet_core.local_features import as_features, Features

LEVEL_FACTOR = math.sqrt(0.5)
DUPLICATE_RADIUS = 4.0
BUDGET_EXPONENT = 1.0
CANDIDATES = 2.0  # each level detects this many times its budget, for the refill
Extract = Callable[[np.ndarray, int], Union[Features, Mapping[str, np.ndarray]]]
Describe = Callable[[np.ndarray], Features]


def pyramid_sizes(width: int, height: int, levels: int,
                  factor: float = LEVEL_FACTOR) -> List[Tuple[int, int]]:
    """(width, height) of each level, level 0 the input, each `factor` times the previous.

    Raises:
        ValueError: `levels` < 1 or `factor` not in (0, 1).

    """
    if isinstance(levels, bool) or int(levels) != levels or levels < 1:
        raise ValueError(f'pyramid levels: must be an integer >= 1, got {levels!r}')
    if not 0 < factor < 1:
        raise ValueError(f'pyramid factor: must be in (0, 1), got {factor}')
    return [(max(1, round(width * factor ** level)), max(1, round(height * factor ** level)))
            for level in range(int(levels))]


def budget_by_area(top_k: int, sizes: List[Tuple[int, int]], exponent: float = 1.0) -> List[int]:
    """Split K over the levels in proportion to their pixel counts to the power `exponent`.

    Each level gets >= 1; exponent 1 shares by area, 2 favours the finer levels more.
    """
    areas = np.array([w * h for w, h in sizes], np.float64) ** exponent
    shares = np.maximum(1, np.floor(top_k * areas / areas.sum())).astype(int)
    shares[0] += max(0, top_k - int(shares.sum()))  # rounding leftovers go to the finest level
    return shares.tolist()


def extract_pyramid(extract: Union[Extract, Any], image: np.ndarray, top_k: int, levels: int,
                    duplicate_radius: float = DUPLICATE_RADIUS, merge_duplicates: bool = True,
                    budget_exponent: float = BUDGET_EXPONENT) -> Features:
    """Detect over `levels` levels and merge the results (module doc).

    Args:
        extract: a backend with `detect` and `describe_detected` (`lfnet_core.inference`), or
            a one-level extraction `extract(image, k)` with `Backend.extract`'s output
            contract (Features, or a mapping with the same arrays).
        image: the input image (any layout `Backend.extract` accepts).
        top_k: total keypoint budget K.
        levels: number of pyramid levels (1: the input only, exactly `extract(image, K)`).
        duplicate_radius: keypoints of different levels within this many input pixels are
            twins (0: every level keeps its top keypoints, twins included).
        merge_duplicates: average a dropped twin's descriptor into the kept one's (l2
            descriptors only).
        budget_exponent: K is shared by level area to this power (`budget_by_area`).

    Returns:
        The Features over all levels, sorted by decreasing score, with `levels` (N,) int32:
        the level each keypoint came from.

    """
    height, width = image.shape[:2]
    sizes = pyramid_sizes(width, height, levels)
    budgets = budget_by_area(top_k, sizes, budget_exponent)
    twins = levels > 1 and duplicate_radius > 0
    positions, scores, describers = [], [], []
    for level, (size, budget) in enumerate(zip(sizes, budgets)):
        small = image if level == 0 else resize_image(image, size)
        level_positions, level_scores, describe = _detect(
            extract, small, math.ceil(budget * CANDIDATES) if twins else budget)
        positions.append(rescale_pixels(level_positions, size, (width, height)))
        scores.append(level_scores)
        describers.append(_in_input_pixels(describe, size, (width, height), level))
    counts = [len(level_scores) for level_scores in scores]
    level_of = np.repeat(np.arange(len(sizes)), counts)
    ranks = np.concatenate([np.arange(count) for count in counts])
    if twins:
        taken, twin_of = choose_keypoints(np.concatenate(positions), level_of,
                                          np.concatenate(scores), ranks, budgets,
                                          duplicate_radius)
    else:
        taken, twin_of = np.ones(len(ranks), bool), np.full(len(ranks), -1)
    if not merge_duplicates:
        twin_of[:] = -1
    described = taken | (twin_of >= 0)
    parts = [describe(np.flatnonzero(described[level_of == level]))
             for level, describe in enumerate(describers)]
    merged = replace(parts[0], **{key: np.concatenate([p[key] for p in parts])
                                  for key in parts[0].keys()})
    rows = np.cumsum(described) - 1  # candidate index -> row of `merged`
    folded = np.flatnonzero(twin_of >= 0)
    if len(folded) and merged.metric == 'l2':
        merged = replace(merged, descriptors=averaged_descriptors(
            merged.descriptors, rows[twin_of[folded]], rows[folded]))
    merged = merged.select(rows[taken])
    return merged.select(np.argsort(-merged.scores, kind='stable'))


def has_two_stages(extract: Union[Extract, Any]) -> bool:
    """Whether `extract` is a backend with `detect` and `describe_detected` (module doc)."""
    return hasattr(extract, 'detect') and hasattr(extract, 'describe_detected')


def _detect(extract: Union[Extract, Any], image: np.ndarray,
            top_k: int) -> Tuple[np.ndarray, np.ndarray, Describe]:
    """One level's candidate positions and scores (strongest first) and how to describe them."""
    if has_two_stages(extract):
        detection = extract.detect(image, top_k)
        return (detection.keypoints_int.astype(np.float64), detection.scores,
                lambda index: extract.describe_detected(detection, index))
    features = as_features(extract(image, top_k))
    features = features.select(np.argsort(-features.scores, kind='stable'))
    return features.keypoints.astype(np.float64), features.scores, features.select


def _in_input_pixels(describe: Describe, size: Tuple[int, int], input_size: Tuple[int, int],
                     level: int) -> Describe:
    """Wrap `describe` to map a level's keypoints and scales to input pixels, with `levels`."""
    def described(index: np.ndarray) -> Features:
        out = as_features(describe(index))
        if level:
            out = replace(out, keypoints=rescale_pixels(out.keypoints, size,
                                                        input_size).astype(np.float32),
                          scales=(out.scales * (input_size[0] / size[0])).astype(np.float32))
        return replace(out, levels=np.full(len(out), level, np.int32))
    return described


def choose_keypoints(positions: np.ndarray, levels: np.ndarray, scores: np.ndarray,
                     ranks: np.ndarray, budgets: List[int],
                     radius: float) -> Tuple[np.ndarray, np.ndarray]:
    """Take keypoints strongest first, each level up to its budget, without twins.

    A candidate within `radius` of a taken keypoint of another level is that one's twin and is
    dropped; budget a level cannot fill then goes to the other levels, strongest first.

    Args:
        positions: (N, 2) candidate positions in input pixels.
        levels: (N,) their levels.
        scores: (N,) their scores.
        ranks: (N,) each candidate's rank by score within its level.
        budgets: keypoints to keep per level.
        radius: twins are candidates of different levels at most this far apart.

    Returns:
        taken (N,) bool; and twin_of (N,) int: for a dropped twin that ranked within its
        level's budget, the nearest taken twin, else -1.

    """
    first, second, distances = close_pairs(positions, radius)
    other_level = levels[first] != levels[second]
    first, second, distances = first[other_level], second[other_level], distances[other_level]
    starts = np.searchsorted(first, np.arange(len(scores) + 1))  # pairs sorted by `first`
    taken = np.zeros(len(scores), bool)
    blocked = np.zeros(len(scores), bool)
    room = np.array(budgets)
    order = np.argsort(-scores, kind='stable')
    for relaxed in (False, True):  # the second pass spends what a level could not fill
        spare = int(room.clip(min=0).sum()) if relaxed else 0
        for i in order:
            if relaxed and spare == 0:
                break
            if taken[i] or blocked[i]:
                continue
            if relaxed:
                spare -= 1
            elif room[levels[i]] <= 0:
                continue
            taken[i] = True
            room[levels[i]] -= 1
            blocked[second[starts[i]:starts[i + 1]]] = True
    twin_of = np.full(len(scores), -1)
    folded = blocked & ~taken & (ranks < np.asarray(budgets)[levels])
    into = folded[first] & taken[second]
    first, second, distances = first[into], second[into], distances[into]
    nearest = np.lexsort((distances, first))
    first, second = first[nearest], second[nearest]
    head = np.ones(len(first), bool)
    head[1:] = first[1:] != first[:-1]
    twin_of[first[head]] = second[head]
    return taken, twin_of


def averaged_descriptors(descriptors: np.ndarray, rows: np.ndarray,
                         added_rows: np.ndarray) -> np.ndarray:
    """Add row `added_rows[i]` to row `rows[i]` of unit `descriptors` and renormalise those."""
    out = np.array(descriptors, np.float32)
    np.add.at(out, rows, descriptors[added_rows])
    touched = np.unique(rows)
    out[touched] /= np.maximum(np.linalg.norm(out[touched], axis=1, keepdims=True), 1e-12)
    return out


def close_pairs(positions: np.ndarray,
                radius: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All ordered pairs (i, j), i != j, of `positions` at most `radius` apart.

    A grid of `radius`-sized cells finds them in memory linear in the pairs, not N^2.

    Returns:
        first, second (int64) sorted by `first`, and their distances.

    """
    count = len(positions)
    cells = np.floor(np.asarray(positions, np.float64) / radius).astype(np.int64)
    cells -= cells.min(axis=0, initial=0) - 1  # all >= 1, so neighbour cells are >= 0
    span = int(cells[:, 1].max(initial=0)) + 2

    def key(cell: np.ndarray) -> np.ndarray:
        return cell[:, 0] * span + cell[:, 1]

    order = np.argsort(key(cells), kind='stable')
    sorted_keys = key(cells)[order]
    firsts, seconds = [], []
    for step in ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)):
        target = key(cells + np.array(step))
        low = np.searchsorted(sorted_keys, target, 'left')
        found = np.searchsorted(sorted_keys, target, 'right') - low
        first = np.repeat(np.arange(count), found)
        offsets = np.arange(found.sum()) - np.repeat(np.cumsum(found) - found, found)
        firsts.append(first)
        seconds.append(order[np.repeat(low, found) + offsets])
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    distances = np.linalg.norm(positions[first] - positions[second], axis=1)
    close = (distances <= radius) & (first != second)
    by_first = np.argsort(first[close], kind='stable')
    return first[close][by_first], second[close][by_first], distances[close][by_first]
