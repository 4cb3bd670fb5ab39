# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Characteristic scale per pixel from the scale-normalised difference of Gaussians.

Lindeberg's automatic scale selection, as SIFT's detector uses it: blur the image at sigmas
sigma0 * 2^(i / per_octave), take the differences of neighbouring levels (each approximates the
scale-normalised Laplacian at the geometric mean of its two sigmas) and, at every pixel, the
sigma where the absolute response peaks (a soft argmax in log sigma). A zoom by z multiplies
that sigma by z at the same scene point, so patches sized by it cover the same scene area in
both images. As in SIFT's pyramid, the levels past a blur of 2.4 px are blurred on a half-size
image (about a third of the filter work) and their responses resized back. Fixed filters only:
it has no parameters, runs inside the network and exports to ONNX.
"""

from functools import lru_cache
import math
from typing import List, NamedTuple, Optional

import torch
import torch.nn.functional as F

# Subsample once a level's blur exceeds this many pixels: 1.2 pixels of the half-size image.
SUBSAMPLE_ABOVE_SIGMA = 2.4


class DogScale(NamedTuple):
    """`dog_scale_selection`'s maps, each (B, 1, H, W)."""

    sigma: torch.Tensor  # the characteristic sigma in pixels
    coarsest: torch.Tensor  # the coarsest level's weight in [0, 1]
    peak: torch.Tensor  # the largest |DoG| over the levels, in the image's units (contrast)


