# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``lfnet-bag-from-tum DATASET OUT``: a TUM RGB-D folder as a rosbag2 that ``ros2 bag play`` plays.

Reads ``DATASET`` with :class:`lfnet_core.tum.TumSequence` (``rgb.txt``, ``depth.txt``,
``groundtruth.txt``; intrinsics and depth factor from ``intrinsics.txt`` / ``camera.yaml`` as
written by ``lfnet-scenes`` / :func:`lfnet_core.scenes.write_tum_dataset`, else TUM fr3's; frames
without depth or ground truth within 20 ms are left out) and writes the bag ``OUT`` (a new
folder: an existing one is refused) with rosbags (rosbag2 format version 9, MCAP by default,
``--storage sqlite3`` on request). Per colour frame, all stamped with the colour image's
timestamp (header stamp = bag receive time), in this order:

========================================== ============================ =====================
topic                                      type                         offered QoS
========================================== ============================ =====================
``/camera/color/camera_info``              sensor_msgs/msg/CameraInfo   sensor data
``/camera/aligned_depth_to_color/image_raw`` sensor_msgs/msg/Image 16UC1 sensor data
``/camera/color/image_raw``                sensor_msgs/msg/Image rgb8   sensor data
``/ground_truth/pose``                     geometry_msgs/msg/PoseStamped reliable
``/tf``                                    tf2_msgs/msg/TFMessage       reliable, depth 100
========================================== ============================ =====================

* Colour: ``rgb8``, frame ``camera_color_optical_frame``, pixels exactly as decoded.
* Depth: registered to colour (TUM depth is), so it carries the colour frame id and stamp;
  ``16UC1`` millimetres, ``round(metres * 1000)``, 0 = invalid (what the node's default
  ``depth_scale`` 0.001 expects).
* CameraInfo: ``plumb_bob`` without distortion, ``K`` and ``P`` from the intrinsics.
* Ground truth: the camera-to-world pose (camera optical frame) at the colour stamp, as
  ``TumSequence`` associates it (interpolated between the bracketing ground-truth samples),
  as a PoseStamped in frame ``world`` and as the TF ``world -> camera_gt``.

``--compressed`` writes the images as image_transport's ``sensor_msgs/msg/CompressedImage``
instead (what a camera driver's ``compressed`` / ``compressedDepth`` transports publish; the
node reads them with ``color_transport:=compressed depth_transport:=compressedDepth``), on
the raw topics' image_transport names; everything else is unchanged:

* ``/camera/color/image_raw/compressed``: JPEG (quality 95), format
  ``'rgb8; jpeg compressed bgr8'`` (lossy).
* ``/camera/aligned_depth_to_color/image_raw/compressedDepth``: the 12-byte header
  ``(0, 0.0, 0.0)`` then a 16-bit PNG of the millimetres, format
  ``'16UC1; compressedDepth png'`` (lossless).

The bytes come from :mod:`lfnet_ros.image_encoding`, as the node's own encoders'.

