# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The synthetic scene: a textured box room with 3-6 boxes, and the camera's smooth loop in it.

World frame: z up, floor at z = 0, room centred on x = y = 0. `make_scene` builds a scene from a
seed; `pose_at` / `frame_pose` give camera poses on its loop, which `scene_render` renders.
"""

import dataclasses
import functools
from typing import Optional, Sequence

import numpy as np

from lfnet_core.rigid_poses import make_pose
from lfnet_core.scene_textures import load_texture_atlas, MIP_LEVELS, TextureAtlas

_MIN_CLEARANCE = 0.85  # metres between the camera path and any box


@dataclasses.dataclass(frozen=True, eq=False)
class Scene:
    """Textured planar rectangles (room faces and box faces) plus the camera path's parameters.

    A face f covers origin[f] + s * axis_u[f] + r * axis_v[f] for 0 <= s <= size[f, 0],
    0 <= r <= size[f, 1]; normal[f] points to the side it is seen from. World frame: z up, floor at
    z = 0, room centred on x = y = 0.
    """

    origin: np.ndarray  # (F, 3)
    axis_u: np.ndarray  # (F, 3) unit
    axis_v: np.ndarray  # (F, 3) unit
    normal: np.ndarray  # (F, 3) unit
    size: np.ndarray  # (F, 2) metres
    texture: np.ndarray  # (F,) int index into atlas.names
    tile: np.ndarray  # (F, 2) metres spanned by one texture tile along u and v
    tile_offset: np.ndarray  # (F, 2) texture offset in tiles
    albedo: np.ndarray  # (F, 3) colour gain
    light: np.ndarray  # (3,) point light position
    room: np.ndarray  # (3,) room size
    path: dict  # camera path parameters
    atlas: TextureAtlas

    @property
    def corners(self) -> np.ndarray:
        """Return the (F, 4, 3) face corners."""
        su = self.axis_u * self.size[:, :1]
        sv = self.axis_v * self.size[:, 1:]
        o = self.origin
        return np.stack([o, o + su, o + su + sv, o + sv], axis=1)


def _box_faces(center: np.ndarray, dims: np.ndarray, yaw: float) -> list:
    """Return (origin, axis_u, axis_v, size) of a box's 4 sides and top (no bottom)."""
    c, s = np.cos(yaw), np.sin(yaw)
    ex, ey, ez = np.array([c, s, 0.0]), np.array([-s, c, 0.0]), np.array([0.0, 0.0, 1.0])
    hx, hy, h = dims[0] / 2, dims[1] / 2, dims[2]
    base = np.array([center[0], center[1], 0.0])
    faces = []
    for normal, half_n, axis, half_a in ((ex, hx, ey, hy), (-ex, hx, -ey, hy),
                                         (ey, hy, -ex, hx), (-ey, hy, ex, hx)):
        origin = base + normal * half_n - axis * half_a
        faces.append((origin, axis, ez, (2 * half_a, h)))
    faces.append((base - ex * hx - ey * hy + ez * h, ex, ey, (dims[0], dims[1])))
    return faces


def _room_faces(room: np.ndarray) -> list:
    lx, ly = room[:2] / 2.0
    x, y, z = np.eye(3)
    return [
        (np.array([-lx, -ly, 0.0]), x, y, (room[0], room[1])),  # floor, normal +z
        (np.array([-lx, ly, room[2]]), x, -y, (room[0], room[1])),  # ceiling, normal -z
        (np.array([-lx, -ly, 0.0]), y, z, (room[1], room[2])),  # wall x = -lx, normal +x
        (np.array([lx, ly, 0.0]), -y, z, (room[1], room[2])),  # wall x = +lx, normal -x
        (np.array([lx, -ly, 0.0]), -x, z, (room[0], room[2])),  # wall y = -ly, normal +y
        (np.array([-lx, ly, 0.0]), x, z, (room[0], room[2])),  # wall y = +ly, normal -y
    ]


