# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The front-end node's ``/diagnostics`` message: level, message, device and values."""

from typing import Sequence, Tuple

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from lfnet_ros.node_health import ERROR, OK, STALE, WARN

DIAGNOSTIC_LEVELS = {OK: DiagnosticStatus.OK, WARN: DiagnosticStatus.WARN,
                     ERROR: DiagnosticStatus.ERROR, STALE: DiagnosticStatus.STALE}


def hardware_id(backend: object) -> str:
    """Return the device a backend runs on (``cpu``, ``cuda``, ``cuda:0``, ...)."""
    device = getattr(backend, 'device', None)
    if device is not None:
        return str(device)
    providers = getattr(backend, 'providers', None) or ['CPUExecutionProvider']
    return 'cuda' if 'CUDAExecutionProvider' in providers else 'cpu'


def diagnostic_array(name: str, hardware: str, level: str, message: str,
                     values: Sequence[Tuple[str, str]], stamp: Time) -> DiagnosticArray:
    """Return a DiagnosticArray with one status; `level` is a `lfnet_ros.node_health` level."""
    status = DiagnosticStatus(level=DIAGNOSTIC_LEVELS[level], name=name, hardware_id=hardware,
                              message=message,
                              values=[KeyValue(key=k, value=v) for k, v in values])
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array
