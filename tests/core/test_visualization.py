# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Drawing helpers of lfnet_core.visualization."""

import numpy as np

from lfnet_core.visualization import render_debug_image


def test_debug_image_draws_on_a_copy():
    image = np.zeros((40, 50), np.uint8)
    out = render_debug_image(image, np.array([[10.0, 10.0], [30.0, 20.0]]),
                             np.array([[12.0, 12.0]]), np.array([[0, 1]]), [True])
    assert out.shape == (40, 50, 3) and out.dtype == np.uint8 and out.any()
    assert not image.any()