@functools.lru_cache(maxsize=16)
def _ellipse_table(a: float, b: float, n: int = 4096) -> tuple:
    """Arc length and angle tables of the ellipse (a cos phi, b sin phi), phi in [0, 2 pi]."""
    phi = np.linspace(0.0, 2 * np.pi, n + 1)
    xy = np.stack([a * np.cos(phi), b * np.sin(phi)], axis=1)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))])
    return arc, phi


def _path_table(path: dict) -> tuple:
    return _ellipse_table(float(path['a']), float(path['b']))


def path_length(scene: Scene) -> float:
    """Length in metres of one loop of the scene's camera path."""
    return float(_path_table(scene.path)[0][-1])


def pose_at(scene: Scene, arc_length: float) -> np.ndarray:
    """Camera-to-world pose after travelling `arc_length` metres along the scene's smooth loop.

    The camera circles an ellipse around the room centre at height ~1.35 m and looks outwards and
    forwards, panning and tilting smoothly; every angle is a function of the arc length, so the
    motion per frame scales with speed / fps.

    Returns:
        (4, 4) float64 T_world_cam (camera optical frame: x right, y down, z forward).
    """
    p = scene.path
    arc, phis = _path_table(p)
    period = arc[-1]
    phi = p['direction'] * np.interp((arc_length + p['start'] * period) % period, arc, phis)
    w = 2 * np.pi * arc_length / period
    x, y = p['a'] * np.cos(phi), p['b'] * np.sin(phi)
    position = np.array([p['cx'] + x, p['cy'] + y, p['height'] + 0.15 * np.sin(2 * w + p['pz'])])
    theta = np.arctan2(y, x)  # outward direction
    yaw = theta + p['direction'] * p['look'] + 0.3 * np.sin(2 * w + p['py'])
    pitch = -0.24 + 0.08 * np.sin(3 * w + p['pp'])
    roll = 0.02 * np.sin(5 * w + p['pr'])
    cy, sy, cp, sp, cr, sr = (np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch),
                              np.cos(roll), np.sin(roll))
    Rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1.0]])
    Ry = np.array([[cp, 0, -sp], [0, 1.0, 0], [sp, 0, cp]])  # tilts the x axis up for pitch > 0
    R0 = np.array([[0, 0, 1.0], [-1.0, 0, 0], [0, -1.0, 0]])  # optical axes for yaw = pitch = 0
    Rroll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1.0]])
    return make_pose(Rz @ Ry @ R0 @ Rroll, position)


def frame_pose(scene: Scene, index: int, fps: float = 30.0, speed: float = 0.4) -> np.ndarray:
    """Camera-to-world pose of frame `index` of a sequence at `fps` moving at `speed` m/s.

    Training can draw random pairs as `frame_pose(scene, i)`, `frame_pose(scene, i + gap)` and
    render each with `render_frame`.
    """
    return pose_at(scene, index * speed / fps)


def surface_distance(scene: Scene, points: np.ndarray) -> np.ndarray:
    """Distance in metres from each (N, 3) world point to the nearest face rectangle.

    Returns:
        (N,) float64 distances.
    """
    d = np.asarray(points, np.float64)[:, None, :] - scene.origin[None]
    s = np.einsum('nfk,fk->nf', d, scene.axis_u)
    r = np.einsum('nfk,fk->nf', d, scene.axis_v)
    h = np.einsum('nfk,fk->nf', d, scene.normal)
    ds = np.maximum(0.0, np.maximum(-s, s - scene.size[None, :, 0]))
    dr = np.maximum(0.0, np.maximum(-r, r - scene.size[None, :, 1]))
    return np.sqrt(h * h + ds * ds + dr * dr).min(axis=1)


