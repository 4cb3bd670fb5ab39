# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The machine an engine is built for (TensorRT version, GPU model); the hint without TensorRT."""

from dataclasses import dataclass
import subprocess

INSTALL_HINT = (
    "TensorRT is not installed. It runs on NVIDIA GPU hosts only: install NVIDIA's wheels from "
    "NVIDIA's index (pip install tensorrt-cu12 --extra-index-url https://pypi.nvidia.com; the "
    'PyPI packages are placeholders that download from there), or on Jetson use the JetPack '
    'python3-libnvinfer packages. Without TensorRT, use the onnxruntime backend (onnxruntime-gpu '
    'for CUDA).')
EXIT_NO_TENSORRT = 2


@dataclass(frozen=True)
class EngineEnvironment:
    """What an engine is tied to besides its ONNX file: the TensorRT version and the GPU model."""

    tensorrt_version: str
    gpu: str

    @classmethod
    def detect(cls) -> 'EngineEnvironment':
        """Describe the running machine (imports tensorrt; raises ImportError without it)."""
        import tensorrt
        return cls(str(tensorrt.__version__), gpu_name())


def gpu_name(device: int = 0) -> str:
    """Name of CUDA device `device` via torch, else nvidia-smi; '' when there is no GPU."""
    try:
        import torch
        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(device))
    except ImportError:
        pass
    try:
        out = subprocess.run(['nvidia-smi', '--query-gpu=name', '--format=csv,noheader'],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ''
    names = [line.strip() for line in out.splitlines() if line.strip()]
    return names[device] if len(names) > device else ''
