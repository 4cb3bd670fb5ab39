# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The front-end node in a process of its own, as the ROS tools start and stop it.

* :class:`NodeLaunch`: the node parameters a tool overrides (backend, top-K, weights, ...);
  everything else comes from the package's ``config/frontend.yaml``.
* :func:`node_command`: ``python -m lfnet_ros.frontend_node`` with ``config/frontend.yaml``
  and the overrides as ``-p name:=value`` (``lfnet-demo``, ``lfnet-bench``, ``lfnet-soak``).
* :func:`node_parameters`: ``config/frontend.yaml``'s parameters with the overrides merged, for
  a parameters file of the run's own (``lfnet-eval`` writes ``node_params.yaml``);
  :func:`remapped_node_command` and :func:`launch_file_command` start the node on it.
* :class:`NodeProcess`: the running node, its output in a log file; stopped with SIGINT, a
  wait, then SIGKILL.
* :func:`weights_status`: which weights the node runs, and whether they are untrained.
"""

from dataclasses import dataclass
import os
from pathlib import Path
import signal
import subprocess
import sys
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import yaml

from lfnet_ros.ros_environment import find_package_file

PACKAGE = 'lfnet_ros'
STOP_TIMEOUT = 15.0
LAUNCH_FILE = 'launch/frontend.launch.py'
# Runs a launch file with ``name:=value`` arguments in a LaunchService (``ros2 launch`` is not
# on PyPI): python -c LAUNCH_SNIPPET LAUNCH_FILE name:=value ...
LAUNCH_SNIPPET = '''
import sys
from launch import LaunchDescription, LaunchService
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
arguments = [tuple(a.split(':=', 1)) for a in sys.argv[2:]]
service = LaunchService()
service.include_launch_description(LaunchDescription([IncludeLaunchDescription(
    PythonLaunchDescriptionSource(sys.argv[1]), launch_arguments=arguments)]))
sys.exit(service.run())
'''


class NodeError(RuntimeError):
    """The run cannot go on: the node did not start, exited, or processed nothing."""


@dataclass(frozen=True)
class NodeLaunch:
    """
    The node parameters a tool sets; None leaves ``config/frontend.yaml``'s value.

    Attributes:
        backend: the ``backend`` parameter (``auto``, ``torch``, ``onnxruntime``, ...).
        qos_reliability: ``reliable`` (the tools' own publishers) or ``best_effort``.
        top_k: keypoints per frame.
        weights: checkpoint path (resolved to an absolute path for the node).
        pyramid_levels: the ``pyramid_levels`` parameter.
        resize: (width, height) the network runs at (``resize_width`` / ``resize_height``).
        resize_scale: the ``resize_scale`` parameter.
        threads: the ``threads`` parameter.
        pool_scales: the ``descriptor_pool_scales`` factors.

    """

    backend: str = 'auto'
    qos_reliability: str = 'reliable'
    top_k: Optional[int] = None
    weights: Optional[str] = None
    pyramid_levels: Optional[int] = None
    resize: Optional[Tuple[int, int]] = None
    resize_scale: Optional[float] = None
    threads: Optional[int] = None
    pool_scales: Optional[Tuple[float, ...]] = None

    def overrides(self) -> Dict[str, Union[str, int, float]]:
        """Return the parameters to set, in a stable order."""
        values: Dict[str, Union[str, int, float]] = {
            'backend': self.backend, 'qos_reliability': self.qos_reliability}
        if self.top_k is not None:
            values['top_k'] = int(self.top_k)
        if self.weights:
            values['weights'] = str(Path(self.weights).resolve())
        if self.pyramid_levels is not None:
            values['pyramid_levels'] = int(self.pyramid_levels)
        if self.resize:
            values['resize_width'], values['resize_height'] = (int(v) for v in self.resize)
        if self.resize_scale is not None:
            values['resize_scale'] = float(self.resize_scale)
        if self.threads is not None:
            values['threads'] = int(self.threads)
        if self.pool_scales is not None:
            values['descriptor_pool_scales'] = ' '.join(repr(float(f)) for f in self.pool_scales)
        return values


def node_command(launch: NodeLaunch) -> List[str]:
    """Return the command line that starts the node with ``config/frontend.yaml`` + overrides."""
    command = [sys.executable, '-m', 'lfnet_ros.frontend_node', '--ros-args',
               '--params-file', str(find_package_file('config/frontend.yaml'))]
    for name, value in launch.overrides().items():
        text = str(value)
        if isinstance(value, str) and text and not isinstance(yaml.safe_load(text), str):
            text = f"'{text}'"  # a string parameter that reads as a number ('1.5'), say
        command += ['-p', f'{name}:={text}']
    return command


def node_parameters(launch: NodeLaunch) -> Dict[str, object]:
    """Return ``config/frontend.yaml``'s parameters with the launch's overrides merged."""
    data = yaml.safe_load(find_package_file('config/frontend.yaml').read_text())
    params = dict(data['/**']['ros__parameters'])
    params.update(launch.overrides())
    return params


def write_parameters_file(path: Path, params: Mapping[str, object]) -> Path:
    """Write ``params`` as a ROS 2 parameters file (for every node) at ``path``; return it."""
    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': dict(params)}},
                                   sort_keys=False))
    return path


def remapped_node_command(params_file: Path, remaps: Mapping[str, str]) -> List[str]:
    """Return ``python -m lfnet_ros.frontend_node`` on ``params_file`` with ``FROM:=TO`` remaps."""
    command = [sys.executable, '-m', 'lfnet_ros.frontend_node', '--ros-args',
               '--params-file', str(params_file)]
    for source, target in remaps.items():
        command += ['-r', f'{source}:={target}']
    return command


def launch_available() -> bool:
    """Return whether ``launch_ros`` imports and this package is in the ament index."""
    try:
        import launch  # noqa: F401
        import launch_ros  # noqa: F401
        from ament_index_python.packages import get_package_share_directory
        get_package_share_directory(PACKAGE)
    except Exception:  # noqa: B902 - not installed or not in the ament index
        return False
    return True


def launch_file_command(arguments: Mapping[str, object]) -> List[str]:
    """Return the command that runs the installed ``launch/frontend.launch.py`` with arguments.

    Only where :func:`launch_available` is true.
    """
    from ament_index_python.packages import get_package_share_directory  # a colcon install only
    launch_file = Path(get_package_share_directory(PACKAGE)) / LAUNCH_FILE
    return [sys.executable, '-c', LAUNCH_SNIPPET, str(launch_file)] + \
        [f'{name}:={value}' for name, value in arguments.items()]


class NodeProcess:
    """The front-end node in its own process, its output in a log file."""

    def __init__(self, command: Sequence[str], log_path: Path) -> None:
        self.command = list(command)
        self.log_path = log_path
        self._log = open(log_path, 'w')
        self.proc = subprocess.Popen(self.command, env=dict(os.environ), stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        """Return whether the process still runs."""
        return self.proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        """Return the end of the node's output (also after :meth:`stop`)."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors='replace')[-chars:]

    def check_alive(self) -> None:
        """Raise :class:`NodeError` with the end of the log when the node has exited."""
        if not self.alive():
            raise NodeError(f'the front-end node exited with {self.proc.returncode}:\n'
                            f'{self.log_tail()}')

    def stop(self) -> Optional[int]:
        """Stop the node: SIGINT, wait, then SIGKILL; return its exit status."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=STOP_TIMEOUT)
        finally:
            self._log.close()
        return self.proc.returncode


def weights_status(weights: Optional[str]) -> Dict[str, object]:
    """Return ``{'weights': str, 'untrained': bool}`` for ``--weights`` (None: the shipped)."""
    if weights:
        return {'weights': str(Path(weights).resolve()), 'untrained': False}
    try:
        from lfnet_core.model.lfnet import DEFAULT_WEIGHTS  # torch: optional here
    except ImportError:  # no torch here: the same path, computed
        DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / 'lfnet_core' / 'weights' / \
            'lfnet_default.pt'
    if Path(DEFAULT_WEIGHTS).is_file():
        return {'weights': str(DEFAULT_WEIGHTS), 'untrained': False}
    return {'weights': 'UNTRAINED (random, seeded)', 'untrained': True}
