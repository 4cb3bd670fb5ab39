# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ONNX export of LF-Net's two stages, with a parity check against PyTorch (`lfnet-export`).

Two graphs, both with dynamic height and width (or fixed with --shape):
  - `lfnet_dense.onnx`: image (1, 1, H, W) -> score, scale, orientation, peaks;
  - `lfnet_describe.onnx`: image, score, scale, orientation, keypoints (1, N, 2) int64 ->
    keypoints (sub-pixel), scales, orientations (cos, sin), descriptors.
Top-K selection runs on the host between them (`lfnet_core.inference.base`).
"""

import argparse
from dataclasses import dataclass
import hashlib
import json
import logging
import os
from pathlib import Path
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
import warnings

import numpy as np
import torch
from torch import nn

from lfnet_core.inference.base import prepare_image, select_top_k
from lfnet_core.inference.onnxruntime_backend import OnnxRuntimeBackend
from lfnet_core.inference.torch_backend import TorchBackend
from lfnet_core.model.lfnet import LFNet, load_lfnet
from lfnet_core.onnx_model import MAX_KEYPOINTS, MAX_SIDE, OnnxModel
from lfnet_core.ops.depthwise_batchnorm import with_depthwise_preactivation_batchnorms
from lfnet_core.ops.resize import onnx_translations

DENSE_INPUTS = ['image']
DENSE_OUTPUTS = ['score', 'scale', 'orientation', 'peaks']
DESCRIBE_INPUTS = ['image', 'score', 'scale', 'orientation', 'keypoints']
DESCRIBE_OUTPUTS = ['keypoints_refined', 'scales', 'orientations', 'descriptors']
# A change to the exported graphs for the same weights bumps lfnet_core.onnx_model.GRAPH_VERSION
# (cached exports are keyed by it).
DEFAULT_OPSET = 18

# Held to atol: the score map, and at keypoints the orientations and descriptors. The scale map
# is a softmax of strength 100 over scales (or a soft argmax over DoG levels), so it amplifies
# float32 rounding ~100x: it is held to SCALE_RTOL relative to the scale. The dense orientation
# map is reported, not held: where its raw 2-vector nearly vanishes (away from keypoints)
# normalising it amplifies rounding past 1e-4. Peak maps are not compared value by value (a
# near-tie flips a peak); keypoint identity covers them.
STRICT_KEYS = ('max_abs_score', 'max_abs_keypoints_refined', 'max_abs_orientations',
               'max_abs_descriptors')
SCALE_RTOL = 1e-3


class ExportMismatchError(RuntimeError):
    """The exported ONNX graphs do not reproduce the PyTorch model."""


class _DenseGraph(nn.Module):
    def __init__(self, model: LFNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.model.dense(image)


class _DescribeGraph(nn.Module):
    def __init__(self, model: LFNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, score: torch.Tensor, scale: torch.Tensor,
                orientation: torch.Tensor, keypoints: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.model.describe(image, score, scale, orientation, keypoints)


# Detector and descriptor settings added after models were exported, with the value that leaves
# a model as it was: left out of the fingerprint and the ONNX metadata at that value, so earlier
# exports, caches and engines stay valid.
NEUTRAL_SETTINGS = {'detector': {'dog_edge_power': 0.0, 'kp_refine': 'soft_argmax',
                                 'min_contrast': 0.0},
                    'descriptor': {'pool_scales': (1.0,), 'residual_blocks': (),
                                   'stack_scales': ()}}


def config_for_metadata(model: LFNet) -> Dict[str, Any]:
    """Return the model's config as a dict without `NEUTRAL_SETTINGS` at their values.

    Options added later are left out at the value that changes nothing, so exports and engines
    made before them keep their fingerprint and metadata.
    """
    config = model.config.to_dict()
    for part, neutral in NEUTRAL_SETTINGS.items():
        config[part] = {key: value for key, value in config[part].items()
                        if key not in neutral or value != neutral[key]}
    return config


def model_fingerprint(model: LFNet) -> str:
    """SHA-256 over the config and every tensor of the state dict (identifies the weights).

    With the learned scale the DoG option's settings (`DetectorConfig.scale_source`, `dog_*`)
    are left out, so checkpoints, exports and engines made before the option keep their
    fingerprint.
    """
    config = config_for_metadata(model)
    if model.config.detector.scale_source == 'learned':
        config['detector'] = {key: value for key, value in config['detector'].items()
                              if key != 'scale_source' and not key.startswith('dog_')}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _example_inputs(model: LFNet, height: int, width: int) -> Tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(1, 1, height, width, generator=generator)
    with torch.no_grad():
        score, scale, orientation, _ = model.dense(image)
    border = model.config.detector.border
    xs = torch.randint(border, width - border, (1, 16, 1), generator=generator)
    ys = torch.randint(border, height - border, (1, 16, 1), generator=generator)
    return image, score, scale, orientation, torch.cat([xs, ys], dim=-1)


def export_onnx(model: LFNet, out_dir: Union[str, os.PathLike],
                shape: Optional[Tuple[int, int]] = None,
                opset: int = DEFAULT_OPSET) -> OnnxModel:
    """Export the dense and describe graphs of `model` into `out_dir`.

    Args:
        model: the model (put in eval mode; BatchNorm uses running statistics).
        out_dir: output folder (created).
        shape: (H, W) for a fixed input size, or None for dynamic height and width.
        opset: ONNX opset (>= 17).

    Returns:
        the paths written. Each file is self-contained (no external data) and carries metadata:
        `lfnet_config` (JSON), `lfnet_fingerprint`, `lfnet_input_shape`.

    """
    import onnx  # noqa: F401 - fail early with a clear message when missing

    if opset < 17:
        raise ValueError(f'opset must be >= 17, got {opset}')
    model = model.eval().cpu()
    paths = OnnxModel.in_dir(out_dir)
    paths.dense.parent.mkdir(parents=True, exist_ok=True)
    height, width = shape if shape else (240, 320)
    example = _example_inputs(model, height, width)
    dims = None
    if shape is None:
        dim = torch.export.Dim
        min_side = 2 * model.config.detector.border + 1
        side_h = dim('height', min=min_side, max=MAX_SIDE)
        side_w = dim('width', min=min_side, max=MAX_SIDE)
        dims = {2: side_h, 3: side_w}
    num_keypoints = torch.export.Dim('num_keypoints', min=1, max=MAX_KEYPOINTS)
    dense_shapes = {'image': dims} if dims else None
    describe_shapes = {'image': dims, 'score': dims, 'scale': dims, 'orientation': dims,
                       'keypoints': {1: num_keypoints}}
    for noisy in ('torch.onnx', 'onnxscript', 'onnx_ir'):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(_DenseGraph(with_depthwise_preactivation_batchnorms(model)),
                          example[:1], str(paths.dense),
                          input_names=DENSE_INPUTS, output_names=DENSE_OUTPUTS,
                          dynamic_shapes=dense_shapes, opset_version=opset,
                          custom_translation_table=onnx_translations(),
                          external_data=False, verbose=False)
        torch.onnx.export(_DescribeGraph(model), example, str(paths.describe),
                          input_names=DESCRIBE_INPUTS, output_names=DESCRIBE_OUTPUTS,
                          dynamic_shapes=describe_shapes, opset_version=opset,
                          external_data=False, verbose=False)
    metadata = {'lfnet_config': json.dumps(config_for_metadata(model)),
                'lfnet_fingerprint': model_fingerprint(model),
                'lfnet_input_shape': 'dynamic' if shape is None else f'{height}x{width}'}
    for path in (paths.dense, paths.describe):
        _write_metadata(path, metadata)
    return paths


def _write_metadata(path: Path, metadata: Dict[str, str]) -> None:
    import onnx

    graph = onnx.load(str(path))
    del graph.metadata_props[:]
    for key, value in metadata.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(graph)
    onnx.save(graph, str(path))


def check_parity(model: LFNet, paths: OnnxModel, images: Sequence['ParityImage'],
                 top_k: int = 1000, atol: float = 1e-4) -> List[Dict[str, float]]:
    """Compare ONNX Runtime (CPU) against PyTorch on images; raise on any mismatch.

    For each image: max abs difference of the dense maps and, on the same keypoints, of the
    describe outputs (held to `atol`; the scale map to a relative SCALE_RTOL); and the fraction
    of keypoints extracted identically (within 1e-3 px).
    Random-noise images have many near-tied peaks at the top-K cut, so identical keypoint sets
    are required on real images only.

    Raises:
        ExportMismatchError: a difference exceeds `atol`, or a real image's keypoint sets differ.

    """
    reference = TorchBackend(model.eval().cpu())
    candidate = OnnxRuntimeBackend(paths)
    reports = []
    for item in images:
        report = _compare_one(reference, candidate, item.image, top_k)
        report['name'] = item.name
        reports.append(report)
        bad = {k: report[k] for k in STRICT_KEYS if report.get(k, 0.0) > atol}
        if report['max_rel_scale'] > SCALE_RTOL:
            bad['max_rel_scale'] = report['max_rel_scale']
        if bad or (item.real and report['keypoints_identical'] < 1.0):
            raise ExportMismatchError(f'ONNX and PyTorch differ on {item.name}: {report}')
    return reports


def _compare_one(reference, candidate, image: np.ndarray, top_k: int) -> Dict[str, float]:
    batch = prepare_image(image)[None, None]
    maps_ref = reference.dense(batch)
    maps_onnx = candidate.dense(batch)
    report = {f'max_abs_{name}': float(np.abs(a - b).max())
              for name, a, b in zip(DENSE_OUTPUTS, maps_ref, maps_onnx)}
    scale_ref, scale_onnx = maps_ref[1], maps_onnx[1]
    report['max_rel_scale'] = float((np.abs(scale_ref - scale_onnx)
                                     / np.maximum(np.abs(scale_ref), 1e-6)).max())
    keypoints_int, _ = select_top_k(maps_ref[3][0, 0], top_k)
    if len(keypoints_int):
        described_ref = reference.describe(batch, *maps_ref[:3], keypoints_int[None])
        described_onnx = candidate.describe(batch, *maps_ref[:3], keypoints_int[None])
        report.update({f'max_abs_{name}': float(np.abs(a - b).max())
                       for name, a, b in zip(DESCRIBE_OUTPUTS, described_ref, described_onnx)})
    kp_ref = reference.extract(image, top_k)['keypoints']
    kp_onnx = candidate.extract(image, top_k)['keypoints']
    report['keypoints_identical'] = keypoint_agreement(kp_ref, kp_onnx)
    report['num_keypoints'] = float(len(kp_ref))
    return report


def keypoint_agreement(keypoints0: np.ndarray, keypoints1: np.ndarray,
                       tol: float = 1e-3) -> float:
    """Fraction of keypoints in the larger set that the other set has within `tol` pixels."""
    if len(keypoints0) == 0 and len(keypoints1) == 0:
        return 1.0
    if len(keypoints0) == 0 or len(keypoints1) == 0:
        return 0.0
    dist = np.abs(keypoints0[:, None, :] - keypoints1[None, :, :]).max(axis=2)
    found = int((dist.min(axis=1) <= tol).sum())
    return found / max(len(keypoints0), len(keypoints1))


@dataclass(frozen=True)
class ParityImage:
    """An image for the parity check; `real` photos must give identical keypoints."""

    name: str
    image: np.ndarray
    real: bool


def parity_images(extra: Sequence[Union[str, os.PathLike]] = ()) -> List[ParityImage]:
    """Random images at several sizes plus real photos (scikit-image's, and any given files)."""
    import cv2
    from skimage import data

    rng = np.random.default_rng(0)
    images = [ParityImage(f'random {h}x{w}', rng.integers(0, 256, (h, w), dtype=np.uint8), False)
              for h, w in ((240, 320), (97, 131))]
    images += [ParityImage('astronaut', data.astronaut(), True),
               ParityImage('camera', data.camera(), True)]
    for path in extra:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f'cannot read image {path}')
        images.append(ParityImage(str(path), cv2.cvtColor(image, cv2.COLOR_BGR2RGB), True))
    return images


