# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Test harness for the front-end node: the node in its own process, a test node in this one.

:class:`NodeHarness` starts ``python -m lfnet_ros.frontend_node`` (or ``module``, e.g. the
lifecycle node) with the given parameters, creates a test node (in a private rclpy context)
that publishes colour, depth and camera info and records keypoints, matches, odometry and
diagnostics, and spins it in timeout loops that return as soon as their condition holds (no
fixed sleeps).
"""

import os
import pathlib
import subprocess
import sys
import tempfile
import time

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header

from lfnet_ros import conversions as conv
from lfnet_ros.odometry_messages import ODOMETRY_TOPIC

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TIMEOUT = 60.0


def camera_info(K: np.ndarray, width: int, height: int, header=None) -> CameraInfo:
    """Return a CameraInfo with intrinsics ``K`` for a ``width`` x ``height`` image."""
    msg = CameraInfo()
    if header is not None:
        msg.header = header
    msg.width, msg.height = width, height
    msg.k = [float(v) for v in np.asarray(K).ravel()]
    msg.distortion_model = 'plumb_bob'
    msg.d = [0.0] * 5
    return msg


def diagnostics_values(array: DiagnosticArray) -> dict:
    """Return the key/value pairs of the front-end's status in ``array`` (or {})."""
    for status in array.status:
        if status.name.endswith(': frontend'):
            return {kv.key: kv.value for kv in status.values}
    return {}


def frame_messages(harness, sequence, index, frame_id='camera_color_optical_frame',
                   depth_mm=True):
    """
    Return ([(publisher, msg)], stamp) for frame ``index``: camera info, depth, colour.

    Depth is 16UC1 millimetres (``depth_mm``) or 32FC1 metres.
    """
    stamp = conv.ns_to_stamp(int(round(sequence.timestamps[index] * 1e9)))
    header = Header(stamp=stamp, frame_id=frame_id)
    color = conv.array_to_image(sequence.rgb[index], 'rgb8', header)
    if depth_mm:
        depth = conv.array_to_image(np.round(sequence.depth[index] * 1000).astype(np.uint16),
                                    '16UC1', header)
    else:
        depth = conv.array_to_image(sequence.depth[index], '32FC1', header)
    height, width = sequence.rgb.shape[1:3]
    info = camera_info(sequence.K, width, height, header)
    return [(harness.pub_info, info), (harness.pub_depth, depth),
            (harness.pub_color, color)], stamp


