# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Per-stage timings of the front-end on real frames, with the compute limit beside them.

`lfnet-bench` (lfnet_ros.node_bench) drives this module and adds the node's overhead over ROS 2.
Everything here is plain Python: frames in, medians out. One frame of the pipeline is exactly
what `Frontend.process` does (extract, back-project, match to the previous frame, PnP RANSAC),
so the stage times are the ones the node pays.
"""

import collections
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import tempfile
import time
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from lfnet_core.config import LFNetConfig
from lfnet_core.frontend import Frame, Frontend, FrontendConfig
from lfnet_core.inference.base import Backend, prepare_image, select_top_k
from lfnet_core.inference.split_runner import SplitRunner
from lfnet_core.matching import mutual_nearest_neighbours
from lfnet_core.summary_stats import percentiles_ms
from lfnet_core.tum import TumSequence

# Stages in pipeline order: (key in the report, what it covers).
STAGES = (
    ('preprocess', 'grey conversion, float32'),
    ('dense', 'detector network + 3D soft NMS + strict NMS (one graph)'),
    ('select', 'top-K of the peak map'),
    ('sample', 'sub-pixel refinement + 32x32 patch sampling'),
    ('descriptor', 'descriptor network'),
    ('match', 'mutual nearest neighbours to the previous frame'),
    ('pose', 'back-projection + PnP RANSAC'),
    ('frame', 'the whole frame (Frontend.process)'),
)


@dataclass
class BenchFrames:
    """Frames to time: colour, depth (metres) and intrinsics, all of one size."""

    name: str
    rgb: List[np.ndarray]
    depth: List[Optional[np.ndarray]]
    K: np.ndarray

    def resized(self, width: int, height: int) -> 'BenchFrames':
        """Return the frames at width x height (area-averaged colour, nearest depth, scaled K)."""
        h0, w0 = self.rgb[0].shape[:2]
        if (w0, h0) == (width, height):
            return self
        sx, sy = width / w0, height / h0
        K = np.array(self.K, np.float64)
        K[0, :] *= sx
        K[1, :] *= sy
        K[0, 2] = (self.K[0, 2] + 0.5) * sx - 0.5
        K[1, 2] = (self.K[1, 2] + 0.5) * sy - 0.5
        rgb = [cv2.resize(im, (width, height), interpolation=cv2.INTER_AREA) for im in self.rgb]
        depth = [None if d is None else
                 cv2.resize(d, (width, height), interpolation=cv2.INTER_NEAREST)
                 for d in self.depth]
        return BenchFrames(self.name, rgb, depth, K)


def load_frames(tum_dir: Optional[str] = None, count: int = 30) -> BenchFrames:
    """Load up to `count` frames of a TUM-layout RGB-D sequence, else generate them.

    Args:
        tum_dir: a TUM-layout folder; None generates the project's synthetic sequence.
        count: number of frames.

    """
    if tum_dir:
        sequence = TumSequence(tum_dir)
        frames = [sequence[i] for i in range(min(count, len(sequence)))]
        return BenchFrames(Path(tum_dir).name, [f.rgb for f in frames],
                           [f.depth for f in frames], frames[0].K)
    from lfnet_core.scenes import generate_sequence
    sequence = generate_sequence(count, 640, 480, seed=0)
    return BenchFrames('generated', list(sequence.rgb), list(sequence.depth), sequence.K)


# ---------------------------------------------------------------------------------------------
# The machine's compute limit and the network's FLOPs


def median_seconds(run: Callable[[], object], warmup: int, repeats: int) -> float:
    """Median wall time of `repeats` calls of `run` after `warmup` untimed ones."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_rate(threads: int, size: int = 2048, repeats: int = 10) -> float:
    """Measured FP32 matrix-multiply rate in GFLOP/s: median of `repeats` size^3 products.

    This is the compute limit the figures are compared with: dense convolutions cannot run
    faster than the machine multiplies matrices.
    """
    import torch
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        generator = torch.Generator().manual_seed(0)
        a = torch.rand(size, size, generator=generator)
        b = torch.rand(size, size, generator=generator)
        seconds = median_seconds(lambda: torch.mm(a, b), warmup=3, repeats=repeats)
    finally:
        torch.set_num_threads(previous)
    return 2.0 * size ** 3 / seconds / 1e9


