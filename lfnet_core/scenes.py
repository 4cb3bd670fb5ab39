# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Synthetic RGB-D sequences: a textured box room ray-cast in numpy, with exact depth and poses.

The project's embedded default data for the demo, the ROS node demo and training. This module
renders sequences and writes them in the TUM layout (also as the `lfnet-scenes` CLI); the room
and its camera loop are `scene_geometry`'s, the renderer `scene_render`'s, the textures
`scene_textures`' and the sensor effects `sensor_effects`'.
"""

import argparse
import dataclasses
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from lfnet_core.rigid_poses import pose_to_tum, rotation_angle
from lfnet_core.scene_geometry import frame_pose, make_scene, Scene
from lfnet_core.scene_render import check_image_size, default_intrinsics, render_frame
from lfnet_core.sensor_effects import SensorEffects
from lfnet_core.tum import DEFAULT_DEPTH_FACTOR


@dataclasses.dataclass(eq=False)
class SyntheticSequence:
    """A rendered RGB-D sequence.

    Attributes:
        rgb: (N, H, W, 3) uint8 RGB.
        depth: (N, H, W) float32 metres along the optical axis, 0 where invalid.
        T_world_cam: (N, 4, 4) float64 camera-to-world poses (camera optical frame).
        K: (3, 3) float64 intrinsics.
        timestamps: (N,) float64 seconds.
        scene: the scene that was rendered.
    """

    rgb: np.ndarray
    depth: np.ndarray
    T_world_cam: np.ndarray
    K: np.ndarray
    timestamps: np.ndarray
    scene: Optional[Scene] = None

    def __len__(self) -> int:
        return len(self.rgb)


def _check_sequence_args(width: int, height: int, fps: float = 1.0, speed: float = 0.0,
                         num_frames: int = 1) -> None:
    check_image_size(width, height)
    if fps <= 0 or speed < 0 or num_frames < 1:
        raise ValueError(f'need fps > 0, speed >= 0 and num_frames >= 1, got fps={fps}, '
                         f'speed={speed}, num_frames={num_frames}')


def _effects_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index, 0x5E5])


def generate_sequence(num_frames: int = 60, width: int = 640, height: int = 480, seed: int = 0,
                      fps: float = 30.0, speed: float = 0.4, texture_dir: Optional[str] = None,
                      effects: SensorEffects = SensorEffects(), start_frame: int = 0,
                      progress: bool = False) -> SyntheticSequence:
    """Render `num_frames` consecutive frames of the seeded scene's camera loop.

    Args:
        num_frames: number of frames N.
        width: image width.
        height: image height.
        seed: scene, path and sensor-effect seed; equal arguments give identical output.
        fps: frame rate; timestamps are 1000.0 + index / fps.
        speed: camera speed in m/s along the (horizontal) path; with the default 0.4 m/s at
            30 fps consecutive frames move ~1.4 cm and < 1.5 degrees.
        texture_dir: optional folder of extra textures.
        effects: sensor effects (each frame's noise is seeded by (seed, frame index)).
        start_frame: index of the first frame on the path.
        progress: show a tqdm progress bar.

    Returns:
        The sequence (rgb (N, H, W, 3), depth (N, H, W), T_world_cam (N, 4, 4), K, timestamps).
    """
    _check_sequence_args(width, height, fps, speed, num_frames)
    scene = make_scene(seed, texture_dir)
    K = default_intrinsics(width, height)
    indices = np.arange(start_frame, start_frame + num_frames)
    poses = np.array([frame_pose(scene, i, fps, speed) for i in indices]).reshape(-1, 4, 4)
    rgb = np.zeros((num_frames, height, width, 3), np.uint8)
    depth = np.zeros((num_frames, height, width), np.float32)
    for k in tqdm(range(num_frames), desc='rendering', unit='frame', disable=not progress):
        rgb[k], depth[k] = render_frame(scene, poses[k], K, width, height, effects=effects,
                                        rng=_effects_rng(seed, int(indices[k])))
    return SyntheticSequence(rgb, depth, poses, K, 1000.0 + indices / fps, scene)


def generate_pair(seed: int = 0, gap_frames: int = 5, start_frame: int = 0, width: int = 640,
                  height: int = 480, fps: float = 30.0, speed: float = 0.4,
                  texture_dir: Optional[str] = None,
                  effects: SensorEffects = SensorEffects()) -> SyntheticSequence:
    """Render frames `start_frame` and `start_frame + gap_frames` as a 2-frame sequence.

    Returns:
        A SyntheticSequence with N = 2 (frame 0 and frame 1 of the pair); the relative pose is
        `relative_pose(seq.T_world_cam[0], seq.T_world_cam[1])`.
    """
    _check_sequence_args(width, height, fps, speed)
    scene = make_scene(seed, texture_dir)
    K = default_intrinsics(width, height)
    indices = np.array([start_frame, start_frame + gap_frames])
    poses = np.array([frame_pose(scene, i, fps, speed) for i in indices])
    frames = [render_frame(scene, T, K, width, height, effects=effects,
                           rng=_effects_rng(seed, int(i))) for T, i in zip(poses, indices)]
    return SyntheticSequence(np.array([f[0] for f in frames]), np.array([f[1] for f in frames]),
                             poses, K, 1000.0 + indices / fps, scene)


def motion_per_frame(T_world_cam: np.ndarray) -> tuple:
    """Return translations (m) and rotations (deg), each (N-1,), between consecutive poses."""
    rel = np.linalg.inv(T_world_cam[:-1]) @ T_world_cam[1:]
    return (np.linalg.norm(rel[:, :3, 3], axis=1),
            np.degrees([rotation_angle(R) for R in rel[:, :3, :3]]))


def write_tum_dataset(sequence: SyntheticSequence, out_dir: str, fps: float = 30.0) -> Path:
    """Write `sequence` in the TUM RGB-D layout under `out_dir` (created if needed).

    Writes rgb/<ts>.png, depth/<ts>.png (16-bit, TUM's DEFAULT_DEPTH_FACTOR per metre, 0 =
    invalid), rgb.txt, depth.txt, groundtruth.txt (camera-to-world `timestamp tx ty tz qx qy qz
    qw`), camera.yaml and intrinsics.txt (`fx fy cx cy width height depth_factor`).

    Returns:
        The output folder.
    """
    out = Path(out_dir)
    (out / 'rgb').mkdir(parents=True, exist_ok=True)
    (out / 'depth').mkdir(parents=True, exist_ok=True)
    names = [f'{ts:.6f}' for ts in sequence.timestamps]
    for name, rgb, depth in zip(names, sequence.rgb, sequence.depth):
        cv2.imwrite(str(out / 'rgb' / f'{name}.png'), np.ascontiguousarray(rgb[:, :, ::-1]))
        raw = np.clip(np.rint(depth * DEFAULT_DEPTH_FACTOR), 0, 65535).astype(np.uint16)
        cv2.imwrite(str(out / 'depth' / f'{name}.png'), raw)
    source = '# file: lfnet_core.scenes synthetic sequence\n'
    for kind in ('rgb', 'depth'):
        lines = [f'{n} {kind}/{n}.png\n' for n in names]
        title = 'color' if kind == 'rgb' else 'depth'
        header = f'# {title} images\n{source}# timestamp filename\n'
        (out / f'{kind}.txt').write_text(header + ''.join(lines))
    gt = ['# ground truth trajectory (camera-to-world, camera optical frame)\n', source,
          '# timestamp tx ty tz qx qy qz qw\n']
    gt += [f'{n} ' + ' '.join(f'{v:.9f}' for v in pose_to_tum(T)) + '\n'
           for n, T in zip(names, sequence.T_world_cam)]
    (out / 'groundtruth.txt').write_text(''.join(gt))
    K, (height, width) = sequence.K, sequence.depth.shape[1:]
    fx, fy, cx, cy = (float(K[i, j]) for i, j in ((0, 0), (1, 1), (0, 2), (1, 2)))
    (out / 'camera.yaml').write_text(
        '# lfnet_core.scenes synthetic pinhole camera, no distortion\n'
        f'width: {width}\nheight: {height}\nfx: {fx}\nfy: {fy}\ncx: {cx}\ncy: {cy}\n'
        f'depth_factor: {DEFAULT_DEPTH_FACTOR!r}\nfps: {float(fps)!r}\n')
    (out / 'intrinsics.txt').write_text(
        '# fx fy cx cy width height depth_factor\n'
        f'{fx} {fy} {cx} {cy} {width} {height} {DEFAULT_DEPTH_FACTOR!r}\n')
    return out


def make_preview(sequence: SyntheticSequence, path: str, count: int = 4) -> None:
    """Write a PNG grid of `count` frames: RGB on top, turbo-coloured depth below (black = 0)."""
    idx = np.unique(np.linspace(0, len(sequence) - 1, count).round().astype(int))
    tiles_rgb, tiles_depth = [], []
    for i in idx:
        bgr = np.ascontiguousarray(sequence.rgb[i][:, :, ::-1])
        cv2.putText(bgr, f'#{i}', (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 255), 2)
        depth = sequence.depth[i]
        coloured = cv2.applyColorMap(
            np.clip(depth / 6.0 * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO)
        coloured[depth <= 0] = 0
        tiles_rgb.append(bgr)
        tiles_depth.append(coloured)
    grid = np.concatenate([np.concatenate(tiles_rgb, 1), np.concatenate(tiles_depth, 1)], 0)
    cv2.imwrite(str(path), grid)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI: lfnet-scenes OUT_DIR [--frames N] [--size WxH] [--seed S] [--texture-dir DIR] ..."""
    parser = argparse.ArgumentParser(prog='lfnet-scenes', description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='output folder (TUM RGB-D layout)')
    parser.add_argument('--frames', type=int, default=60, help='number of frames')
    parser.add_argument('--size', default='640x480', help='WIDTHxHEIGHT')
    parser.add_argument('--seed', type=int, default=0, help='scene and noise seed')
    parser.add_argument('--fps', type=float, default=30.0, help='frame rate')
    parser.add_argument('--speed', type=float, default=0.4, help='camera speed in m/s')
    parser.add_argument('--texture-dir', default=None, help='extra texture images folder')
    parser.add_argument('--effects', action='store_true', help='Kinect-like sensor effects')
    parser.add_argument('--preview', default=None, help='write a PNG preview grid here')
    args = parser.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split('x'))
    except ValueError:
        parser.error(f'--size must look like 640x480, got {args.size!r}')
    effects = SensorEffects.kinect_like() if args.effects else SensorEffects()
    seq = generate_sequence(args.frames, width, height, args.seed, args.fps, args.speed,
                            args.texture_dir, effects, progress=True)
    out = write_tum_dataset(seq, args.out_dir, args.fps)
    trans, rot = motion_per_frame(seq.T_world_cam) if len(seq) > 1 else ([0.0], [0.0])
    print(f'wrote {len(seq)} frames to {out} (max motion per frame {np.max(trans) * 100:.2f} cm,'
          f' {np.max(rot):.2f} deg)')
    if args.preview:
        make_preview(seq, args.preview)
        print(f'preview: {args.preview}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