class NodeHarness:
    """The front-end node process plus a test node that talks to it over real DDS."""

    def __init__(self, params: dict, name: str = 'lfnet_test', params_file=None,
                 module: str = 'lfnet_ros.frontend_node') -> None:
        self._log = tempfile.NamedTemporaryFile('w+', prefix='lfnet_frontend_', suffix='.log',
                                                delete=False)
        args = [sys.executable, '-m', module, '--ros-args']
        if params_file is not None:
            args += ['--params-file', str(params_file)]
        for key, value in params.items():
            args += ['-p', f'{key}:={value}']
        self.proc = subprocess.Popen(args, cwd=str(REPO_ROOT), env=dict(os.environ),
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        qos = qos_profile_sensor_data
        self.pub_color = self.node.create_publisher(Image, 'color/image_raw', qos)
        self.pub_depth = self.node.create_publisher(Image, 'depth/image_raw', qos)
        self.pub_info = self.node.create_publisher(CameraInfo, 'color/camera_info', qos)
        self.keypoints, self.matches, self.odom, self.diagnostics = [], [], [], []
        self.debug_images = []
        self.subs = [
            self.node.create_subscription(PointCloud2, 'keypoints', self.keypoints.append, 10),
            self.node.create_subscription(PointCloud2, 'matches', self.matches.append, 10),
            self.node.create_subscription(Odometry, ODOMETRY_TOPIC, self.odom.append, 10),
            self.node.create_subscription(DiagnosticArray, '/diagnostics',
                                          self.diagnostics.append, 10),
            self.node.create_subscription(Image, 'debug_image', self.debug_images.append, 10),
        ]

    # ------------------------------------------------------------------ waiting

    def spin_until(self, predicate, timeout: float = TIMEOUT) -> bool:
        """Spin the test node until ``predicate()`` holds (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                raise AssertionError(f'the node exited with {self.proc.returncode}:\n'
                                     f'{self.log()}')
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=0.02)
        return True

    def wait_ready(self, depth: bool = True) -> None:
        """Wait until every endpoint is matched and the node has published diagnostics."""
        pubs = [self.pub_color, self.pub_info] + ([self.pub_depth] if depth else [])

        def ready():
            return (all(p.get_subscription_count() >= 1 for p in pubs)
                    and all(s.get_publisher_count() >= 1 for s in self.subs)
                    and len(self.diagnostics) >= 1)
        assert self.spin_until(ready), f'the node never became ready:\n{self.log()}'

    def keypoints_at(self, stamp) -> list:
        """Return the received keypoints messages stamped ``stamp``."""
        ns = conv.stamp_to_ns(stamp)
        return [m for m in self.keypoints if conv.stamp_to_ns(m.header.stamp) == ns]

    def send_until(self, messages, predicate, timeout: float = TIMEOUT,
                   resend: float = 15.0) -> bool:
        """
        Publish ``messages`` (a list of (publisher, msg)) until ``predicate()`` holds.

        Best effort may lose a sample, so the set is re-sent every ``resend`` seconds (a
        duplicate that did arrive is dropped by the node as out of order).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for publisher, msg in messages:
                publisher.publish(msg)
            if self.spin_until(predicate, min(resend, max(deadline - time.monotonic(), 0.0))):
                return True
        return False

    def send_until_processed(self, messages, stamp, timeout: float = TIMEOUT) -> bool:
        """Publish ``messages`` until keypoints stamped ``stamp`` arrive (see send_until)."""
        return self.send_until(messages, lambda: self.keypoints_at(stamp), timeout)

    def counter(self, key: str) -> int:
        """Return the integer diagnostics value ``key`` from the newest status (0 if absent)."""
        for array in reversed(self.diagnostics):
            values = diagnostics_values(array)
            if values:
                return int(values.get(key, 0))
        return 0

    def latest_diagnostics(self, predicate=lambda values: True,
                           timeout: float = TIMEOUT) -> dict:
        """Wait for a diagnostics message (newer than now) whose values satisfy ``predicate``."""
        start = len(self.diagnostics)
        found = {}

        def check():
            for array in self.diagnostics[start:]:
                values = diagnostics_values(array)
                if values and predicate(values):
                    found.update(values)
                    return True
            return False
        assert self.spin_until(check, timeout), \
            f'no matching diagnostics; last: {self.diagnostics[-1:]}\n{self.log()}'
        return found

    # ------------------------------------------------------------------ teardown

    def log(self) -> str:
        """Return the node's output so far."""
        self._log.flush()
        return pathlib.Path(self._log.name).read_text(errors='replace')[-6000:]

    def log_size(self) -> int:
        """Return the size of the node's output so far, an offset for `log_since`."""
        return pathlib.Path(self._log.name).stat().st_size

    def log_since(self, offset: int) -> str:
        """Return the node's output after byte `offset`."""
        with open(self._log.name, 'rb') as stream:
            stream.seek(offset)
            return stream.read().decode(errors='replace')

    def interrupt(self, timeout: float = 30.0) -> str:
        """Send SIGINT to the node, spin until it exits (or `timeout`); return its output."""
        self.proc.send_signal(2)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
        return self.log()

    def close(self) -> None:
        """Stop the node process (SIGINT, then SIGKILL) and the test node."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(2)
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=15)
        finally:
            self.executor.shutdown()
            self.node.destroy_node()
            rclpy.try_shutdown(context=self.context)
            self._log.close()
            os.unlink(self._log.name)
