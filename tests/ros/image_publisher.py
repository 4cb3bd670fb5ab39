# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Publish numbered 640x480 rgb8 test images with sensor-data QoS (run as a separate process).

Protocol on stdin/stdout with the test: wait until a subscription is matched, print ``matched``,
wait for a ``go`` line (the test has matched us too), publish, print ``sent N``, then stay alive
until stdin closes so that no in-flight sample is lost when the writer goes away.
"""

import argparse
import select
import sys
import time

import numpy as np

HEIGHT, WIDTH = 480, 640


def make_frame(index):
    """Return the deterministic (480, 640, 3) uint8 image number ``index``."""
    flat = (np.arange(HEIGHT * WIDTH * 3, dtype=np.uint32) * 7 + index * 31) % 251
    return flat.astype(np.uint8).reshape(HEIGHT, WIDTH, 3)


def _wait_line(timeout):
    """Return the next stdin line ('' on EOF), or None after ``timeout`` seconds."""
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return sys.stdin.readline() if ready else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--topic', default='lfnet_smoke/image')
    parser.add_argument('--count', type=int, default=5)
    parser.add_argument('--period', type=float, default=0.05)
    parser.add_argument('--timeout', type=float, default=30.0)
    args = parser.parse_args(argv)

    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node('lfnet_smoke_publisher')
    pub = node.create_publisher(Image, args.topic, qos_profile_sensor_data)
    try:
        deadline = time.monotonic() + args.timeout
        while pub.get_subscription_count() < 1:
            if time.monotonic() > deadline:
                print('no subscription matched', file=sys.stderr, flush=True)
                return 2
            time.sleep(0.01)
        print('matched', flush=True)
        if (_wait_line(args.timeout) or '').strip() != 'go':
            print('no go from the test', file=sys.stderr, flush=True)
            return 3
        for index in range(args.count):
            msg = Image()
            msg.header.stamp = node.get_clock().now().to_msg()
            msg.header.frame_id = f'frame{index}'
            msg.height, msg.width = HEIGHT, WIDTH
            msg.encoding = 'rgb8'
            msg.is_bigendian = 0
            msg.step = WIDTH * 3
            msg.data = make_frame(index).tobytes()  # bytes, not ndarray: 100x faster
            pub.publish(msg)
            time.sleep(args.period)  # frame rate, not a discovery wait
        print(f'sent {args.count}', flush=True)
        while _wait_line(args.timeout):
            pass  # keep the writer alive until the test closes stdin
        return 0
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    sys.exit(main())