"Sensor data" is ROS's ``qos_profile_sensor_data`` (best effort, keep last 5, volatile); a
reliable or best-effort subscriber matches it. The messages are built and CDR-serialised
with rosbags' ``ROS2_KILTED`` typestore, so no ROS installation is needed to write the bag.
"""

import argparse
from pathlib import Path
import sys
from typing import Dict, Optional, Sequence

import numpy as np
from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness, QosReliability,
                                QosTime)
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import get_typestore, Stores
from tqdm import tqdm

from lfnet_core.rigid_poses import rotation_to_quaternion
from lfnet_core.tum import TumSequence
from lfnet_ros.image_encoding import encode_compressed_depth, encode_jpeg

COLOR_TOPIC = '/camera/color/image_raw'
DEPTH_TOPIC = '/camera/aligned_depth_to_color/image_raw'
INFO_TOPIC = '/camera/color/camera_info'
POSE_TOPIC = '/ground_truth/pose'
TF_TOPIC = '/tf'
CAMERA_FRAME = 'camera_color_optical_frame'
WORLD_FRAME = 'world'
GT_FRAME = 'camera_gt'
COMPRESSED_COLOR_TOPIC = COLOR_TOPIC + '/compressed'
COMPRESSED_DEPTH_TOPIC = DEPTH_TOPIC + '/compressedDepth'
STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}

_DEFAULT = QosTime(0, 0)  # rmw's default duration: no deadline / lifespan / lease limit


def _qos(reliability: QosReliability, depth: int) -> Qos:
    return Qos(QosHistory.KEEP_LAST, depth, reliability, QosDurability.VOLATILE, _DEFAULT,
               _DEFAULT, QosLiveliness.AUTOMATIC, _DEFAULT, False)


SENSOR_QOS = _qos(QosReliability.BEST_EFFORT, 5)
RELIABLE_QOS = _qos(QosReliability.RELIABLE, 10)
TF_QOS = _qos(QosReliability.RELIABLE, 100)

# topic: (type name, offered QoS)
TOPICS = {
    INFO_TOPIC: ('sensor_msgs/msg/CameraInfo', SENSOR_QOS),
    DEPTH_TOPIC: ('sensor_msgs/msg/Image', SENSOR_QOS),
    COLOR_TOPIC: ('sensor_msgs/msg/Image', SENSOR_QOS),
    POSE_TOPIC: ('geometry_msgs/msg/PoseStamped', RELIABLE_QOS),
    TF_TOPIC: ('tf2_msgs/msg/TFMessage', TF_QOS),
}


COMPRESSED_TOPICS = {
    INFO_TOPIC: TOPICS[INFO_TOPIC],
    COMPRESSED_DEPTH_TOPIC: ('sensor_msgs/msg/CompressedImage', SENSOR_QOS),
    COMPRESSED_COLOR_TOPIC: ('sensor_msgs/msg/CompressedImage', SENSOR_QOS),
    POSE_TOPIC: TOPICS[POSE_TOPIC],
    TF_TOPIC: TOPICS[TF_TOPIC],
}


class BagFromTumError(RuntimeError):
    """The conversion cannot be done (bad input, existing output)."""


class _Messages:
    """Builds the bag's messages with a rosbags typestore."""

    def __init__(self, typestore) -> None:
        self.ts = typestore
        self.t = {name.split('/')[-1]: typestore.types[name] for name in (
            'builtin_interfaces/msg/Time', 'std_msgs/msg/Header', 'sensor_msgs/msg/Image',
            'sensor_msgs/msg/CompressedImage',
            'sensor_msgs/msg/CameraInfo', 'sensor_msgs/msg/RegionOfInterest',
            'geometry_msgs/msg/PoseStamped', 'geometry_msgs/msg/Pose', 'geometry_msgs/msg/Point',
            'geometry_msgs/msg/Quaternion', 'geometry_msgs/msg/TransformStamped',
            'geometry_msgs/msg/Transform', 'geometry_msgs/msg/Vector3', 'tf2_msgs/msg/TFMessage')}

    def header(self, stamp_ns: int, frame_id: str):
        sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
        return self.t['Header'](stamp=self.t['Time'](sec=sec, nanosec=nanosec), frame_id=frame_id)

    def image(self, header, array: np.ndarray, encoding: str):
        array = np.ascontiguousarray(array)
        height, width = array.shape[:2]
        return self.t['Image'](header=header, height=height, width=width, encoding=encoding,
                               is_bigendian=0, step=int(array.strides[0]),
                               data=array.view(np.uint8).reshape(-1))

    def compressed(self, header, data: bytes, fmt: str):
        return self.t['CompressedImage'](header=header, format=fmt,
                                         data=np.frombuffer(data, np.uint8))

    def camera_info(self, header, K: np.ndarray, width: int, height: int):
        P = np.zeros((3, 4))
        P[:, :3] = K
        roi = self.t['RegionOfInterest'](x_offset=0, y_offset=0, height=0, width=0,
                                         do_rectify=False)
        return self.t['CameraInfo'](
            header=header, height=height, width=width, distortion_model='plumb_bob',
            d=np.zeros(5), k=np.asarray(K, np.float64).reshape(9), r=np.eye(3).reshape(9),
            p=P.reshape(12), binning_x=0, binning_y=0, roi=roi)

    def pose(self, header, T: np.ndarray):
        q = rotation_to_quaternion(T[:3, :3])  # x, y, z, w
        x, y, z = (float(v) for v in T[:3, 3])
        return self.t['PoseStamped'](header=header, pose=self.t['Pose'](
            position=self.t['Point'](x=x, y=y, z=z),
            orientation=self.t['Quaternion'](x=float(q[0]), y=float(q[1]), z=float(q[2]),
                                             w=float(q[3]))))

    def tf(self, header, child: str, T: np.ndarray):
        q = rotation_to_quaternion(T[:3, :3])
        x, y, z = (float(v) for v in T[:3, 3])
        transform = self.t['Transform'](
            translation=self.t['Vector3'](x=x, y=y, z=z),
            rotation=self.t['Quaternion'](x=float(q[0]), y=float(q[1]), z=float(q[2]),
                                          w=float(q[3])))
        return self.t['TFMessage'](transforms=[self.t['TransformStamped'](
            header=header, child_frame_id=child, transform=transform)])

    def serialize(self, msg, msgtype: str) -> bytes:
        return bytes(self.ts.serialize_cdr(msg, msgtype))


