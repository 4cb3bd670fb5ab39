# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Synthetic RGB-D sequences: a textured box room ray-cast in numpy, with exact depth and poses.

The project's embedded default data for the demo, the ROS node demo and training.
"""

import argparse
import dataclasses
import functools
from pathlib import Path
from typing import Optional, Sequence
import warnings

import cv2
import numpy as np
from tqdm import tqdm

from lfnet_core.rigid_poses import make_pose, pose_to_tum, rotation_angle

BUILTIN_TEXTURES = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera', 'brick', 'grass',
                    'gravel', 'text', 'page', 'immunohistochemistry', 'hubble_deep_field', 'coins',
                    'moon')
DEPTH_FACTOR = 5000.0  # TUM: 16-bit depth PNG value per metre
_NUM_LEVELS = 6  # mip levels per texture
_MIN_CLEARANCE = 0.85  # metres between the camera path and any box
_AMBIENT, _DIFFUSE, _FALLOFF = 0.45, 0.75, 0.04  # shading: amb + dif * cos / (1 + k * r^2)


@dataclasses.dataclass(frozen=True)
class SensorEffects:
    """Optional RGB-D sensor effects; every one is off by default.

    Attributes:
        depth_noise: Kinect-like depth noise, std = depth_noise * z^2 (metres; ~0.0015 for Kinect).
        depth_holes: mean number of random elliptic blobs per frame where depth is set to 0.
        hole_radius: mean blob radius as a fraction of the image width.
        max_depth: depth beyond this many metres is set to 0 (0 disables).
        blur_sigma: Gaussian blur of the colour image in pixels.
        exposure_std: per-frame gain exp(N(0, exposure_std)) applied to the colour image.
        image_noise: Gaussian colour noise std in grey levels.
    """

    depth_noise: float = 0.0
    depth_holes: float = 0.0
    hole_radius: float = 0.03
    max_depth: float = 0.0
    blur_sigma: float = 0.0
    exposure_std: float = 0.0
    image_noise: float = 0.0

    @classmethod
    def kinect_like(cls) -> 'SensorEffects':
        """Return effects of a typical structured-light RGB-D camera (the CLI's --effects)."""
        return cls(depth_noise=0.0015, depth_holes=4.0, hole_radius=0.03, max_depth=7.0,
                   blur_sigma=0.6, exposure_std=0.08, image_noise=2.0)

    @property
    def enabled(self) -> bool:
        """Whether any effect is switched on."""
        return any(v > 0 for k, v in dataclasses.asdict(self).items() if k != 'hole_radius')


@dataclasses.dataclass(frozen=True, eq=False)
class TextureAtlas:
    """All mip levels of all textures packed in one flat RGBA (uint32) array."""

    data: np.ndarray  # (T,) uint32, RGBA bytes
    offset: np.ndarray  # (num_textures * _NUM_LEVELS,) int64 start of each (texture, level)
    width: np.ndarray  # (num_textures * _NUM_LEVELS,) int64
    height: np.ndarray  # (num_textures * _NUM_LEVELS,) int64
    names: tuple  # texture names, in index order


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


def default_intrinsics(width: int = 640, height: int = 480) -> np.ndarray:
    """Kinect-like intrinsics: fx = fy = 525, cx = 319.5, cy = 239.5 at 640x480, scaled to size."""
    sx, sy = width / 640.0, height / 480.0
    return np.array([[525.0 * sx, 0.0, 320.0 * sx - 0.5],
                     [0.0, 525.0 * sy, 240.0 * sy - 0.5],
                     [0.0, 0.0, 1.0]])


# ---------------------------------------------------------------------------------------------
# Textures


def _normalise_texture(img: np.ndarray, max_side: int = 512) -> np.ndarray:
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3]).astype(np.float32)
    scale = max_side / max(img.shape[:2])
    if scale < 1:
        size = (round(img.shape[1] * scale), round(img.shape[0] * scale))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    lo, hi = np.percentile(img, (1, 99))
    img = (img - lo) * (220.0 / max(hi - lo, 1.0)) + 18.0  # stretch contrast to [18, 238]
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _load_textures(texture_dir: Optional[str]) -> list:
    from skimage import data as skdata  # bundled images only: no network download

    textures = []
    for name in BUILTIN_TEXTURES:
        try:
            textures.append((name, _normalise_texture(getattr(skdata, name)())))
        except Exception as err:  # noqa: B902 - a missing image must never break the scene
            warnings.warn(f'skimage.data.{name} unavailable: {err}')
    if texture_dir is not None:
        folder = Path(texture_dir)
        if not folder.is_dir():
            warnings.warn(f'texture_dir {texture_dir} not found: using built-in textures only')
            return textures
        files = sorted(p for p in folder.iterdir()
                       if p.suffix.lower() in ('.png', '.jpg', '.jpeg', '.bmp', '.ppm'))
        for path in files[:64]:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is not None and min(img.shape[:2]) >= 32:
                textures.append((path.name, _normalise_texture(img[:, :, ::-1])))
    return textures


