# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""TUM RGB-D sequences on disk (rgb.txt, depth.txt, groundtruth.txt): associated frames with poses.

Used by training (`lfnet_training.datasets.tum`), evaluation and the ROS tools alike.
"""

from dataclasses import dataclass
import math
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from lfnet_core.rigid_poses import make_pose, pose_from_tum, quaternion_to_rotation, \
    rotation_to_quaternion

TUM_FR3_INTRINSICS = (535.4, 539.2, 320.1, 247.6)  # fx, fy, cx, cy at 640x480
DEFAULT_DEPTH_FACTOR = 5000.0


@dataclass(frozen=True, eq=False)
class TumFrame:
    """One associated frame of a TUM sequence.

    Attributes:
        rgb: (H, W, 3) uint8 RGB.
        depth: (H, W) float32 metres, 0 where invalid.
        K: (3, 3) float64 intrinsics.
        T_world_cam: (4, 4) float64 camera-to-world pose.
        timestamp: the rgb image's timestamp in seconds.

    """

    rgb: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    T_world_cam: np.ndarray
    timestamp: float


def _read_list(path: Path) -> Tuple[np.ndarray, List[List[str]]]:
    stamps, rest = [], []
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts or parts[0].startswith('#'):
            continue
        stamps.append(float(parts[0]))
        rest.append(parts[1:])
    return np.asarray(stamps, np.float64), rest


def _read_camera_files(root: Path) -> Tuple[Optional[Tuple[float, ...]], Optional[float]]:
    """(fx, fy, cx, cy) and depth factor from intrinsics.txt or camera.yaml (write_tum_dataset)."""
    txt, yaml = root / 'intrinsics.txt', root / 'camera.yaml'
    if txt.is_file():
        for line in txt.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith('#'):
                values = [float(v) for v in line.split()]
                return tuple(values[:4]), (values[6] if len(values) > 6 else None)
    if yaml.is_file():
        entries = {}
        for line in yaml.read_text().splitlines():
            key, sep, value = line.split('#')[0].partition(':')
            if sep and value.strip():
                entries[key.strip()] = float(value)
        if all(k in entries for k in ('fx', 'fy', 'cx', 'cy')):
            return (tuple(entries[k] for k in ('fx', 'fy', 'cx', 'cy')),
                    entries.get('depth_factor'))
    return None, None


def _nearest(stamps: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index into sorted `stamps` of the nearest stamp to each query."""
    hi = np.clip(np.searchsorted(stamps, query), 1, len(stamps) - 1)
    lo = hi - 1
    return np.where(np.abs(stamps[lo] - query) <= np.abs(stamps[hi] - query), lo, hi)


def _interpolate_pose(stamps: np.ndarray, poses: np.ndarray, t: float, max_dt: float,
                      max_span: float) -> Optional[np.ndarray]:
    """Return the pose at t, or None when no sample is within max_dt.

    Translation linear, rotation slerp between the bracketing samples when they are at most
    max_span apart; else the nearest sample.
    """
    k = int(_nearest(stamps, np.array([t]))[0]) if len(stamps) > 1 else 0
    if abs(stamps[k] - t) > max_dt:
        return None
    if abs(stamps[k] - t) < 1e-9:
        return poses[k]
    j = k + 1 if stamps[k] < t else k - 1
    if not 0 <= j < len(stamps) or abs(stamps[j] - stamps[k]) > max_span:
        return poses[k]
    a, b = (k, j) if stamps[k] < stamps[j] else (j, k)
    w = (t - stamps[a]) / (stamps[b] - stamps[a])
    qa, qb = rotation_to_quaternion(poses[a][:3, :3]), rotation_to_quaternion(poses[b][:3, :3])
    qb = qb if np.dot(qa, qb) >= 0 else -qb
    omega = math.acos(min(1.0, float(np.dot(qa, qb))))
    if omega < 1e-9:
        q = qa
    else:
        q = (math.sin((1 - w) * omega) * qa + math.sin(w * omega) * qb) / math.sin(omega)
    t_vec = (1 - w) * poses[a][:3, 3] + w * poses[b][:3, 3]
    return make_pose(quaternion_to_rotation(q), t_vec)


