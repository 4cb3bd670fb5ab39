# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Build the training/validation dataset from a config's `sources` list."""

from typing import Any, Dict, List

from omegaconf import DictConfig, OmegaConf
from torch.utils.data import ConcatDataset, Dataset


def _source(spec: Dict[str, Any]) -> Dataset:
    spec = dict(spec)
    kind = spec.pop('type')
    if 'gap_range' in spec:
        spec['gap_range'] = tuple(spec['gap_range'])
    if kind == 'synthetic':
        from lfnet_core.sensor_effects import SensorEffects
        from lfnet_training.datasets.synthetic import SyntheticPairs
        effects = spec.pop('effects', None)
        if effects == 'kinect_like':
            spec['effects'] = SensorEffects.kinect_like()
        elif effects:
            spec['effects'] = SensorEffects(**effects)
        return SyntheticPairs(**spec)
    if kind == 'tum':
        from lfnet_training.datasets.tum import TumPairs
        return TumPairs(**spec)
    if kind == 'homography':
        from lfnet_training.datasets.homography import default_homography_images, HomographyPairs
        if not spec.get('images'):
            spec['images'] = default_homography_images(spec.pop('shared_dir', None),
                                                       spec.pop('exclude', ()))
        elif 'exclude' in spec or 'shared_dir' in spec:
            raise ValueError('homography: `exclude` and `shared_dir` apply to the default '
                             'images only, not to an explicit `images` list')
        return HomographyPairs(**spec)
    if kind == 'photos':
        from lfnet_training.datasets.photos import PhotoFolderPairs
        if 'source_scale' in spec:
            spec['source_scale'] = tuple(spec['source_scale'])
        return PhotoFolderPairs(**spec)
    raise ValueError(f'unknown dataset type {kind!r} (synthetic, tum, homography, photos)')


def build_dataset(cfg: DictConfig) -> Dataset:
    """Concatenate the datasets listed in `cfg.sources` (each a dict with a `type` key)."""
    specs: List[Dict[str, Any]] = OmegaConf.to_container(cfg.sources, resolve=True)
    if not specs:
        raise ValueError('data config needs at least one entry in `sources`')
    datasets = [_source(spec) for spec in specs]
    return datasets[0] if len(datasets) == 1 else ConcatDataset(datasets)
