# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Training runs end to end: losses fall, checkpoints resume, torchrun with 2 gloo processes."""

import os
from pathlib import Path
import signal
import subprocess
import sys
import time

import pytest
import torch
from torch.utils.data import DataLoader

from lfnet_core.model.lfnet import LFNet
from lfnet_training.data import build_dataset
from lfnet_training.loss_config import LossConfig
from lfnet_training.losses import compute_losses
from lfnet_training.train import load_config, main, model_config, parse_cli, train

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'training' / 'configs' / 'tiny.yaml'
SMALL = ['data.train.sources.0.size=64', 'data.val.sources.0.size=64', 'loss.top_k=24',
         'train.batch_size=2', 'data.val.num_pairs=1', 'data.val.sources.0.num_pairs=1']


def test_losses_fall_on_a_fixed_batch():
    torch.manual_seed(0)
    cfg = load_config(str(TINY), SMALL)
    batch = next(iter(DataLoader(build_dataset(cfg.data.train), batch_size=2)))
    model = LFNet().train()
    det, desc = list(model.detector.parameters()), list(model.descriptor.parameters())
    opt_det, opt_desc = torch.optim.Adam(det, lr=1e-3), torch.optim.Adam(desc, lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    history = []
    for step in range(12):
        losses = compute_losses(model, batch, step, LossConfig(top_k=24), generator)
        grads = torch.autograd.grad(losses['detector'], det, retain_graph=True,
                                    allow_unused=True)
        for param, grad in zip(det, grads):
            param.grad = grad
        grads = torch.autograd.grad(losses['descriptor'], desc, allow_unused=True)
        for param, grad in zip(desc, grads):
            param.grad = grad
        opt_det.step()
        opt_desc.step()
        history.append((float(losses['detector'].detach()), float(losses['descriptor'].detach())))
    first, last = history[:3], history[-3:]
    assert sum(h[0] for h in last) < sum(h[0] for h in first)
    assert sum(h[1] for h in last) < sum(h[1] for h in first)


def test_train_writes_checkpoints_and_resumes(tmp_path):
    out = tmp_path / 'run'
    overrides = SMALL + [f'train.out_dir={out}', 'train.iterations=2', 'train.ckpt_every=2',
                         'train.val_every=2', 'train.log_every=1']
    assert main([str(TINY)] + overrides) == 0
    ckpt = out / 'checkpoints' / 'step_000002.pt'
    assert ckpt.is_file() and ckpt.with_suffix('.yaml').is_file()
    assert (out / 'loss_curves.png').stat().st_size > 1000
    metrics = (out / 'metrics.csv').read_text()
    assert 'val_matching_score' in metrics and 'triplet' in metrics
    model = LFNet.from_pretrained(ckpt)  # a shipped-weights-style load of a training checkpoint
    assert model.config.detector.top_k == 512
    resumed_overrides = SMALL + [f'train.out_dir={out}', 'train.iterations=3',
                                 'train.ckpt_every=3', 'train.val_every=3', 'train.log_every=1']
    cfg = load_config(str(TINY), resumed_overrides)
    train(cfg, resume=str(out / 'checkpoints' / 'latest.pt'))
    resumed = torch.load(out / 'checkpoints' / 'latest.pt', weights_only=True)
    assert resumed['step'] == 3


@pytest.mark.parametrize('argv', [
    ['c.yaml', 'train.iterations=5', 'loss.top_k=8', '--resume', 'r.pt'],
    ['c.yaml', '--resume', 'r.pt', 'train.iterations=5', 'loss.top_k=8'],
    ['--resume', 'r.pt', 'c.yaml', 'train.iterations=5', 'loss.top_k=8'],
])
def test_resume_may_come_anywhere_on_the_command_line(argv):
    args = parse_cli(argv)
    assert (args.config, args.resume) == ('c.yaml', 'r.pt')
    assert args.overrides == ['train.iterations=5', 'loss.top_k=8']


def test_unknown_loss_key_is_rejected():
    with pytest.raises(ValueError, match='unknown loss keys'):
        load_config(str(TINY), ['loss.not_a_key=1'])


def test_model_section_sets_the_trained_network(tmp_path):
    assert model_config(load_config(str(TINY), SMALL)) == LFNet().config  # release defaults
    out = tmp_path / 'soft'
    cfg = load_config(str(TINY), SMALL + [f'train.out_dir={out}', 'train.iterations=1',
                                          'train.ckpt_every=1', 'train.val_every=1',
                                          'model.detector.scale_com_strength=10'])
    wanted = model_config(cfg)
    assert wanted.detector.scale_com_strength == 10
    assert wanted.detector.num_scales == 5 and wanted.descriptor == LFNet().config.descriptor
    train(cfg)
    assert LFNet.from_pretrained(out / 'checkpoints' / 'latest.pt').config == wanted
    with pytest.raises(ValueError, match='bad model section.*bogus'):
        load_config(str(TINY), ['model.detector.bogus=1'])
    with pytest.raises(ValueError, match='pool_scales: an inference option'):
        load_config(str(TINY), ['model.descriptor.pool_scales=[1.0,2.0]'])


def test_torchrun_two_gloo_processes(tmp_path):
    out = tmp_path / 'ddp'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node=2',
           '-m', 'lfnet_training.train', str(TINY)] + SMALL + [
        f'train.out_dir={out}', 'train.iterations=2', 'train.ckpt_every=2', 'train.val_every=2',
        'train.device=cpu']
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = torch.load(out / 'checkpoints' / 'latest.pt', weights_only=True)
    assert data['step'] == 2


