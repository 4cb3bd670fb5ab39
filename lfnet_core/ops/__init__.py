# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Differentiable and export-friendly tensor operations used by LF-Net."""
