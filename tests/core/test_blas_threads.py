# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for lfnet_core.blas_threads: BLAS limited to one thread inside, restored after."""

import numpy as np
from threadpoolctl import threadpool_info

from lfnet_core.blas_threads import single_blas_thread


def _blas_threads():
    return [lib['num_threads'] for lib in threadpool_info() if lib['user_api'] == 'blas']


def test_single_blas_thread_limits_and_restores():
    np.ones((4, 4)) @ np.ones((4, 4))  # NumPy's BLAS is loaded
    before = _blas_threads()
    assert before, 'NumPy should load a BLAS library'
    with single_blas_thread():
        assert _blas_threads() == [1] * len(before)
        product = np.arange(6.0).reshape(2, 3) @ np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(product, [[10.0, 13.0], [28.0, 40.0]])
    assert _blas_threads() == before
