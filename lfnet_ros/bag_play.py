# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``lfnet-bag-play BAG``: a rosbag2 player for hosts without rosbag2 (no ``ros2 bag play``).

Reads the bag (MCAP or sqlite3) with ``rosbags.rosbag2.Reader`` and publishes every message's
CDR bytes unchanged (``publisher.publish(raw)``: no deserialisation) from one rclpy node,
``lfnet_bag_play``, one publisher per topic with the message class imported from the type name
(``sensor_msgs/msg/Image`` -> ``sensor_msgs.msg.Image``; ``sensor_msgs/msg/CompressedImage``, as
``lfnet-bag-from-tum --compressed`` writes, likewise). Topics whose type is not importable
here (e.g. ``tf2_msgs``, which has no PyPI wheel) are skipped with a warning.

Behaviour:

* Start: waits until every publisher is matched by at least one subscriber
  (``--wait-subscribers S``, default 10 s; 0: do not wait), then plays; on time-out it logs the
  unmatched topics and plays anyway. Restrict the topics with ``--topics`` so that the wait is
  not for topics nobody listens to. ``--start-paused`` additionally waits for Enter on stdin.
* Timing: the bag's receive times, scaled by ``--rate`` (2 = twice as fast); ``--rate 0``
  publishes back to back (after the subscribers matched), as fast as DDS takes them.
* ``--clock``: publishes ``/clock`` (rosgraph_msgs/Clock) with each message's bag time just
  before the message (nodes with ``use_sim_time`` then follow the bag's time).
* ``--loop``: plays again from the start until interrupted.
* ``--remap FROM:=TO``: publish bag topic FROM on TO (repeatable).
* QoS: every publisher is reliable, keep last 10, volatile (``--qos reliable``, the default:
  no sample is lost between two processes on this host, and a reliable or best-effort
  subscriber matches it); ``--qos best_effort`` offers best effort, keep last 10 (what camera
  drivers offer; a reliable subscriber then does not match). The QoS recorded in the bag is
  not used.

:class:`BagPlayer` is the reusable part: ``lfnet-eval`` runs it in-process on its own node
with a ``gate`` callback for closed-loop pacing.
"""

import argparse
import importlib
import sys
import threading
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.rosbag2 import Reader
from tqdm import tqdm

from lfnet_ros.ros_environment import use_shm_profile

QOS_CHOICES = ('reliable', 'best_effort')
SpinOnce = Callable[[float], None]


class BagPlayError(RuntimeError):
    """The bag cannot be played (unreadable, no playable topic)."""


def message_class(msgtype: str):
    """Return the rclpy message class of ``pkg/msg/Name`` (ImportError/AttributeError if none)."""
    package, kind, name = msgtype.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), name)


def player_qos(name: str) -> QoSProfile:
    """Return the publishers' QoS for ``--qos`` (see the module doc)."""
    if name not in QOS_CHOICES:
        raise ValueError(f'qos must be one of {QOS_CHOICES}, got {name!r}')
    reliability = ReliabilityPolicy.RELIABLE if name == 'reliable' else \
        ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=reliability,
                      durability=DurabilityPolicy.VOLATILE)


def parse_remaps(items: Sequence[str]) -> Dict[str, str]:
    """Return ``{from: to}`` from ``FROM:=TO`` strings (ValueError on a bad one)."""
    remap = {}
    for item in items or ():
        source, sep, target = item.partition(':=')
        if not sep or not source or not target:
            raise ValueError(f'remap must be FROM:=TO, got {item!r}')
        remap[source] = target
    return remap


