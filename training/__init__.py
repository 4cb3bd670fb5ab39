# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Training code for LF-Net: pair datasets, losses and the training loop."""