@functools.lru_cache(maxsize=4)
def _load_atlas(texture_dir: Optional[str]) -> TextureAtlas:
    chunks, offset, width, height, start = [], [], [], [], 0
    textures = _load_textures(texture_dir)
    for _, img in textures:
        for _ in range(_NUM_LEVELS):
            h, w = img.shape[:2]
            rgba = np.concatenate([img, np.zeros((h, w, 1), np.uint8)], axis=2)
            chunks.append(np.ascontiguousarray(rgba).view(np.uint32).reshape(-1))
            offset.append(start)
            width.append(w)
            height.append(h)
            start += h * w
            img = cv2.resize(img, (max(1, (w + 1) // 2), max(1, (h + 1) // 2)),
                             interpolation=cv2.INTER_AREA)
    return TextureAtlas(np.concatenate(chunks), np.array(offset), np.array(width),
                        np.array(height), tuple(name for name, _ in textures))


# ---------------------------------------------------------------------------------------------
# Scene and camera path


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
    atlas = _load_atlas(None if texture_dir is None else str(texture_dir))
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
    aspect = atlas.height[texture * _NUM_LEVELS] / atlas.width[texture * _NUM_LEVELS]
    span = rng.uniform(1.0, 2.0, num)  # metres spanned by the longer side of one tile
    tile = np.stack([span / np.maximum(aspect, 1.0), span * np.minimum(aspect, 1.0)], axis=1)
    tint = rng.uniform(0.8, 1.15, (num, 3))
    albedo = rng.uniform(0.75, 1.05, (num, 1)) * tint / tint.mean(axis=1, keepdims=True)
    light = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8), room[2] - 0.7])
    return Scene(origin, axis_u, axis_v, np.cross(axis_u, axis_v), size, texture, tile,
                 rng.random((num, 2)), albedo, light, room, path, atlas)


# ---------------------------------------------------------------------------------------------
# Rendering


def _face_window(corners_cam: np.ndarray, K: np.ndarray, width: int, height: int,
                 near: float) -> Optional[tuple]:
    """Pixel bounding box (u0, u1, v0, v1) of a face clipped to z >= near, or None."""
    pts = []
    for i in range(4):  # Sutherland-Hodgman against the near plane
        a, b = corners_cam[i], corners_cam[(i + 1) % 4]
        if a[2] >= near:
            pts.append(a)
        if (a[2] >= near) != (b[2] >= near):
            pts.append(a + (b - a) * (near - a[2]) / (b[2] - a[2]))
    if not pts:
        return None
    pts = np.array(pts)
    u = K[0, 0] * pts[:, 0] / pts[:, 2] + K[0, 2]
    v = K[1, 1] * pts[:, 1] / pts[:, 2] + K[1, 2]
    u0, u1 = max(0, int(np.floor(u.min())) - 1), min(width, int(np.ceil(u.max())) + 2)
    v0, v1 = max(0, int(np.floor(v.min())) - 1), min(height, int(np.ceil(v.max())) + 2)
    return (u0, u1, v0, v1) if u0 < u1 and v0 < v1 else None