def _parse_shape(text: str) -> Tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected HxW, got {text!r}')
    return height, width


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `lfnet-export`."""
    parser = argparse.ArgumentParser(prog='lfnet-export', description=__doc__.split('\n')[0])
    parser.add_argument('--weights', help='checkpoint (.pt); default: the shipped weights')
    parser.add_argument('--out', default='onnx', help='output folder (default: ./onnx)')
    parser.add_argument('--shape', type=_parse_shape, help='fixed input size HxW (default: '
                        'dynamic height and width)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    parser.add_argument('--check-image', action='append', default=[],
                        help='extra real image for the parity check (repeatable)')
    parser.add_argument('--top-k', type=int, default=1000)
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument('--no-check', action='store_true', help='skip the parity check')
    parser.add_argument('--pool-scales', type=float, nargs='+', metavar='F',
                        help="descriptor pooling factors that replace the checkpoint's, e.g. "
                        '0.7071 1.4142 (one descriptor pass each; docs/training.md)')
    args = parser.parse_args(argv)
    model = load_lfnet(args.weights, pool_scales=args.pool_scales)
    print(f'exporting to {args.out} ({"dynamic" if args.shape is None else args.shape})')
    paths = export_onnx(model, args.out, args.shape, args.opset)
    print(f'wrote {paths.dense} and {paths.describe}')
    if args.no_check:
        return 0
    images = parity_images(args.check_image)
    if args.shape is not None:
        import cv2
        images = [ParityImage(item.name, cv2.resize(item.image, args.shape[::-1]), item.real)
                  for item in images]
    try:
        reports = check_parity(model, paths, images, args.top_k, args.atol)
    except ExportMismatchError as exc:
        print(f'PARITY CHECK FAILED: {exc}', file=sys.stderr)
        return 1
    worst = {key: max(r.get(key, 0.0) for r in reports) for key in reports[0]
             if key.startswith('max_abs')}
    for report in reports:
        print(f"  {report['name']}: {int(report['num_keypoints'])} keypoints, "
              f"{100 * report['keypoints_identical']:.1f}% identical")
    print(f'parity OK on {len(reports)} images (atol {args.atol}): '
          + ', '.join(f'{k[8:]} {v:.2e}' for k, v in worst.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
