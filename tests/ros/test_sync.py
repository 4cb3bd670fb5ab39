# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The colour/depth synchroniser, the newest-frame slot and the diagnostics statistics."""

import threading

import pytest

from lfnet_ros.stats import FrontendStats, RateMeter
from lfnet_ros.sync import ApproximateSync, LatestSlot, StampTimeline, SyncedFrame

MS = 1_000_000  # nanoseconds


def _stamps(frames):
    return [(f.stamp_ns, f.depth_stamp_ns) for f in frames]


def test_pairs_by_nearest_stamp_within_slop():
    sync = ApproximateSync(slop=0.010)
    assert sync.add_depth(100 * MS, 'd100', now=0.0) == []
    assert sync.add_depth(104 * MS, 'd104', now=0.0) == []
    frames = sync.add_color(103 * MS, 'c103', now=0.0)
    assert _stamps(frames) == [(103 * MS, 104 * MS)]
    assert frames[0].color == 'c103' and frames[0].depth == 'd104'
    assert sync.drops['depth_unmatched'] == 1  # d100 lost its chance
    counts = sync.drop_counts()  # a copy: diagnostics iterate it while callbacks add reasons
    sync.drops['new_reason'] += 1
    assert counts == {'depth_unmatched': 1}
    del sync.drops['new_reason']
    # colour first, depth later (either order works)
    assert sync.add_color(133 * MS, 'c133', now=0.01) == []
    assert _stamps(sync.add_depth(131 * MS, 'd131', now=0.011)) == [(133 * MS, 131 * MS)]
    assert sync.pending == 0


def test_outside_slop_is_not_paired_and_colour_goes_alone_after_the_wait():
    sync = ApproximateSync(slop=0.010)
    assert sync.add_color(100 * MS, 'c', now=1.0) == []
    assert sync.add_depth(120 * MS, 'd', now=1.001) == []  # 20 ms apart: no pair
    assert sync.poll(now=1.005) == []
    frames = sync.poll(now=1.0101)
    assert _stamps(frames) == [(100 * MS, None)] and frames[0].depth is None
    assert sync.pending == 0


def test_colour_only_without_depth_stream():
    sync = ApproximateSync(slop=0.02, use_depth=False)
    frames = sync.add_color(5 * MS, 'c', now=0.0)
    assert _stamps(frames) == [(5 * MS, None)]
    assert sync.add_depth(5 * MS, 'd', now=0.0) == []
    waiting = ApproximateSync(slop=0.02)  # depth expected but never arrives
    assert waiting.add_color(5 * MS, 'c', now=0.0) == []
    assert _stamps(waiting.add_color(38 * MS, 'c2', now=0.033)) == [(5 * MS, None)]
    assert _stamps(waiting.poll(now=0.06)) == [(38 * MS, None)]


def test_out_of_order_stamps_are_dropped_and_counted():
    sync = ApproximateSync(slop=0.005)
    sync.add_depth(100 * MS, 'd', now=0.0)
    assert len(sync.add_color(100 * MS, 'c', now=0.0)) == 1
    assert sync.add_color(100 * MS, 'again', now=0.0) == []
    assert sync.add_color(90 * MS, 'older', now=0.0) == []
    assert sync.add_depth(95 * MS, 'older', now=0.0) == []
    assert sync.drops['out_of_order'] == 2 and sync.drops['depth_out_of_order'] == 1
    assert len(sync.add_color(133 * MS, 'c', now=0.0) + sync.add_depth(133 * MS, 'd', 0.0)) == 1
    sync.reset()
    assert sync.add_color(1 * MS, 'after reset', now=0.0) == []  # accepted again
    assert sync.pending == 1


def test_stamp_timeline_drops_single_anomalies_and_confirms_jumps():
    line = StampTimeline(max_jump_ns=1000 * MS)
    assert [line.check(s * MS) for s in (100, 133)] == ['ok', 'ok']
    assert line.check(133 * MS) == 'out_of_order'  # duplicate
    assert line.check(50 * MS) == 'out_of_order'  # one stale frame
    assert line.check(166 * MS) == 'ok' and line.last == 166 * MS  # the stream goes on
    assert line.check(10_000_000 * MS) == 'stamp_jump'  # far in the future, alone
    assert line.check(200 * MS) == 'ok'  # ... and the stream goes on
    assert line.check(10 * MS) == 'out_of_order'
    assert line.check(43 * MS) == 'restart' and line.last == 43 * MS  # a loop: new timeline
    assert line.check(76 * MS) == 'ok'
    assert line.check(5000 * MS) == 'stamp_jump'
    assert line.check(5033 * MS) == 'restart'  # a confirmed forward jump
    assert line.check(5033 * MS) == 'out_of_order' and line.check(5033 * MS) == 'out_of_order'
    assert line.check(5066 * MS) == 'ok'  # a repeated duplicate never confirms itself
    unbounded = StampTimeline(0)
    assert [unbounded.check(s * MS) for s in (1, 10_000_000)] == ['ok', 'ok']