def gaussian_kernel(sigma: float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Normalised 1D Gaussian of standard deviation `sigma`, radius ceil(3 sigma) (>= 1)."""
    radius = max(1, int(math.ceil(3.0 * sigma)))
    offsets = torch.arange(-radius, radius + 1, dtype=dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


@lru_cache(maxsize=64)
def cached_gaussian_kernel(sigma: float, dtype: torch.dtype,
                           device: torch.device) -> torch.Tensor:
    """`gaussian_kernel` on `device`, built once per (sigma, dtype, device).

    Saves a host-to-device copy per blur on a GPU. Built outside inference mode so that a kernel
    first made under `torch.inference_mode` still serves a later autograd pass.
    """
    with torch.inference_mode(False):
        return gaussian_kernel(sigma, dtype).to(device)


def cacheable(tensor: torch.Tensor) -> bool:
    """Whether constants made for `tensor` may be cached: not while tracing or exporting.

    Under `torch.export` or `torch.compile` the inputs are fake or functional tensor subclasses
    and new tensors are fake too; a cached one would then serve later eager calls.
    """
    return type(tensor) is torch.Tensor and not torch.compiler.is_compiling()


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B, 1, H, W) `image`, edges replicated."""
    make = cached_gaussian_kernel if cacheable(image) else cached_gaussian_kernel.__wrapped__
    kernel = make(float(sigma), image.dtype, image.device)
    radius = (kernel.numel() - 1) // 2
    image = F.conv2d(F.pad(image, (radius, radius, 0, 0), mode='replicate'),
                     kernel.view(1, 1, 1, -1))
    return F.conv2d(F.pad(image, (0, 0, radius, radius), mode='replicate'),
                    kernel.view(1, 1, -1, 1))


def dog_sigmas(sigma0: float, levels: int, per_octave: int) -> List[float]:
    """Return the `levels` + 1 blur sigmas, sigma0 * 2^(i / per_octave)."""
    if sigma0 <= 0 or levels < 3 or per_octave < 1:
        raise ValueError(f'DoG scale: need sigma0 > 0, levels >= 3, per_octave >= 1; got '
                         f'{sigma0}, {levels}, {per_octave}')
    return [sigma0 * 2.0 ** (i / per_octave) for i in range(levels + 1)]


@lru_cache(maxsize=16)
def level_log2_sigmas(sigma0: float, levels: int, per_octave: int, dtype: torch.dtype,
                      device: torch.device) -> torch.Tensor:
    """Return log2 of each DoG level's sigma (cached like `cached_gaussian_kernel`).

    Level i's DoG sits at sqrt(sigma_i sigma_(i+1)) = sigma0 2^((i + 0.5) / per_octave).
    """
    log2_sigmas = [(i + 0.5) / per_octave + math.log2(sigma0) for i in range(levels)]
    with torch.inference_mode(False):
        return torch.tensor(log2_sigmas, dtype=dtype, device=device)


def dog_responses(image: torch.Tensor, sigmas: List[float]) -> torch.Tensor:
    """Return |DoG| (B, len(sigmas) - 1, H, W) of (B, 1, H, W) `image` between neighbouring sigmas.

    Levels are blurred at the input size until the blur exceeds `SUBSAMPLE_ABOVE_SIGMA` px (the
    level at 2.52 px with the defaults). As in SIFT, that level is then subsampled (every other
    pixel, the edge pixel repeated for even sizes), the remaining levels are blurred at half
    size and their responses resized back bilinearly with the corners aligned, so half-size
    pixel j sits on pixel 2j. Subsampling at a blur of 2 px (SIFT's choice) lowered the next
    response at blob centres by up to 10%; at 2.52 px the half-size image is smooth enough.
    """
    height, width = image.shape[-2:]
    level = gaussian_blur(image, sigmas[0])
    level_sigma, step = sigmas[0], 1
    full_size, half_size = [], []
    for sigma in sigmas[1:]:
        if step == 1 and level_sigma > SUBSAMPLE_ABOVE_SIGMA:
            level = F.pad(level, (0, 1, 0, 1), mode='replicate')[..., ::2, ::2]
            step = 2
        blurred = gaussian_blur(level, math.sqrt(sigma ** 2 - level_sigma ** 2) / step)
        (full_size if step == 1 else half_size).append(level - blurred)
        level, level_sigma = blurred, sigma
    if half_size:
        half_height, half_width = half_size[0].shape[-2:]
        resized = F.interpolate(torch.cat(half_size, 1),
                                size=(2 * half_height - 1, 2 * half_width - 1),
                                mode='bilinear', align_corners=True)
        full_size.append(resized[..., :height, :width])
    return torch.cat(full_size, 1).abs()


def characteristic_sigma(image: torch.Tensor, sigma0: float = 1.0, levels: int = 9,
                         per_octave: int = 3, temperature: float = 2.0,
                         floor: float = 1e-2,
                         fallback_sigma: Optional[float] = None) -> torch.Tensor:
    """Return the per-pixel sigma (B, 1, H, W) where |DoG| peaks over scale (module doc).

    `dog_scale_selection`'s sigma; its arguments are described there.
    """
    return dog_scale_selection(image, sigma0, levels, per_octave, temperature, floor,
                               fallback_sigma).sigma


def dog_scale_selection(image: torch.Tensor, sigma0: float = 1.0, levels: int = 9,
                        per_octave: int = 3, temperature: float = 2.0,
                        floor: float = 1e-2, fallback_sigma: Optional[float] = None
                        ) -> DogScale:
    """Return the per-pixel DoG sigma, the coarsest level's weight and the peak response.

    The peak is a soft argmax: level weights softmax(temperature * r_i / max(max_i r_i, floor))
    over the absolute responses r_i, so the result is a continuous function of the image
    (backends agree to float precision), a sharp peak still selects its level, and flat regions
    (responses under `floor`, in the image's units) get nearly uniform weights instead of
    amplified rounding noise.

    Args:
        image: (B, 1, H, W) grey image; an affine intensity change leaves the result unchanged
            where the responses stay above `floor`.
        sigma0: the finest blur, in pixels.
        levels: number of DoG levels (the sigmas span sigma0 to sigma0 * 2^(levels/per_octave)).
        per_octave: levels per doubling of sigma.
        temperature: sharpness of the soft argmax over levels.
        floor: the smallest response normaliser (1e-2 suits unit-variance images).
        fallback_sigma: where the response still grows at the coarsest level (an edge has no
            characteristic scale), move the sigma to this one in proportion to that level's
            weight; None keeps the coarsest sigma there.

    Returns:
        `DogScale`: sigma in pixels, between the finest and the coarsest DoG level's sigma;
        the coarsest level's weight in [0, 1], high where the pixel has no characteristic
        scale within the levels (edges, large smooth gradients); and the peak |DoG| over the
        levels, the local contrast in the image's units (near 0 on flat or noise-only areas).

    """
    response = dog_responses(image, dog_sigmas(sigma0, levels, per_octave))
    peak = response.amax(1, keepdim=True)
    # The softmax over levels written out: ONNX Runtime's Softmax on a non-last axis transposes
    # the tensor twice, which took half of this function's time. Shifted by the peak, the
    # exponents are <= 0 and the peak level's is 0, so the sum is >= 1 at any temperature.
    exponentials = torch.exp(temperature * (response - peak) / peak.clamp(min=floor))
    total = exponentials.sum(1, keepdim=True)
    make_log2 = level_log2_sigmas if cacheable(image) else level_log2_sigmas.__wrapped__
    level_log2 = make_log2(sigma0, levels, per_octave, image.dtype, image.device)
    log2_sigma = (exponentials * level_log2.view(1, -1, 1, 1)).sum(1, keepdim=True) / total
    coarsest = exponentials[:, -1:] / total
    if fallback_sigma is not None:
        log2_sigma = (1.0 - coarsest) * log2_sigma + coarsest * math.log2(fallback_sigma)
    return DogScale(torch.exp(log2_sigma * math.log(2.0)), coarsest, peak)
