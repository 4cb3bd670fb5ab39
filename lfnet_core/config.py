# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Frozen model configuration with the defaults of the released LF-Net (vcg-uvic/lf-net-release).

Each field names the TF flag of `train_lfnet.py` it mirrors (see docs/network.md).
"""

from dataclasses import asdict, dataclass, field, fields
import math
from typing import Any, Dict, Tuple


@dataclass(frozen=True)
class DetectorConfig:
    """Hyper-parameters of the multi-scale detector and keypoint selection."""

    num_channels: int = 16  # net_channel
    num_blocks: int = 3  # net_block
    conv_ksize: int = 5  # conv_ksize
    leaky_slope: float = 0.2  # leaky ReLU alpha in mso_resnet_detector
    num_scales: int = 5  # net_num_scales
    min_scale: float = 1.0 / math.sqrt(2.0)  # net_min_scale
    max_scale: float = math.sqrt(2.0)  # net_max_scale
    logit_inst_norm_eps: float = 1e-3  # instance norm on per-scale logits
    sm_ksize: int = 15  # sm_ksize: spatial window of the 3D soft NMS
    com_strength: float = 3.0  # com_strength: soft NMS strength
    scale_com_strength: float = 100.0  # score_com_strength = scale_com_strength
    nms_ksize: int = 5  # nms_ksize: strict hard NMS window
    nms_thresh: float = 0.0  # nms_thresh
    border: int = 16  # pad_size / crop_radius: border mask in pixels
    top_k: int = 512  # top_k (training value; inference usually 500-2000)
    kp_loc_size: int = 9  # kp_loc_size: soft-argmax window
    kp_com_strength: float = 1.0  # kp_com_strength
    # Sub-pixel refinement: 'soft_argmax' (the release's, over the window above) or
    # 'quadratic' (a parabola through the peak's neighbours on each axis, as SIFT; not in the
    # paper).
    kp_refine: str = 'soft_argmax'
    ori_ksize: int = 5  # ori_ksize
    # Where keypoint scales come from: 'learned' (the paper's soft selection over the score
    # heads) or 'dog' (the characteristic scale of the scale-normalised DoG at the pixel,
    # `lfnet_core.ops.dog_scale`; not in the paper), scale = sigma / dog_reference, clamped to
    # [dog_min_scale, dog_max_scale]; with dog_edge_fallback, scale 1 where the response has no
    # peak over the levels (edges). dog_edge_power p > 0 multiplies the score by (1 - w)^p,
    # w the coarsest DoG level's weight: keypoints without a characteristic scale rank lower.
    scale_source: str = 'learned'
    dog_sigma0: float = 1.0
    dog_levels: int = 9
    dog_per_octave: int = 3
    dog_temperature: float = 2.0
    dog_reference: float = 1.5
    dog_min_scale: float = 0.35
    dog_max_scale: float = 4.0
    dog_edge_fallback: bool = True
    dog_edge_power: float = 0.0
    # Keypoints only where the image has contrast (not in the paper): with min_contrast c > 0,
    # of the K strongest peaks those where the largest |DoG| over the DoG levels is below c
    # (in the detector input's units: the image's standard deviations with `input_inst_norm`,
    # nearly absolute on frames whose standard deviation is near sqrt(input_inst_norm_eps))
    # are dropped, not replaced, much as SIFT drops low-contrast extrema. Flat and noise-only
    # areas then give no keypoints and a frame may return fewer than K. Inference only
    # (training's keypoints ignore it); 0 keeps every peak.
    min_contrast: float = 0.0

    def __post_init__(self) -> None:
        if self.scale_source not in ('learned', 'dog'):
            raise ValueError(f"scale_source: 'learned' or 'dog', got {self.scale_source!r}")
        if self.kp_refine not in ('soft_argmax', 'quadratic'):
            raise ValueError(f"kp_refine: 'soft_argmax' or 'quadratic', got {self.kp_refine!r}")
        positive = (self.dog_sigma0, self.dog_temperature, self.dog_reference,
                    self.dog_min_scale, self.dog_max_scale)
        if not (all(0 < v < math.inf for v in positive) and self.dog_levels >= 3
                and 0 <= self.dog_edge_power < math.inf and 0 <= self.min_contrast < math.inf
                and self.dog_per_octave >= 1 and self.dog_min_scale <= self.dog_max_scale):
            raise ValueError(
                'dog_*: need finite sigma0, temperature, reference > 0, levels >= 3, '
                'per_octave >= 1, 0 < min_scale <= max_scale, finite edge_power >= 0 and '
                f'min_contrast >= 0; got {self.dog_sigma0}, {self.dog_temperature}, '
                f'{self.dog_reference}, {self.dog_levels}, {self.dog_per_octave}, '
                f'{self.dog_min_scale}, {self.dog_max_scale}, {self.dog_edge_power}, '
                f'{self.min_contrast}')

    @property
    def scale_range(self) -> Tuple[float, float]:
        """(min, max) keypoint scale of the active `scale_source`."""
        if self.scale_source == 'dog':
            return self.dog_min_scale, self.dog_max_scale
        return self.min_scale, self.max_scale

    @property
    def scales(self) -> Tuple[float, ...]:
        """Scale factors, evenly spaced in log space from max_scale down to min_scale."""
        if self.num_scales == 1:
            return (1.0,)
        lo, hi = math.log(self.min_scale), math.log(self.max_scale)
        step = (hi - lo) / (self.num_scales - 1)
        return tuple(math.exp(hi - i * step) for i in range(self.num_scales))


@dataclass(frozen=True)
class DescriptorConfig:
    """Hyper-parameters of the patch descriptor network."""

    patch_size: int = 32  # patch_size
    conv_channels: Tuple[int, ...] = (64, 128, 256)  # simple_desc conv1..conv3
    fc_dim: int = 512  # simple_desc fc1
    descriptor_dim: int = 256  # out_dim
    # Domain-size pooling (not in the paper; Dong and Soatto, CVPR 2015): describe each keypoint
    # at its scale times each of these factors and average the unit descriptors, renormalised.
    # (1.0,) describes one patch, as the release does.
    pool_scales: Tuple[float, ...] = (1.0,)
    # Residual blocks (not in the release): after the i-th strided convolution, this many blocks
    # of two 3x3 convolutions at its width, each added to its input. () adds none, as the
    # release. A block starts as the identity (its last BatchNorm's scale is 0), so weights
    # without blocks load into a model with them and describe exactly as before. All zeros is
    # stored as ().
    residual_blocks: Tuple[int, ...] = ()
    # Stacked patch scales (not in the release): besides the patch at the keypoint's scale, the
    # patches at that scale times each of these factors, as more input channels of one
    # descriptor pass. () describes one patch, as the release.
    stack_scales: Tuple[float, ...] = ()

    def __post_init__(self) -> None:
        blocks = self.residual_blocks
        if not (isinstance(blocks, tuple) and len(blocks) in (0, len(self.conv_channels))
                and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 4
                        for n in blocks)):
            raise ValueError(f'residual_blocks: need () or one count in 0..4 per strided '
                             f'convolution ({len(self.conv_channels)}), got {blocks!r}')
        if not any(blocks):
            object.__setattr__(self, 'residual_blocks', ())
        stack = self.stack_scales
        if not (isinstance(stack, tuple) and len(stack) <= 4
                and all(isinstance(f, (int, float)) and not isinstance(f, bool)
                        and 0 < f < math.inf for f in stack)):
            raise ValueError(f'stack_scales: need a tuple of 0 to 4 finite factors > 0, got '
                             f'{stack!r}')
        pool = self.pool_scales
        if not (isinstance(pool, tuple) and 1 <= len(pool) <= 8
                and all(isinstance(f, (int, float)) and 0 < f < math.inf for f in pool)):
            raise ValueError(f'pool_scales: need a tuple of 1 to 8 finite factors > 0, got '
                             f'{pool!r}')


def pool_factors(values: Any) -> Tuple[float, ...]:
    """Return `values` (a sequence of numbers) as checked `DescriptorConfig.pool_scales`.

    Raises:
        ValueError: not a sequence of 1 to 8 finite numbers > 0 (a string is refused).

    """
    if isinstance(values, (str, bytes)) or not hasattr(values, '__iter__'):
        raise ValueError(f'pool_scales: need a sequence of numbers, got {values!r}')
    try:
        factors = tuple(float(value) for value in values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f'pool_scales: need numbers, got {values!r}') from exc
    return DescriptorConfig(pool_scales=factors).pool_scales


@dataclass(frozen=True)
class LFNetConfig:
    """Whole-model configuration.

    `input_inst_norm` normalises each image to zero mean and unit variance before the detector and
    the patch sampler, as the release does at training time. The release's inference script skips
    it by mistake (docs/network.md, "Input"); this port trains from scratch and uses one convention
    at train and test time.
    """

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    descriptor: DescriptorConfig = field(default_factory=DescriptorConfig)
    input_inst_norm: bool = True  # input_inst_norm
    input_inst_norm_eps: float = 1e-3

    def to_dict(self) -> Dict[str, Any]:
        """Return a plain nested dict (for checkpoints and ONNX metadata)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> 'LFNetConfig':
        """Build a config from `to_dict` output; unknown keys raise ValueError."""
        data = dict(data)
        det = _build(DetectorConfig, data.pop('detector', {}))
        desc = dict(data.pop('descriptor', {}))
        for key in ('conv_channels', 'pool_scales', 'residual_blocks', 'stack_scales'):
            if key in desc:
                desc[key] = tuple(desc[key])
        desc = _build(DescriptorConfig, desc)
        return _build(cls, {**data, 'detector': det, 'descriptor': desc})


def _build(cls: type, values: Dict[str, Any]) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f'unknown {cls.__name__} keys: {sorted(unknown)}')
    return cls(**values)
