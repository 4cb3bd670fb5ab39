# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The one feature container: attribute and dict-style access, checks, selection."""

import numpy as np
import pytest

from lfnet_core.local_features import (as_features, empty_features, FEATURE_FIELDS,
                                       Features)


def _features(count=3):
    rng = np.random.default_rng(0)
    return Features(keypoints=rng.random((count, 2), np.float32),
                    scales=np.ones(count, np.float32),
                    orientations=np.zeros(count, np.float32),
                    scores=np.linspace(1, 0, count, dtype=np.float32),
                    descriptors=rng.random((count, 8), np.float32))


def test_reads_like_the_backends_former_dict(tmp_path):
    features = _features()
    assert len(features) == 3 and features.metric == 'l2'
    assert features.keys() == FEATURE_FIELDS
    assert features['keypoints'] is features.keypoints
    assert set(dict(features)) == set(FEATURE_FIELDS)
    np.savez(tmp_path / 'f.npz', **features)
    with np.load(tmp_path / 'f.npz') as saved:
        np.testing.assert_array_equal(saved['descriptors'], features.descriptors)
    with pytest.raises(KeyError):
        features['levels']
    assert tuple(features) == FEATURE_FIELDS


def test_checks_lengths_and_metric():
    features = _features()
    with pytest.raises(ValueError, match='scales'):
        Features(features.keypoints, features.scales[:2], features.orientations,
                 features.scores, features.descriptors)
    with pytest.raises(ValueError, match='metric'):
        Features(*(features[name] for name in FEATURE_FIELDS), metric='cosine')


def test_select_keeps_every_array_and_the_metric():
    features = as_features(dict(_features(), levels=np.arange(3, dtype=np.int32)), 'hamming')
    assert features.metric == 'hamming' and features.keys()[-1] == 'levels'
    picked = features.select(np.array([2, 0]))
    np.testing.assert_array_equal(picked.levels, [2, 0])
    np.testing.assert_array_equal(picked.keypoints, features.keypoints[[2, 0]])
    assert picked.metric == 'hamming'
    assert as_features(picked) is picked


def test_empty():
    assert len(empty_features(256)) == 0
    assert empty_features(32, 'hamming').descriptors.dtype == np.uint8
