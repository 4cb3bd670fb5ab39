# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Compressed colour and depth inputs (image_transport ``compressed`` / ``compressedDepth``)."""

import struct

import cv2
import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('torch', reason='the tests run the node with the torch backend')

from sensor_msgs.msg import CompressedImage  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from lfnet_core.frontend import Frame, Frontend  # noqa: E402
from lfnet_core.inference import create_backend  # noqa: E402
from lfnet_core.scenes import generate_sequence  # noqa: E402
from lfnet_ros import conversions as conv  # noqa: E402
from lfnet_ros.compressed_images import (compressed_depth_to_metres,  # noqa: E402
                                         compressed_to_rgb, depth_to_compressed,
                                         rgb_to_compressed)
from lfnet_ros.node_parameters import frontend_config, PARAMETERS  # noqa: E402
import ros_helpers as helpers  # noqa: E402


@pytest.fixture(scope='module')
def sequence():
    return generate_sequence(2, 320, 240, seed=5)


def test_png_depth_is_lossless_and_jpeg_colour_is_close(sequence):
    depth_mm = np.round(sequence.depth[0] * 1000).astype(np.uint16)
    depth_mm[:10] = 0
    decoded = compressed_depth_to_metres(depth_to_compressed(depth_mm, Header()))
    expected = conv.depth_to_metres(conv.array_to_image(depth_mm, '16UC1'))
    np.testing.assert_array_equal(np.isnan(decoded), np.isnan(expected))
    np.testing.assert_array_equal(decoded[~np.isnan(decoded)], expected[~np.isnan(expected)])
    rgb = compressed_to_rgb(rgb_to_compressed(sequence.rgb[0], Header(), quality=95))
    assert rgb.shape == sequence.rgb[0].shape
    assert np.abs(rgb.astype(int) - sequence.rgb[0]).mean() < 3.0


def test_float_depth_comes_back_from_quantised_inverse_depth():
    depth = np.array([[0.5, 1.0], [2.0, np.nan]], np.float32)
    quant_a, quant_b = 100.0 * 101.0, 1.0 - 100.0 * 101.0 / 10.0  # image_transport's defaults
    inverse = np.where(np.isfinite(depth), quant_a / depth + quant_b, 0).astype(np.uint16)
    ok, png = cv2.imencode('.png', inverse)
    msg = CompressedImage(format='32FC1; compressedDepth png',
                          data=struct.pack('<iff', 0, quant_a, quant_b) + png.tobytes())
    decoded = compressed_depth_to_metres(msg)
    np.testing.assert_allclose(decoded[np.isfinite(depth)], depth[np.isfinite(depth)],
                               rtol=1e-3)
    assert np.isnan(decoded[1, 1])


@pytest.mark.parametrize('msg', [CompressedImage(format='rgb8; jpeg compressed bgr8',
                                                 data=b'not a jpeg'),
                                 CompressedImage(format='16UC1; compressedDepth png',
                                                 data=b'short')])
def test_malformed_messages_raise_a_conversion_error(msg):
    with pytest.raises(conv.ConversionError):
        if 'Depth' in msg.format:
            compressed_depth_to_metres(msg)
        else:
            compressed_to_rgb(msg)


def test_the_node_takes_compressed_colour_and_depth(ros_env, sequence):
    """Keypoints from JPEG colour match the raw image's; PNG depth gives the same 3D."""
    harness = helpers.NodeHarness({'backend': 'torch', 'color_transport': 'compressed',
                                   'depth_transport': 'compressedDepth'},
                                  params_file=helpers.REPO_ROOT / 'config' / 'frontend.yaml')
    qos = rclpy.qos.qos_profile_sensor_data
    pub_color = harness.node.create_publisher(CompressedImage, 'color/image_raw/compressed', qos)
    pub_depth = harness.node.create_publisher(CompressedImage,
                                              'depth/image_raw/compressedDepth', qos)
    try:
        assert harness.spin_until(lambda: pub_color.get_subscription_count() >= 1
                                  and pub_depth.get_subscription_count() >= 1
                                  and harness.subs[0].get_publisher_count() >= 1), harness.log()
        bad = CompressedImage(header=Header(stamp=conv.ns_to_stamp(1)), format='rgb8; jpeg',
                              data=b'garbage')
        assert harness.send_until([(pub_color, bad)],
                                  lambda: harness.counter('dropped.color_invalid') >= 1)
        stamp = conv.ns_to_stamp(int(sequence.timestamps[0] * 1e9))
        header = Header(stamp=stamp, frame_id='camera_color_optical_frame')
        depth_mm = np.round(sequence.depth[0] * 1000).astype(np.uint16)
        messages = [(harness.pub_info, helpers.camera_info(sequence.K, 320, 240, header)),
                    (pub_depth, depth_to_compressed(depth_mm, header)),
                    (pub_color, rgb_to_compressed(sequence.rgb[0], header, quality=95))]
        assert harness.send_until_processed(messages, stamp), harness.log()
        cloud = conv.cloud_to_array(harness.keypoints_at(stamp)[0])
        alive = harness.proc.poll() is None
    finally:
        harness.close()
    assert alive
    defaults = {name: default for name, (default, _, _) in PARAMETERS.items()}
    reference = Frontend(create_backend('torch'), frontend_config(defaults)).process(
        Frame(sequence.rgb[0], 0.0, sequence.depth[0], sequence.K))
    keypoints = np.stack([cloud['u'], cloud['v']], axis=1)
    distances = np.linalg.norm(keypoints[:, None] - reference.keypoints[None], axis=2)
    # JPEG's loss may add or remove a few weak peaks: counts within 5%, and most keypoints of
    # each set within 1.5 px of one of the other's
    assert abs(len(cloud) - len(reference.keypoints)) <= 0.05 * len(reference.keypoints)
    assert np.mean(distances.min(axis=1) < 1.5) >= 0.8, np.mean(distances.min(axis=1) < 1.5)
    assert np.mean(distances.min(axis=0) < 1.5) >= 0.8, np.mean(distances.min(axis=0) < 1.5)
    assert np.isfinite(cloud['z']).mean() > 0.5  # depth arrived and paired
