# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Reading an RGB-D bag (``lfnet-bag-from-tum``'s layout) in this process, without playing it.

Messages are read with ``rosbags.rosbag2.Reader`` and decoded with rclpy's deserializer and the
node's own conversions (:mod:`lfnet_ros.conversions`), so frames look as they do to the node.
:class:`Topics` names the bag's camera and ground-truth topics.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from geometry_msgs.msg import PoseStamped
import numpy as np
from rclpy.serialization import deserialize_message
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import CameraInfo, Image

from lfnet_ros import bag_from_tum
from lfnet_ros import conversions as conv

DEPTH_SLOP_NS = 20_000_000  # colour/depth pairing (the node's slop)
BagFrame = Tuple[int, np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]


class BagError(RuntimeError):
    """The bag is missing, unreadable or lacks a topic."""


@dataclass(frozen=True)
class Topics:
    """The bag's topics: colour, depth, camera info and the ground-truth PoseStamped."""

    color: str = bag_from_tum.COLOR_TOPIC
    depth: str = bag_from_tum.DEPTH_TOPIC
    camera_info: str = bag_from_tum.INFO_TOPIC
    ground_truth: str = bag_from_tum.POSE_TOPIC

    def camera(self) -> List[str]:
        """Return the camera topics in publishing order: camera info, depth, colour."""
        return [self.camera_info, self.depth, self.color]


def read_messages(bag: str, topics: Sequence[str]) -> Iterator[Tuple[str, int, bytes]]:
    """Yield ``(topic, bag time ns, CDR bytes)`` of the bag's messages on ``topics``."""
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if c.topic in topics]
        for connection, stamp_ns, raw in reader.messages(connections=connections):
            yield connection.topic, stamp_ns, raw


def bag_topics(bag: str) -> Dict[str, str]:
    """Return ``{topic: type}`` of the bag."""
    with Reader(bag) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def check_bag(bag: str, topics: Topics) -> None:
    """Raise :class:`BagError` unless ``bag`` exists, reads and has all of ``topics``."""
    if not Path(bag).exists():
        raise BagError(f'{bag}: no such bag')
    try:
        present = bag_topics(bag)
    except Exception as exc:  # noqa: B902 - rosbags raises several error types
        raise BagError(f'cannot read bag {bag}: {exc}') from exc
    missing = [t for t in (*topics.camera(), topics.ground_truth) if t not in present]
    if missing:
        raise BagError(f'{bag} lacks {missing} (has {sorted(present)}); see the '
                       '--*-topic options')


def colour_stamps(bag: str, topic: str) -> List[int]:
    """Return the header stamps (ns) of the colour messages, in bag order."""
    return [conv.stamp_to_ns(deserialize_message(raw, Image).header.stamp)
            for _, _, raw in read_messages(bag, (topic,))]


def bag_frames(bag: str, topics: Topics, depth_scale: float = 0.001) -> Iterator[BagFrame]:
    """
    Yield ``(stamp ns, rgb, depth metres or None, K or None)`` per colour message of the bag.

    Decoded with the node's conversions; the depth is the newest depth message within 20 ms of
    the colour stamp, K the newest camera info (as the node does).
    """
    K, depth = None, None
    for topic, _, raw in read_messages(bag, topics.camera()):
        if topic == topics.camera_info:
            K = conv.camera_info_to_K(deserialize_message(raw, CameraInfo))
        elif topic == topics.depth:
            msg = deserialize_message(raw, Image)
            depth = (conv.stamp_to_ns(msg.header.stamp), conv.depth_to_metres(msg, depth_scale))
        else:
            msg = deserialize_message(raw, Image)
            stamp = conv.stamp_to_ns(msg.header.stamp)
            frame_depth = depth[1] if depth is not None and \
                abs(depth[0] - stamp) <= DEPTH_SLOP_NS else None
            yield stamp, conv.color_to_rgb(msg), frame_depth, K


def bag_ground_truth(bag: str, topic: str) -> Tuple[np.ndarray, np.ndarray]:
    """Return (stamps s, (N, 4, 4) camera-to-world poses) from the bag's PoseStamped topic."""
    stamps, poses = [], []
    for _, _, raw in read_messages(bag, (topic,)):
        msg = deserialize_message(raw, PoseStamped)
        stamps.append(conv.stamp_to_ns(msg.header.stamp) * 1e-9)
        poses.append(conv.pose_to_matrix(msg.pose))
    return np.asarray(stamps, np.float64), np.array(poses).reshape(-1, 4, 4)


class BagImages(Sequence[np.ndarray]):
    """``images[i]``: the colour image stamped ``stamps[i]``, read from the bag on demand."""

    def __init__(self, bag: str, topic: str, stamps: Sequence[int]) -> None:
        self.bag, self.topic, self.stamps = bag, topic, list(stamps)

    def __len__(self) -> int:
        return len(self.stamps)

    def __getitem__(self, index: int) -> np.ndarray:
        wanted = self.stamps[index]
        for _, _, raw in read_messages(self.bag, (self.topic,)):
            msg = deserialize_message(raw, Image)
            if conv.stamp_to_ns(msg.header.stamp) == wanted:
                return conv.color_to_rgb(msg)
        raise KeyError(wanted)
