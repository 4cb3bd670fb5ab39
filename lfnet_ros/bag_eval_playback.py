# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``lfnet-eval``'s players: the bag's camera topics towards the node, closed or open loop.

* ``builtin``: the in-process :class:`lfnet_ros.bag_play.BagPlayer` on the recorder's node
  (reliable publishers). ``rate`` 0: closed loop, every message of the next frame waits until
  the node's ``keypoints`` for the previous colour frame came back (``frame_timeout`` s at
  most); ``rate`` R > 0: the bag's timing scaled by R.
* ``ros2``: the real ``ros2 bag play`` at ``rate`` (open loop only; the bag's offered
  sensor-data QoS). It has no per-message hook, so publish times are estimated from the bag
  times. Untested on hosts without ``ros2``.
"""

from dataclasses import dataclass
import os
import shutil
import subprocess
import time
from typing import Dict, List, Optional, Sequence

from lfnet_ros.bag_play import BagPlayer
from lfnet_ros.bag_reading import Topics
from lfnet_ros.node_process import NodeProcess
from lfnet_ros.node_recorder import Recorder

PLAYERS = ('auto', 'builtin', 'ros2')
ROS2_DELAY_S = 2.0


class PlaybackError(RuntimeError):
    """The bag cannot be played to the node (no player, the node did not match)."""


@dataclass
class Playback:
    """What was played: colour stamp (ns) -> publish time, and closed-loop waits that timed out."""

    sent: Dict[int, float]
    lost: int


def choose_player(name: str, rate: float) -> str:
    """Return ``builtin`` or ``ros2`` for ``--player`` (auto: ros2 when on the PATH and R > 0)."""
    if name == 'auto':
        return 'ros2' if rate > 0 and shutil.which('ros2') else 'builtin'
    if name == 'ros2' and not shutil.which('ros2'):
        raise PlaybackError('--player ros2: no ros2 command on the PATH')
    if name == 'ros2' and rate <= 0:
        raise PlaybackError('--player ros2 cannot run closed loop: give --rate > 0')
    return name


def play_builtin(recorder: Recorder, node: NodeProcess, bag: str, topics: Topics, rate: float,
                 startup_timeout: float, frame_timeout: float) -> Playback:
    """Play the camera topics in-process on the recorder's node (see the module doc)."""
    player = BagPlayer(recorder.node, bag, topics.camera(), qos='reliable')

    def spin_once(timeout: float) -> None:
        node.check_alive()
        recorder.executor.spin_once(timeout_sec=timeout)

    def ready() -> bool:
        return recorder.outputs_matched() and not player.unmatched()
    if not recorder.spin_until(ready, startup_timeout, node):
        raise PlaybackError(f'the node did not match the player and recorder topics within '
                            f'{startup_timeout} s (unmatched: {player.unmatched()}):\n'
                            f'{node.log_tail()}')
    sent: Dict[int, float] = {}
    state: Dict[str, Optional[int]] = {'last': None, 'waited': None}
    lost = 0

    def gate(topic: str, stamp_ns: int) -> None:
        nonlocal lost
        last = state['last']
        if last is None or stamp_ns <= last or state['waited'] == last:
            return
        state['waited'] = last
        if not recorder.wait_for_keypoints(last, frame_timeout, node):
            lost += 1

    def published(topic: str, stamp_ns: int) -> None:
        if topic == topics.color:
            sent[stamp_ns] = time.monotonic()
            state['last'] = stamp_ns

    player.play(spin_once, rate, gate if rate == 0 else None, published)
    if sent and not recorder.wait_for_keypoints(max(sent), frame_timeout, node):
        lost += 1
    return Playback(sent, lost)


def play_ros2(recorder: Recorder, node: NodeProcess, bag: str, topics: Topics, rate: float,
              startup_timeout: float, frame_timeout: float, stamps: Sequence[int]) -> Playback:
    """Play with the real ``ros2 bag play`` at ``rate`` (open loop); untested on this host."""
    if not recorder.spin_until(recorder.outputs_matched, startup_timeout, node):
        raise PlaybackError(f'the node did not start within {startup_timeout} s:\n'
                            f'{node.log_tail()}')
    command: List[str] = ['ros2', 'bag', 'play', bag, '--rate', f'{rate:g}', '--delay',
                          f'{ROS2_DELAY_S:g}', '--topics', *topics.camera()]
    start = time.monotonic()
    proc = subprocess.Popen(command, env=dict(os.environ))
    while proc.poll() is None:
        recorder.spin_until(lambda: proc.poll() is not None, 1.0, node)
    # ros2 bag play gives no per-message hook: publish times are estimated from the bag times
    first = stamps[0] if stamps else 0
    offset = start + ROS2_DELAY_S
    sent = {s: offset + (s - first) * 1e-9 / rate for s in stamps}
    lost = 0
    if stamps and not recorder.wait_for_keypoints(stamps[-1], frame_timeout, node):
        lost = 1
    return Playback(sent, lost)