def depth_to_millimetres(depth: np.ndarray) -> np.ndarray:
    """Return metres (0/NaN/inf invalid) as uint16 millimetres (0 invalid, clipped at 65535)."""
    depth = np.asarray(depth, np.float64)
    mm = np.where(np.isfinite(depth) & (depth > 0), np.rint(depth * 1000.0), 0.0)
    return np.clip(mm, 0, 65535).astype(np.uint16)


def convert(dataset: str, out: str, storage: str = 'mcap', max_frames: Optional[int] = None,
            depth_factor: Optional[float] = None, progress: bool = True,
            compressed: bool = False) -> Dict[str, object]:
    """
    Convert the TUM folder ``dataset`` into the new rosbag2 ``out`` (see the module doc).

    Args:
        dataset: TUM RGB-D layout folder.
        out: bag folder to create (must not exist).
        storage: 'mcap' or 'sqlite3'.
        max_frames: convert at most this many (associated) frames; None: all.
        depth_factor: depth PNG units per metre; None: the folder's files, else 5000.
        progress: show a progress bar.
        compressed: write the images as CompressedImage (JPEG colour, compressedDepth PNG
            depth) on ``<topic>/compressed`` and ``<topic>/compressedDepth``.

    Returns:
        ``{'bag', 'storage', 'frames', 'messages': {topic: count}, 'start_ns', 'end_ns'}``.

    Raises:
        BagFromTumError: ``out`` exists, unknown storage, no usable frame.
        FileNotFoundError: ``dataset`` is not a TUM folder.

    """
    out_path = Path(out)
    if out_path.exists():
        raise BagFromTumError(f'{out_path} exists already: remove it or choose another OUT '
                              '(the bag is never overwritten)')
    if storage not in STORAGES:
        raise BagFromTumError(f'storage must be one of {sorted(STORAGES)}, got {storage!r}')
    if max_frames is not None and max_frames < 1:
        raise BagFromTumError(f'max frames must be >= 1, got {max_frames}')
    sequence = TumSequence(dataset, depth_factor=depth_factor)
    count = len(sequence) if max_frames is None else min(len(sequence), max_frames)
    if count == 0:
        raise BagFromTumError(f'{dataset}: no frame has depth and ground truth within 20 ms')
    build = _Messages(get_typestore(Stores.ROS2_KILTED))
    topics = COMPRESSED_TOPICS if compressed else TOPICS
    messages = dict.fromkeys(topics, 0)
    stamps = [int(round(float(t) * 1e9)) for t in sequence.timestamps[:count]]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with Writer(out_path, version=9, storage_plugin=STORAGES[storage]) as writer:
        connections = {topic: writer.add_connection(topic, msgtype, typestore=build.ts,
                                                    offered_qos_profiles=[qos])
                       for topic, (msgtype, qos) in topics.items()}

        def write(topic: str, stamp_ns: int, msg) -> None:
            writer.write(connections[topic], stamp_ns,
                         build.serialize(msg, topics[topic][0]))
            messages[topic] += 1

        for index in tqdm(range(count), desc='writing bag', unit='frame', disable=not progress):
            frame = sequence[index]
            stamp = stamps[index]
            height, width = frame.rgb.shape[:2]
            camera = build.header(stamp, CAMERA_FRAME)
            write(INFO_TOPIC, stamp, build.camera_info(camera, frame.K, width, height))
            depth_mm = depth_to_millimetres(frame.depth)
            if compressed:
                write(COMPRESSED_DEPTH_TOPIC, stamp,
                      build.compressed(camera, *encode_compressed_depth(depth_mm)))
                write(COMPRESSED_COLOR_TOPIC, stamp,
                      build.compressed(camera, *encode_jpeg(frame.rgb)))
            else:
                write(DEPTH_TOPIC, stamp, build.image(camera, depth_mm, '16UC1'))
                write(COLOR_TOPIC, stamp, build.image(camera, frame.rgb, 'rgb8'))
            world = build.header(stamp, WORLD_FRAME)
            write(POSE_TOPIC, stamp, build.pose(world, frame.T_world_cam))
            write(TF_TOPIC, stamp, build.tf(world, GT_FRAME, frame.T_world_cam))
    return {'bag': str(out_path), 'storage': storage, 'frames': count, 'messages': messages,
            'start_ns': stamps[0], 'end_ns': stamps[-1]}


