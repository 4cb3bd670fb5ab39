# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The LF-Net visual-odometry front-end node (``ros2 run lfnet_ros frontend`` / ``lfnet-frontend``).

Subscribes (node-relative, remappable): ``color/image_raw`` (rgb8, bgr8, rgba8, bgra8, mono8,
mono16; or ``.../compressed`` with ``color_transport`` compressed), ``depth/image_raw`` (16UC1
times ``depth_scale`` or 32FC1 metres, 0/NaN invalid; or ``.../compressedDepth``) and
``color/camera_info``. Publishes ``keypoints``, ``matches`` (PointCloud2), ``visual_odom``, ``/tf``
(``publish_tf``), ``debug_image`` (only while subscribed) and ``/diagnostics`` at 1 Hz.

Threading: ``rclpy.spin`` runs the callbacks (conversion, checks, pairing; never inference);
one worker thread takes the newest frame from a :class:`~lfnet_ros.sync.LatestSlot`, runs
:class:`lfnet_core.frontend.Frontend` and publishes. Older frames are dropped and counted.

Start-up: topics and ``/diagnostics`` (state ``starting``) exist at once; the worker then loads
the model (logged with the cache folder and time). If that fails the node stays up, processes
nothing and reports ERROR (levels: :mod:`lfnet_ros.node_health`). Parameters in
``node_parameters.LIVE`` can be set live: checked as a whole, refused with the reason, or
applied from the next frame.

