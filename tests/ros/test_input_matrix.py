# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The input matrix of issue #8 over real topics: every case is counted or degraded, never fatal.

One node process (torch backend, 160x120 frames, reliable QoS so that nothing is lost in
transport and the 8K image arrives) serves the whole module; each test sends its case, waits for
the counter (``dropped.*`` / ``degraded.*`` / ``events.*``) or the outputs it expects, and then
checks that the next good frame is processed. Stamps only grow from test to test (a ``Clock``),
so the cases do not disturb each other. The last test checks the accounting: every colour
message received is either processed or counted as dropped.
"""

import time

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')
pytest.importorskip('sensor_msgs.msg', reason='sensor_msgs is not importable')
pytest.importorskip('torch', reason='the tests run the node with the torch backend')

from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from lfnet_core.scenes import generate_sequence  # noqa: E402
from lfnet_ros import conversions as conv  # noqa: E402
import ros_helpers as helpers  # noqa: E402

WIDTH, HEIGHT, FRAMES = 160, 120, 6
PERIOD_NS = 33_333_333
COLOUR_DROPS = ('color_invalid', 'too_large', 'size_change', 'out_of_order', 'stamp_jump',
                'superseded', 'processing_error')


class Clock:
    """Hands out increasing stamps, one camera period apart."""

    def __init__(self) -> None:
        self.ns = 2_000 * 1_000_000_000

    def tick(self, periods: int = 1) -> int:
        self.ns += periods * PERIOD_NS
        return self.ns


def colour_array(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """Return ``rgb`` in ``encoding``'s layout (channel order, alpha, bit depth)."""
    grey = np.round(rgb.astype(np.float32) @ [0.299, 0.587, 0.114]).astype(np.uint8)
    alpha = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
    return {'rgb8': rgb, 'bgr8': rgb[:, :, ::-1], 'rgba8': np.concatenate([rgb, alpha], 2),
            'bgra8': np.concatenate([rgb[:, :, ::-1], alpha], 2), 'mono8': grey,
            'mono16': grey.astype(np.uint16) * 257}[encoding]


def depth_array(depth: np.ndarray, encoding: str) -> np.ndarray:
    """Return metres as 16UC1/mono16 millimetres or 32FC1 metres."""
    if encoding == '32FC1':
        return depth.astype(np.float32)
    return np.clip(np.round(np.nan_to_num(depth) * 1000), 0, 65535).astype(np.uint16)


def raw_image(header, encoding: str, width: int, height: int, step: int, data: bytes) -> Image:
    """Return an Image with the given fields as they are (possibly inconsistent)."""
    return Image(header=header, encoding=encoding, width=width, height=height, step=step,
                 data=data)


