# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Rendering the synthetic scene: one RGB-D frame ray-cast in numpy, with exact depth.

Colour is mip-mapped, bilinear texture times a Lambertian point light, supersampled and
area-averaged; depth is the exact z of the surface seen at each pixel centre.
"""

from typing import Optional

import numpy as np

from lfnet_core.image_scaling import resize_image, scale_pixels
from lfnet_core.scene_geometry import Scene
from lfnet_core.scene_textures import MIP_LEVELS
from lfnet_core.sensor_effects import apply_sensor_effects, SensorEffects

_AMBIENT, _DIFFUSE, _FALLOFF = 0.45, 0.75, 0.04  # shading: amb + dif * cos / (1 + k * r^2)


def default_intrinsics(width: int = 640, height: int = 480) -> np.ndarray:
    """Kinect-like intrinsics: fx = fy = 525, cx = 319.5, cy = 239.5 at 640x480, scaled to size."""
    sx, sy = width / 640.0, height / 480.0
    cx, cy = scale_pixels([319.5, 239.5], sx, sy)[0]
    return np.array([[525.0 * sx, 0.0, cx], [0.0, 525.0 * sy, cy], [0.0, 0.0, 1.0]])


def check_image_size(width: int, height: int) -> None:
    """Raise ValueError unless the image size is positive."""
    if width < 1 or height < 1:
        raise ValueError(f'image size must be positive, got {width}x{height}')


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
    first = scene.texture * MIP_LEVELS
    inv_texel0 = np.sqrt(2.0) * atlas.width[first] / scene.tile[:, 0] / K[0, 0]
    ratio = t * per_face(inv_texel0) * np.sqrt(dnorm2 * np.sqrt(dnorm2) / np.maximum(
        np.abs(ray['den']), f32(0.05)))
    level = (ratio.view(i32) >> 23) - 127
    slot = per_face(first, i32) + np.clip(level, 0, MIP_LEVELS - 1, out=level)
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
    check_image_size(width, height)
    K = default_intrinsics(width, height) if K is None else np.asarray(K, np.float64)
    T_world_cam = np.asarray(T_world_cam, np.float64)
    if K.shape != (3, 3) or T_world_cam.shape != (4, 4) or int(supersample) < 1:
        raise ValueError(f'need K (3, 3), T_world_cam (4, 4) and supersample >= 1, got '
                         f'{K.shape}, {T_world_cam.shape}, {supersample}')
    ss = int(supersample)
    K_ss = K.copy()  # the intrinsics of the image ss times the size
    K_ss[:2, :2] *= ss
    K_ss[:2, 2] = scale_pixels(K[:2, 2], ss)[0]
    ray = _raycast(scene, T_world_cam, K_ss, width * ss, height * ss, with_coords=True)
    colour = _shade(scene, ray, K_ss)
    colour[ray['fid'] < 0] = 0
    if ss > 1:
        colour = resize_image(colour, (width, height))  # area mean
        ray = _raycast(scene, T_world_cam, K, width, height, with_coords=False)
    depth = np.where(ray['fid'] >= 0, ray['t'], 0.0).astype(np.float32)
    rgb = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
    if effects.enabled:
        rgb, depth = apply_sensor_effects(rgb, depth, effects, rng or np.random.default_rng(0))
    return rgb, depth