def build_parser() -> argparse.ArgumentParser:
    """Return the ``lfnet-bag-from-tum`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='lfnet-bag-from-tum',
        description='Convert a TUM RGB-D folder (or lfnet-scenes output) into a rosbag2 with '
                    'rgb8 colour, 16UC1 millimetre depth, camera info and the ground truth '
                    '(PoseStamped and /tf), stamped with the dataset timestamps.')
    parser.add_argument('dataset', help='TUM RGB-D layout folder (rgb.txt, depth.txt, '
                        'groundtruth.txt)')
    parser.add_argument('out', help='bag folder to create (refused if it exists)')
    parser.add_argument('--storage', choices=sorted(STORAGES), default='mcap',
                        help='rosbag2 storage plugin (default mcap)')
    parser.add_argument('--max-frames', type=int, help='convert at most N frames')
    parser.add_argument('--depth-factor', type=float,
                        help="depth PNG units per metre (default: the folder's camera.yaml / "
                             'intrinsics.txt, else 5000 as in TUM)')
    parser.add_argument('--compressed', action='store_true',
                        help='write the images as CompressedImage: JPEG colour on '
                             '<colour topic>/compressed, compressedDepth PNG depth on '
                             '<depth topic>/compressedDepth (image_transport names)')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``lfnet-bag-from-tum``; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        result = convert(args.dataset, args.out, args.storage, args.max_frames,
                         args.depth_factor, compressed=args.compressed)
    except (BagFromTumError, FileNotFoundError, OSError) as exc:
        print(f'lfnet-bag-from-tum: {exc}', file=sys.stderr)
        return 1
    span = (result['end_ns'] - result['start_ns']) * 1e-9
    print(f'wrote {result["bag"]} ({result["storage"]}): {result["frames"]} frames over '
          f'{span:.2f} s; ' + ', '.join(f'{t} {n}' for t, n in result['messages'].items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
