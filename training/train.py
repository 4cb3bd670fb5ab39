# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Train LF-Net the paper's way (`lfnet-train`, `python -m lfnet_training.train`, or torchrun).

    lfnet-train training/configs/cpu.yaml [key=value ...] [--resume CKPT|auto]
    lfnet-train --report RUN_DIR        # curves across every restart of a run

`--resume auto` continues from ``<out_dir>/checkpoints/latest.pt`` when it exists and starts
the run (from `train.init_weights`, if set) when it does not. `latest.pt` is rewritten every
`train.ckpt_every` iterations or `train.ckpt_minutes` minutes, whichever comes first, and on
Ctrl-C / SIGTERM; `train.keep_history: false` keeps no step_*.pt beside it. metrics.csv is
appended to across restarts; each start logs `resumed_from`.

Two Adam optimisers step together: the detector on L_im + 0.01 L_pair + 0.1 L_ori + 0.1 L_scale,
the descriptor on the triplet loss (docs/network.md, "Losses"). Under torchrun each process takes
its own batches and gradients are averaged with all_reduce before each step; this is
DistributedDataParallel's semantics, done by hand because the two losses need separate gradients
through shared activations, which DDP's single-backward hooks cannot give.
"""

import argparse
import csv
from dataclasses import fields
import os
from pathlib import Path
import signal
import sys
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from omegaconf import DictConfig, OmegaConf
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm
import yaml

from lfnet_core.config import LFNetConfig
from lfnet_core.model.descriptor import widen_first_convolution
from lfnet_core.model.lfnet import LFNet
from lfnet_training.data import build_dataset
from lfnet_training.loss_config import LossConfig
from lfnet_training.losses import compute_losses
from lfnet_training.plots import plot_curves, read_metrics
from lfnet_training.teacher import load_teacher, teacher_path
from lfnet_training.validation import matching_score

CONFIG_DIR = Path(__file__).resolve().parent / 'configs'


class StepBatchSampler(Sampler):
    """Batches drawn from a seeded RNG per (seed, step, rank): resumable at any step."""

    def __init__(self, size: int, batch_size: int, seed: int, start: int, stop: int,
                 rank: int = 0) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.start, self.stop, self.rank = start, stop, rank

    def __iter__(self) -> Iterator[List[int]]:
        for step in range(self.start, self.stop):
            rng = np.random.default_rng((self.seed, step, self.rank))
            yield rng.choice(self.size, self.batch_size, replace=False).tolist()

    def __len__(self) -> int:
        return self.stop - self.start


def load_config(path: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Load a YAML config, merge dotted overrides (`train.lr=1e-4`), resolve it."""
    cfg = OmegaConf.load(path)
    for override in overrides:
        key, sep, value = override.partition('=')
        if not sep or not key:
            raise ValueError(f'override must be key=value, got {override!r}')
        # OmegaConf.update understands list indices (data.train.sources.0.size=64).
        OmegaConf.update(cfg, key, yaml.safe_load(value), merge=True, force_add=True)
    OmegaConf.resolve(cfg)
    known = {f.name for f in fields(LossConfig)}
    unknown = set(cfg.get('loss', {})) - known
    if unknown:
        raise ValueError(f'unknown loss keys in {path}: {sorted(unknown)}')
    try:
        model_config(cfg)
    except (TypeError, ValueError) as exc:
        raise ValueError(f'bad model section in {path}: {exc}') from exc
    teacher_path(cfg)
    return cfg


def model_config(cfg: DictConfig) -> LFNetConfig:
    """Return the network to train: release defaults with the config's `model` section over them.

    The section uses `LFNetConfig.to_dict`'s layout, e.g. `model.detector.scale_com_strength=10`;
    the checkpoints carry the result, so inference and export follow it.
    """
    section = cfg.get('model')
    if section is None:
        return LFNetConfig()
    merged = OmegaConf.merge(LFNetConfig().to_dict(), section)
    config = LFNetConfig.from_dict(OmegaConf.to_container(merged, resolve=True))
    if config.descriptor.pool_scales != (1.0,):
        raise ValueError('model.descriptor.pool_scales: an inference option; the losses train '
                         'one patch per keypoint (set it in the trained checkpoint instead)')
    return config


