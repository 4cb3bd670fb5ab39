# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The ROS tools' own node: camera publishers towards the front-end, recorders of its outputs.

:class:`Recorder` publishes ``color/image_raw``, ``depth/image_raw`` and ``color/camera_info``
(reliable, keep last 10) and records ``keypoints``, ``matches``, ``visual_odom`` and
``/diagnostics`` by stamp with their receipt times (``time.monotonic``). Its waits spin its
executor and raise :class:`lfnet_ros.node_process.NodeError` as soon as the node process exits.
"""

import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from lfnet_ros import conversions as conv
from lfnet_ros.frame_messages import FrameMessages
from lfnet_ros.node_process import NodeProcess
from lfnet_ros.odometry_messages import ODOMETRY_TOPIC
from lfnet_ros.recorded_outputs import diagnostics_values, RecordedRun, tracking_state, \
    TRACKING_STATES

Received = Tuple[float, object]  # (receipt time, payload)


class Recorder:
    """Publishes frames to the front-end node and records its outputs (see the module doc)."""

    def __init__(self, context: rclpy.Context, name: str = 'lfnet_demo') -> None:
        self.node = rclpy.create_node(name, context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                         reliability=ReliabilityPolicy.RELIABLE)
        self.pub_color = self.node.create_publisher(Image, 'color/image_raw', qos)
        self.pub_depth = self.node.create_publisher(Image, 'depth/image_raw', qos)
        self.pub_info = self.node.create_publisher(CameraInfo, 'color/camera_info', qos)
        # stamp ns -> (receipt time, payload)
        self.keypoints: Dict[int, Received] = {}
        self.matches: Dict[int, Received] = {}
        self.odom: Dict[int, Received] = {}
        self.diagnostics: List[Tuple[float, Dict[str, str]]] = []
        self.subs = [
            self.node.create_subscription(PointCloud2, 'keypoints', self._on_keypoints, 10),
            self.node.create_subscription(PointCloud2, 'matches', self._on_matches, 10),
            self.node.create_subscription(Odometry, ODOMETRY_TOPIC, self._on_odom, 10),
            self.node.create_subscription(DiagnosticArray, '/diagnostics',
                                          self._on_diagnostics, 10),
        ]

    def _on_keypoints(self, msg: PointCloud2) -> None:
        now = time.monotonic()
        cloud = conv.cloud_to_array(msg)
        self.keypoints[conv.stamp_to_ns(msg.header.stamp)] = (now, {
            'uv': np.stack([cloud['u'], cloud['v']], axis=1).astype(np.float32),
            'scale': cloud['scale'].astype(np.float32),
            'orientation': cloud['orientation'].astype(np.float32),
            'with_depth': int(np.isfinite(cloud['z']).sum())})

    def _on_matches(self, msg: PointCloud2) -> None:
        now = time.monotonic()
        cloud = conv.cloud_to_array(msg)
        self.matches[conv.stamp_to_ns(msg.header.stamp)] = (now, cloud.copy())

    def _on_odom(self, msg: Odometry) -> None:
        self.odom[conv.stamp_to_ns(msg.header.stamp)] = (time.monotonic(), msg)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        values = diagnostics_values(msg)
        if values:
            self.diagnostics.append((time.monotonic(), values))

    # ------------------------------------------------------------------------------ publishing

    def publish_frame(self, frame: FrameMessages) -> None:
        """Publish one frame: camera info, depth, then colour."""
        self.pub_info.publish(frame.camera_info)
        self.pub_depth.publish(frame.depth)
        self.pub_color.publish(frame.color)

    # ------------------------------------------------------------------------------ waiting

    def spin_until(self, predicate: Callable[[], bool], timeout: float,
                   node: Optional[NodeProcess] = None) -> bool:
        """Spin until ``predicate()`` (True) or ``timeout`` (False); raise if the node died."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if node is not None:
                node.check_alive()
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=0.01)
        return True

    def wait_until(self, due: float, node: Optional[NodeProcess] = None) -> None:
        """Spin until the monotonic time ``due``."""
        self.spin_until(lambda: time.monotonic() >= due,
                        max(due - time.monotonic(), 0.0) + 1.0, node)

    def wait_for_keypoints(self, stamp: int, timeout: float,
                           node: Optional[NodeProcess] = None) -> bool:
        """Spin until the keypoints stamped ``stamp`` came back (True) or ``timeout`` (False)."""
        return self.spin_until(lambda: stamp in self.keypoints, timeout, node)

    def wait_for_outputs(self, stamps: Sequence[int], node: Optional[NodeProcess] = None) -> None:
        """Wait for the odom/matches of every processed frame and for up-to-date diagnostics."""
        def outputs_complete() -> bool:
            done = [s for s in stamps if s in self.keypoints]
            return all(s in self.odom and s in self.matches for s in done)
        self.spin_until(outputs_complete, 10.0, node)
        processed = sum(s in self.keypoints for s in stamps)
        after = time.monotonic()

        def fresh_diagnostics() -> bool:
            return any(t >= after and int(v.get('frames_processed', 0)) >= processed
                       for t, v in self.diagnostics)
        self.spin_until(fresh_diagnostics, 5.0, node)

    def fresh_diagnostics(self, node: Optional[NodeProcess] = None,
                          timeout: float = 5.0) -> Dict[str, str]:
        """Wait for a /diagnostics message received after now; return its values ({} if none).

        The node publishes once a second, so the counters in an older one may miss recent frames.
        """
        after = time.monotonic()
        self.spin_until(lambda: any(t > after for t, _ in self.diagnostics), timeout, node)
        fresh = [values for t, values in self.diagnostics if t > after]
        return fresh[0] if fresh else {}

    def outputs_matched(self) -> bool:
        """Return whether every output topic has a publisher (the node's)."""
        return all(s.get_publisher_count() >= 1 for s in self.subs)

    def matched(self) -> bool:
        """Return whether every input and output topic is matched with the node."""
        return (all(p.get_subscription_count() >= 1
                    for p in (self.pub_color, self.pub_depth, self.pub_info))
                and self.outputs_matched())

    # ------------------------------------------------------------------------------ results

    def recorded_run(self, stamps: Sequence[int], sent: Mapping[int, float]) -> RecordedRun:
        """Return the counts of the frames ``stamps`` (``sent``: stamp -> colour publish time)."""
        processed = [s for s in stamps if s in self.keypoints]
        paired = [s for s in processed[1:] if s in self.matches]
        tracking = dict.fromkeys(TRACKING_STATES, 0)
        for s in processed:
            if s in self.odom:
                tracking[tracking_state(self.odom[s][1])] += 1
        throughput = None
        if len(processed) > 1 and sent:
            first, last = min(sent.values()), max(self.keypoints[s][0] for s in processed)
            throughput = (len(processed) - 1) / (last - first) if last > first else None
        estimate = [s for s in processed if s in self.odom]
        return RecordedRun(
            stamps=list(stamps), processed=processed,
            keypoint_counts=[len(self.keypoints[s][1]['uv']) for s in processed],
            keypoints_with_depth=[self.keypoints[s][1]['with_depth'] for s in processed],
            match_counts=[len(self.matches[s][1]) for s in paired],
            inlier_counts=[int(self.matches[s][1]['inlier'].sum()) for s in paired],
            tracking=tracking,
            diagnostics=self.diagnostics[-1][1] if self.diagnostics else {},
            in_to_keypoints=[self.keypoints[s][0] - sent[s] for s in processed if s in sent],
            in_to_odom=[self.odom[s][0] - sent[s] for s in processed
                        if s in sent and s in self.odom],
            throughput_hz=throughput, estimate_stamps=estimate,
            frame_states=[tracking_state(self.odom[s][1]) for s in estimate],
            estimate_poses=np.array([conv.pose_to_matrix(self.odom[s][1].pose.pose)
                                     for s in estimate]).reshape(-1, 4, 4))

    def odometry_poses(self, stamps: Sequence[int]) -> Dict[int, np.ndarray]:
        """Return {stamp: camera-to-odom pose (4x4)} of the ``stamps`` with odometry."""
        return {s: conv.pose_to_matrix(self.odom[s][1].pose.pose) for s in stamps
                if s in self.odom}

    def destroy(self) -> None:
        """Destroy the executor and the node."""
        self.executor.shutdown()
        self.node.destroy_node()