class BagPlayer:
    """Publishes a bag's messages from an existing rclpy node (see the module doc)."""

    def __init__(self, node: Node, bag: str, topics: Optional[Sequence[str]] = None,
                 remap: Optional[Mapping[str, str]] = None, qos: str = 'reliable',
                 clock: bool = False) -> None:
        self.node = node
        self.bag = bag
        self.remap = dict(remap or {})
        self.skipped: Dict[str, str] = {}  # bag topic -> why it is not played
        self.published: Dict[str, int] = {}
        self.publishers = {}
        try:
            with Reader(bag) as reader:
                connections = list(reader.connections)
                self.duration_ns = reader.duration
        except Exception as exc:  # noqa: B902 - rosbags raises several error types
            raise BagPlayError(f'cannot read bag {bag}: {exc}') from exc
        wanted = set(topics) if topics else None
        if wanted:
            missing = wanted - {c.topic for c in connections}
            if missing:
                raise BagPlayError(f'{bag} has no topic {sorted(missing)}')
        profile = player_qos(qos)
        for connection in connections:
            topic = connection.topic
            if wanted is not None and topic not in wanted:
                continue
            if topic in self.publishers or topic in self.skipped:
                continue
            try:
                cls = message_class(connection.msgtype)
            except (ImportError, AttributeError, ValueError) as exc:
                self.skipped[topic] = f'{connection.msgtype} not importable ({exc})'
                node.get_logger().warning(f'skipping {topic}: {self.skipped[topic]}')
                continue
            self.publishers[topic] = node.create_publisher(cls, self.remap.get(topic, topic),
                                                           profile)
        if not self.publishers:
            raise BagPlayError(f'{bag}: no playable topic (skipped: {self.skipped})')
        self.clock_pub = None
        if clock:
            from rosgraph_msgs.msg import Clock
            self.clock_pub = node.create_publisher(Clock, '/clock', 10)

    def topic_names(self) -> List[str]:
        """Return the published topic names (after remapping)."""
        return [pub.topic_name for pub in self.publishers.values()]

    def unmatched(self) -> List[str]:
        """Return the published topics that have no subscriber yet."""
        return [pub.topic_name for pub in self.publishers.values()
                if pub.get_subscription_count() < 1]

    def wait_for_subscribers(self, timeout: float, spin_once: SpinOnce) -> bool:
        """Spin until every publisher is matched (True) or ``timeout`` s passed (False)."""
        deadline = time.monotonic() + timeout
        while self.unmatched():
            if time.monotonic() >= deadline:
                return False
            spin_once(0.02)
        return True

    def messages(self):
        """Yield ``(bag topic, bag time ns, raw CDR bytes)`` of the played topics, in order."""
        with Reader(self.bag) as reader:
            connections = [c for c in reader.connections if c.topic in self.publishers]
            for connection, stamp_ns, raw in reader.messages(connections=connections):
                yield connection.topic, stamp_ns, raw

    def _publish_clock(self, stamp_ns: int) -> None:
        from rosgraph_msgs.msg import Clock
        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = divmod(int(stamp_ns), 1_000_000_000)
        self.clock_pub.publish(msg)

    def play(self, spin_once: SpinOnce, rate: float = 1.0,
             gate: Optional[Callable[[str, int], None]] = None,
             on_published: Optional[Callable[[str, int], None]] = None,
             progress: bool = True) -> int:
        """
        Publish the bag once; return the number of messages published.

        Args:
            spin_once: spins the node's executor for at most the given seconds (it keeps
                subscriptions and the node's other callbacks running while the player waits).
            rate: time scale (> 0), or 0 for back to back.
            gate: called before each message with (bag topic, bag time ns); may block (while
                spinning) to pace the playback, e.g. closed loop.
            on_published: called after each message with (bag topic, bag time ns).
            progress: show a progress bar.

        """
        if rate < 0:
            raise ValueError(f'rate must be >= 0, got {rate}')
        count = 0
        start_wall = first_ns = None
        bar = tqdm(total=max(self.duration_ns, 1) * 1e-9, unit='s', desc='playing',
                   disable=not progress, bar_format='{l_bar}{bar}| {n:.1f}/{total:.1f} s')
        try:
            for topic, stamp_ns, raw in self.messages():
                if gate is not None:
                    gate(topic, stamp_ns)
                if first_ns is None:
                    start_wall, first_ns = time.monotonic(), stamp_ns
                elif rate > 0:
                    due = start_wall + (stamp_ns - first_ns) * 1e-9 / rate
                    while (left := due - time.monotonic()) > 0:
                        spin_once(min(left, 0.05))
                if self.clock_pub is not None:
                    self._publish_clock(stamp_ns)
                self.publishers[topic].publish(raw)
                self.published[topic] = self.published.get(topic, 0) + 1
                count += 1
                if on_published is not None:
                    on_published(topic, stamp_ns)
                bar.update((stamp_ns - first_ns) * 1e-9 - bar.n)
                spin_once(0.0)
        finally:
            bar.close()
        return count