def _init_distributed() -> Dict[str, int]:
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world > 1 and not dist.is_initialized():
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
        dist.init_process_group(backend)
    return {'world': world, 'rank': int(os.environ.get('RANK', '0')),
            'local_rank': int(os.environ.get('LOCAL_RANK', '0'))}


def _device(name: str, local_rank: int) -> torch.device:
    if name == 'auto':
        name = 'cuda' if torch.cuda.is_available() else 'cpu'
    if name == 'cuda':
        return torch.device('cuda', local_rank)
    return torch.device(name)


def _average_gradients(grads: Sequence[torch.Tensor], world: int) -> None:
    if world > 1:
        for grad in grads:
            dist.all_reduce(grad, op=dist.ReduceOp.SUM)
            grad /= world


def _step(optimizer: torch.optim.Optimizer, params: List[torch.nn.Parameter],
          grads: Sequence[Optional[torch.Tensor]], world: int) -> None:
    filled = [g if g is not None else torch.zeros_like(p) for p, g in zip(params, grads)]
    _average_gradients(filled, world)
    for param, grad in zip(params, filled):
        param.grad = grad
    optimizer.step()


def _to_device(batch: Dict[str, Any], device: torch.device) -> Dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v
            for k, v in batch.items()}


def save_checkpoint(path: Path, model: LFNet, optimizers: Dict[str, torch.optim.Optimizer],
                    step: int, cfg: DictConfig, metrics: Dict[str, float]) -> None:
    """Write model + optimiser state + step; the resolved config goes beside it as YAML."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = model.checkpoint(step=step, metrics=dict(metrics),
                            config_yaml=OmegaConf.to_yaml(cfg))
    data['optimizers'] = {name: opt.state_dict() for name, opt in optimizers.items()}
    data['step'] = step
    tmp = path.with_suffix('.tmp')
    torch.save(data, str(tmp))
    os.replace(tmp, path)
    OmegaConf.save(cfg, str(path.with_suffix('.yaml')))


def _init_weights(model: LFNet, path: str) -> None:
    """Start from the network weights of a checkpoint (fresh optimisers, step 0).

    The model may grow the checkpoint's descriptor: residual blocks it lacks start as the
    identity (`DescriptorConfig.residual_blocks`), and stacked patch channels it lacks
    (`DescriptorConfig.stack_scales`) start with zero weights, so the model describes exactly
    as the checkpoint does. Any other difference is an error.
    """
    state = widen_first_convolution(LFNet.from_pretrained(path).state_dict(), model)
    result = model.load_state_dict(state, strict=False)
    foreign = [key for key in result.missing_keys if not key.startswith('descriptor.blocks.')]
    if foreign or result.unexpected_keys:
        raise ValueError(f'{path} does not fit the model: missing {foreign}, unexpected '
                         f'{result.unexpected_keys}')
    grown = f', {len(result.missing_keys)} new tensors' if result.missing_keys else ''
    tqdm.write(f'initialised from {path}{grown}')


def ignore_stop_signals(worker_id: int) -> None:
    """Let a data-loader worker ignore SIGINT/SIGTERM: the main process saves, then stops it.

    A signal sent to the whole process group (Ctrl-C in a terminal, `pkill -f lfnet-train`)
    would otherwise kill the worker while the main process writes latest.pt.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _make_loader(dataset: Dataset, cfg: DictConfig, start: int, rank: int) -> DataLoader:
    sampler = StepBatchSampler(len(dataset), cfg.train.batch_size, cfg.seed, start,
                               cfg.train.iterations, rank)
    workers = int(cfg.data.get('num_workers', 0))
    # One pass over the sampler, so no persistent workers: they keep the iterator alive, and
    # at interpreter exit that can hang the process after training (pytorch/pytorch#48666).
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                      prefetch_factor=2 if workers else None,
                      worker_init_fn=ignore_stop_signals if workers else None)