def _raycast(scene: Scene, T_world_cam: np.ndarray, K: np.ndarray, width: int, height: int,
             with_coords: bool, near: float = 0.01) -> dict:
    """Nearest face per pixel: z-depth `t`, face id `fid`, optionally face coords `s`, `r`, `den`.

    The ray of pixel (u, v) is d = ((u - cx) / fx, (v - cy) / fy, 1) in the camera frame, so a ray
    parameter of a hit is exactly its z-depth. Per face, 1 / depth and the face coordinates times
    1 / depth are affine in (u, v): outer sums of per-row and per-column terms.
    """
    R, o = T_world_cam[:3, :3], T_world_cam[:3, 3]
    p0 = (scene.origin - o) @ R  # face quantities in the camera frame
    n, a, b = scene.normal @ R, scene.axis_u @ R, scene.axis_v @ R
    num, s0, r0 = (np.sum(n * p0, 1), np.sum(a * p0, 1), np.sum(b * p0, 1))
    corners = (scene.corners - o) @ R
    xs = (np.arange(width) - K[0, 2]) / K[0, 0]
    ys = (np.arange(height) - K[1, 2]) / K[1, 1]
    out = {'t': np.full((height, width), np.inf, np.float32),
           'fid': np.full((height, width), -1, np.int16)}
    if with_coords:
        out.update(s=np.zeros((height, width), np.float32), r=np.zeros_like(out['t']),
                   den=np.ones_like(out['t']))
    eps = 1e-5  # metres of in-plane slack: no cracks where faces meet
    with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
        for f in np.flatnonzero(num < -1e-9):  # faces whose front side holds the camera
            win = _face_window(corners[f], K, width, height, near)
            if win is None:
                continue
            u0, u1, v0, v1 = win
            x, y = xs[u0:u1], ys[v0:v1]

            def affine(c, x=x, y=y):
                return (c[1] * y + c[2]).astype(np.float32)[:, None] + \
                    (c[0] * x).astype(np.float32)[None, :]

            den = affine(n[f])
            t = np.float32(num[f]) / den
            s = t * affine(a[f]) - np.float32(s0[f])
            r = t * affine(b[f]) - np.float32(r0[f])
            tw = out['t'][v0:v1, u0:u1]
            hit = (t > near) & (t < tw) & (s >= -eps) & (r >= -eps)
            hit &= (s <= scene.size[f, 0] + eps) & (r <= scene.size[f, 1] + eps)
            np.copyto(tw, t, where=hit)
            np.copyto(out['fid'][v0:v1, u0:u1], f, where=hit)
            if with_coords:
                np.copyto(out['s'][v0:v1, u0:u1], s, where=hit)
                np.copyto(out['r'][v0:v1, u0:u1], r, where=hit)
                np.copyto(out['den'][v0:v1, u0:u1], den, where=hit)
    return out