def _place_boxes(rng: np.random.Generator, room: np.ndarray, path_points: np.ndarray) -> list:
    boxes, wanted = [], int(rng.integers(3, 7))
    for _ in range(400):
        if len(boxes) == wanted:
            break
        dims = np.array([rng.uniform(0.3, 1.0), rng.uniform(0.3, 0.9), rng.uniform(0.3, 1.1)])
        yaw = 0.0 if rng.random() < 0.5 else rng.uniform(0.0, np.pi / 2)
        radius = 0.5 * np.hypot(dims[0], dims[1])
        center = rng.uniform(-room[:2] / 2 + radius + 0.05, room[:2] / 2 - radius - 0.05)
        if any(np.hypot(*(center - c)) < radius + rc + 0.1 for c, _, _, rc in boxes):
            continue
        # Distance from the path to the box, in the box frame.
        c, s = np.cos(yaw), np.sin(yaw)
        local = path_points - np.array([center[0], center[1], dims[2] / 2])
        local[:, :2] = local[:, :2] @ np.array([[c, -s], [s, c]])
        excess = np.maximum(np.abs(local) - dims / 2, 0.0)
        if np.linalg.norm(excess, axis=1).min() >= _MIN_CLEARANCE:
            boxes.append((center, dims, yaw, radius))
    return boxes


def make_scene(seed: int = 0, texture_dir: Optional[str] = None,
               room: Sequence[float] = (6.0, 5.0, 3.0)) -> Scene:
    """Build a deterministic textured room with 3-6 boxes and a camera loop for `seed`.

    Args:
        seed: seed of every random choice (layout, textures, path).
        texture_dir: optional folder of extra texture images, used when it exists.
        room: room size (x, y, z) in metres.

    Returns:
        The scene; render it with `render_frame` at poses from `pose_at` / `frame_pose`.
    """
    rng = np.random.default_rng(seed)
    room = np.asarray(room, np.float64)
    atlas = load_texture_atlas(None if texture_dir is None else str(texture_dir))
    path = {'a': 0.2 * room[0], 'b': 0.2 * room[1], 'cx': rng.uniform(-0.15, 0.15),
            'cy': rng.uniform(-0.15, 0.15), 'height': rng.uniform(1.3, 1.4),
            'direction': float(rng.choice([-1.0, 1.0])), 'start': rng.random(),
            'look': rng.uniform(0.5, 0.9)}
    path.update({k: rng.uniform(0, 2 * np.pi) for k in ('pz', 'py', 'pp', 'pr')})
    proto = Scene(*([np.zeros((0, 3))] * 4), np.zeros((0, 2)), np.zeros(0, int),
                  np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 3)), np.zeros(3), room, path,
                  atlas)
    period = path_length(proto)
    path_points = np.array([pose_at(proto, s)[:3, 3] for s in np.linspace(0, period, 720)])
    faces = _room_faces(room)
    for center, dims, yaw, _ in _place_boxes(rng, room, path_points):
        faces += _box_faces(center, dims, yaw)
    num = len(faces)
    origin, axis_u, axis_v = (np.array([f[i] for f in faces], np.float64) for i in range(3))
    size = np.array([f[3] for f in faces], np.float64)
    texture = rng.integers(0, len(atlas.names), num)
    aspect = atlas.height[texture * MIP_LEVELS] / atlas.width[texture * MIP_LEVELS]
    span = rng.uniform(1.0, 2.0, num)  # metres spanned by the longer side of one tile
    tile = np.stack([span / np.maximum(aspect, 1.0), span * np.minimum(aspect, 1.0)], axis=1)
    tint = rng.uniform(0.8, 1.15, (num, 3))
    albedo = rng.uniform(0.75, 1.05, (num, 1)) * tint / tint.mean(axis=1, keepdims=True)
    light = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8), room[2] - 0.7])
    return Scene(origin, axis_u, axis_v, np.cross(axis_u, axis_v), size, texture, tile,
                 rng.random((num, 2)), albedo, light, room, path, atlas)
