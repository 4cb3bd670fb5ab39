# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for lfnet_core.matching against a brute-force double-loop reference."""

import numpy as np
import pytest

from lfnet_core import matching
from lfnet_core.matching import mutual_nearest_neighbours


def _distance(a, b, metric):
    if metric == 'l2':
        return float(np.sqrt(np.sum((a.astype(np.float64) - b.astype(np.float64)) ** 2)))
    return float(sum(bin(int(x)).count('1') for x in np.bitwise_xor(a, b)))


def _reference(d0, d1, metric='l2', max_distance=None, ratio=None):
    """Double loop: nearest (lowest index on ties), mutual check, gates in both directions."""
    n, m = len(d0), len(d1)
    dist = [[_distance(d0[i], d1[j], metric) for j in range(m)] for i in range(n)]

    def best_two(values):
        order = sorted(range(len(values)), key=lambda k: (values[k], k))
        second = values[order[1]] if len(order) > 1 else np.inf
        return order[0], values[order[0]], second

    out = []
    for i in range(n):
        j, best, second_row = best_two(dist[i])
        i_back, _, second_col = best_two([dist[k][j] for k in range(n)])
        if i_back != i:
            continue
        if max_distance is not None and best > max_distance:
            continue
        if ratio is not None and not (best < ratio * second_row and best < ratio * second_col):
            continue
        out.append((i, j, best))
    return out


def _check_against_reference(d0, d1, metric='l2', **kwargs):
    result = mutual_nearest_neighbours(d0, d1, metric=metric, **kwargs)
    expected = _reference(d0, d1, metric, **kwargs)
    assert result.matches.dtype == np.int64 and result.matches.shape == (len(expected), 2)
    assert result.distances.dtype == np.float32 and result.distances.shape == (len(expected),)
    np.testing.assert_array_equal(result.matches,
                                  np.array([(i, j) for i, j, _ in expected]).reshape(-1, 2))
    np.testing.assert_allclose(result.distances, [d for _, _, d in expected], rtol=1e-5,
                               atol=1e-6)
    return result


@pytest.mark.parametrize('n, m', [(1, 1), (1, 7), (7, 1), (30, 30), (25, 60), (60, 25)])
def test_l2_matches_brute_force(n, m):
    rng = np.random.default_rng(n * 100 + m)
    d0 = rng.normal(size=(n, 16)).astype(np.float32)
    # Half of descriptors1 are noisy copies of descriptors0 so that mutual matches exist.
    d1 = rng.normal(size=(m, 16)).astype(np.float32)
    k = min(n, m) // 2
    d1[:k] = d0[:k] + 0.1 * rng.normal(size=(k, 16))
    result = _check_against_reference(d0, d1)
    if k:
        assert len(result) >= k
    _check_against_reference(d0, d1, max_distance=1.0)
    _check_against_reference(d0, d1, ratio=0.8)
    _check_against_reference(d0, d1, max_distance=0.5, ratio=0.9)


@pytest.mark.parametrize('block_rows', [None, 3])
def test_l2_duplicates_break_ties_to_lowest_index(block_rows, monkeypatch):
    if block_rows:  # ties must also go to the lowest index across row chunks
        monkeypatch.setattr(matching, '_BLOCK_ENTRIES', 35 * block_rows)
    # Small integers make float32 arithmetic exact, so ties really are ties.
    rng = np.random.default_rng(7)
    d0 = rng.integers(-2, 3, size=(40, 4)).astype(np.float32)
    d1 = rng.integers(-2, 3, size=(35, 4)).astype(np.float32)
    d0[3] = 7.0  # outside the random range: rows 3, 10-14 of d0 and 20-23 of d1 are equal
    d0[10:15] = d0[3]
    d1[20:24] = d0[3]
    d1[5] = d1[6]
    result = _check_against_reference(d0, d1)
    assert (3, 20) in map(tuple, result.matches)
    _check_against_reference(d0, d1, ratio=0.9)
    _check_against_reference(d0, d1, max_distance=0.0)


def test_symmetry_of_swapped_inputs_with_ratio():
    rng = np.random.default_rng(8)
    d0 = rng.normal(size=(50, 8)).astype(np.float32)
    d1 = np.concatenate([d0[:30] + 0.2 * rng.normal(size=(30, 8)), rng.normal(size=(40, 8))])
    forward = mutual_nearest_neighbours(d0, d1, ratio=0.8)
    backward = mutual_nearest_neighbours(d1, d0, ratio=0.8)
    order = np.argsort(backward.matches[:, 1])
    np.testing.assert_array_equal(forward.matches, backward.matches[order][:, ::-1])
    np.testing.assert_allclose(forward.distances, backward.distances[order], rtol=1e-5)


