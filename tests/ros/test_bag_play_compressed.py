# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A ``lfnet-bag-from-tum --compressed`` bag played by lfnet-bag-play into the node."""

import subprocess
import sys

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('torch', reason='the test runs the node with the torch backend')
pytest.importorskip('rosbags', reason='rosbags is not installed')

from lfnet_core.scenes import generate_sequence, write_tum_dataset  # noqa: E402
from lfnet_core.tum import TumSequence  # noqa: E402
from lfnet_ros import bag_from_tum  # noqa: E402
from lfnet_ros import conversions as conv  # noqa: E402
import ros_helpers as helpers  # noqa: E402

FRAMES = 3
REMAP = {
    bag_from_tum.COMPRESSED_COLOR_TOPIC: '/color/image_raw/compressed',
    bag_from_tum.COMPRESSED_DEPTH_TOPIC: '/depth/image_raw/compressedDepth',
    bag_from_tum.INFO_TOPIC: '/color/camera_info',
}


def test_compressed_bag_plays_into_the_compressed_node(ros_env, tmp_path):
    sequence = generate_sequence(num_frames=FRAMES, width=320, height=240, seed=5)
    write_tum_dataset(sequence, str(tmp_path / 'tum'))
    result = bag_from_tum.convert(str(tmp_path / 'tum'), str(tmp_path / 'bag'), progress=False,
                                  compressed=True)
    stamps = {int(round(t * 1e9)) for t in TumSequence(str(tmp_path / 'tum')).timestamps}
    assert result['frames'] == FRAMES
    # Colour waits sync_slop of wall time for its depth (default 20 ms): a loaded machine may
    # decode the compressed depth later than that, which this test is not about. (sync_slop is
    # also the stamp tolerance; the bag's colour and depth stamps are equal.)
    harness = helpers.NodeHarness({'backend': 'torch', 'color_transport': 'compressed',
                                   'depth_transport': 'compressedDepth', 'sync_slop': 0.5},
                                  params_file=helpers.REPO_ROOT / 'config' / 'frontend.yaml')
    player = None
    try:
        assert harness.spin_until(lambda: harness.subs[0].get_publisher_count() >= 1), \
            harness.log()
        player = subprocess.Popen(
            [sys.executable, '-m', 'lfnet_ros.bag_play', str(tmp_path / 'bag'), '--rate', '2',
             '--wait-subscribers', '60', '--topics', *REMAP, '--remap',
             *(f'{source}:={target}' for source, target in REMAP.items())],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # A cloud of a played frame with depth at most keypoints: the compressed depth was
        # decoded and paired.
        received = harness.spin_until(
            lambda: any(_paired(m, stamps) for m in harness.keypoints),
            timeout=helpers.TIMEOUT * 2)
        output = player.communicate(timeout=60)[0]
        alive = harness.proc.poll() is None
    finally:
        if player is not None and player.poll() is None:
            player.kill()
            player.wait(timeout=15)
        harness.close()
    assert player.returncode == 0, output
    assert f'{bag_from_tum.COMPRESSED_COLOR_TOPIC} {FRAMES}' in output, output
    assert received, f'no keypoints with depth from the played bag\n{output}\n{harness.log()}'
    assert alive


def _paired(message, stamps) -> bool:
    """Whether a keypoint cloud is of a played frame and has depth at most of its keypoints."""
    if conv.stamp_to_ns(message.header.stamp) not in stamps:
        return False
    cloud = conv.cloud_to_array(message)
    return len(cloud) > 0 and np.isfinite(cloud['z']).mean() > 0.5
