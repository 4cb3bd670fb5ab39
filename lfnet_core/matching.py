# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Mutual nearest-neighbour descriptor matching (L2 float or Hamming on packed bits)."""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

# Largest distance block computed at once (entries for 'l2', bytes of XOR for 'hamming').
_BLOCK_ENTRIES = 1 << 26
_POPCOUNT = np.array([bin(i).count('1') for i in range(256)], dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class MatchResult:
    """Matches between descriptor sets 0 and 1.

    Attributes:
        matches: (K, 2) int64, column 0 indexes descriptors0 and column 1 descriptors1,
            sorted by the index into descriptors0.
        distances: (K,) float32 descriptor distances (Euclidean for 'l2', differing bits for
            'hamming').

    """

    matches: np.ndarray
    distances: np.ndarray

    def __len__(self) -> int:
        return int(self.matches.shape[0])


def _empty() -> MatchResult:
    return MatchResult(np.zeros((0, 2), dtype=np.int64), np.zeros((0,), dtype=np.float32))


def _check(descriptors0: np.ndarray, descriptors1: np.ndarray,
           metric: str) -> Tuple[np.ndarray, np.ndarray]:
    if metric not in ('l2', 'hamming'):
        raise ValueError(f"metric: expected 'l2' or 'hamming', got {metric!r}")
    d0, d1 = np.asarray(descriptors0), np.asarray(descriptors1)
    for name, d in (('descriptors0', d0), ('descriptors1', d1)):
        if d.ndim != 2:
            raise ValueError(f'{name}: expected shape (N, D), got {d.shape}')
        if metric == 'hamming' and d.dtype != np.uint8:
            raise ValueError(f"{name}: metric 'hamming' needs packed uint8 bits, got {d.dtype}")
        if metric == 'l2' and not np.issubdtype(d.dtype, np.number):
            raise ValueError(f'{name}: expected a numeric array, got {d.dtype}')
    if d0.shape[1] != d1.shape[1]:
        raise ValueError(f'descriptors0, descriptors1: descriptor lengths differ, '
                         f'{d0.shape[1]} != {d1.shape[1]}')
    if metric == 'l2':
        d0, d1 = d0.astype(np.float32, copy=False), d1.astype(np.float32, copy=False)
        for name, d in (('descriptors0', d0), ('descriptors1', d1)):
            if not np.all(np.isfinite(d)):
                raise ValueError(f'{name}: descriptors must be finite')
    return d0, d1


def _distance_block(a: np.ndarray, b: np.ndarray, metric: str, sq_a: Optional[np.ndarray],
                    sq_b: Optional[np.ndarray]) -> np.ndarray:
    """Distances (squared Euclidean for 'l2', bit counts for 'hamming') between rows."""
    if metric == 'l2':
        block = a @ b.T
        block *= -2.0
        block += sq_a[:, None]
        block += sq_b[None, :]
        return np.maximum(block, 0.0, out=block)
    if a.shape[1] % 8 == 0:  # XOR 64 bits at a time
        a = np.ascontiguousarray(a).view(np.uint64)
        b = np.ascontiguousarray(b).view(np.uint64)
    xor = np.bitwise_xor(a[:, None, :], b[None, :, :])
    if hasattr(np, 'bitwise_count'):  # numpy >= 2.0
        bits = np.bitwise_count(xor)
    else:
        bits = _POPCOUNT[xor.view(np.uint8)]
    return bits.sum(axis=2, dtype=np.int32).astype(np.float32)


def _second_smallest(block: np.ndarray, axis: int) -> np.ndarray:
    if block.shape[axis] < 2:
        shape = list(block.shape)
        del shape[axis]
        return np.full(shape, np.inf, dtype=block.dtype)
    return np.take(np.partition(block, 1, axis=axis), 1, axis=axis)


def _passes_ratio(best: np.ndarray, second: np.ndarray, ratio: float) -> np.ndarray:
    # best / second < ratio, written without dividing; best == second == 0 is ambiguous.
    return best < ratio * second


def mutual_nearest_neighbours(descriptors0: np.ndarray, descriptors1: np.ndarray,
                              metric: str = 'l2', max_distance: Optional[float] = None,
                              ratio: Optional[float] = None) -> MatchResult:
    """Match descriptors by mutual nearest neighbour, with optional distance and ratio gates.

    A pair (i, j) is kept when j is i's nearest neighbour in descriptors1 and i is j's nearest
    neighbour in descriptors0 (ties go to the lowest index, as argmin). Optional gates:

    - max_distance: keep only distance <= max_distance (Euclidean, or bits for 'hamming').
    - ratio: Lowe's ratio test, applied in BOTH directions so the result is symmetric: keep
      only if best / second-best < ratio for row i (over descriptors1) and for column j (over
      descriptors0). With 'l2' the ratio is of Euclidean (not squared) distances. Without a
      second candidate (a set of size 1) the test passes; exact ties fail it. It is off by
      default because the LF-Net authors report that it hurts LF-Net descriptors.

    Args:
        descriptors0: (N, D) float descriptors for 'l2', or packed uint8 bits (e.g. ORB,
            D = 32) for 'hamming'.
        descriptors1: (M, D) descriptors of the same kind.
        metric: 'l2' or 'hamming'.
        max_distance: optional inclusive upper bound on the match distance.
        ratio: optional ratio-test threshold in (0, 1].

    Returns:
        MatchResult with matches (K, 2) int64 sorted by index0 and distances (K,) float32.

    """
    d0, d1 = _check(descriptors0, descriptors1, metric)
    if max_distance is not None and not max_distance >= 0:
        raise ValueError(f'max_distance: must be >= 0, got {max_distance}')
    if ratio is not None and not 0 < ratio <= 1:
        raise ValueError(f'ratio: must be in (0, 1], got {ratio}')
    n, m = d0.shape[0], d1.shape[0]
    if n == 0 or m == 0:
        return _empty()

    sq0 = sq1 = None
    if metric == 'l2':
        sq0 = np.einsum('ij,ij->i', d0, d0)
        sq1 = np.einsum('ij,ij->i', d1, d1)
    per_row = m * (d0.shape[1] if metric == 'hamming' else 1)
    chunk = max(1, _BLOCK_ENTRIES // max(per_row, 1))

    row_arg = np.empty(n, dtype=np.int64)
    row_best = np.empty(n, dtype=np.float32)
    row_second = np.full(n, np.inf, dtype=np.float32)
    col_arg = np.zeros(m, dtype=np.int64)
    col_best = np.full(m, np.inf, dtype=np.float32)
    col_second = np.full(m, np.inf, dtype=np.float32)
    cols = np.arange(m)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        rows = np.arange(stop - start)
        block = _distance_block(d0[start:stop], d1, metric,
                                None if sq0 is None else sq0[start:stop], sq1)
        arg = np.argmin(block, axis=1)
        row_arg[start:stop] = arg
        row_best[start:stop] = block[rows, arg]
        carg = np.argmin(block, axis=0)
        cbest = block[carg, cols]
        if ratio is not None:
            row_second[start:stop] = _second_smallest(block, axis=1)
            # Two smallest of the union of two sorted pairs.
            col_second = np.minimum(np.minimum(col_second, _second_smallest(block, axis=0)),
                                    np.maximum(col_best, cbest))
        better = cbest < col_best  # strict: an earlier chunk (lower index) wins ties
        col_arg[better] = carg[better] + start
        col_best[better] = cbest[better]

    idx0 = np.arange(n)
    keep = col_arg[row_arg] == idx0
    dist = row_best
    if metric == 'l2':
        # Recompute the winners' distances directly: the expansion loses precision to
        # cancellation when descriptors are close, which is exactly when they match.
        dist = np.linalg.norm(d0 - d1[row_arg], axis=1).astype(np.float32)
        row_second, col_second = np.sqrt(row_second), np.sqrt(col_second)
    if max_distance is not None:
        keep &= dist <= max_distance
    if ratio is not None:
        best = np.sqrt(row_best) if metric == 'l2' else row_best  # same arithmetic as second
        keep &= _passes_ratio(best, row_second, ratio)
        keep &= _passes_ratio(best, col_second[row_arg], ratio)
    matches = np.stack([idx0[keep], row_arg[keep]], axis=1).astype(np.int64)
    return MatchResult(matches, dist[keep].astype(np.float32))
