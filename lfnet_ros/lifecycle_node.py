# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The front-end as a managed node (``ros2 run lfnet_ros frontend_lifecycle``).

The same topics, parameters and processing as :mod:`lfnet_ros.frontend_node`, driven by the
standard lifecycle services (``<node>/change_state``, ``get_state``; ``ros2 lifecycle set``,
a lifecycle manager, or launch with ``lifecycle:=true``):

* ``configure``: loads the model (the service answers once it is loaded; a failed load answers
  failure, stays ``unconfigured`` and reports ERROR) and creates the publishers;
* ``activate``: subscribes and processes; tracking continues from the held pose;
* ``deactivate``: unsubscribes and stops the worker after its frame: nothing more is published;
* ``cleanup``: destroys the publishers and frees the model; the next ``configure`` starts a new
  odometry origin;
* ``shutdown`` (from any state): all of that; the process stays up, ``finalized``, until SIGINT.

``/diagnostics`` is published from start-up in every state; its ``state`` value is
``unconfigured``, ``starting`` (configuring), ``inactive``, ``running`` (active), ``failed`` or
``finalized``, and the level is OK in all but ``running`` and ``failed``.
"""

import sys
import time
from typing import List, Optional

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from lfnet_ros.frontend_node import NODE_NAME, node_pipeline, run

SUCCESS = TransitionCallbackReturn.SUCCESS


class LifecycleFrontendNode(LifecycleNode):
    """The front-end with the lifecycle of the module doc."""

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self.pipeline = node_pipeline(self)
        self.pipeline.health.idle('unconfigured', 'configure to load the model')
        # its own group: diagnostics go on while configure loads the model
        self.pipeline.open_diagnostics(MutuallyExclusiveCallbackGroup())

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the model and create the publishers (inactive: they publish nothing yet)."""
        self.pipeline.health.idle('starting', 'loading the model')
        if not self.pipeline.load_model():
            return TransitionCallbackReturn.FAILURE
        self.pipeline.open_outputs(self.create_lifecycle_publisher)
        self.pipeline.health.idle('inactive', f'backend {self.pipeline.frontend.backend.name} '
                                  'loaded; activate to process')
        return super().on_configure(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Enable the publishers, subscribe and start the worker."""
        result = super().on_activate(state)
        self.pipeline.restart_tracking()
        self.pipeline.health.ready(f'backend {self.pipeline.frontend.backend.name}',
                                   now=time.monotonic())
        self.pipeline.open_inputs()
        self.pipeline.start(load_model=False)
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Unsubscribe, stop the worker and disable the publishers."""
        self.pipeline.close_inputs()
        self.pipeline.stop()
        self.pipeline.health.idle('inactive', 'deactivated; activate to process')
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the publishers and free the model."""
        self._release('unconfigured', 'cleaned up; configure to load the model')
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything, from whichever state."""
        self._release('finalized', 'shut down')
        return super().on_shutdown(state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything after a failed transition and go back to unconfigured."""
        self.get_logger().error(f'a transition from {state.label} failed: releasing all')
        self._release('unconfigured', f'recovered from an error in {state.label}')
        return super().on_error(state)

    def _release(self, state: str, detail: str) -> None:
        self.pipeline.close_inputs()
        self.pipeline.stop()
        self.pipeline.close_outputs(self.destroy_lifecycle_publisher)
        self.pipeline.free_model()
        self.pipeline.health.idle(state, detail)

    def destroy_node(self) -> None:
        """Stop the worker thread, then destroy the node."""
        if hasattr(self, 'pipeline'):  # absent when __init__ failed half-way
            self.pipeline.stop()
        super().destroy_node()


def main(args: Optional[List[str]] = None) -> int:
    """Run the lifecycle node until SIGINT; return the process exit status."""
    return run(LifecycleFrontendNode, args, lambda: MultiThreadedExecutor(num_threads=2))


if __name__ == '__main__':
    sys.exit(main())
