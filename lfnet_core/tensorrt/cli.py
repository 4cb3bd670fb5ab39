# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""`lfnet-build-engine`: build TensorRT engines from lfnet-export ONNX graphs into the cache.

Imports only the standard library and this package at import time, so without TensorRT the
command exits at once.
"""

import argparse
from dataclasses import replace
from pathlib import Path
import sys
import time
from typing import List, Optional, Sequence

from lfnet_core.tensorrt.builder import (build_engine, DEFAULT_WORKSPACE_MIB, new_record,
                                         onnx_info, OnnxInfo)
from lfnet_core.tensorrt.engine_cache import (atomic_write, bytes_sha256, EngineCache,
                                              EngineRecord, GRAPH_FILES, PathLike, record_path)
from lfnet_core.tensorrt.environment import EngineEnvironment, EXIT_NO_TENSORRT, INSTALL_HINT
from lfnet_core.tensorrt.shape_profile import (DEFAULT_MAX_KEYPOINTS, DEFAULT_OPT_KEYPOINTS,
                                               default_profile, parse_hw, ShapeProfile)


def argument_parser() -> argparse.ArgumentParser:
    """Return the command's argument parser."""
    parser = argparse.ArgumentParser(
        prog='lfnet-build-engine',
        description='Build TensorRT engines from lfnet-export ONNX graphs into the engine cache.')
    parser.add_argument('model', help='an lfnet-export .onnx file, or a folder holding '
                        'lfnet_dense.onnx and lfnet_describe.onnx (builds both)')
    parser.add_argument('--fp16', action='store_true', help='allow FP16 kernels')
    parser.add_argument('--shape', type=parse_hw, help='one fixed image size HxW')
    parser.add_argument('--min', type=parse_hw, help='smallest image HxW (with --opt, --max)')
    parser.add_argument('--opt', type=parse_hw, help='image size to tune for, HxW')
    parser.add_argument('--max', type=parse_hw, help='largest image HxW')
    parser.add_argument('--max-keypoints', type=int, default=DEFAULT_MAX_KEYPOINTS,
                        help=f'largest keypoint count (default {DEFAULT_MAX_KEYPOINTS})')
    parser.add_argument('--workspace', type=int, default=DEFAULT_WORKSPACE_MIB,
                        help=f'builder workspace in MiB (default {DEFAULT_WORKSPACE_MIB})')
    parser.add_argument('--timing-cache', help='timing cache file, reused across builds')
    parser.add_argument('--out', help='also copy the engine (+ .json) here: a file for one '
                        '.onnx, a folder for an lfnet-export folder')
    parser.add_argument('--cache-dir', help='engine cache (default: <lfnet cache>/tensorrt)')
    parser.add_argument('--verbose', action='store_true', help="TensorRT's INFO log")
    return parser


def profile_from_args(args: argparse.Namespace, info: OnnxInfo) -> ShapeProfile:
    """Return the profile that --shape or --min/--opt/--max ask for, else the default one."""
    ranges = (args.min, args.opt, args.max)
    if args.shape and any(ranges):
        raise ValueError('use either --shape or --min/--opt/--max')
    if any(ranges) and not all(ranges):
        raise ValueError('--min, --opt and --max go together')
    if info.fixed_hw and (any(ranges) or (args.shape and args.shape != info.fixed_hw)):
        raise ValueError(f'{info.path} was exported for a fixed {info.fixed_hw[0]}x'
                         f'{info.fixed_hw[1]} input')
    keypoints = args.max_keypoints
    opt_keypoints = min(DEFAULT_OPT_KEYPOINTS, keypoints)
    if args.shape:
        profile = ShapeProfile.fixed(args.shape, keypoints)
    elif all(ranges):
        profile = ShapeProfile(args.min, args.opt, args.max, 1, opt_keypoints, keypoints)
    else:
        profile = default_profile(info.min_side, info.fixed_hw, keypoints)
    profile.check_min_side(info.min_side)
    return profile


def _model_files(model: Path) -> List[Path]:
    if model.is_dir():
        files = [model / f'{stem}.onnx' for stem in GRAPH_FILES.values()]
        missing = [str(path) for path in files if not path.is_file()]
        if missing:
            raise FileNotFoundError(f'not an lfnet-export folder, missing: {", ".join(missing)}')
        return files
    if not model.is_file():
        raise FileNotFoundError(f'ONNX model not found: {model}')
    return [model]


def onnx_files_to_build(args: argparse.Namespace) -> List[Path]:
    """Return the ONNX files the CLI builds; refuse an --out file for a whole export folder."""
    files = _model_files(Path(args.model))
    if args.out and len(files) > 1 and Path(args.out).suffix:
        raise ValueError('--out must be a folder when building a whole export folder')
    return files


def out_target(out: Optional[PathLike], onnx_path: Path, count: int) -> Optional[Path]:
    """Return where --out copies the engine built from `onnx_path` (one of `count` files)."""
    if not out:
        return None
    out = Path(out)
    return out / f'{onnx_path.stem}.engine' if count > 1 or out.is_dir() else out


def save_engine(cache: EngineCache, record: EngineRecord, plan: bytes,
                target: Optional[Path] = None) -> Path:
    """Store a built plan in the cache (its sha256 in the record) and copy both to `target`."""
    record = replace(record, engine_sha256=bytes_sha256(plan))
    engine = cache.store(record, plan)
    print(f'  wrote {engine} ({len(plan) / 2**20:.1f} MiB)')
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, plan)
        atomic_write(record_path(target), record.to_json().encode())
        print(f'  copied to {target}')
    return engine


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `lfnet-build-engine`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not {'-h', '--help'} & set(argv):
        try:
            import tensorrt  # noqa: F401
        except ImportError as exc:
            print(f'lfnet-build-engine: {INSTALL_HINT} ({exc})', file=sys.stderr)
            return EXIT_NO_TENSORRT
    args = argument_parser().parse_args(argv)
    try:
        env = EngineEnvironment.detect()
        if not env.gpu:
            print('lfnet-build-engine: no CUDA GPU found (torch.cuda / nvidia-smi); TensorRT '
                  'builds engines for the GPU it runs on', file=sys.stderr)
            return EXIT_NO_TENSORRT
        files = onnx_files_to_build(args)
        cache = EngineCache(args.cache_dir)
        precision = 'fp16' if args.fp16 else 'fp32'
        print(f'TensorRT {env.tensorrt_version} on {env.gpu}, {precision}, cache {cache.root}')
        total = time.perf_counter()
        for path in files:
            info = onnx_info(path)
            profile = profile_from_args(args, info)
            print(f'{path.name} ({info.graph}): profile {profile.text()}')
            start = time.perf_counter()
            plan = build_engine(info, profile, args.fp16, args.workspace, args.timing_cache,
                                args.verbose)
            record = new_record(info, env, precision, profile, time.perf_counter() - start)
            save_engine(cache, record, plan, out_target(args.out, path, len(files)))
        print(f'done in {time.perf_counter() - total:.1f} s')
    except (OSError, ValueError, RuntimeError) as exc:
        print(f'lfnet-build-engine: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
