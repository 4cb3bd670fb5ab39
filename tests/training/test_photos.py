# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Homography pairs from folders of real photos: folders, weights, both views warped, records."""

from collections import Counter

import cv2
import numpy as np
import pytest
import skimage.data

from lfnet_training.data import build_dataset
from lfnet_training.datasets.photos import list_photo_folders, PhotoFolderPairs


@pytest.fixture(scope='module')
def photo_root(tmp_path_factory):
    """Three folders: 'big' with 9 photos, 'small' with 1, 'held' with 1 (scikit-image)."""
    root = tmp_path_factory.mktemp('photos')
    names = {'big': ['astronaut', 'camera', 'coffee', 'chelsea', 'rocket', 'brick', 'grass',
                     'gravel', 'text'], 'small': ['page'], 'held': ['coins']}
    for folder, photos in names.items():
        (root / folder).mkdir()
        for name in photos:
            image = getattr(skimage.data, name)()
            image = image[..., ::-1] if image.ndim == 3 else image
            cv2.imwrite(str(root / folder / f'{name}.jpg'), image)
    (root / 'empty').mkdir()
    return root


def test_folders_include_exclude_and_errors(photo_root, tmp_path):
    everything = list_photo_folders(photo_root)
    assert sorted(everything) == ['big', 'held', 'small']  # the empty folder is skipped
    assert len(everything['big']) == 9
    assert sorted(list_photo_folders(photo_root, exclude=['held'])) == ['big', 'small']
    assert list(list_photo_folders(photo_root, include=['held'])) == ['held']
    with pytest.raises(ValueError, match='no_such'):
        list_photo_folders(photo_root, exclude=['no_such'])
    with pytest.raises(FileNotFoundError):
        list_photo_folders(tmp_path / 'missing')


def test_sampling_follows_folder_weights_not_photo_counts(photo_root):
    pairs = PhotoFolderPairs(photo_root, size=48, num_pairs=400, exclude=['held'],
                             folder_weights={'big': 1.0, 'small': 1.0})
    counts = Counter(pairs.folder_names[pairs.draw(i)[0]] for i in range(400))
    assert 160 < counts['small'] < 240  # half, although it holds 1 photo of 10
    default = PhotoFolderPairs(photo_root, size=48, num_pairs=10, exclude=['held'])
    np.testing.assert_allclose(default.folder_probability, [3 / 4, 1 / 4])  # sqrt(9) : sqrt(1)


def test_records_are_deterministic_and_correspondences_hold(photo_root):
    pairs = PhotoFolderPairs(photo_root, size=64, num_pairs=8, seed=5, photometric=None)
    first, again = pairs[3], pairs[3]
    np.testing.assert_array_equal(first['image1'].numpy(), again['image1'].numpy())
    for index in range(8):
        record = pairs[index]
        image0, image1 = record['image0'][0].numpy(), record['image1'][0].numpy()
        xy, vis = record['xy_0to1'].numpy(), record['vis_0to1'].numpy()
        assert vis.mean() > 0.2
        warped = cv2.remap(image1, xy[..., 0].astype(np.float32), xy[..., 1].astype(np.float32),
                           cv2.INTER_LINEAR)
        inner = vis & (cv2.erode(vis.astype(np.uint8), np.ones((5, 5))) > 0)
        # Both views are resampled from the photo: bilinear twice, so not exact, but close.
        assert np.median(np.abs(warped - image0)[inner]) < 0.03
        shifted = np.median(np.abs(np.roll(warped, 7, axis=1) - image0)[inner])
        assert shifted > 2 * np.median(np.abs(warped - image0)[inner])


def test_view0_is_warped_and_scaled_down(photo_root):
    pairs = PhotoFolderPairs(photo_root, size=64, num_pairs=50, seed=1, include=['big'],
                             source_scale=(0.5, 0.7))
    scales = [np.sqrt(abs(np.linalg.det(pairs.draw(i)[2][:2, :2]))) for i in range(50)]
    assert 0.45 < min(scales) and max(scales) < 0.85


def test_config_source_type_photos(photo_root):
    from omegaconf import OmegaConf
    cfg = OmegaConf.create({'sources': [{'type': 'photos', 'root': str(photo_root), 'size': 48,
                                         'num_pairs': 3, 'source_scale': [0.6, 0.9],
                                         'include': ['big']}]})
    data = build_dataset(cfg)
    assert len(data) == 3 and data[0]['image0'].shape == (1, 48, 48)