class Matrix:
    """The node under test, its publishers and the expected counters."""

    def __init__(self) -> None:
        self.sequence = generate_sequence(FRAMES, WIDTH, HEIGHT, seed=3)
        self.h = helpers.NodeHarness({'backend': 'torch', 'top_k': 100,
                                      'qos_reliability': 'reliable', 'qos_depth': 10,
                                      'resize_scale': 1.0,  # the network at the frames' size
                                      # the cases pause between frames; STALE is tested apart
                                      'diagnostics_stale_s': 600.0})
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                         reliability=ReliabilityPolicy.RELIABLE)
        node = self.h.node
        self.h.pub_color = node.create_publisher(Image, 'color/image_raw', qos)
        self.h.pub_depth = node.create_publisher(Image, 'depth/image_raw', qos)
        self.h.pub_info = node.create_publisher(CameraInfo, 'color/camera_info', qos)
        self.clock = Clock()
        self.expected = {}
        self.index = 0

    def header(self, stamp_ns: int) -> Header:
        return Header(stamp=conv.ns_to_stamp(stamp_ns), frame_id='camera')

    def frame(self, stamp_ns=None, colour='rgb8', depth='16UC1', info=True, index=None):
        """Return ([(publisher, msg)], stamp_ns) of one good frame; parts may be left out."""
        stamp_ns = self.clock.tick() if stamp_ns is None else stamp_ns
        if index is None:
            index, self.index = self.index % FRAMES, self.index + 1
        header = self.header(stamp_ns)
        messages = []
        if info:
            messages.append((self.h.pub_info,
                             helpers.camera_info(self.sequence.K, WIDTH, HEIGHT, header)))
        if depth:
            messages.append((self.h.pub_depth, conv.array_to_image(
                depth_array(self.sequence.depth[index], depth), depth, header)))
        if colour:
            messages.append((self.h.pub_color, conv.array_to_image(
                colour_array(self.sequence.rgb[index], colour), colour, header)))
        return messages, stamp_ns

    def cloud(self, stamp_ns: int) -> np.ndarray:
        return conv.cloud_to_array(self.h.keypoints_at(conv.ns_to_stamp(stamp_ns))[0])

    def processed(self, messages, stamp_ns: int, what: str) -> np.ndarray:
        """Send ``messages`` until the keypoints stamped ``stamp_ns`` arrive; return them."""
        assert self.h.send_until_processed(messages, conv.ns_to_stamp(stamp_ns)), \
            f'no keypoints after {what}:\n{self.h.log()}'
        return self.cloud(stamp_ns)

    def good_frame_follows(self, what: str) -> np.ndarray:
        messages, stamp = self.frame()
        return self.processed(messages, stamp, f'a good frame after {what}')

    def expect(self, key: str, count: int = 1) -> None:
        self.expected[key] = self.expected.get(key, 0) + count

    def counted(self, messages, key: str, count: int, what: str) -> None:
        """Send ``messages`` and wait until ``key`` reached its expected total."""
        self.expect(key, count)
        target = self.expected[key]
        assert self.h.send_until(messages, lambda: self.h.counter(key) >= target), \
            f'{key} never reached {target} after {what}; diagnostics ' \
            f'{helpers.diagnostics_values(self.h.diagnostics[-1])}:\n{self.h.log()}'


@pytest.fixture(scope='module')
def matrix(ros_env):
    m = Matrix()
    try:
        m.h.wait_ready()
        yield m
        assert m.h.proc.poll() is None, f'the node exited:\n{m.h.log()}'
    finally:
        m.h.close()


def test_camera_info_missing_entirely_is_degraded(matrix):
    messages, stamp = matrix.frame(info=False)
    cloud = matrix.processed(messages, stamp, 'a frame without camera_info')
    assert len(cloud) > 0 and np.isnan(cloud['z']).all()  # no 3D without K
    matrix.counted([], 'degraded.no_camera_info', 1, 'no camera_info')


@pytest.mark.parametrize('focal', [0.0, float('nan'), -500.0, float('inf')])
def test_camera_info_with_unusable_focal_length_is_dropped(matrix, focal):
    K = matrix.sequence.K.copy()
    K[0, 0] = focal
    info = helpers.camera_info(K, WIDTH, HEIGHT, matrix.header(matrix.clock.tick()))
    matrix.counted([(matrix.h.pub_info, info)], 'dropped.camera_info_invalid', 1,
                   f'camera_info fx={focal}')
    cloud = matrix.good_frame_follows('bad camera_info')
    assert np.isfinite(cloud['z']).any()  # the good camera_info of that frame is used


@pytest.mark.parametrize('encoding', list(conv.COLOR_ENCODINGS))
def test_every_colour_encoding_is_processed(matrix, encoding):
    messages, stamp = matrix.frame(colour=encoding)
    cloud = matrix.processed(messages, stamp, f'{encoding} colour')
    assert len(cloud) > 10 and np.isfinite(cloud['z']).mean() > 0.5


