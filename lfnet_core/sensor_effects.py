# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""RGB-D sensor effects for the synthetic scenes: depth noise, holes and range, blur, exposure."""

import dataclasses

import cv2
import numpy as np


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
