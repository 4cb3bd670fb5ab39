# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT optimisation profiles: the image sizes and keypoint counts an engine accepts."""

import argparse
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

from lfnet_core.onnx_model import MAX_KEYPOINTS, MAX_SIDE

HW = Tuple[int, int]
DEFAULT_OPT_HW = (480, 640)
DEFAULT_MAX_HW = (1088, 1920)
DEFAULT_MAX_KEYPOINTS = 4096
DEFAULT_OPT_KEYPOINTS = 1000


@dataclass(frozen=True)
class ShapeProfile:
    """One TensorRT optimisation profile: image size (H, W) and keypoint count ranges."""

    min_hw: HW
    opt_hw: HW
    max_hw: HW
    min_keypoints: int = 1
    opt_keypoints: int = DEFAULT_OPT_KEYPOINTS
    max_keypoints: int = DEFAULT_MAX_KEYPOINTS

    def __post_init__(self) -> None:
        for name in ('min_hw', 'opt_hw', 'max_hw'):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        for axis in (0, 1):
            if not self.min_hw[axis] <= self.opt_hw[axis] <= self.max_hw[axis]:
                raise ValueError(f'profile needs min <= opt <= max, got {self.text()}')
        if not 1 <= self.min_keypoints <= self.opt_keypoints <= self.max_keypoints:
            raise ValueError(f'profile needs 1 <= min <= opt <= max keypoints, got {self.text()}')
        if self.max_keypoints > MAX_KEYPOINTS or max(self.max_hw) > MAX_SIDE:
            raise ValueError(f'profile exceeds the export limits ({MAX_SIDE} px, '
                             f'{MAX_KEYPOINTS} keypoints): {self.text()}')

    @classmethod
    def fixed(cls, hw: HW, max_keypoints: int = DEFAULT_MAX_KEYPOINTS) -> 'ShapeProfile':
        """Return a profile for one image size."""
        return cls(hw, hw, hw, 1, min(DEFAULT_OPT_KEYPOINTS, max_keypoints), max_keypoints)

    def text(self) -> str:
        """Canonical text, part of the cache key: 'HxW:HxW:HxW/n:n:n' (min:opt:max)."""
        sides = ':'.join(f'{h}x{w}' for h, w in (self.min_hw, self.opt_hw, self.max_hw))
        return f'{sides}/{self.min_keypoints}:{self.opt_keypoints}:{self.max_keypoints}'

    def check_min_side(self, min_side: int) -> None:
        """Refuse image sizes below the network's smallest input (2 * border + 1)."""
        if min(self.min_hw) < min_side:
            raise ValueError(f"profile minimum {self.min_hw} is below the model's smallest "
                             f'input side {min_side}')

    def input_shapes(self, inputs: Dict[str, Sequence[int]]) -> Dict[str, Tuple[tuple, ...]]:
        """(min, opt, max) shapes for each network input with a dynamic (-1) dimension.

        Rank-4 inputs (image, score, scale, orientation: (1, C, H, W)) take H and W from the
        profile, `keypoints` (1, N, 2) takes N; any other dynamic dimension is refused.
        """
        shapes = {}
        sizes = (self.min_hw, self.opt_hw, self.max_hw)
        counts = (self.min_keypoints, self.opt_keypoints, self.max_keypoints)
        for name, dims in inputs.items():
            dims = tuple(int(d) for d in dims)
            if -1 not in dims:
                continue
            if len(dims) == 4 and -1 not in dims[:2]:
                per = [dims[:2] + tuple(hw[i] if dims[2 + i] == -1 else dims[2 + i]
                                        for i in (0, 1)) for hw in sizes]
            elif name == 'keypoints' and len(dims) == 3 and -1 not in (dims[0], dims[2]):
                per = [(dims[0], n, dims[2]) for n in counts]
            else:
                raise ValueError(f'input {name} {dims}: only H, W and N may be dynamic')
            shapes[name] = tuple(per)
        return shapes


def parse_hw(text: str) -> HW:
    """Parse 'HxW' (e.g. 480x640)."""
    try:
        height, width = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected HxW, got {text!r}')
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f'expected positive HxW, got {text!r}')
    return height, width


def default_profile(min_side: int, fixed_hw: Optional[HW] = None,
                    max_keypoints: int = DEFAULT_MAX_KEYPOINTS) -> ShapeProfile:
    """Return the profile used without --shape/--min/--opt/--max.

    That is the export's fixed size, else min_side..1088x1920 (opt 480x640).
    """
    if fixed_hw:
        return ShapeProfile.fixed(fixed_hw, max_keypoints)
    return ShapeProfile((min_side, min_side), DEFAULT_OPT_HW, DEFAULT_MAX_HW, 1,
                        min(DEFAULT_OPT_KEYPOINTS, max_keypoints), max_keypoints)