@pytest.mark.parametrize('n, m', [(1, 1), (20, 20), (33, 17), (17, 33)])
def test_hamming_matches_brute_force(n, m):
    rng = np.random.default_rng(n * 7 + m)
    d0 = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    d1 = rng.integers(0, 256, size=(m, 32), dtype=np.uint8)
    k = min(n, m) // 2
    flips = rng.integers(0, 256, size=(k, 32), dtype=np.uint8) & np.uint8(0x11)
    d1[:k] = d0[:k] ^ flips
    d1[-1] = d1[0]  # a duplicate: ties go to the lower index
    result = _check_against_reference(d0, d1, metric='hamming')
    assert np.all(result.distances == np.round(result.distances))
    _check_against_reference(d0, d1, metric='hamming', max_distance=60)
    _check_against_reference(d0, d1, metric='hamming', ratio=0.7)


def test_chunked_path_equals_single_block(monkeypatch):
    rng = np.random.default_rng(9)
    d0 = rng.normal(size=(97, 12)).astype(np.float32)
    d1 = np.concatenate([d0[:60] + 0.3 * rng.normal(size=(60, 12)), rng.normal(size=(23, 12))])
    b0 = rng.integers(0, 256, size=(97, 32), dtype=np.uint8)
    b1 = rng.integers(0, 256, size=(83, 32), dtype=np.uint8)
    full = [mutual_nearest_neighbours(d0, d1, ratio=0.9),
            mutual_nearest_neighbours(b0, b1, metric='hamming', ratio=0.95)]
    monkeypatch.setattr(matching, '_BLOCK_ENTRIES', 83 * 5)  # five rows per l2 block
    chunked = [mutual_nearest_neighbours(d0, d1, ratio=0.9),
               mutual_nearest_neighbours(b0, b1, metric='hamming', ratio=0.95)]
    for a, b in zip(full, chunked):
        assert len(a) > 0
        np.testing.assert_array_equal(a.matches, b.matches)
        np.testing.assert_allclose(a.distances, b.distances, rtol=1e-5)
    _check_against_reference(d0, d1, ratio=0.9)


@pytest.mark.parametrize('n, m', [(0, 5), (5, 0), (0, 0)])
@pytest.mark.parametrize('metric', ['l2', 'hamming'])
def test_empty_inputs(n, m, metric):
    dtype = np.float32 if metric == 'l2' else np.uint8
    result = mutual_nearest_neighbours(np.zeros((n, 32), dtype), np.zeros((m, 32), dtype),
                                       metric=metric, ratio=0.8)
    assert result.matches.shape == (0, 2) and result.matches.dtype == np.int64
    assert result.distances.shape == (0,) and result.distances.dtype == np.float32
    assert len(result) == 0


@pytest.mark.parametrize('kwargs', [
    {'descriptors0': np.zeros((3, 4)), 'descriptors1': np.zeros((3, 5))},
    {'descriptors0': np.zeros(4), 'descriptors1': np.zeros((3, 4))},
    {'descriptors0': np.zeros((3, 4)), 'descriptors1': np.zeros((3, 4)), 'metric': 'cosine'},
    {'descriptors0': np.zeros((3, 4)), 'descriptors1': np.zeros((3, 4)), 'metric': 'hamming'},
    {'descriptors0': np.full((3, 4), np.nan), 'descriptors1': np.zeros((3, 4))},
    {'descriptors0': np.zeros((3, 4)), 'descriptors1': np.zeros((3, 4)), 'ratio': 1.5},
    {'descriptors0': np.zeros((3, 4)), 'descriptors1': np.zeros((3, 4)), 'max_distance': -1.0},
])
def test_bad_input_raises_value_error(kwargs):
    with pytest.raises(ValueError):
        mutual_nearest_neighbours(**kwargs)


@pytest.mark.parametrize('width', [5, 32])
@pytest.mark.parametrize('numpy_popcount', [True, False])
def test_hamming_popcount_paths(width, numpy_popcount, monkeypatch):
    if not numpy_popcount and hasattr(np, 'bitwise_count'):
        monkeypatch.delattr(np, 'bitwise_count')  # the 256-entry table path (numpy < 2)
    rng = np.random.default_rng(width)
    d0 = rng.integers(0, 256, size=(15, width), dtype=np.uint8)
    noise = rng.integers(0, 256, size=(9, width), dtype=np.uint8)
    d1 = np.concatenate([d0[:8] ^ np.uint8(0x01), noise])
    result = _check_against_reference(d0, d1, metric='hamming')
    assert len(result) >= 8