Diagnostics counters: ``dropped.<reason>`` with reasons ``color_invalid`` (encoding, step or
data length), ``size_change`` (first frame of a new image size; a second one in a row is
accepted and tracking restarts), ``out_of_order`` / ``depth_out_of_order`` (stamp not newer),
``stamp_jump`` / ``depth_stamp_jump`` (more than ``max_stamp_jump`` ahead; a second frame on
the new timeline is accepted and tracking restarts: ``events.time_jump``), ``too_large`` (more
than ``max_image_pixels`` at the network input), ``superseded`` (a newer frame won),
``depth_invalid`` (depth message unreadable; the colour frame goes on alone),
``depth_unmatched``, ``camera_info_invalid``, ``processing_error``;
``degraded.<reason>`` (processed without 3D): ``no_depth``, ``depth_empty`` (no valid pixel),
``depth_size_mismatch``, ``no_camera_info``, ``camera_info_size_mismatch``;
``events.<name>``: ``time_jump`` (tracking restarted after a stamp jump), ``tracking_lost``.
"""

import sys
import threading
import time
from typing import Dict, List, Optional

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
import numpy as np
from rcl_interfaces.msg import SetParametersResult
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from lfnet_core.frontend import Frame, Frontend
from lfnet_core.inference import create_backend, default_cache_dir
from lfnet_ros import conversions as conv
from lfnet_ros.compressed_images import color_message_to_rgb, depth_message_to_metres
from lfnet_ros.node_diagnostics import diagnostic_array, hardware_id
from lfnet_ros.node_health import HealthMonitor
from lfnet_ros.node_parameters import (check_parameters, frontend_config, health_config,
                                       network_size_text, parameter_descriptor, PARAMETERS)
from lfnet_ros.odometry_messages import odometry_message, ODOMETRY_TOPIC, odometry_transform
from lfnet_ros.stats import FrontendStats
from lfnet_ros.sync import ApproximateSync, LatestSlot, SyncedFrame

try:
    from tf2_msgs.msg import TFMessage
except ImportError:  # not on PyPI: /tf is then unavailable
    TFMessage = None

THROTTLE_S = 5.0
# transport parameter value: (message type, node-relative topic), as image_transport names them
COLOR_INPUTS = {'raw': (Image, 'color/image_raw'),
                'compressed': (CompressedImage, 'color/image_raw/compressed')}
DEPTH_INPUTS = {'raw': (Image, 'depth/image_raw'),
                'compressedDepth': (CompressedImage, 'depth/image_raw/compressedDepth')}


class FrontendNode(Node):
    """Thin rclpy wrapper around :class:`lfnet_core.frontend.Frontend` (see the module doc)."""

    def __init__(self, **kwargs) -> None:
        super().__init__('lfnet_frontend', **kwargs)
        for name, (default, description, bounds) in PARAMETERS.items():
            self.declare_parameter(name, default,
                                   parameter_descriptor(name, description, bounds))
        p = {name: self.get_parameter(name).value for name in PARAMETERS}
        check_parameters(p)
        self._p = p
        self._config = frontend_config(p)
        self._frontend: Optional[Frontend] = None
        self._health = HealthMonitor(health_config(p), started=time.monotonic())
        self._hardware_id = 'loading'
        self._diag_drops: Dict[str, int] = {}

        self._stats = FrontendStats()
        self._sync_timer = None
        self._sync = ApproximateSync(p['sync_slop'], use_depth=p['use_depth'],
                                     max_jump=p['max_stamp_jump'])
        self._slot: LatestSlot[SyncedFrame] = LatestSlot()
        self._K: Optional[np.ndarray] = None
        self._K_size = (0, 0)
        self._size = self._candidate_size = None
        self._prev = None  # (header, keypoints) of the last published frame

        reliability = ReliabilityPolicy.RELIABLE if p['qos_reliability'] == 'reliable' else \
            ReliabilityPolicy.BEST_EFFORT
        qos_in = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=p['qos_depth'],
                            reliability=reliability)
        self._pub_keypoints = self.create_publisher(PointCloud2, 'keypoints', 10)
        self._pub_matches = self.create_publisher(PointCloud2, 'matches', 10)
        self._pub_odom = self.create_publisher(Odometry, ODOMETRY_TOPIC, 10)
        self._pub_debug = self.create_publisher(Image, 'debug_image', 2)
        self._pub_diag = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._pub_tf = None
        if p['publish_tf'] and TFMessage is not None:
            self._pub_tf = self.create_publisher(TFMessage, '/tf', 100)
        elif p['publish_tf']:
            self.get_logger().warning('publish_tf is set but tf2_msgs is not importable: '
                                      'no TF is published (odom still is)')
        color_type, color_topic = COLOR_INPUTS[p['color_transport']]
        self.create_subscription(color_type, color_topic, self._on_color, qos_in)
        self.create_subscription(CameraInfo, 'color/camera_info', self._on_camera_info, qos_in)
        if p['use_depth']:
            depth_type, depth_topic = DEPTH_INPUTS[p['depth_transport']]
            self.create_subscription(depth_type, depth_topic, self._on_depth, qos_in)
            # Runs only while a colour frame waits for its depth: an always-on 10 ms timer
            # woke the executor 100 times a second and cost the worker the GIL (measured: 5 ms
            # per frame of publishing at 640x480).
            self._sync_timer = self.create_timer(max(p['sync_slop'] / 2, 0.005),
                                                 self._on_sync_timer)
            self._sync_timer.cancel()
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(1.0, self._publish_diagnostics)
        self._publish_diagnostics()  # 'starting': the topics exist before the model loads
        self._worker = threading.Thread(target=self._work, name='lfnet_frontend', daemon=True)
        self._worker.start()

    def _load_model(self) -> bool:
        """Create the backend and the front-end (worker thread); False if that failed."""
        p = self._p
        self.get_logger().info(
            f"loading LF-Net ({p['weights'] or 'shipped weights'}, backend {p['backend']}, "
            f'cache {default_cache_dir()}); without onnx_dir the first start exports the model '
            'to ONNX there (about a minute on a CPU); lfnet-export at deploy time makes '
            'start-up instant')
        started = time.monotonic()
        try:
            backend = create_backend(p['backend'], weights=p['weights'] or None,
                                     onnx_dir=p['onnx_dir'] or None,
                                     threads=p['threads'] or None,
                                     engine_path=p['engine_path'] or None)
        except Exception as exc:  # noqa: B902 - any load failure is reported, not raised
            detail = f'{type(exc).__name__}: {exc}'
            self._health.failed(detail)
            self.get_logger().error(f'cannot load the model, processing nothing: {detail}')
            return False
        self._hardware_id = hardware_id(backend)
        self._frontend = Frontend(backend, self._config)
        self._health.ready(f'backend {backend.name}')
        config = self._config
        self.get_logger().info(
            f'backend {backend.name} on {self._hardware_id} ready in '
            f'{time.monotonic() - started:.1f} s; top_k {config.top_k}, network input '
            f'{network_size_text(config)}, pyramid levels {config.pyramid_levels}')
        return True

    def _on_set_parameters(self, params: List[Parameter]) -> SetParametersResult:
        """Check a live change as a whole; apply it from the next frame on."""
        changed = dict(self._p)
        changed.update({param.name: param.value for param in params})
        try:
            check_parameters(changed)
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self._config = frontend_config(changed)
        self._health.config = health_config(changed)
        self._p = changed
        self.get_logger().info('parameters changed: ' + ', '.join(
            f'{param.name}={param.value}' for param in params))
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------ callbacks

    def _on_color(self, msg) -> None:
        now = time.monotonic()
        self._stats.frame_in(now)
        self._health.frame_in(now)
        try:
            image = color_message_to_rgb(msg)
        except conv.ConversionError as exc:
            self._drop('color_invalid')
            self.get_logger().warning(f'colour image dropped: {exc}',
                                      throttle_duration_sec=THROTTLE_S)
            return
        size = image.shape[:2]
        net_w, net_h = self._config.network_size(size[1], size[0])
        pixels = net_w * net_h
        if pixels > self._p['max_image_pixels']:
            self._drop('too_large')
            self.get_logger().warning(f'colour image {size[1]}x{size[0]} dropped: more than '
                                      f'max_image_pixels {self._p["max_image_pixels"]}',
                                      throttle_duration_sec=THROTTLE_S)
            return
        if self._size is not None and size != self._size and size != self._candidate_size:
            self._candidate_size = size
            self._drop('size_change')
            self.get_logger().warning(f'colour image size changed {self._size} -> {size}: '
                                      'dropped (accepted if the next one has it too)',
                                      throttle_duration_sec=THROTTLE_S)
            return
        self._size, self._candidate_size = size, None
        self._offer(self._sync.add_color(conv.stamp_to_ns(msg.header.stamp), (msg.header, image),
                                         now))

    def _on_depth(self, msg) -> None:
        try:
            depth = depth_message_to_metres(msg, self._p['depth_scale'])
        except conv.ConversionError as exc:
            self._drop('depth_invalid')
            self.get_logger().warning(f'depth image dropped: {exc}',
                                      throttle_duration_sec=THROTTLE_S)
            return
        self._offer(self._sync.add_depth(conv.stamp_to_ns(msg.header.stamp), depth,
                                         time.monotonic()))

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self._K, self._K_size = conv.camera_info_to_K(msg), (msg.height, msg.width)
        except conv.ConversionError as exc:
            self._drop('camera_info_invalid')
            self.get_logger().warning(f'camera_info ignored: {exc}',
                                      throttle_duration_sec=THROTTLE_S)

    def _on_sync_timer(self) -> None:
        self._offer(self._sync.poll(time.monotonic()))

    def _offer(self, frames: List[SyncedFrame]) -> None:
        for frame in frames:
            self._slot.put(frame)
        if self._sync_timer is not None:
            if self._sync.pending:
                if self._sync_timer.is_canceled():
                    self._sync_timer.reset()
            elif not self._sync_timer.is_canceled():
                self._sync_timer.cancel()

    # ------------------------------------------------------------------ worker

    def _drop(self, reason: str) -> None:
        self._stats.drop(reason)
        self._health.drop(time.monotonic(), reason)

    def _work(self) -> None:
        if not self._load_model():
            return
        while not self._slot.closed:
            item = self._slot.take(timeout=0.2)
            if item is None:
                continue
            try:
                self._process(item)
            except Exception as exc:  # noqa: B902 - keep the node alive, count and log it
                if not self.context.ok():  # shutting down: the frame cannot be published
                    return
                self._stats.drop('processing_error')
                self._health.error(time.monotonic(), f'{type(exc).__name__}: {exc}')
                self.get_logger().error(f'frame dropped: {type(exc).__name__}: {exc}',
                                        throttle_duration_sec=THROTTLE_S)

    def _depth_and_K(self, item: SyncedFrame, shape: tuple) -> tuple:
        """Return (depth, K) for the front-end, or (None, K) / (None, None) with the reason."""
        reason, depth, K = None, item.depth, self._K
        if K is None:
            reason = 'no_camera_info'
        elif self._K_size != (0, 0) and self._K_size != tuple(shape):
            reason, K = 'camera_info_size_mismatch', None
        elif self._p['use_depth'] and depth is None:
            reason = 'no_depth'
        elif depth is not None and depth.shape != tuple(shape):
            reason = 'depth_size_mismatch'
        elif depth is not None and not np.isfinite(depth).any():
            reason = 'depth_empty'
        if reason is not None:
            self._stats.degrade(reason)
            self._health.no_depth(time.monotonic(), reason)
            self.get_logger().warning(f'frame processed without 3D: {reason}',
                                      throttle_duration_sec=THROTTLE_S)
            depth = None
        return depth, K

    def _process(self, item: SyncedFrame) -> None:
        header, image = item.color
        self._stats.latency('queue', time.monotonic() - item.received)
        depth, K = self._depth_and_K(item, image.shape[:2])
        if item.restart:  # the stamps jumped: do not match across the jump
            self._stats.event('time_jump')
            self._frontend.reset()
            self._prev = None
        prev = self._prev
        if self._frontend.config is not self._config:  # a live parameter change
            self._frontend.config = self._config
        result = self._frontend.process(Frame(image, item.stamp_ns * 1e-9, depth, K))
        if result.tracking == 'lost':
            self._stats.event('tracking_lost')
        self._prev = (header, result.keypoints)
        self._health.tracking = result.tracking

        publish_start = time.monotonic()
        self._pub_keypoints.publish(conv.keypoints_to_cloud(
            header, result.keypoints, result.scales, result.orientations, result.scores,
            result.descriptors, result.points))
        paired = result.prev_stamp is not None and prev is not None
        prev_header, prev_kp = prev if paired else (header, np.zeros((0, 2)))
        matches = result.matches if paired else np.zeros((0, 2), np.int64)
        self._pub_matches.publish(conv.matches_to_cloud(
            header, prev_header.stamp, matches, prev_kp, result.keypoints, result.distances,
            result.inliers))
        self._publish_odom(header, result, prev_header)
        if self._pub_debug.get_subscription_count() > 0:
            debug = conv.render_debug_image(image, result.keypoints, prev_kp, matches,
                                            result.inliers if paired else None)
            self._pub_debug.publish(conv.array_to_image(debug, 'rgb8', header))

        now = time.monotonic()
        self._stats.frame_processed(now)
        self._stats.latency('publish', now - publish_start)
        for stage, seconds in result.timings.items():
            self._stats.latency(stage, seconds)
        self._stats.latency('end_to_end', now - item.received)
        # What the node adds to the core pipeline: conversion, sync, queueing, publishing.
        self._stats.latency('overhead', now - item.received - result.timings['total'])

    def _publish_odom(self, header, result, prev_header) -> None:
        msg = odometry_message(header, result, prev_header, self._p['odom_frame'],
                               self._p['base_frame'] or header.frame_id)
        self._pub_odom.publish(msg)
        if self._pub_tf is not None:
            self._pub_tf.publish(TFMessage(transforms=[odometry_transform(msg)]))

    # ------------------------------------------------------------------ diagnostics

    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        for reason, count in self._sync.drops.items():
            total = count + (self._slot.dropped if reason == 'superseded' else 0)
            self._count_new_drops(now, reason, total)
        if 'superseded' not in self._sync.drops:
            self._count_new_drops(now, 'superseded', self._slot.dropped)
        level, message = self._health.assess(now, expect_depth=self._p['use_depth'])
        backend = self._frontend.backend.name if self._frontend else self._p['backend']
        values = [('state', self._health.state), ('backend', backend),
                  ('tracking', self._health.tracking)]
        values += self._stats.report(now)
        self._pub_diag.publish(diagnostic_array(
            f'{self.get_name()}: frontend', self._hardware_id, level, message, values,
            self.get_clock().now().to_msg()))

    def _count_new_drops(self, now: float, reason: str, total: int) -> None:
        """Hand drops counted elsewhere (sync, slot) to the stats and, as new ones, to health."""
        self._stats.set_drops(reason, total)
        new = total - self._diag_drops.get(reason, 0)
        if new > 0:
            self._health.drop(now, reason, new)
        self._diag_drops[reason] = total

    def destroy_node(self) -> None:
        """Stop the worker thread, then destroy the node."""
        if hasattr(self, '_worker'):  # absent when __init__ failed half-way
            self._slot.close()
            self._worker.join(timeout=5.0)
        super().destroy_node()


def main(args: Optional[List[str]] = None) -> int:
    """Run the node until shutdown; return the process exit status."""
    # SIGINT raises KeyboardInterrupt in spin (instead of rclpy shutting the context down
    # under the worker), so the worker stops before the context goes.
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    try:
        node = FrontendNode()
    except ValueError as exc:
        rclpy.logging.get_logger('lfnet_frontend').fatal(f'cannot start: {exc}')
        rclpy.try_shutdown()
        return 1
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