@pytest.mark.parametrize('source', ['homography', 'tum'])
def test_train_runs_on_each_data_source(source, tmp_path):
    from lfnet_core.scenes import generate_sequence, write_tum_dataset

    spec = {'type': source, 'size': 64}
    if source == 'homography':
        spec.update(num_pairs=4, seed=0)
    else:
        root = tmp_path / 'tum'
        sequence = generate_sequence(num_frames=4, width=160, height=120, seed=3)
        write_tum_dataset(sequence, str(root))
        spec.update(root=str(root), gap_range=[1, 2], min_overlap=0.2)
    cfg = load_config(str(TINY), SMALL + [f'train.out_dir={tmp_path / "run"}',
                                          'train.iterations=2', 'train.ckpt_every=2',
                                          'train.val_every=2'])
    cfg.data.train.sources = [spec]
    out = train(cfg)
    assert (out / 'checkpoints' / 'latest.pt').is_file()


def seeded_weights(tmp_path):
    """Save a seeded LFNet to tmp_path/init.pt; return the path and its state dict."""
    init = tmp_path / 'init.pt'
    torch.manual_seed(1)
    LFNet().save(init)
    return init, LFNet.from_pretrained(init).state_dict()


def test_freeze_detector_trains_the_descriptor_only(tmp_path):
    init, before = seeded_weights(tmp_path)
    out = tmp_path / 'frozen'
    cfg = load_config(str(TINY), SMALL + [f'train.out_dir={out}', 'train.iterations=3',
                                          'train.ckpt_every=3', 'train.val_every=2',
                                          f'train.init_weights={init}',
                                          'train.freeze_detector=true'])
    train(cfg)
    after = torch.load(out / 'checkpoints' / 'latest.pt', weights_only=True)['state_dict']
    detector = [k for k in before if k.startswith('detector.')]
    descriptor = [k for k in before if k.startswith('descriptor.') and 'weight' in k]
    assert detector and descriptor
    for key in detector:  # weights and BatchNorm statistics, also across the validation at 2
        torch.testing.assert_close(after[key], before[key], rtol=0, atol=0, msg=key)
    assert any(not torch.equal(after[key], before[key]) for key in descriptor)