def _shade(scene: Scene, ray: dict, K: np.ndarray) -> np.ndarray:
    """Colour (H, W, 3) float32 from the ray-cast maps: mip-mapped bilinear texture x shading."""
    atlas, f32, i32 = scene.atlas, np.float32, np.int32
    fid = np.maximum(ray['fid'], 0).astype(np.intp)
    t, s, r = ray['t'], ray['s'], ray['r']
    height, width = t.shape

    def per_face(values, dtype=f32):
        return np.take(np.asarray(values).astype(dtype), fid)

    # Mip level ~ log2(footprint / texel), footprint = z |d| / (f sqrt(cos)): an isotropic
    # compromise for oblique views. round(log2(x)) is read from the float32 exponent of x sqrt(2).
    xs = ((np.arange(width) - K[0, 2]) / K[0, 0]).astype(f32)
    ys = ((np.arange(height) - K[1, 2]) / K[1, 1]).astype(f32)
    dnorm2 = xs[None, :] ** 2 + ys[:, None] ** 2 + f32(1.0)
    first = scene.texture * _NUM_LEVELS
    inv_texel0 = np.sqrt(2.0) * atlas.width[first] / scene.tile[:, 0] / K[0, 0]
    ratio = t * per_face(inv_texel0) * np.sqrt(dnorm2 * np.sqrt(dnorm2) / np.maximum(
        np.abs(ray['den']), f32(0.05)))
    level = (ratio.view(i32) >> 23) - 127
    slot = per_face(first, i32) + np.clip(level, 0, _NUM_LEVELS - 1, out=level)
    tw, th, off = (np.take(v.astype(i32), slot) for v in (atlas.width, atlas.height, atlas.offset))

    def wrap(tiles, size):  # tile coordinate -> texel corner indices and bilinear weight
        pos = tiles - np.floor(tiles)
        pos *= size.astype(f32)
        pos -= f32(0.5)
        i0 = np.floor(pos)
        pos -= i0
        i0 = i0.astype(i32)
        i0 += (i0 < 0) * size
        i1 = i0 + 1
        i1 -= (i1 >= size) * size
        return i0, i1, pos

    x0, x1, wx = wrap(s * per_face(1.0 / scene.tile[:, 0]) + per_face(scene.tile_offset[:, 0]),
                      tw)
    y0, y1, wy = wrap(-(r * per_face(1.0 / scene.tile[:, 1]) + per_face(scene.tile_offset[:, 1])),
                      th)  # image rows run down the face
    y0 *= tw
    y0 += off
    y1 *= tw
    y1 += off
    w11 = wx * wy
    weights = (1 - wx - wy + w11, wx - w11, wy - w11, w11)
    texels = [np.take(atlas.data, i).view(np.uint8).reshape(height, width, 4)
              for i in (y0 + x0, y0 + x1, y1 + x0, y1 + x1)]
    # Lambertian point light, view independent: the light in each face's coordinates.
    rel = scene.light - scene.origin
    hl, sl, rl = (per_face(np.sum(rel * v, 1)) for v in (scene.normal, scene.axis_u, scene.axis_v))
    dist2 = hl * hl + (s - sl) ** 2 + (r - rl) ** 2
    light = f32(_AMBIENT) + f32(_DIFFUSE) * np.maximum(hl, 0) / (
        np.sqrt(dist2) * (1 + f32(_FALLOFF) * dist2))
    colour = np.empty((height, width, 3), f32)
    for c in range(3):
        acc = texels[0][..., c] * weights[0]
        for k in range(1, 4):
            acc += texels[k][..., c] * weights[k]
        acc *= per_face(scene.albedo[:, c]) * light
        colour[..., c] = acc
    return colour


def render_frame(scene: Scene, T_world_cam: np.ndarray, K: Optional[np.ndarray] = None,
                 width: int = 640, height: int = 480, supersample: int = 2,
                 effects: SensorEffects = SensorEffects(),
                 rng: Optional[np.random.Generator] = None) -> tuple:
    """Ray-cast one RGB-D frame.

    Colour is rendered at `supersample` x the resolution (sub-pixel centres at offsets
    (k + 0.5) / supersample - 0.5) and area-downsampled; texture lookups are mip-mapped, bilinear.
    Depth comes from a second ray cast through the exact pixel centres, so it is the exact z of the
    surface seen at each integer pixel coordinate (only float32 rounding).

    Args:
        scene: from `make_scene`.
        T_world_cam: (4, 4) camera-to-world pose (camera optical frame).
        K: (3, 3) intrinsics; default `default_intrinsics(width, height)`.
        width: image width in pixels.
        height: image height in pixels.
        supersample: colour supersampling factor per axis (1 disables).
        effects: optional sensor effects (see `apply_sensor_effects`).
        rng: random generator for the effects; default seeded with 0.

    Returns:
        rgb (H, W, 3) uint8 and depth (H, W) float32 metres (0 where invalid).
    """
    _check_args(width, height)
    K = default_intrinsics(width, height) if K is None else np.asarray(K, np.float64)
    T_world_cam = np.asarray(T_world_cam, np.float64)
    if K.shape != (3, 3) or T_world_cam.shape != (4, 4) or int(supersample) < 1:
        raise ValueError(f'need K (3, 3), T_world_cam (4, 4) and supersample >= 1, got '
                         f'{K.shape}, {T_world_cam.shape}, {supersample}')
    ss = int(supersample)
    K_ss = K.copy()
    K_ss[:2] *= ss
    K_ss[:2, 2] += (ss - 1) / 2.0
    ray = _raycast(scene, T_world_cam, K_ss, width * ss, height * ss, with_coords=True)
    colour = _shade(scene, ray, K_ss)
    colour[ray['fid'] < 0] = 0
    if ss > 1:
        colour = cv2.resize(colour, (width, height), interpolation=cv2.INTER_AREA)  # box mean
        ray = _raycast(scene, T_world_cam, K, width, height, with_coords=False)
    depth = np.where(ray['fid'] >= 0, ray['t'], 0.0).astype(np.float32)
    rgb = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
    if effects.enabled:
        rgb, depth = apply_sensor_effects(rgb, depth, effects, rng or np.random.default_rng(0))
    return rgb, depth