def train(cfg: DictConfig, resume: Optional[str] = None) -> Path:
    """Run training; returns the output folder (checkpoints, metrics.csv, curves, TensorBoard)."""
    env = _init_distributed()
    device = _device(cfg.train.get('device', 'auto'), env['local_rank'])
    if cfg.train.get('threads'):
        torch.set_num_threads(int(cfg.train.threads))
    torch.manual_seed(cfg.seed + env['rank'])
    out_dir = Path(cfg.train.out_dir)
    model = LFNet(model_config(cfg)).to(device)
    loss_cfg = LossConfig(**cfg.get('loss', {}))
    det_params = list(model.detector.parameters())
    desc_params = list(model.descriptor.parameters())
    optimizers = {'detector': torch.optim.Adam(det_params, lr=cfg.train.lr),
                  'descriptor': torch.optim.Adam(desc_params, lr=cfg.train.lr)}
    start, trained_seconds = 0, 0.0
    ckpt_dir = out_dir / 'checkpoints'
    if resume == 'auto':
        resume = str(ckpt_dir / 'latest.pt') if (ckpt_dir / 'latest.pt').is_file() else None
    if resume:
        start, trained_seconds = _resume(resume, model, optimizers, device)
        tqdm.write(f'resumed from {resume} at iteration {start}')
    elif cfg.train.get('init_weights'):
        _init_weights(model, str(cfg.train.init_weights))
    teacher = load_teacher(cfg, model, device)
    train_set = build_dataset(cfg.data.train)
    val_records = [build_dataset(cfg.data.val)[i] for i in range(int(cfg.data.val.num_pairs))]
    loader = _make_loader(train_set, cfg, start, env['rank'])
    is_main = env['rank'] == 0
    writer = _writer(out_dir) if is_main else None
    generator = torch.Generator(device='cpu').manual_seed(cfg.seed * 1000 + env['rank'])
    metrics: Dict[str, float] = {}
    bar = tqdm(loader, total=len(loader), initial=0, disable=not is_main,
               desc=f'train {start}->{cfg.train.iterations}', dynamic_ncols=True)
    # freeze_detector: train the descriptor only, for the detector's fixed keypoints (its
    # weights and BatchNorm statistics stay as loaded; the detector losses are still logged).
    freeze_detector = bool(cfg.train.get('freeze_detector', False))
    if freeze_detector:
        model.detector.requires_grad_(False)
    _train_mode(model, freeze_detector)
    if is_main:
        _log(out_dir, writer, start, {'resumed_from': float(start)})
    started = time.time()
    ckpt_seconds = 60.0 * float(cfg.train.get('ckpt_minutes') or 0.0)
    keep_history = bool(cfg.train.get('keep_history', True))
    step = start

    def save(step: int, metrics: Dict[str, float]) -> None:
        hours = (trained_seconds + time.time() - started) / 3600.0
        meta = dict(metrics, train_hours=hours)
        if keep_history and step % cfg.train.ckpt_every == 0:
            save_checkpoint(ckpt_dir / f'step_{step:06d}.pt', model, optimizers, step, cfg,
                            meta)
        save_checkpoint(ckpt_dir / 'latest.pt', model, optimizers, step, cfg, meta)

    last_save = started
    try:
        for offset, batch in enumerate(bar):
            step = start + offset + 1
            # The release gives both optimisers one global_step, so its counter (and the
            # mining schedule driven by it) advances by 2 per iteration: keep that.
            losses = compute_losses(model, _to_device(batch, device), 2 * step, loss_cfg,
                                    generator, teacher)
            if not torch.isfinite(losses['detector'] + losses['descriptor']):
                raise FloatingPointError(f'non-finite loss at step {step}: '
                                         f'{ {k: float(v) for k, v in losses.items()} }')
            if not freeze_detector:
                det_grads = torch.autograd.grad(losses['detector'], det_params,
                                                retain_graph=True, allow_unused=True)
                _step(optimizers['detector'], det_params, det_grads, env['world'])
            desc_grads = torch.autograd.grad(losses['descriptor'], desc_params,
                                             allow_unused=True)
            _step(optimizers['descriptor'], desc_params, desc_grads, env['world'])
            metrics = {k: float(v.detach()) for k, v in losses.items()}
            bar.set_postfix(det=f"{metrics['detector']:.4f}",
                            desc=f"{metrics['descriptor']:.3f}",
                            kp=f"{metrics['num_keypoints']:.0f}")
            if is_main and (step % cfg.train.log_every == 0 or step == start + 1):
                _log(out_dir, writer, step, dict(metrics, seconds=time.time() - started))
            if is_main and step % cfg.train.val_every == 0:
                val = matching_score(model, val_records, loss_cfg.top_k)
                _train_mode(model, freeze_detector)
                _log(out_dir, writer, step, {f'val_{k}': v for k, v in val.items()})
                tqdm.write(f'step {step}: val matching score {val["matching_score"]:.4f}')
            due = ckpt_seconds > 0 and time.time() - last_save >= ckpt_seconds
            if is_main and (step % cfg.train.ckpt_every == 0 or step == cfg.train.iterations
                            or due):
                save(step, metrics)
                last_save = time.time()
    except KeyboardInterrupt:
        if is_main and step > start:
            save(step, metrics)
            tqdm.write(f"interrupted: saved {ckpt_dir / 'latest.pt'} at iteration {step}")
        raise
    if is_main:
        val = matching_score(model, val_records, loss_cfg.top_k)
        _log(out_dir, writer, step, {f'val_{k}': v for k, v in val.items()})
        plot_curves(out_dir / 'metrics.csv', out_dir / 'loss_curves.png')
        if writer:
            writer.close()
    if dist.is_initialized():
        dist.destroy_process_group()
    return out_dir