def test_init_weights_grow_descriptor_blocks_and_refuse_other_shapes(tmp_path):
    init, before = seeded_weights(tmp_path)
    out = tmp_path / 'grown'
    grow = ['model.descriptor.residual_blocks=[0,1,0]', 'model.descriptor.stack_scales=[1.41]',
            f'train.init_weights={init}']
    cfg = load_config(str(TINY), SMALL + grow + [f'train.out_dir={out}', 'train.iterations=1',
                                                 'train.ckpt_every=1', 'train.val_every=1'])
    train(cfg)
    after = torch.load(out / 'checkpoints' / 'latest.pt', weights_only=True)
    assert tuple(after['config']['descriptor']['residual_blocks']) == (0, 1, 0)
    assert any(key.startswith('descriptor.blocks.1.0.') for key in after['state_dict'])
    assert set(before) < set(after['state_dict'])
    first = after['state_dict']['descriptor.convs.1.weight']
    assert first.shape[1] == 2 and tuple(after['config']['descriptor']['stack_scales']) == (1.41,)
    narrow = ['model.descriptor.conv_channels=[32,64,128]', f'train.init_weights={init}']
    cfg = load_config(str(TINY), SMALL + narrow + [f'train.out_dir={tmp_path / "narrow"}',
                                                   'train.iterations=1'])
    with pytest.raises((ValueError, RuntimeError), match='size mismatch|does not fit'):
        train(cfg)


def test_resume_auto_continues_one_run_and_report_draws_every_start(tmp_path, capsys):
    out = tmp_path / 'auto'
    common = SMALL + [f'train.out_dir={out}', 'train.ckpt_every=100', 'train.val_every=100',
                      'train.log_every=1', 'train.keep_history=false', '--resume', 'auto']
    assert main([str(TINY), 'train.iterations=2'] + common) == 0  # a fresh start
    first = torch.load(out / 'checkpoints' / 'latest.pt', weights_only=True)
    assert first['step'] == 2 and first['meta']['metrics']['train_hours'] > 0
    assert main([str(TINY), 'train.iterations=4'] + common) == 0  # continues at 2
    second = torch.load(out / 'checkpoints' / 'latest.pt', weights_only=True)
    assert second['step'] == 4
    assert second['meta']['metrics']['train_hours'] > first['meta']['metrics']['train_hours']
    assert sorted(p.name for p in (out / 'checkpoints').glob('*.pt')) == ['latest.pt']
    rows = (out / 'metrics.csv').read_text().splitlines()
    assert sum(',resumed_from,' in row for row in rows) == 2
    assert any(row.startswith('3,triplet,') for row in rows)  # logged after the restart
    assert main(['--report', str(out)]) == 0
    assert '2 start(s) at iterations [0, 2]' in capsys.readouterr().out
    assert (out / 'loss_curves.png').stat().st_size > 1000


def test_interrupt_saves_latest(tmp_path, monkeypatch):
    import lfnet_training.train as train_module
    out = tmp_path / 'interrupted'
    cfg = load_config(str(TINY), SMALL + [f'train.out_dir={out}', 'train.iterations=5',
                                          'train.ckpt_every=100', 'train.val_every=100'])
    real_step, calls = train_module._step, []

    def step_then_interrupt(*args):
        real_step(*args)
        calls.append(1)
        if len(calls) == 6:  # two optimisers per iteration: iteration 3 is done
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, '_step', step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    assert torch.load(out / 'checkpoints' / 'latest.pt', weights_only=True)['step'] == 3


def test_sigterm_to_the_process_group_still_saves_latest(tmp_path):
    """`pkill -f lfnet-train` signals the data-loader worker too; the final save must hold."""
    out = tmp_path / 'group'
    cmd = [sys.executable, '-c', 'import sys; from lfnet_training.train import main; '
           'sys.exit(main(sys.argv[1:]))', str(TINY), *SMALL, f'train.out_dir={out}',
           'train.iterations=100000', 'train.ckpt_every=100000', 'train.ckpt_minutes=100000',
           'train.val_every=100000', 'train.log_every=1', 'data.num_workers=1']
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    metrics = out / 'metrics.csv'
    try:
        deadline = time.monotonic() + 300
        while not (metrics.is_file() and any(line.startswith('3,')
                                             for line in metrics.read_text().splitlines())):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
            time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, output
    assert 'Traceback' not in output, output
    assert torch.load(out / 'checkpoints' / 'latest.pt', weights_only=True)['step'] >= 3


@pytest.mark.parametrize('config', sorted((REPO / 'training' / 'configs').glob('*.yaml')),
                         ids=lambda path: path.name)
def test_every_shipped_config_loads(config):
    cfg = load_config(str(config))
    assert cfg.train.iterations > 0 and cfg.data.train.sources
    model_config(cfg)