def network_flops(height: int, width: int, num_keypoints: int,
                  config: Optional[LFNetConfig] = None) -> Dict[str, float]:
    """Count the FLOPs (multiply and add as two) of the dense and the describe stage.

    Counted by PyTorch's FlopCounterMode on a model of `config` (default: the release's
    architecture; convolutions and matrix products; the elementwise work is not counted, as is
    usual).
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from lfnet_core.model.lfnet import LFNet
    model = LFNet(config or LFNetConfig()).eval()
    image = torch.rand(1, 1, height, width, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            maps = model.dense(image)
        dense = counter.get_total_flops()
        border = model.config.detector.border
        rng = np.random.default_rng(0)
        keypoints = np.stack([rng.integers(border, width - border, num_keypoints),
                              rng.integers(border, height - border, num_keypoints)], axis=1)
        with FlopCounterMode(display=False) as counter:
            model.describe(image, maps[0], maps[1], maps[2],
                           torch.from_numpy(keypoints)[None])
        describe = counter.get_total_flops()
    return {'dense': float(dense), 'describe': float(describe)}


# ---------------------------------------------------------------------------------------------
# Splitting 'describe' into patch sampling and the descriptor network


def _torch_describe_split(backend: Backend, image: np.ndarray, top_k: int,
                          repeats: int) -> Tuple[float, float]:
    """Median seconds of (refinement + sampling, descriptor network) for the torch backend."""
    import torch
    model = backend.model
    batch = torch.from_numpy(prepare_image(image)[None, None]).to(backend.device)
    sample_t, net_t = [], []
    with torch.no_grad():
        score, scale, orientation, peaks = model.dense(batch)
        keypoints_int, _ = select_top_k(peaks[0, 0].cpu().numpy(), top_k)
        kp = torch.from_numpy(keypoints_int)[None].to(backend.device)
        for _ in range(repeats + 1):
            start = time.perf_counter()
            pooled = model.pooled_patches(batch, *model.keypoint_frames(score, scale,
                                                                        orientation, kp))
            middle = time.perf_counter()
            for patches in pooled:
                model.describe_patches(patches)
            end = time.perf_counter()
            sample_t.append(middle - start)
            net_t.append(end - middle)
    return float(np.median(sample_t[1:])), float(np.median(net_t[1:]))


def _onnx_descriptor_fraction(backend: Backend, weights: Optional[str], image: np.ndarray,
                              top_k: int, repeats: int) -> float:
    """Share of ONNX Runtime's describe time spent in the descriptor network, in [0, 1].

    The describe graph runs sampling and the network in one session call, so the network is
    exported on its own (same weights, same session options, the same keypoint slices run at
    once) and run on as many patches, in turn with the describe call on `image`, so that
    both medians come from the same moments of the machine.
    """
    from functools import partial

    import torch
    from lfnet_core.inference.onnxruntime_backend import make_session
    from lfnet_core.model.lfnet import load_lfnet
    model = load_lfnet(weights)
    num_patches = max(1, int(backend.extract(image, top_k)['keypoints'].shape[0]))
    num_patches *= len(model.config.descriptor.pool_scales)  # one pass per pooled scale
    network = model.descriptor.eval()
    side = network.config.patch_size
    patches = torch.rand(num_patches, network.convs[1].in_channels, side, side,  # stacked scales
                         generator=torch.Generator().manual_seed(0))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'descriptor.onnx')
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(network, (patches,), path, input_names=['patches'],
                              output_names=['descriptors'],
                              dynamic_shapes={'patches': {0: torch.export.Dim('n', min=1)}},
                              external_data=False, verbose=False)
        runner = SplitRunner(partial(make_session, path, backend.providers),
                             backend.describe_workers, backend.threads)
        feeds = {'patches': patches.numpy()}
        describe_t, network_t = [], []
        for i in range(repeats + 1):
            backend.extract(image, top_k)
            start = time.perf_counter()
            runner.run(feeds, split=('patches',), axis=0)
            if i:  # the first round warms both up
                network_t.append(time.perf_counter() - start)
                describe_t.append(backend.last_timings['describe'])
    return min(float(np.median(network_t)) / float(np.median(describe_t)), 1.0)


# ---------------------------------------------------------------------------------------------
# Timing loops


def timing_summary(samples: Sequence[float]) -> Dict[str, Optional[float]]:
    """p50 and p90 in milliseconds of samples in seconds (`percentiles_ms`), and their count."""
    return {**percentiles_ms(samples), 'n': len(samples)}


def _cycle(frames: BenchFrames, count: int) -> Iterator[Tuple[int, Frame]]:
    n = len(frames.rgb)
    for i in range(count):
        # Forward then backward through the frames, so consecutive frames always overlap.
        period = max(2 * n - 2, 1)
        j = i % period
        j = j if j < n else period - j
        yield i, Frame(frames.rgb[j], i / 30.0, frames.depth[j], frames.K)


def time_backend(backend: Backend, frames: BenchFrames, top_k: int, warmup: int = 3,
                 repeats: int = 20, weights: Optional[str] = None) -> Dict[str, Dict[str, float]]:
    """Time `Frontend.process` stage by stage; returns {stage: {p50_ms, p90_ms, n}}.

    `weights` (the backend's checkpoint, None for the shipped one) is needed to time the ONNX
    Runtime descriptor network on its own.
    """
    return time_backends({backend.name: backend}, frames, top_k, warmup, repeats,
                         weights).stages[backend.name]


@dataclass
class InterleavedTimings:
    """Stage timings of several backends taken frame by frame in turn, and their pairings."""

    stages: Dict[str, Dict[str, Dict[str, float]]]  # backend -> stage -> {p50_ms, p90_ms, n}
    frame_seconds: Dict[str, List[float]]  # backend -> whole-frame seconds, round by round

    def speedup(self, name: str, baseline: str) -> Dict[str, float]:
        """Per-round ratios baseline / name of the whole-frame time: median, p25, p75, n.

        Each ratio pairs two frames timed one right after the other, so a VM that slows down
        or speeds up during the run moves both sides of it alike.
        """
        ratios = (np.asarray(self.frame_seconds[baseline])
                  / np.asarray(self.frame_seconds[name]))
        p25, p50, p75 = np.percentile(ratios, [25, 50, 75])
        return {'median': float(p50), 'p25': float(p25), 'p75': float(p75),
                'n': int(ratios.size)}


def time_backends(backends: Dict[str, Backend], frames: BenchFrames, top_k: int,
                  warmup: int = 3, repeats: int = 20,
                  weights: Optional[str] = None) -> InterleavedTimings:
    """Time `Frontend.process` of several backends in turn, frame by frame.

    Round i runs frame i on every backend, starting with a different one each round, so no
    backend always follows the same other one (whose idle threads may still hold a core). One
    `Frontend` per backend, so each matches against its own previous frame.
    """
    names = list(backends)
    fronts = {name: Frontend(backends[name], FrontendConfig(top_k=top_k)) for name in names}
    samples: Dict[str, Dict[str, List[float]]] = {
        name: collections.defaultdict(list) for name in names}
    for i, frame in _cycle(frames, warmup + repeats):
        for name in names[i % len(names):] + names[:i % len(names)]:
            start = time.perf_counter()
            result = fronts[name].process(frame)
            elapsed = time.perf_counter() - start
            if i < warmup:
                continue
            for stage in ('preprocess', 'dense', 'select', 'describe', 'match', 'pose'):
                samples[name][stage].append(result.timings.get(stage, 0.0))
            samples[name]['frame'].append(elapsed)
    stages = {}
    for name in names:
        stages[name] = _split_describe(backends[name], samples[name], frames.rgb[0], top_k,
                                       weights)
    return InterleavedTimings(stages, {name: list(samples[name]['frame']) for name in names})


def _split_describe(backend: Backend, samples: Dict[str, List[float]], image: np.ndarray,
                    top_k: int, weights: Optional[str]) -> Dict[str, Dict[str, float]]:
    """Split the describe time into patch sampling and the descriptor network; percentiles."""
    if backend.name == 'torch':
        sample, network = _torch_describe_split(backend, image, top_k, repeats=5)
        fraction = network / (sample + network) if sample + network > 0 else 0.0
    elif backend.name == 'onnxruntime':
        fraction = _onnx_descriptor_fraction(backend, weights, image, top_k, repeats=7)
    else:
        fraction = float('nan')
    describe = np.asarray(samples.pop('describe'))
    samples['sample'] = list(describe * (1.0 - fraction))
    samples['descriptor'] = list(describe * fraction)
    return {stage: timing_summary(samples[stage]) for stage, _ in STAGES if stage in samples}


def time_opencv(method: str, frames: BenchFrames, top_k: int, warmup: int = 3,
                repeats: int = 20) -> Dict[str, Dict[str, float]]:
    """Time OpenCV ORB or SIFT: detect + describe, and the same mutual-NN matcher."""
    if method == 'orb':
        detector, metric = cv2.ORB_create(nfeatures=top_k), 'hamming'
    elif method == 'sift':
        detector, metric = cv2.SIFT_create(nfeatures=top_k), 'l2'
    else:
        raise ValueError(f'unknown OpenCV method {method!r} (orb, sift)')
    samples: Dict[str, List[float]] = collections.defaultdict(list)
    previous = None
    for i, frame in _cycle(frames, warmup + repeats):
        start = time.perf_counter()
        grey = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        _, descriptors = detector.detectAndCompute(grey, None)
        middle = time.perf_counter()
        if descriptors is None:
            descriptors = np.zeros((0, 32 if method == 'orb' else 128),
                                   np.uint8 if method == 'orb' else np.float32)
        if previous is not None and len(previous) and len(descriptors):
            mutual_nearest_neighbours(previous, descriptors, metric=metric)
        end = time.perf_counter()
        previous = descriptors
        if i >= warmup:
            samples['detect_describe'].append(middle - start)
            samples['match'].append(end - middle)
            samples['frame'].append(end - start)
    return {stage: timing_summary(values) for stage, values in samples.items()}


@dataclass
class SizeReport:
    """Everything measured at one image size."""

    width: int
    height: int
    flops: Dict[str, float]
    backends: Dict[str, Dict[str, Dict[str, float]]] = field(default_factory=dict)
    opencv: Dict[str, Dict[str, Dict[str, float]]] = field(default_factory=dict)


def compute_fraction(flops: float, seconds: float, rate_gflops: float) -> float:
    """Achieved FLOP rate as a fraction of the measured matrix-multiply rate."""
    if seconds <= 0 or rate_gflops <= 0:
        return float('nan')
    return flops / seconds / 1e9 / rate_gflops


def onnxruntime_profile(backend: Backend, image: np.ndarray, top_k: int,
                        repeats: int = 3) -> Dict[str, Dict[str, float]]:
    """Kernel milliseconds per operator type of both ONNX Runtime graphs (the profiler's view).

    Returns ``{'dense': {op_type: ms per run}, 'describe': {...}}``, sorted by time. This is the
    profile that says where the time goes (e.g. Conv against layout reorders and resizes).
    """
    from lfnet_core.inference.onnxruntime_backend import make_session
    grey = prepare_image(image)[None, None]
    score, scale, orientation, peaks = backend.dense(grey)
    keypoints_int, _ = select_top_k(peaks[0, 0], top_k)
    feeds = {'dense': {'image': grey},
             'describe': {'image': grey, 'score': score, 'scale': scale,
                          'orientation': orientation,
                          'keypoints': keypoints_int[None].astype(np.int64)}}
    paths = {'dense': backend.model_paths.dense, 'describe': backend.model_paths.describe}
    out: Dict[str, Dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for graph, path in paths.items():
            session = make_session(path, backend.providers, backend.threads,
                                   profile_prefix=os.path.join(tmp, graph))
            session.run(None, feeds[graph])  # warm-up (also profiled; dropped below)
            for _ in range(repeats):
                session.run(None, feeds[graph])
            with open(session.end_profiling()) as f:
                events = [e for e in json.load(f) if e.get('cat') == 'Node'
                          and e.get('name', '').endswith('_kernel_time')]
            totals: Dict[str, float] = collections.Counter()
            nodes_per_run = len(events) // (repeats + 1)
            for event in events[nodes_per_run:]:
                totals[event['args'].get('op_name', '?')] += event['dur'] / 1000.0 / repeats
            out[graph] = dict(sorted(totals.items(), key=lambda kv: -kv[1]))
    return out