def _wait_for_enter(spin_once: SpinOnce) -> None:
    event = threading.Event()

    def read() -> None:
        try:
            sys.stdin.readline()
        finally:
            event.set()
    threading.Thread(target=read, daemon=True).start()
    print('paused: press Enter to start playing', file=sys.stderr)
    while not event.is_set():
        spin_once(0.05)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``lfnet-bag-play`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='lfnet-bag-play',
        description='Play a rosbag2 (mcap or sqlite3) with rclpy, for hosts without rosbag2.',
        epilog='Publishers are reliable (keep last 10) unless --qos best_effort. The player '
               'waits for every publisher to be matched (--wait-subscribers) before it starts.')
    parser.add_argument('bag', help='rosbag2 folder (or .mcap / .db3 file)')
    parser.add_argument('--rate', type=float, default=1.0,
                        help='time scale (default 1); 0: back to back, as fast as possible')
    parser.add_argument('--clock', action='store_true', help='publish /clock with the bag time')
    parser.add_argument('--loop', action='store_true', help='play again until interrupted')
    parser.add_argument('--topics', nargs='+', help='play only these bag topics')
    parser.add_argument('--remap', nargs='+', default=[], metavar='FROM:=TO',
                        help='publish bag topic FROM on topic TO')
    parser.add_argument('--start-paused', action='store_true',
                        help='wait for Enter on stdin before playing')
    parser.add_argument('--wait-subscribers', type=float, default=10.0, metavar='S',
                        help='seconds to wait for subscribers before playing (0: no wait)')
    parser.add_argument('--qos', choices=QOS_CHOICES, default='reliable',
                        help='publisher reliability (default reliable)')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``lfnet-bag-play``; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.rate < 0:
        parser.error('--rate must be >= 0')
    try:
        remap = parse_remaps(args.remap)
    except ValueError as exc:
        parser.error(str(exc))
    use_shm_profile()  # 640x480 images over best effort need it (see ros_environment)
    context = rclpy.Context()
    rclpy.init(args=[], context=context)
    node = rclpy.create_node('lfnet_bag_play', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)

    def spin_once(timeout: float) -> None:
        executor.spin_once(timeout_sec=timeout)
    try:
        player = BagPlayer(node, args.bag, args.topics, remap, args.qos, args.clock)
        if args.wait_subscribers > 0 and not player.wait_for_subscribers(args.wait_subscribers,
                                                                         spin_once):
            node.get_logger().warning(f'no subscriber after {args.wait_subscribers:g} s on '
                                      f'{player.unmatched()}: playing anyway')
        if args.start_paused:
            _wait_for_enter(spin_once)
        while True:
            count = player.play(spin_once, args.rate)
            if not args.loop:
                break
        print(f'published {count} messages: ' +
              ', '.join(f'{t} {n}' for t, n in player.published.items()))
        # let reliable writers hand the last samples over before the node goes
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            spin_once(0.05)
    except BagPlayError as exc:
        print(f'lfnet-bag-play: {exc}', file=sys.stderr)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    return 0


if __name__ == '__main__':
    sys.exit(main())
