# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Photometric augmentation of one view: what real cameras do to an image between two frames.

Each view of a pair is jittered independently (blur, gain, gamma, noise, JPEG), so the network
sees the two views differ the way two frames of a hand-held, auto-exposed, compressed camera do.
The geometry of the record does not change.
"""

import dataclasses
from typing import Any, Dict, Optional

import cv2
import numpy as np


@dataclasses.dataclass(frozen=True)
class Photometric:
    """Ranges of the per-view photometric jitter; every term is off at its default.

    Attributes:
        blur_prob: probability that a view is blurred.
        blur_max: Gaussian blur sigma ~ U[0.3, blur_max] pixels when it is.
        gain_std: brightness gain exp(N(0, gain_std)).
        gamma_std: gamma exp(N(0, gamma_std)) applied to the [0, 1] intensity.
        noise_max: Gaussian noise std ~ U[0, noise_max] grey levels (of 255).
        jpeg_prob: probability that a view is JPEG-compressed.
        jpeg_min_quality: JPEG quality ~ U[jpeg_min_quality, 95] when it is.
    """

    blur_prob: float = 0.0
    blur_max: float = 0.0
    gain_std: float = 0.0
    gamma_std: float = 0.0
    noise_max: float = 0.0
    jpeg_prob: float = 0.0
    jpeg_min_quality: int = 30

    @classmethod
    def from_spec(cls, spec: Optional[Dict[str, Any]]) -> 'Photometric':
        """Build from a config mapping; ``'camera'`` names the preset `camera_like`."""
        if spec is None:
            return cls()
        if spec == 'camera':
            return cls.camera_like()
        return cls(**dict(spec))

    @classmethod
    def camera_like(cls) -> 'Photometric':
        """Return the jitter of a consumer camera (motion/defocus blur, auto exposure, JPEG)."""
        return cls(blur_prob=0.5, blur_max=2.5, gain_std=0.25, gamma_std=0.2, noise_max=4.0,
                   jpeg_prob=0.5, jpeg_min_quality=30)

    @property
    def enabled(self) -> bool:
        """Whether any jitter is switched on."""
        return any(getattr(self, f) > 0 for f in ('blur_prob', 'gain_std', 'gamma_std',
                                                  'noise_max', 'jpeg_prob'))

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return a jittered copy of a (H, W) float32 grey image in [0, 1].

        The draws are consumed in a fixed order whatever is enabled, so a record stays a
        function of its generator's seed.
        """
        draws = rng.uniform(size=7)
        noise_rng = np.random.default_rng(rng.integers(2 ** 63))
        if not self.enabled:
            return image
        out = np.asarray(image, np.float32)
        if self.blur_max > 0 and draws[0] < self.blur_prob:
            sigma = 0.3 + draws[1] * max(self.blur_max - 0.3, 0.0)
            out = cv2.GaussianBlur(out, (0, 0), sigma)
        if self.gamma_std > 0:
            gamma = float(np.exp(self.gamma_std * _normal(draws[2])))
            out = np.power(np.clip(out, 0.0, 1.0), gamma)
        if self.gain_std > 0:
            out = out * float(np.exp(self.gain_std * _normal(draws[3])))
        if self.noise_max > 0:
            std = draws[4] * self.noise_max / 255.0
            out = out + noise_rng.standard_normal(out.shape).astype(np.float32) * np.float32(std)
        out = np.clip(out, 0.0, 1.0)
        if draws[5] < self.jpeg_prob:
            quality = int(self.jpeg_min_quality + draws[6] * (95 - self.jpeg_min_quality))
            u8 = (out * 255.0 + 0.5).astype(np.uint8)
            ok, buf = cv2.imencode('.jpg', u8, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok:
                out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
        return out.astype(np.float32)


def _normal(u: float) -> float:
    """Map a uniform draw in (0, 1) to a standard normal one (inverse CDF, clipped at 3 sigma)."""
    from statistics import NormalDist
    return float(np.clip(NormalDist().inv_cdf(min(max(u, 1e-6), 1 - 1e-6)), -3.0, 3.0))
