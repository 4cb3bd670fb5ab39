# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The LF-Net visual-odometry front-end node (``ros2 run lfnet_ros frontend`` / ``lfnet-frontend``).

Subscribes (node-relative, remappable): ``color/image_raw`` (rgb8, bgr8, rgba8, bgra8, mono8,
mono16; or ``.../compressed`` with ``color_transport`` compressed), ``depth/image_raw`` (16UC1
times ``depth_scale`` or 32FC1 metres, 0/NaN invalid; or ``.../compressedDepth``) and
``color/camera_info``. Publishes ``keypoints``, ``matches`` (PointCloud2), ``visual_odom``, ``/tf``
(``publish_tf``), ``debug_image`` (only while subscribed) and ``/diagnostics`` at 1 Hz.

The work (callbacks, one worker thread, publishing) is :mod:`lfnet_ros.frontend_pipeline`'s,
shared with the managed variant :mod:`lfnet_ros.lifecycle_node`. Odometry's child frame and
extrinsics: :mod:`lfnet_ros.camera_mount`.

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
``events.<name>``: ``time_jump`` (tracking restarted after a stamp jump), ``tracking_lost``,
``odometry_withheld`` (``base_frame`` set, the camera's pose in it unknown).
"""

import sys
from typing import Callable, List, Optional

import rclpy
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from lfnet_ros.frontend_pipeline import FrontendPipeline
from lfnet_ros.node_parameters import check_parameters, declare_parameters

NODE_NAME = 'lfnet_frontend'


def node_pipeline(node: Node) -> FrontendPipeline:
    """
    Declare the parameters on `node` and return its pipeline, live changes wired to it.

    Raises ValueError naming the problem when the parameters are not usable.
    """
    params = declare_parameters(node)
    check_parameters(params)
    pipeline = FrontendPipeline(node, params)
    node.add_on_set_parameters_callback(pipeline.on_set_parameters)
    return pipeline


class FrontendNode(Node):
    """The front-end as a plain node: it subscribes at once and loads the model in its worker."""

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self.pipeline = node_pipeline(self)
        self.pipeline.open_outputs(self.create_publisher)
        self.pipeline.open_inputs()
        self.pipeline.open_diagnostics()  # 'starting': the topics exist before the model loads
        self.pipeline.start(load_model=True)

    def destroy_node(self) -> None:
        """Stop the worker thread, then destroy the node."""
        if hasattr(self, 'pipeline'):  # absent when __init__ failed half-way
            self.pipeline.stop()
        super().destroy_node()


def run(make_node: Callable[[], Node], args: Optional[List[str]] = None,
        make_executor: Optional[Callable[[], Executor]] = None) -> int:
    """Run the node `make_node` returns until SIGINT or shutdown; return the exit status.

    `make_executor` gives the executor to spin it in (default: rclpy's single-threaded one).
    """
    # SIGINT raises KeyboardInterrupt in spin (instead of rclpy shutting the context down
    # under the worker), so the worker stops before the context goes.
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    try:
        node = make_node()
    except ValueError as exc:
        rclpy.logging.get_logger(NODE_NAME).fatal(f'cannot start: {exc}')
        rclpy.try_shutdown()
        return 1
    executor = make_executor() if make_executor is not None else None
    try:
        rclpy.spin(node, executor=executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if executor is not None:
            executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def main(args: Optional[List[str]] = None) -> int:
    """Run the node until shutdown; return the process exit status."""
    return run(FrontendNode, args)


if __name__ == '__main__':
    sys.exit(main())
