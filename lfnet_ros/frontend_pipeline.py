# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The front-end node's work, shared by the plain node and the lifecycle node.

:class:`FrontendPipeline` holds what the node does with frames; the node decides when:
:meth:`~FrontendPipeline.open_outputs` (publishers), :meth:`~FrontendPipeline.open_inputs`
(subscriptions), :meth:`~FrontendPipeline.load_model`, :meth:`~FrontendPipeline.start` and
:meth:`~FrontendPipeline.stop` (the worker thread). Topics, threading and the diagnostics
counters are described in :mod:`lfnet_ros.frontend_node`.

Threading: the executor runs the callbacks (conversion, checks, pairing; never inference);
one worker thread takes the newest frame from a :class:`~lfnet_ros.sync.LatestSlot`, runs
:class:`lfnet_core.frontend.Frontend` and publishes. Older frames are dropped and counted.
"""

import threading
import time
from typing import Callable, Dict, List, Optional

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
import numpy as np
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from lfnet_core.frontend import Frame, Frontend
from lfnet_ros import conversions as conv
from lfnet_ros.camera_mount import CameraMount
from lfnet_ros.compressed_images import color_message_to_rgb, depth_message_to_metres
from lfnet_ros.frontend_loading import load_frontend
from lfnet_ros.node_diagnostics import diagnostic_array
from lfnet_ros.node_health import HealthMonitor
from lfnet_ros.node_parameters import check_parameters, frontend_config, health_config
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


class FrontendPipeline:
    """Frames in, features and odometry out, for `node` (see the module doc)."""

    def __init__(self, node: Node, params: Dict[str, object]) -> None:
        self.node = node
        self.params = params
        self.config = frontend_config(params)
        self.frontend: Optional[Frontend] = None
        self.health = HealthMonitor(health_config(params), started=time.monotonic())
        self.hardware_id = 'loading'
        self._diag_drops: Dict[str, int] = {}
        self._stats = FrontendStats()
        self._sync = ApproximateSync(params['sync_slop'], use_depth=params['use_depth'],
                                     max_jump=params['max_stamp_jump'])
        self._slot: LatestSlot[SyncedFrame] = LatestSlot()
        self._superseded_before = 0  # frames superseded in slots of earlier activations
        self._worker: Optional[threading.Thread] = None
        self._K: Optional[np.ndarray] = None
        self._K_size = (0, 0)
        self._size = self._candidate_size = None
        self._prev = None  # (header, keypoints) of the last published frame
        self._outputs: Dict[str, object] = {}
        self._inputs: List[object] = []
        self._sync_timer = None
        self._mount: Optional[CameraMount] = None
        self._pub_diag = None

    # ------------------------------------------------------------------ wiring

    def open_outputs(self, create: Callable) -> None:
        """Create the output publishers with `create` (create_publisher or a lifecycle one)."""
        self._outputs = {'keypoints': create(PointCloud2, 'keypoints', 10),
                         'matches': create(PointCloud2, 'matches', 10),
                         'odom': create(Odometry, ODOMETRY_TOPIC, 10),
                         'debug': create(Image, 'debug_image', 2)}
        if self.params['publish_tf'] and TFMessage is not None:
            self._outputs['tf'] = create(TFMessage, '/tf', 100)
        elif self.params['publish_tf']:
            self.node.get_logger().warning('publish_tf is set but tf2_msgs is not importable: '
                                           'no TF is published (odometry still is)')
        self._mount = CameraMount(self.node, self.params['base_frame'],
                                  self.params['base_to_camera'])

    def close_outputs(self, destroy: Callable) -> None:
        """Destroy the output publishers with `destroy`; stop listening to TF."""
        for publisher in self._outputs.values():
            destroy(publisher)
        self._outputs = {}
        if self._mount is not None:
            self._mount.close()

    def open_diagnostics(self, callback_group: object = None) -> None:
        """Publish ``/diagnostics`` now and at 1 Hz (from start-up, whatever the state)."""
        self._pub_diag = self.node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.node.create_timer(1.0, self.publish_diagnostics, callback_group=callback_group)
        self.publish_diagnostics()

    def open_inputs(self) -> None:
        """Subscribe to colour, camera info and (with ``use_depth``) depth."""
        p, node = self.params, self.node
        reliability = ReliabilityPolicy.RELIABLE if p['qos_reliability'] == 'reliable' else \
            ReliabilityPolicy.BEST_EFFORT
        qos_in = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=p['qos_depth'],
                            reliability=reliability)
        color_type, color_topic = COLOR_INPUTS[p['color_transport']]
        self._inputs = [
            node.create_subscription(color_type, color_topic, self._on_color, qos_in),
            node.create_subscription(CameraInfo, 'color/camera_info', self._on_camera_info,
                                     qos_in)]
        if p['use_depth']:
            depth_type, depth_topic = DEPTH_INPUTS[p['depth_transport']]
            self._inputs.append(node.create_subscription(depth_type, depth_topic,
                                                         self._on_depth, qos_in))
            # Runs only while a colour frame waits for its depth: an always-on 10 ms timer
            # woke the executor 100 times a second and cost the worker the GIL (measured: 5 ms
            # per frame of publishing at 640x480).
            self._sync_timer = node.create_timer(max(p['sync_slop'] / 2, 0.005),
                                                 self._on_sync_timer)
            self._sync_timer.cancel()

    def close_inputs(self) -> None:
        """Unsubscribe; frames waiting for their depth are forgotten."""
        for subscription in self._inputs:
            self.node.destroy_subscription(subscription)
        if self._sync_timer is not None:
            self.node.destroy_timer(self._sync_timer)
        self._inputs, self._sync_timer = [], None
        self._sync.reset()

    # ------------------------------------------------------------------ model and worker

    def load_model(self) -> bool:
        """Create the backend and the front-end; False (logged, ERROR) if that failed."""
        loaded = load_frontend(self.params, self.config, self.node.get_logger(), self.health)
        if loaded is not None:
            self.frontend, self.hardware_id = loaded
        return loaded is not None

    def free_model(self) -> None:
        """Drop the front-end and its backend (the worker must be stopped)."""
        self.frontend, self._prev, self.hardware_id = None, None, 'none'

    def start(self, load_model: bool) -> None:
        """Start the worker thread; it loads the model first when `load_model`."""
        if self._worker is not None:  # a worker stop() left finishing a long frame
            self._worker.join()
        if self._slot.closed:  # the new slot first: a reader never counts the old one twice
            old, self._slot = self._slot, LatestSlot()
            self._superseded_before += old.dropped
        self._worker = threading.Thread(target=self._work, args=(load_model,),
                                        name='lfnet_frontend', daemon=True)
        self._worker.start()

    def stop(self) -> None:
        """Stop the worker thread after the frame it is on (frames waiting are dropped)."""
        self._slot.close()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
            if not self._worker.is_alive():
                self._worker = None  # else start() waits for it: never two workers

    def restart_tracking(self) -> None:
        """Make the next frame start tracking again from the held pose (after a pause)."""
        if self.frontend is not None:
            self.frontend.reset()
        self._prev = None
        self._size = self._candidate_size = None

    def on_set_parameters(self, params: List[Parameter]) -> SetParametersResult:
        """Check a live change as a whole; apply it from the next frame on."""
        changed = dict(self.params)
        changed.update({param.name: param.value for param in params})
        try:
            check_parameters(changed)
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self.config = frontend_config(changed)
        self.health.config = health_config(changed)
        self.params = changed
        self.node.get_logger().info('parameters changed: ' + ', '.join(
            f'{param.name}={param.value}' for param in params))
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------ callbacks

    def _on_color(self, msg) -> None:
        now = time.monotonic()
        self._stats.frame_in(now)
        self.health.frame_in(now)
        logger = self.node.get_logger()
        try:
            image = color_message_to_rgb(msg)
        except conv.ConversionError as exc:
            self._drop('color_invalid')
            logger.warning(f'colour image dropped: {exc}', throttle_duration_sec=THROTTLE_S)
            return
        size = image.shape[:2]
        net_w, net_h = self.config.network_size(size[1], size[0])
        if net_w * net_h > self.params['max_image_pixels']:
            self._drop('too_large')
            logger.warning(f'colour image {size[1]}x{size[0]} dropped: more than '
                           f'max_image_pixels {self.params["max_image_pixels"]}',
                           throttle_duration_sec=THROTTLE_S)
            return
        if self._size is not None and size != self._size and size != self._candidate_size:
            self._candidate_size = size
            self._drop('size_change')
            logger.warning(f'colour image size changed {self._size} -> {size}: dropped '
                           '(accepted if the next one has it too)',
                           throttle_duration_sec=THROTTLE_S)
            return
        self._size, self._candidate_size = size, None
        self._offer(self._sync.add_color(conv.stamp_to_ns(msg.header.stamp), (msg.header, image),
                                         now))

    def _on_depth(self, msg) -> None:
        try:
            depth = depth_message_to_metres(msg, self.params['depth_scale'])
        except conv.ConversionError as exc:
            self._drop('depth_invalid')
            self.node.get_logger().warning(f'depth image dropped: {exc}',
                                           throttle_duration_sec=THROTTLE_S)
            return
        self._offer(self._sync.add_depth(conv.stamp_to_ns(msg.header.stamp), depth,
                                         time.monotonic()))

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self._K, self._K_size = conv.camera_info_to_K(msg), (msg.height, msg.width)
        except conv.ConversionError as exc:
            self._drop('camera_info_invalid')
            self.node.get_logger().warning(f'camera_info ignored: {exc}',
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
        self.health.drop(time.monotonic(), reason)

    def _work(self, load_model: bool) -> None:
        if load_model:
            if not self.load_model():
                return
            self.health.ready(f'backend {self.frontend.backend.name}')
        slot = self._slot
        while not slot.closed:
            item = slot.take(timeout=0.2)
            if item is None:
                continue
            try:
                self._process(item)
            except Exception as exc:  # noqa: B902 - keep the node alive, count and log it
                if not self.node.context.ok():  # shutting down: the frame cannot be published
                    return
                self._stats.drop('processing_error')
                self.health.error(time.monotonic(), f'{type(exc).__name__}: {exc}')
                self.node.get_logger().error(f'frame dropped: {type(exc).__name__}: {exc}',
                                             throttle_duration_sec=THROTTLE_S)

    def _depth_and_K(self, item: SyncedFrame, shape: tuple) -> tuple:
        """Return (depth, K) for the front-end, or (None, K) / (None, None) with the reason."""
        reason, depth, K = None, item.depth, self._K
        if K is None:
            reason = 'no_camera_info'
        elif self._K_size != (0, 0) and self._K_size != tuple(shape):
            reason, K = 'camera_info_size_mismatch', None
        elif self.params['use_depth'] and depth is None:
            reason = 'no_depth'
        elif depth is not None and depth.shape != tuple(shape):
            reason = 'depth_size_mismatch'
        elif depth is not None and not np.isfinite(depth).any():
            reason = 'depth_empty'
        if reason is not None:
            self._stats.degrade(reason)
            self.health.no_depth(time.monotonic(), reason)
            self.node.get_logger().warning(f'frame processed without 3D: {reason}',
                                           throttle_duration_sec=THROTTLE_S)
            depth = None
        return depth, K

    def _process(self, item: SyncedFrame) -> None:
        header, image = item.color
        self._stats.latency('queue', time.monotonic() - item.received)
        frontend, out = self.frontend, self._outputs  # a lifecycle cleanup may clear them
        if frontend is None or not out:
            return
        depth, K = self._depth_and_K(item, image.shape[:2])
        if item.restart:  # the stamps jumped: do not match across the jump
            self._stats.event('time_jump')
            frontend.reset()
            self._prev = None
        prev = self._prev
        if frontend.config is not self.config:  # a live parameter change
            frontend.config = self.config
        result = frontend.process(Frame(image, item.stamp_ns * 1e-9, depth, K))
        if result.tracking == 'lost':
            self._stats.event('tracking_lost')
            self.node.get_logger().warning(f'tracking lost: {result.motion.reason}',
                                           throttle_duration_sec=THROTTLE_S)
        self._prev = (header, result.keypoints)
        self.health.tracking = result.tracking

        publish_start = time.monotonic()
        out['keypoints'].publish(conv.keypoints_to_cloud(
            header, result.keypoints, result.scales, result.orientations, result.scores,
            result.descriptors, result.points))
        paired = result.prev_stamp is not None and prev is not None
        prev_header, prev_kp = prev if paired else (header, np.zeros((0, 2)))
        matches = result.matches if paired else np.zeros((0, 2), np.int64)
        out['matches'].publish(conv.matches_to_cloud(
            header, prev_header.stamp, matches, prev_kp, result.keypoints, result.distances,
            result.inliers))
        self._publish_odom(header, result, prev_header)
        if out['debug'].get_subscription_count() > 0:
            debug = conv.render_debug_image(image, result.keypoints, prev_kp, matches,
                                            result.inliers if paired else None)
            out['debug'].publish(conv.array_to_image(debug, 'rgb8', header))

        now = time.monotonic()
        self._stats.frame_processed(now)
        self._stats.latency('publish', now - publish_start)
        for stage, seconds in result.timings.items():
            self._stats.latency(stage, seconds)
        self._stats.latency('end_to_end', now - item.received)
        # What the node adds to the core pipeline: conversion, sync, queueing, publishing.
        self._stats.latency('overhead', now - item.received - result.timings['total'])

    def _publish_odom(self, header, result, prev_header) -> None:
        """Publish odometry (and TF) of base_frame, or withhold it while extrinsics are unknown."""
        frames = self._mount.resolve(header.frame_id)
        self.health.no_odometry = self._mount.problem
        if frames is None:
            self._stats.event('odometry_withheld')
            self.node.get_logger().warning(f'odometry withheld: {self._mount.problem}',
                                           throttle_duration_sec=THROTTLE_S)
            return
        child_frame, T_base_cam = frames
        msg = odometry_message(header, result, prev_header, self.params['odom_frame'],
                               child_frame, T_base_cam)
        self._outputs['odom'].publish(msg)
        if 'tf' in self._outputs:
            self._outputs['tf'].publish(TFMessage(transforms=[odometry_transform(msg)]))

    # ------------------------------------------------------------------ diagnostics

    def publish_diagnostics(self) -> None:
        """Publish the ``/diagnostics`` status: level, message, state, backend, counters."""
        now = time.monotonic()
        superseded = self._superseded_before + self._slot.dropped
        drops = self._sync.drop_counts()
        for reason, count in drops.items():
            self._count_new_drops(now, reason,
                                  count + (superseded if reason == 'superseded' else 0))
        if 'superseded' not in drops:
            self._count_new_drops(now, 'superseded', superseded)
        level, message = self.health.assess(now, expect_depth=self.params['use_depth'])
        frontend = self.frontend  # read once: a lifecycle cleanup may clear it meanwhile
        backend = frontend.backend.name if frontend else self.params['backend']
        values = [('state', self.health.state), ('backend', backend),
                  ('tracking', self.health.tracking)]
        values += self._stats.report(now)
        self._pub_diag.publish(diagnostic_array(
            f'{self.node.get_name()}: frontend', self.hardware_id, level, message, values,
            self.node.get_clock().now().to_msg()))

    def _count_new_drops(self, now: float, reason: str, total: int) -> None:
        """Hand drops counted elsewhere (sync, slot) to the stats and, as new ones, to health."""
        self._stats.set_drops(reason, total)
        new = total - self._diag_drops.get(reason, 0)
        if new > 0:
            self.health.drop(now, reason, new)
        self._diag_drops[reason] = total
