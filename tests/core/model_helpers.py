# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Test helpers shared by the core model tests: a non-trivial seeded model, one ONNX export."""

import subprocess
import sys

import torch
from torch import nn

from lfnet_core.config import DetectorConfig, LFNetConfig
from lfnet_core.export import export_onnx, model_fingerprint, OnnxModel
from lfnet_core.model.lfnet import LFNet


def randomised_model(seed=0, scale_source='learned'):
    """Return a seeded LFNet with non-trivial orientation weights and BatchNorm statistics."""
    torch.manual_seed(seed)
    model = LFNet(LFNetConfig(detector=DetectorConfig(scale_source=scale_source)))
    with torch.no_grad():
        model.detector.ori_conv.weight.normal_(0.0, 0.2)
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


def randomised_with(detector: DetectorConfig) -> LFNet:
    """Return `randomised_model(0)`'s weights in a model with these detector settings."""
    model = LFNet(LFNetConfig(detector=detector))
    model.load_state_dict(randomised_model(0).state_dict())
    return model.eval()


def shared_export(tmp_path_factory, model):
    """Export `model` (dynamic shapes) once per session; return (paths, weights file)."""
    base = tmp_path_factory.getbasetemp() / f'lfnet_onnx_{model_fingerprint(model)[:16]}'
    weights = base / 'weights.pt'
    paths = OnnxModel.in_dir(base / 'onnx')
    if not weights.is_file():
        base.mkdir(parents=True, exist_ok=True)
        model.save(weights)
    if not paths.exists():
        export_onnx(model, base / 'onnx')
    return paths, weights


def run_without_torch(code: str, *args: str) -> str:
    """Run Python `code` (argv: `args`) in a process where importing torch fails; return stdout.

    The process must exit with status 0 (the assertion shows the end of its stderr).
    """
    blocker = "import sys\nsys.modules['torch'] = None  # any import of torch now fails\n"
    result = subprocess.run([sys.executable, '-c', blocker + code, *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