def _train_mode(model: LFNet, freeze_detector: bool) -> None:
    """Training mode; a frozen detector stays in eval mode (its BatchNorm statistics fixed)."""
    model.train()
    if freeze_detector:
        model.detector.eval()


def _resume(path: str, model: LFNet, optimizers: Dict[str, torch.optim.Optimizer],
            device: torch.device) -> Tuple[int, float]:
    """Load weights and optimisers; return the iteration and the seconds trained so far."""
    data = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(data['state_dict'], strict=True)
    for name, opt in optimizers.items():
        opt.load_state_dict(data['optimizers'][name])
    hours = float(data.get('meta', {}).get('metrics', {}).get('train_hours', 0.0))
    return int(data['step']), 3600.0 * hours


def _writer(out_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out_dir / 'tensorboard'))


def _log(out_dir: Path, writer, step: int, values: Dict[str, float]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / 'metrics.csv'
    new = not path.exists()
    with open(path, 'a', newline='') as handle:
        out = csv.writer(handle)
        if new:
            out.writerow(['step', 'key', 'value'])
        for key, value in values.items():
            out.writerow([step, key, f'{value:.6g}'])
    if writer is not None:
        for key, value in values.items():
            writer.add_scalar(key, value, step)


def parse_cli(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse `lfnet-train`'s arguments; `--resume` may come anywhere among the overrides."""
    parser = argparse.ArgumentParser(prog='lfnet-train', description='Train LF-Net.')
    parser.add_argument('config', nargs='?', help='YAML config, e.g. training/configs/cpu.yaml')
    parser.add_argument('overrides', nargs='*', help='dotted overrides: train.iterations=100')
    parser.add_argument('--resume', help='checkpoint to resume from (weights + optimisers), or '
                        '"auto": the run\'s latest.pt if there is one, else a fresh start')
    parser.add_argument('--report', metavar='RUN_DIR',
                        help='draw RUN_DIR/metrics.csv (every restart) to RUN_DIR/'
                        'loss_curves.png and print the latest values; trains nothing')
    return parser.parse_intermixed_args(argv)


def report(run_dir: Path) -> int:
    """Plot a run's curves across its restarts and print its latest logged values."""
    metrics_csv = run_dir / 'metrics.csv'
    if not metrics_csv.is_file():
        print(f'lfnet-train --report: no metrics.csv in {run_dir}', file=sys.stderr)
        return 2
    out_png = run_dir / 'loss_curves.png'
    plot_curves(metrics_csv, out_png)
    series = read_metrics(metrics_csv)
    restarts = [step for step, _ in series.get('resumed_from', [])]
    print(f'{run_dir}: {len(restarts)} start(s) at iterations {restarts}')
    for key in sorted(series):
        step, value = max(series[key])
        print(f'  {key:24s} {value:10.4g}  (iteration {step})')
    print(f'wrote {out_png}')
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `lfnet-train`."""
    args = parse_cli(argv)
    # SIGTERM (a scheduler, `kill`) stops like Ctrl-C: latest.pt is written first.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.report:
        return report(Path(args.report))
    if not args.config:
        raise SystemExit('lfnet-train: a CONFIG is needed (or --report RUN_DIR)')
    cfg = load_config(args.config, args.overrides)
    try:
        out = train(cfg, args.resume)
    except KeyboardInterrupt:
        print('lfnet-train: stopped; `--resume auto` continues from the saved latest.pt',
              file=sys.stderr)
        return 130
    if int(os.environ.get('RANK', '0')) == 0:
        print(f'done: {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