@pytest.mark.parametrize('encoding', list(conv.DEPTH_ENCODINGS))
def test_every_depth_encoding_gives_3d(matrix, encoding):
    messages, stamp = matrix.frame(depth=encoding)
    cloud = matrix.processed(messages, stamp, f'{encoding} depth')
    known = np.isfinite(cloud['z'])
    assert known.mean() > 0.5 and np.all((cloud['z'][known] > 0.1) & (cloud['z'][known] < 10))


@pytest.mark.parametrize('encoding', ['8UC3', 'yuv422', 'bgr16', '32FC1', '16UC1', ''])
def test_unsupported_colour_encodings_are_dropped(matrix, encoding):
    header = matrix.header(matrix.clock.tick())
    msg = raw_image(header, encoding, WIDTH, HEIGHT, WIDTH * 3, bytes(WIDTH * HEIGHT * 3))
    matrix.counted([(matrix.h.pub_color, msg)], 'dropped.color_invalid', 1, encoding)
    matrix.good_frame_follows(f'{encoding!r} colour')


@pytest.mark.parametrize('encoding', ['rgb8', '8UC1', '64FC1', 'mono8'])
def test_unsupported_depth_encodings_are_dropped_and_colour_goes_alone(matrix, encoding):
    messages, stamp = matrix.frame(depth=None)
    header = matrix.header(stamp)
    bad = raw_image(header, encoding, WIDTH, HEIGHT, WIDTH * 3, bytes(WIDTH * HEIGHT * 3))
    matrix.expect('degraded.no_depth')
    cloud = matrix.processed([messages[0], (matrix.h.pub_depth, bad), messages[1]], stamp,
                             f'{encoding} depth')
    assert np.isnan(cloud['z']).all()
    matrix.counted([], 'dropped.depth_invalid', 1, f'{encoding} depth')


def _malformed(header, template: Image) -> dict:
    data = bytes(template.data)
    return {
        'data one byte short': raw_image(header, template.encoding, WIDTH, HEIGHT,
                                         template.step, data[:-1]),
        'data one row long': raw_image(header, template.encoding, WIDTH, HEIGHT,
                                       template.step, data + data[:template.step]),
        'step shorter than a row': raw_image(header, template.encoding, WIDTH, HEIGHT,
                                             template.step - 1, data[:-HEIGHT]),
        'step padded, data not': raw_image(header, template.encoding, WIDTH, HEIGHT,
                                           template.step + 4, data),
        'zero width': raw_image(header, template.encoding, 0, HEIGHT, 0, b''),
        'zero height and width': raw_image(header, template.encoding, 0, 0, 0, b''),
    }


def test_step_and_data_mismatches_and_zero_size_colour_are_dropped(matrix):
    messages, _ = matrix.frame(info=False, depth=None)
    for what, msg in _malformed(matrix.header(matrix.clock.tick()), messages[0][1]).items():
        matrix.counted([(matrix.h.pub_color, msg)], 'dropped.color_invalid', 1, what)
    matrix.good_frame_follows('malformed colour images')


def test_step_and_data_mismatches_and_zero_size_depth_are_dropped(matrix):
    messages, stamp = matrix.frame()
    info, depth, colour = messages
    for what, msg in _malformed(depth[1].header, depth[1]).items():
        matrix.counted([(matrix.h.pub_depth, msg)], 'dropped.depth_invalid', 1, what)
    matrix.expect('degraded.no_depth')
    assert np.isnan(matrix.processed([info, colour], stamp, 'malformed depth')['z']).all()


def test_padded_rows_are_read_correctly(matrix):
    messages, stamp = matrix.frame()
    colour = messages[2][1]
    rows = np.frombuffer(bytes(colour.data), np.uint8).reshape(HEIGHT, colour.step)
    padded = np.concatenate([rows, np.full((HEIGHT, 8), 0xEE, np.uint8)], axis=1)
    colour.step += 8
    colour.data = padded.tobytes()
    reference, ref_stamp = matrix.frame(index=(matrix.index - 1) % FRAMES)
    a = matrix.processed(messages, stamp, 'padded colour rows')
    b = matrix.processed(reference, ref_stamp, 'the same frame unpadded')
    np.testing.assert_array_equal(a['u'], b['u'])  # padding ignored: identical keypoints


