# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""`lfnet-extract IMAGE`: LF-Net keypoints and descriptors of one image, to .npz and/or a PNG."""

import argparse
import logging
from pathlib import Path
import sys
import time
from typing import Optional, Sequence

import cv2
import numpy as np

from lfnet_core.inference import BACKEND_NAMES, BackendUnavailableError, create_backend
from lfnet_core.visualization import draw_keypoints, save_rgb


def read_image(path: str) -> np.ndarray:
    """Read an image file as RGB (or grey) uint8/uint16; raise ValueError if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f'cannot read image {path}')
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `lfnet-extract`."""
    parser = argparse.ArgumentParser(prog='lfnet-extract', description=__doc__.split('\n')[0])
    parser.add_argument('image', help='input image (PNG, JPEG, ...)')
    parser.add_argument('--weights', help='checkpoint (.pt); default: the shipped weights')
    parser.add_argument('--backend', default='auto', choices=BACKEND_NAMES)
    parser.add_argument('--onnx-dir', help='lfnet-export output for the onnxruntime backend')
    parser.add_argument('--top-k', type=int, default=1000, help='maximum keypoints')
    parser.add_argument('--out', help='write keypoints, scales, orientations, scores, '
                        'descriptors and image_size to this .npz')
    parser.add_argument('--show', help='draw the keypoints into this PNG')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    try:
        image = read_image(args.image)
        backend = create_backend(args.backend, weights=args.weights, onnx_dir=args.onnx_dir)
        start = time.perf_counter()
        result = backend.extract(image, top_k=args.top_k)
        elapsed = time.perf_counter() - start
    except (ValueError, FileNotFoundError, BackendUnavailableError) as exc:
        print(f'lfnet-extract: error: {exc}', file=sys.stderr)
        return 2
    print(f'{args.image}: {len(result["keypoints"])} keypoints, {image.shape[1]}x'
          f'{image.shape[0]}, backend {backend.name}, {1000 * elapsed:.1f} ms')
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.out, image_size=np.array(image.shape[:2]), **result)
        print(f'wrote {args.out}')
    if args.show:
        Path(args.show).parent.mkdir(parents=True, exist_ok=True)
        save_rgb(args.show, draw_keypoints(image, result['keypoints'], result['scales'],
                                           result['orientations']))
        print(f'wrote {args.show}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