def apply_sensor_effects(rgb: np.ndarray, depth: np.ndarray, effects: SensorEffects,
                         rng: np.random.Generator) -> tuple:
    """Apply `effects` to a clean (H, W, 3) uint8 RGB and (H, W) float32 depth frame (copies)."""
    height, width = depth.shape
    depth = depth.copy()
    if effects.depth_noise > 0:
        depth += (rng.standard_normal(depth.shape) * effects.depth_noise * depth ** 2).astype(
            np.float32)
        depth = np.maximum(depth, 0.0)
    if effects.max_depth > 0:
        depth[depth > effects.max_depth] = 0.0
    for _ in range(rng.poisson(effects.depth_holes) if effects.depth_holes > 0 else 0):
        cu, cv = rng.uniform(0, width), rng.uniform(0, height)
        ru, rv = effects.hole_radius * width * rng.uniform(0.4, 1.6, 2)
        du = ((np.arange(width) - cu) / ru) ** 2
        dv = ((np.arange(height) - cv) / rv) ** 2
        depth[(dv[:, None] + du[None, :]) < 1.0] = 0.0
    out = rgb.astype(np.float32)
    if effects.blur_sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), effects.blur_sigma)
    if effects.exposure_std > 0:
        out *= np.exp(rng.normal(0.0, effects.exposure_std))
    if effects.image_noise > 0:
        out += rng.standard_normal(out.shape).astype(np.float32) * effects.image_noise
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), depth


# ---------------------------------------------------------------------------------------------
# Sequences and I/O


def _check_args(width: int, height: int, fps: float = 1.0, speed: float = 0.0,
                num_frames: int = 1) -> None:
    if width < 1 or height < 1:
        raise ValueError(f'image size must be positive, got {width}x{height}')
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
    _check_args(width, height, fps, speed, num_frames)
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
    _check_args(width, height, fps, speed)
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


def write_tum(sequence: SyntheticSequence, out_dir: str, fps: float = 30.0) -> Path:
    """Write `sequence` in the TUM RGB-D layout under `out_dir` (created if needed).

    Writes rgb/<ts>.png, depth/<ts>.png (16-bit, DEPTH_FACTOR per metre, 0 = invalid), rgb.txt,
    depth.txt, groundtruth.txt (camera-to-world `timestamp tx ty tz qx qy qz qw`), camera.yaml
    and intrinsics.txt (`fx fy cx cy width height depth_factor`).

    Returns:
        The output folder.
    """
    out = Path(out_dir)
    (out / 'rgb').mkdir(parents=True, exist_ok=True)
    (out / 'depth').mkdir(parents=True, exist_ok=True)
    names = [f'{ts:.6f}' for ts in sequence.timestamps]
    for name, rgb, depth in zip(names, sequence.rgb, sequence.depth):
        cv2.imwrite(str(out / 'rgb' / f'{name}.png'), np.ascontiguousarray(rgb[:, :, ::-1]))
        raw = np.clip(np.rint(depth * DEPTH_FACTOR), 0, 65535).astype(np.uint16)
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
        f'depth_factor: {DEPTH_FACTOR!r}\nfps: {float(fps)!r}\n')
    (out / 'intrinsics.txt').write_text(
        '# fx fy cx cy width height depth_factor\n'
        f'{fx} {fy} {cx} {cy} {width} {height} {DEPTH_FACTOR!r}\n')
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
    out = write_tum(seq, args.out_dir, args.fps)
    trans, rot = motion_per_frame(seq.T_world_cam) if len(seq) > 1 else ([0.0], [0.0])
    print(f'wrote {len(seq)} frames to {out} (max motion per frame {np.max(trans) * 100:.2f} cm,'
          f' {np.max(rot):.2f} deg)')
    if args.preview:
        make_preview(seq, args.preview)
        print(f'preview: {args.preview}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