def test_huge_8k_image_is_dropped_as_too_large(matrix):
    header = matrix.header(matrix.clock.tick())
    huge = raw_image(header, 'mono8', 7680, 4320, 7680, bytes(7680 * 4320))
    matrix.counted([(matrix.h.pub_color, huge)], 'dropped.too_large', 1, 'an 8K image')
    matrix.good_frame_follows('an 8K image')


@pytest.mark.parametrize('height, width', [(121, 161), (9, 7), (33, 1000)])
def test_odd_sizes_and_resolution_changes_mid_stream(matrix, height, width):
    rng = np.random.default_rng(height * width)
    clouds = []
    for attempt in range(2):  # the first frame of a new size is dropped, the second accepted
        stamp = matrix.clock.tick()
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        msg = conv.array_to_image(image, 'rgb8', matrix.header(stamp))
        if attempt == 0:
            matrix.counted([(matrix.h.pub_color, msg)], 'dropped.size_change', 1,
                           f'{width}x{height}')
        else:
            # camera_info is for 160x120: processed without 3D, counted
            matrix.expect('degraded.camera_info_size_mismatch')
            clouds.append(matrix.processed([(matrix.h.pub_color, msg)], stamp,
                                           f'a second {width}x{height} frame'))
    cloud = clouds[0]
    assert np.all((cloud['u'] >= -0.5) & (cloud['u'] <= width - 0.5))
    assert np.all((cloud['v'] >= -0.5) & (cloud['v'] <= height - 0.5))
    assert np.isnan(cloud['z']).all()
    matrix.counted([], 'degraded.camera_info_size_mismatch', 0, 'a size mismatch')
    # back to the camera's size: again one frame dropped, then tracking restarts with 3D
    messages, stamp = matrix.frame()
    matrix.counted(messages, 'dropped.size_change', 1, 'the size change back')
    assert np.isfinite(matrix.good_frame_follows('a size change')['z']).any()


@pytest.mark.parametrize('what, values, encoding', [
    ('all zero', 0.0, '16UC1'), ('all zero', 0.0, '32FC1'), ('all NaN', np.nan, '32FC1'),
    ('negative', -1.5, '32FC1'), ('+inf', np.inf, '32FC1'), ('-inf', -np.inf, '32FC1')])
def test_invalid_depth_everywhere_is_degraded(matrix, what, values, encoding):
    messages, stamp = matrix.frame(depth=encoding)
    info, depth, colour = messages
    array = np.full((HEIGHT, WIDTH), values, np.float32)
    if encoding == '16UC1':
        array = array.astype(np.uint16)
    bad = conv.array_to_image(array, encoding, depth[1].header)
    matrix.expect('degraded.depth_empty')
    cloud = matrix.processed([info, (matrix.h.pub_depth, bad), colour], stamp,
                             f'depth {what}')
    assert len(cloud) > 0 and np.isnan(cloud['z']).all()
    matrix.counted([], 'degraded.depth_empty', 0, f'depth {what}')
    assert np.isfinite(matrix.good_frame_follows(f'depth {what}')['z']).any()


