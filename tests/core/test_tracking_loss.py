# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tracking loss and recovery: frames cut out of a sequence never produce a garbage pose.

The real backend (shipped weights) runs on the synthetic sequence with a stretch of frames cut
out. Every result must be either 'ok' with a frame-to-frame motion close to the ground truth, or
'lost' with the pose held exactly; after a loss the front-end re-initialises on the lost frame
and tracks again.
"""

from dataclasses import replace

import numpy as np
import pytest

from lfnet_core.frontend import Frame, Frontend, FrontendConfig
from lfnet_core.inference import create_backend
from lfnet_core.inference.torch_backend import TorchBackend
from lfnet_core.model.lfnet import DEFAULT_WEIGHTS, LFNet
from lfnet_core.rigid_poses import invert_pose, rotation_angle
from lfnet_core.scenes import generate_sequence
from lfnet_core.vo import RansacConfig

WIDTH, HEIGHT = 160, 120
MAX_STEP_ERROR_M = 0.05  # per tracked frame, against the true motion (160x120)
MAX_STEP_ERROR_RAD = np.radians(2.0)


@pytest.fixture(scope='module')
def frontend_backend():
    return create_backend('torch')


def _cut_sequence(gap: int):
    """Frames 0-2 of the path, then 3 frames starting ``gap`` frames later (the cut)."""
    before = generate_sequence(3, WIDTH, HEIGHT, seed=0)
    after = generate_sequence(3, WIDTH, HEIGHT, seed=0, start_frame=2 + gap)
    frames = [(before, i) for i in range(3)] + [(after, i) for i in range(3)]
    return [(Frame(s.rgb[i], float(k), s.depth[i], s.K), s.T_world_cam[i])
            for k, (s, i) in enumerate(frames)]


def _run(backend, frames):
    frontend = Frontend(backend, FrontendConfig(top_k=150))
    return [frontend.process(frame) for frame, _ in frames]


def _check_no_garbage(frames, results):
    """Each step is either tracked correctly or lost with the pose held; return the states."""
    for k in range(1, len(results)):
        prev, cur = results[k - 1], results[k]
        published = invert_pose(prev.T_odom_cam) @ cur.T_odom_cam
        if cur.tracking == 'ok':
            true = invert_pose(frames[k - 1][1]) @ frames[k][1]
            error = invert_pose(true) @ published
            assert np.linalg.norm(error[:3, 3]) < MAX_STEP_ERROR_M, (k, error)
            assert rotation_angle(error[:3, :3]) < MAX_STEP_ERROR_RAD, (k, error)
        else:
            assert cur.tracking == 'lost', (k, cur.tracking)
            np.testing.assert_array_equal(cur.T_odom_cam, prev.T_odom_cam)  # held, no jump
            assert cur.motion is not None and not cur.motion.ok and cur.motion.reason
            assert not cur.inliers.any()
    return [r.tracking for r in results]


def test_a_cut_loses_tracking_holds_the_pose_and_recovers(frontend_backend):
    frames = _cut_sequence(gap=120)  # 1.6 m further along the path: no overlap left
    results = _run(frontend_backend, frames)
    states = _check_no_garbage(frames, results)
    assert states == ['init', 'ok', 'ok', 'lost', 'ok', 'ok'], states
    # re-initialised on the lost frame: the first frame after the cut matches against it
    assert results[4].prev_stamp == results[3].stamp
    # and tracks from the held pose: the chain after the cut follows the true motion
    true = invert_pose(frames[3][1]) @ frames[5][1]
    chained = invert_pose(results[3].T_odom_cam) @ results[5].T_odom_cam
    assert np.linalg.norm(chained[:3, 3] - true[:3, 3]) < 2 * MAX_STEP_ERROR_M


@pytest.mark.parametrize('gap', [
    90,
    # 0.2 s cut: the step across it is tracked 4.8 cm / 1.2 deg off with AP3P hypotheses (6.5 cm
    # with EPnP ones, a strict xfail until RansacConfig.minimal_solver changed)
    15,
    # 1.5 s cut: the matches across it lie on the wall's tiled texture, one tile off. With the
    # release's soft-argmax refinement a wrong motion that slides the wall onto itself gathered
    # 24 inliers within 1.1 px, all at the measured depth, and was accepted 1.3 m off (kept as
    # a test below); with the quadratic refinement only 3 inliers fit it and the step is lost.
    45,
])
def test_shorter_cuts_are_tracked_correctly_or_reported_lost(frontend_backend, gap):
    frames = _cut_sequence(gap)
    states = _check_no_garbage(frames, _run(frontend_backend, frames))
    assert states[:3] == ['init', 'ok', 'ok'] and states[-1] == 'ok', states


def _soft_argmax_backend():
    """Return the shipped weights with the release's soft-argmax refinement (shipped before)."""
    shipped = LFNet.from_pretrained(DEFAULT_WEIGHTS)
    config = replace(shipped.config, detector=replace(shipped.config.detector,
                                                      kp_refine='soft_argmax'))
    model = LFNet(config)
    model.load_state_dict(shipped.state_dict())
    return TorchBackend(model.eval())


def test_repeated_texture_fools_soft_argmax_keypoints_with_or_without_the_depth_check():
    # The gap-45 cut with the keypoints the release refines: a wrong motion that maps the tiled
    # wall onto itself is accepted 1.3 m off, whether the depth check (min_depth_agreement)
    # runs or not; no per-frame geometric check can tell it from the truth. The quadratic
    # refinement the shipped weights use loses the step instead (the test above).
    frames = _cut_sequence(45)
    backend = _soft_argmax_backend()
    true = invert_pose(frames[2][1]) @ frames[3][1]
    for agreement, checked in ((RansacConfig().min_depth_agreement, True), (0.0, False)):
        frontend = Frontend(backend, FrontendConfig(
            top_k=150, ransac=RansacConfig(min_depth_agreement=agreement)))
        results = [frontend.process(frame) for frame, _ in frames]
        assert results[3].tracking == 'ok'
        assert (results[3].motion.depth_checked > 0) == checked
        published = invert_pose(results[2].T_odom_cam) @ results[3].T_odom_cam
        assert np.linalg.norm(published[:3, 3] - true[:3, 3]) > 0.5