def test_time_jumps_restart_the_sync_and_flag_the_frame():
    sync = ApproximateSync(slop=0.005, max_jump=1.0)
    for stamp in (100, 133):
        sync.add_depth(stamp * MS, 'd', now=0.0)
        assert [f.restart for f in sync.add_color(stamp * MS, 'c', now=0.0)] == [False]
    # a looping bag: depth and colour start over at 0 ms
    assert sync.add_depth(0, 'd', now=0.0) == [] and sync.add_color(0, 'c', now=0.0) == []
    assert sync.drops['out_of_order'] == 1 and sync.drops['depth_out_of_order'] == 1
    assert sync.add_depth(33 * MS, 'd', now=0.0) == []
    frames = sync.add_color(33 * MS, 'c', now=0.0)
    assert _stamps(frames) == [(33 * MS, 33 * MS)] and frames[0].restart
    frames = sync.add_color(66 * MS, 'c', now=0.0) + sync.add_depth(66 * MS, 'd', now=0.0)
    assert _stamps(frames) == [(66 * MS, 66 * MS)] and not frames[0].restart
    # colour jumps first: the old timeline's depth is dropped, the depth stream follows
    sync.add_depth(99 * MS, 'old', now=0.0)
    assert sync.add_color(9000 * MS, 'c', now=0.0) == []
    assert sync.drops['stamp_jump'] == 1
    assert sync.add_color(9033 * MS, 'c', now=0.0) == []  # restart, waits for depth
    assert sync.drops['depth_unmatched'] >= 1
    frames = sync.add_depth(9033 * MS, 'd', now=0.0)
    assert _stamps(frames) == [(9033 * MS, 9033 * MS)] and frames[0].restart
    with pytest.raises(ValueError):
        ApproximateSync(max_jump=-1.0)


def test_latest_slot_carries_the_restart_flag():
    slot = LatestSlot()
    slot.put(SyncedFrame(1, 'a', restart=True))
    slot.put(SyncedFrame(2, 'b'))
    frame = slot.take(timeout=0.0)
    assert frame.stamp_ns == 2 and frame.restart


def test_newest_pairable_colour_wins_and_older_are_superseded():
    sync = ApproximateSync(slop=0.005, queue_size=3)
    for stamp in (100, 133, 166):
        assert sync.add_color(stamp * MS, stamp, now=0.0) == []
    frames = sync.add_depth(166 * MS, 'd', now=0.001)
    assert _stamps(frames) == [(166 * MS, 166 * MS)]
    assert sync.drops['superseded'] == 2
    for stamp in (200, 233, 266, 300):  # queue_size 3: the oldest falls out
        sync.add_color(stamp * MS, stamp, now=0.0)
    assert sync.drops['superseded'] == 3 and sync.pending == 3


def test_invalid_arguments():
    with pytest.raises(ValueError):
        ApproximateSync(slop=-1)
    with pytest.raises(ValueError):
        ApproximateSync(queue_size=0)


def test_latest_slot_keeps_only_the_newest():
    slot = LatestSlot()
    assert slot.take(timeout=0.0) is None
    assert slot.put(1) is False
    assert slot.put(2) is True and slot.put(3) is True
    assert slot.dropped == 2
    assert slot.take(timeout=0.0) == 3 and slot.take(timeout=0.0) is None


def test_latest_slot_wakes_a_waiting_worker_and_closes():
    slot = LatestSlot()
    got = []
    worker = threading.Thread(target=lambda: got.append(slot.take(timeout=30.0)))
    worker.start()
    slot.put('frame')
    worker.join(timeout=30.0)
    assert got == ['frame']
    worker = threading.Thread(target=lambda: got.append(slot.take(timeout=30.0)))
    worker.start()
    slot.close()
    worker.join(timeout=30.0)
    assert not worker.is_alive() and got[-1] is None and slot.closed


def test_stats_report_keys():
    stats = FrontendStats(window=5.0)
    for i in range(11):
        stats.frame_in(now=i * 0.1)
    stats.frame_processed(now=0.5)
    stats.drop('color_invalid')
    stats.drop('color_invalid', 2)
    stats.set_drops('superseded', 4)
    stats.degrade('no_depth')
    stats.event('tracking_lost')
    for ms in range(1, 11):
        stats.latency('total', ms / 1e3)
    values = dict(stats.report(now=1.0))
    assert values['frames_in'] == '11' and values['frames_processed'] == '1'
    assert float(values['rate_in_hz']) == pytest.approx(10.0)
    assert values['dropped_total'] == '7'
    assert values['dropped.color_invalid'] == '3' and values['dropped.superseded'] == '4'
    assert values['degraded.no_depth'] == '1' and values['events.tracking_lost'] == '1'
    assert float(values['latency.total.p50_ms']) == pytest.approx(5.5)
    assert float(values['latency.total.p90_ms']) == pytest.approx(9.1)


def test_rate_meter_window():
    meter = RateMeter(window=1.0)
    assert meter.rate(0.0) == 0.0
    for i in range(20):
        meter.tick(i * 0.1)
    assert meter.rate(1.9) == pytest.approx(10.0, rel=0.15)
    assert meter.rate(10.0) == 0.0