def test_partly_invalid_depth_keeps_the_valid_part(matrix):
    messages, stamp = matrix.frame(depth='32FC1')
    info, depth, colour = messages
    array = depth_array(matrix.sequence.depth[(matrix.index - 1) % FRAMES], '32FC1').copy()
    array[:, :WIDTH // 2] = np.nan
    array[:HEIGHT // 2, WIDTH // 2:] = -1.0
    cloud = matrix.processed([info, (matrix.h.pub_depth, conv.array_to_image(
        array, '32FC1', depth[1].header)), colour], stamp, 'half-invalid depth')
    known = np.isfinite(cloud['z'])
    assert known.any() and not known.all()
    assert np.all(cloud['u'][known] >= WIDTH // 2 - 1) and np.all(cloud['v'][known] >=
                                                                  HEIGHT // 2 - 1)


def test_stamps_backwards_duplicated_and_far_in_the_future(matrix):
    messages, stamp = matrix.frame()
    matrix.processed(messages, stamp, 'a reference frame')
    cases = [('a duplicated stamp', stamp, 'dropped.out_of_order'),
             ('a stamp going backwards', stamp - 5 * PERIOD_NS, 'dropped.out_of_order'),
             ('a stamp a year ahead', stamp + 365 * 86400 * 10**9, 'dropped.stamp_jump')]
    for what, bad_stamp, key in cases:
        bad, _ = matrix.frame(stamp_ns=bad_stamp, info=False, depth=None)
        matrix.counted(bad, key, 1, what)
        depth_key = 'dropped.depth_stamp_jump' if 'ahead' in what else \
            'dropped.depth_out_of_order'
        bad_depth, _ = matrix.frame(stamp_ns=bad_stamp, info=False, colour=None)
        matrix.counted(bad_depth, depth_key, 1, f'{what} on depth')
        # the stream is not wedged: the next frame on the old timeline is processed with 3D
        assert np.isfinite(matrix.good_frame_follows(what)['z']).any()


def test_a_looping_bag_restarts_tracking(matrix):
    start = matrix.clock.ns - 100 * PERIOD_NS  # the bag starts over, 100 frames back
    first, _ = matrix.frame(stamp_ns=start, index=0)
    matrix.counted(first, 'dropped.out_of_order', 1, 'the first frame of the loop')
    second, stamp = matrix.frame(stamp_ns=start + PERIOD_NS, index=1)
    matrix.expect('events.time_jump')
    matrix.processed(second, stamp, 'the second frame of the loop')
    matrix.counted([], 'events.time_jump', 0, 'the loop')
    matrix.clock.ns = start + PERIOD_NS
    third, stamp3 = matrix.frame(index=2)
    matrix.processed(third, stamp3, 'the third frame of the loop')
    stamp3_ns = stamp3
    assert matrix.h.spin_until(lambda: any(
        conv.stamp_to_ns(m.header.stamp) == stamp3_ns for m in matrix.h.odom))
    odom = [m for m in matrix.h.odom if conv.stamp_to_ns(m.header.stamp) == stamp3_ns][0]
    assert odom.pose.covariance[0] < 1.0  # tracking ok again on the new timeline


def test_colour_without_depth_and_depth_without_colour(matrix):
    messages, stamp = matrix.frame(depth=None)
    matrix.expect('degraded.no_depth')
    assert np.isnan(matrix.processed(messages, stamp, 'colour without depth')['z']).all()
    for _ in range(12):  # more than the sync's depth queue (10)
        depth_only, _ = matrix.frame(info=False, colour=None)
        for publisher, msg in depth_only:
            publisher.publish(msg)
    # (keep-last history may hand fewer than 12 over; those that arrive are counted at the
    # latest when the next colour frame pairs with its own, newer depth)
    assert np.isfinite(matrix.good_frame_follows('depth without colour')['z']).any()
    matrix.counted([], 'dropped.depth_unmatched', 2, 'depth without colour')


def test_burst_at_ten_times_the_camera_rate(matrix):
    period = PERIOD_NS // 10
    burst = [matrix.frame(stamp_ns=matrix.clock.ns + (k + 1) * period) for k in range(40)]
    matrix.clock.ns = burst[-1][1]
    start = time.monotonic()
    for k, (messages, _) in enumerate(burst):  # paced at 300 Hz: 10x a 30 Hz camera
        due = start + k * period * 1e-9
        matrix.h.spin_until(lambda: time.monotonic() >= due)
        for publisher, msg in messages:
            publisher.publish(msg)
    last = burst[-1][1]
    assert matrix.h.spin_until(lambda: matrix.h.keypoints_at(conv.ns_to_stamp(last))), \
        f'the newest frame of the burst was not processed:\n{matrix.h.log()}'
    stamps = {conv.stamp_to_ns(m.header.stamp) for m in matrix.h.keypoints}
    processed = sum(s in stamps for _, s in burst)
    assert processed < len(burst)  # the node kept up by dropping, not by queueing
    matrix.counted([], 'dropped.superseded', 1, 'a burst')
    matrix.good_frame_follows('a burst')


def test_tracking_loss_is_reported_and_tracking_recovers(matrix):
    """The camera carried into another room: odom covariance 1e3, WARN diagnostics, pose held.

    Another scene, not a cut of this one: the trained features match this room across a cut of
    120 frames (1.5 m), so only a scene with nothing in common makes the loss certain.
    """
    after = generate_sequence(3, WIDTH, HEIGHT, seed=4)
    odom = {}

    def send(sequence, index):
        stamp = matrix.clock.tick()
        header = matrix.header(stamp)
        messages = [
            (matrix.h.pub_info, helpers.camera_info(sequence.K, WIDTH, HEIGHT, header)),
            (matrix.h.pub_depth, conv.array_to_image(
                depth_array(sequence.depth[index], '16UC1'), '16UC1', header)),
            (matrix.h.pub_color, conv.array_to_image(sequence.rgb[index], 'rgb8', header))]
        matrix.processed(messages, stamp, f'frame {index}')
        assert matrix.h.spin_until(lambda: any(
            conv.stamp_to_ns(m.header.stamp) == stamp for m in matrix.h.odom))
        odom[stamp] = [m for m in matrix.h.odom if conv.stamp_to_ns(m.header.stamp) == stamp][0]
        return odom[stamp]

    def position(msg):
        p = msg.pose.pose.position
        return np.array([p.x, p.y, p.z])

    for index in (FRAMES - 3, FRAMES - 2, FRAMES - 1):
        before = send(matrix.sequence, index)
    assert before.pose.covariance[0] < 1.0
    matrix.expect('events.tracking_lost')
    log_offset = matrix.h.log_size()
    lost = send(after, 0)  # nothing in common with the previous frame
    assert lost.pose.covariance[0] >= 1e3 and lost.twist.covariance[0] >= 1e3
    np.testing.assert_array_equal(position(lost), position(before))  # held: no jump
    assert 'tracking lost: too few ' in matrix.h.log_since(log_offset)  # why, in the node's log
    values = matrix.h.latest_diagnostics(lambda v: v['tracking'] == 'lost')
    assert int(values['events.tracking_lost']) >= matrix.expected['events.tracking_lost']
    warn = [a for a in matrix.h.diagnostics[-3:] for st in a.status
            if st.name.endswith(': frontend') and st.message == 'tracking lost']
    assert warn and all(st.level == st.WARN for a in warn for st in a.status)
    recovered = [send(after, 1), send(after, 2)]
    assert all(m.pose.covariance[0] < 1.0 for m in recovered)  # re-initialised and tracking
    step = np.linalg.norm(position(recovered[1]) - position(recovered[0]))
    assert step < 0.05  # the true step is ~1.3 cm
    matrix.h.latest_diagnostics(lambda v: v['tracking'] == 'ok')


def test_every_colour_message_is_processed_or_counted(matrix):
    """frames_in == frames_processed + colour drops, and every expected counter is there."""
    def balanced(values):
        drops = sum(int(values.get(f'dropped.{k}', 0)) for k in COLOUR_DROPS)
        return int(values['frames_in']) == int(values['frames_processed']) + drops
    values = matrix.h.latest_diagnostics(balanced)
    for key, count in matrix.expected.items():
        assert int(values.get(key, 0)) >= count, (key, values)