class TumSequence:
    """A TUM RGB-D sequence folder: rgb.txt, depth.txt, groundtruth.txt and the files.

    Association: each rgb frame takes the nearest depth frame within `max_dt` (0.02 s) and the
    ground-truth pose interpolated (translation linear, rotation slerp) between the bracketing
    samples when the nearest is within `max_dt` and the two are at most `max_pose_span` (0.1 s)
    apart, else the nearest pose within `max_dt`; frames without depth or pose are dropped.
    Intrinsics: `intrinsics` if given, else intrinsics.txt / camera.yaml (as written by
    `lfnet_core.scenes.write_tum_dataset`), else TUM fr3's; the depth factor likewise (default
    5000).

    Iterating gives `TumFrame`s (rgb, depth, K, T_world_cam, timestamp).
    """

    def __init__(self, root: Union[str, Path], depth_factor: Optional[float] = None,
                 intrinsics: Optional[Sequence[float]] = None, max_dt: float = 0.02,
                 max_pose_span: float = 0.1) -> None:
        self.root = Path(root)
        for name in ('rgb.txt', 'depth.txt', 'groundtruth.txt'):
            if not (self.root / name).is_file():
                raise FileNotFoundError(f'{self.root / name} not found (not a TUM sequence?)')
        file_k, file_factor = _read_camera_files(self.root)
        fx, fy, cx, cy = intrinsics or file_k or TUM_FR3_INTRINSICS
        self.K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        self.depth_factor = float(depth_factor or file_factor or DEFAULT_DEPTH_FACTOR)
        rgb_t, rgb_files = _read_list(self.root / 'rgb.txt')
        depth_t, depth_files = _read_list(self.root / 'depth.txt')
        gt_t, gt_values = _read_list(self.root / 'groundtruth.txt')
        d_order, g_order = np.argsort(depth_t), np.argsort(gt_t)
        depth_t, gt_t = depth_t[d_order], gt_t[g_order]
        depth_files = [depth_files[k] for k in d_order]
        poses = np.array([pose_from_tum(np.asarray(gt_values[k][:7], np.float64))
                          for k in g_order])
        self.rgb_paths, self.depth_paths, poses_out, stamps = [], [], [], []
        nearest_depth = _nearest(depth_t, rgb_t) if len(depth_t) > 1 else np.zeros(len(rgb_t), int)
        for t, files, kd in zip(rgb_t, rgb_files, nearest_depth):
            if len(depth_t) == 0 or len(gt_t) == 0 or abs(depth_t[kd] - t) > max_dt:
                continue
            pose = _interpolate_pose(gt_t, poses, t, max_dt, max_pose_span)
            if pose is None:
                continue
            self.rgb_paths.append(self.root / files[0])
            self.depth_paths.append(self.root / depth_files[kd][0])
            poses_out.append(pose)
            stamps.append(t)
        self.T_world_cam = np.array(poses_out).reshape(-1, 4, 4)
        self.timestamps = np.asarray(stamps, np.float64)

    def __len__(self) -> int:
        return len(self.rgb_paths)

    def load_depth(self, index: int) -> np.ndarray:
        """(H, W) float32 depth of frame `index` in metres (0 invalid)."""
        raw = cv2.imread(str(self.depth_paths[index]), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise OSError(f'could not read {self.depth_paths[index]}')
        return (raw.astype(np.float32) / np.float32(self.depth_factor))

    def load_rgb(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB of frame `index`."""
        bgr = cv2.imread(str(self.rgb_paths[index]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f'could not read {self.rgb_paths[index]}')
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def __getitem__(self, index: int) -> TumFrame:
        if not -len(self) <= index < len(self):
            raise IndexError(f'frame {index} out of range for {len(self)} frames')
        index %= len(self)
        return TumFrame(self.load_rgb(index), self.load_depth(index), self.K.copy(),
                        self.T_world_cam[index].copy(), float(self.timestamps[index]))

    def __iter__(self) -> Iterator[TumFrame]:
        return (self[k] for k in range(len(self)))
