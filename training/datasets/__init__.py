# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Training pair datasets; every one returns the pair record documented in `record`.

Names are imported lazily so that ``python -m lfnet_training.datasets.<name>`` runs cleanly.
"""

import importlib

_EXPORTS = {
    'build_rgbd_record': 'record', 'RECORD_KEYS': 'record', 'RgbdView': 'record',
    'default_homography_images': 'homography', 'HomographyPairs': 'homography',
    'SyntheticPairs': 'synthetic',
    'TumFrame': 'tum', 'TumPairs': 'tum', 'TumSequence': 'tum',
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{_EXPORTS[name]}'), name)
