# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Frame-to-frame motion from RGB-D correspondences: PnP RANSAC checked against depth.

The previous frame's keypoints are lifted to 3D with its depth map
(`lfnet_core.keypoint_points`); the current frame's matched keypoints are their 2D
observations. `estimate_motion` solves the perspective-n-point problem robustly (OpenCV's
`solvePnPRansac`: AP3P on 4-point samples by default, or EPnP on 5-point samples with SQPnP on
the consensus set), optionally polishes the pose with Levenberg-Marquardt on the inliers, and
reports the result with health checks (inlier count and ratio, reprojection RMSE).

With depth in the current frame too (`points_cur`), an inlier must also land at the depth
measured there. Repeated texture can give a wrong pose whose reprojections fit (1.1 m off on
generated data, 13 of its 23 inliers at the right depth against 98-100% for correct steps);
rigid 3D-3D hypotheses (`lfnet_core.rigid_ransac`) then look for the pose that fits both.

Conventions: `T_prev_to_cur` maps points in the previous camera's optical frame to the current
camera's optical frame (x right, y down, z forward); pixel centres are at integer coordinates.
"""

from dataclasses import dataclass, replace
from typing import Optional, Tuple

import cv2
import numpy as np

from lfnet_core.rigid_ransac import depth_agreement, rigid_pose_hypothesis

__all__ = ['MotionEstimate', 'RansacConfig', 'check_intrinsics', 'estimate_motion']

# PnP needs 4 points (OpenCV's EPnP kernel samples 5; with exactly 4 it falls back to P3P).
_MIN_PNP_POINTS = 4
# cv2.solvePnPRansac flags per RansacConfig.minimal_solver: OpenCV samples 4 points for AP3P
# and 5 for any other method, which it solves with EPnP, then refits the consensus set.
_RANSAC_FLAGS = {'ap3p': cv2.SOLVEPNP_AP3P, 'epnp': cv2.SOLVEPNP_SQPNP}


@dataclass(frozen=True)
class RansacConfig:
    """PnP RANSAC settings and the health gates an estimate must pass.

    Attributes:
        reprojection_px: inlier threshold on the reprojection error, in pixels (> 0).
        iterations: maximum RANSAC iterations (>= 1).
        confidence: RANSAC confidence in (0, 1); OpenCV stops early once it is reached.
        min_inliers: fewest inliers accepted (>= 4).
        min_inlier_ratio: smallest accepted inliers / usable correspondences, in [0, 1]; the
            inliers of the reprojection test, before the depth check removes any.
        refine: polish the pose with Levenberg-Marquardt on the inliers (then re-select the
            inliers with the polished pose).
        minimal_solver: the RANSAC hypothesis solver, 'ap3p' (4-point samples: AP3P on three,
            the fourth picks the solution) or 'epnp' (5-point samples, SQPnP on the consensus
            set). AP3P costs a third per hypothesis and, needing one point fewer, draws an
            all-inlier sample more often at the low inlier ratios of weak texture.
        depth_tolerance_m, depth_tolerance_ratio: with the current frame's depth, an inlier's
            predicted depth must be within max(depth_tolerance_m, depth_tolerance_ratio x
            measured depth) of the measured one (>= 0; about 3 sigma of a structured-light
            sensor's noise at 3 m, plus the depth step of a keypoint on an edge).
        min_depth_agreement: smallest accepted fraction of the depth-checked inliers that agree,
            in [0, 1]; the others are no longer inliers either way. At 0 there is no depth
            check, pruning included: `estimate_motion` ignores `points_cur`.

    """

    reprojection_px: float = 3.0
    iterations: int = 300
    confidence: float = 0.999
    min_inliers: int = 15
    min_inlier_ratio: float = 0.2
    refine: bool = True
    minimal_solver: str = 'ap3p'
    depth_tolerance_m: float = 0.03
    depth_tolerance_ratio: float = 0.03
    min_depth_agreement: float = 0.5

    def __post_init__(self) -> None:
        if not (np.isfinite(self.reprojection_px) and self.reprojection_px > 0):
            raise ValueError(f'reprojection_px: must be finite and > 0, got '
                             f'{self.reprojection_px}')
        if int(self.iterations) != self.iterations or self.iterations < 1:
            raise ValueError(f'iterations: must be an integer >= 1, got {self.iterations}')
        if not 0 < self.confidence < 1:
            raise ValueError(f'confidence: must be in (0, 1), got {self.confidence}')
        if int(self.min_inliers) != self.min_inliers or self.min_inliers < _MIN_PNP_POINTS:
            raise ValueError(f'min_inliers: must be an integer >= {_MIN_PNP_POINTS}, got '
                             f'{self.min_inliers}')
        if not 0 <= self.min_inlier_ratio <= 1:
            raise ValueError(f'min_inlier_ratio: must be in [0, 1], got {self.min_inlier_ratio}')
        for name in ('depth_tolerance_m', 'depth_tolerance_ratio'):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f'{name}: must be finite and >= 0, got {value}')
        if not 0 <= self.min_depth_agreement <= 1:
            raise ValueError(f'min_depth_agreement: must be in [0, 1], got '
                             f'{self.min_depth_agreement}')
        if self.minimal_solver not in _RANSAC_FLAGS:
            raise ValueError(f'minimal_solver: must be one of {sorted(_RANSAC_FLAGS)}, got '
                             f'{self.minimal_solver!r}')


@dataclass(frozen=True, eq=False)
class MotionEstimate:
    """Result of `estimate_motion`.

    Attributes:
        ok: whether a pose was found and passed the health gates.
        T_prev_to_cur: (4, 4) float64 rigid transform from the previous camera's frame to the
            current one; the identity when not ok.
        inliers: (M,) bool over the correspondences given. When not ok it holds the rejected
            hypothesis' inliers (all False when RANSAC found none), for diagnostics only.
        num_inliers: inliers.sum().
        reason: '' when ok, else why not, e.g. 'too few correspondences (7 < 15)'.
        reprojection_rmse: RMS reprojection error over the inliers in pixels (NaN without
            inliers).
        depth_checked: inliers of the reprojection test whose depth was compared (0 without
            `points_cur`).
        depth_agreement: the fraction of those that agree in depth (NaN when none).

    """

    ok: bool
    T_prev_to_cur: np.ndarray
    inliers: np.ndarray
    num_inliers: int
    reason: str
    reprojection_rmse: float = float('nan')
    depth_checked: int = 0
    depth_agreement: float = float('nan')


def check_intrinsics(K: np.ndarray, name: str = 'K') -> np.ndarray:
    """Validate a pinhole intrinsic matrix.

    Args:
        K: (3, 3) intrinsics [[fx, s, cx], [0, fy, cy], [0, 0, 1]].
        name: the argument's name for error messages.

    Returns:
        (3, 3) float64 copy of K.

    Raises:
        ValueError: not (3, 3), non-finite entries, or a focal length that is not > 0.

    """
    K = np.array(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise ValueError(f'{name}: expected a (3, 3) intrinsic matrix, got shape {K.shape}')
    if not np.all(np.isfinite(K)):
        raise ValueError(f'{name}: intrinsic matrix must be finite, got {K.tolist()}')
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f'{name}: focal lengths must be > 0, got fx={K[0, 0]}, fy={K[1, 1]}')
    return K


def _failure(m: int, reason: str, inliers: Optional[np.ndarray] = None,
             rmse: float = float('nan')) -> MotionEstimate:
    inliers = np.zeros(m, dtype=bool) if inliers is None else inliers
    return MotionEstimate(False, np.eye(4), inliers, int(inliers.sum()), reason, rmse)


def _reprojection_errors(points: np.ndarray, uv: np.ndarray, rvec: np.ndarray, tvec: np.ndarray,
                         K: np.ndarray) -> np.ndarray:
    """Pixel errors (M,) of points under the pose; inf for points not in front of the camera."""
    R, _ = cv2.Rodrigues(rvec)
    cam = points @ R.T + tvec.reshape(1, 3)
    z = cam[:, 2]
    with np.errstate(divide='ignore', invalid='ignore'):
        proj = cam @ K.T
        uv_hat = proj[:, :2] / proj[:, 2:3]
        err = np.linalg.norm(uv_hat - uv, axis=1)
    err[~(z > 1e-9) | ~np.isfinite(err)] = np.inf
    return err


def _depth_agreement(obj: np.ndarray, cur: np.ndarray, rvec: np.ndarray, tvec: np.ndarray,
                     config: RansacConfig) -> np.ndarray:
    R, _ = cv2.Rodrigues(rvec)
    return depth_agreement(obj, cur, R, tvec.ravel(),
                           (config.depth_tolerance_m, config.depth_tolerance_ratio))


def _depth_pruned(obj: np.ndarray, cur: np.ndarray, rvec: np.ndarray, tvec: np.ndarray,
                  inl: np.ndarray, config: RansacConfig) -> Tuple[np.ndarray, int, float]:
    """(inliers without those that disagree in depth, inliers depth-checked, agreeing fraction)."""
    agree = _depth_agreement(obj, cur, rvec, tvec, config)
    checked = inl & np.isfinite(agree)
    count = int(checked.sum())
    return inl & (agree != 0), count, float(agree[checked].mean()) if count else float('nan')


def _polish(obj: np.ndarray, img: np.ndarray, K: np.ndarray, rvec: np.ndarray,
            tvec: np.ndarray, inl: Optional[np.ndarray], config: RansacConfig,
            allowed: Optional[np.ndarray] = None
            ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rvec, tvec, errors, inliers): Levenberg-Marquardt on the inliers (`config.refine`).

    `inl` None starts from the given pose's reprojection inliers. Each pass re-selects the
    inliers by reprojection error, among the `allowed` rows only; the inliers returned are
    those of the final pose's reprojection test.
    """
    err = _reprojection_errors(obj, img, rvec, tvec, K)
    if inl is None:
        inl = err <= config.reprojection_px
    if config.refine and inl.sum() >= _MIN_PNP_POINTS:
        for _ in range(2):  # polish, re-select; a second pass settles the set
            rvec, tvec = cv2.solvePnPRefineLM(obj[inl].reshape(-1, 1, 3),
                                              img[inl].reshape(-1, 1, 2), K, None,
                                              rvec.copy(), tvec.copy())
            err = _reprojection_errors(obj, img, rvec, tvec, K)
            new_inl = err <= config.reprojection_px
            if allowed is not None:
                new_inl &= allowed
            if np.array_equal(new_inl, inl) or new_inl.sum() < _MIN_PNP_POINTS:
                break
            inl = new_inl
    return rvec, tvec, err, err <= config.reprojection_px


def _rigid_pose(obj: np.ndarray, img: np.ndarray, cur: np.ndarray, K: np.ndarray,
                config: RansacConfig, seed: int
                ) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """`_polish`'s output for the best rigid 3D-3D hypothesis, refined on rows fitting depth."""
    hypothesis = rigid_pose_hypothesis(obj, img, cur, K, config.reprojection_px,
                                       (config.depth_tolerance_m, config.depth_tolerance_ratio),
                                       config.iterations, seed)
    if hypothesis is None:
        return None
    R, t, joint_inliers = hypothesis
    rvec, _ = cv2.Rodrigues(R)
    tvec = t.reshape(3, 1)
    fits_depth = _depth_agreement(obj, cur, rvec, tvec, config) != 0
    return _polish(obj, img, K, rvec, tvec, joint_inliers, config, fits_depth)


def estimate_motion(points_prev: np.ndarray, uv_cur: np.ndarray, K: np.ndarray,
                    config: RansacConfig = RansacConfig(), rng_seed: int = 0,
                    points_cur: Optional[np.ndarray] = None) -> MotionEstimate:
    """Estimate the camera motion from 3D points of the previous frame seen in the current one.

    Rows whose 3D point or pixel is not finite are ignored (never given to OpenCV) and are never
    inliers. The remaining ("usable") correspondences go to `cv2.solvePnPRansac` (hypotheses
    from `config.minimal_solver`); with `config.refine` the pose is polished by
    `cv2.solvePnPRefineLM` on the inliers and the inliers are re-selected with it (errors
    <= reprojection_px, points in front of the camera). The estimate is ok when at least
    `min_inliers` inliers remain and they are at least `min_inlier_ratio` of the usable rows.
    With `points_cur` (and `min_depth_agreement` > 0), inliers with a current depth must agree
    with it (module doc; `min_inliers` counts the inliers left, `min_inlier_ratio` those
    before); when fewer than `min_depth_agreement` of at least `min_inliers` checked do, the
    rigid 3D-3D pose replaces PnP's if more rows fit it. Equal inputs give equal outputs:
    OpenCV 4.x's PnP RANSAC samples with its own fixed-seed generator (different `rng_seed`
    values gave identical poses in a test of 8 seeds), and the rigid hypotheses are drawn with
    `rng_seed`.

    Args:
        points_prev: (M, 3) points in the previous camera's optical frame (metres), NaN rows
            allowed.
        uv_cur: (M, 2) pixels (x, y) of the same points in the current image.
        K: (3, 3) intrinsics of the current image.
        config: RANSAC settings and health gates.
        rng_seed: seed of OpenCV's global RNG (`cv2.setRNGSeed`), for OpenCV builds whose
            RANSAC draws from it.
        points_cur: optional (M, 3) points of the same rows measured in the current camera's
            frame (its depth back-projected); NaN rows are not depth-checked.

    Returns:
        The MotionEstimate (T_prev_to_cur (4, 4), inliers (M,), health fields).

    Raises:
        ValueError: bad shapes or intrinsics.

    """
    points_prev = np.asarray(points_prev, dtype=np.float64)
    if points_cur is not None:
        points_cur = np.asarray(points_cur, dtype=np.float64)
        if points_cur.shape != points_prev.shape:
            raise ValueError(f'points_cur: expected the shape of points_prev '
                             f'{points_prev.shape}, got {points_cur.shape}')
        if config.min_depth_agreement <= 0:
            points_cur = None  # no depth check
    uv_cur = np.asarray(uv_cur, dtype=np.float64)
    if points_prev.ndim != 2 or points_prev.shape[1] != 3:
        raise ValueError(f'points_prev: expected shape (M, 3), got {points_prev.shape}')
    if uv_cur.ndim != 2 or uv_cur.shape[1] != 2:
        raise ValueError(f'uv_cur: expected shape (M, 2), got {uv_cur.shape}')
    if points_prev.shape[0] != uv_cur.shape[0]:
        raise ValueError(f'points_prev, uv_cur: row counts differ, {points_prev.shape[0]} != '
                         f'{uv_cur.shape[0]}')
    K = check_intrinsics(K)
    m = points_prev.shape[0]
    usable = np.isfinite(points_prev).all(axis=1) & np.isfinite(uv_cur).all(axis=1)
    idx = np.flatnonzero(usable)
    n = idx.size
    if n < config.min_inliers:
        return _failure(m, f'too few correspondences ({n} < {config.min_inliers})')
    obj = np.ascontiguousarray(points_prev[idx])
    img = np.ascontiguousarray(uv_cur[idx])

    cv2.setRNGSeed(int(rng_seed))
    try:
        found, rvec, tvec, ransac_inliers = cv2.solvePnPRansac(
            obj.reshape(-1, 1, 3), img.reshape(-1, 1, 2), K, None,
            iterationsCount=int(config.iterations),
            reprojectionError=float(config.reprojection_px), confidence=float(config.confidence),
            flags=_RANSAC_FLAGS[config.minimal_solver])
    except cv2.error as exc:  # degenerate configurations (e.g. all points identical)
        return _failure(m, f'PnP RANSAC failed ({str(exc).strip().splitlines()[-1]})')
    if not found or ransac_inliers is None or len(ransac_inliers) == 0:
        return _failure(m, 'PnP RANSAC found no pose')
    rvec = np.asarray(rvec, dtype=np.float64).reshape(3, 1)
    tvec = np.asarray(tvec, dtype=np.float64).reshape(3, 1)

    rvec, tvec, err, inl = _polish(obj, img, K, rvec, tvec, None, config)

    pixel_inliers = int(inl.sum())
    depth_checked, agreement = 0, float('nan')
    if points_cur is not None:
        cur = points_cur[idx]
        kept, depth_checked, agreement = _depth_pruned(obj, cur, rvec, tvec, inl, config)
        if depth_checked >= config.min_inliers and agreement < config.min_depth_agreement:
            # The PnP pose fits the pixels but not the depth: rigid 3D-3D hypotheses, kept
            # when more rows fit both pixels and depth under them.
            rigid = _rigid_pose(obj, img, cur, K, config, int(rng_seed))
            if rigid is not None:
                rigid_kept, rigid_checked, rigid_agreement = _depth_pruned(
                    obj, cur, rigid[0], rigid[1], rigid[3], config)
                if rigid_kept.sum() > kept.sum():
                    rvec, tvec, err, inl = rigid
                    pixel_inliers = int(inl.sum())
                    kept, depth_checked, agreement = rigid_kept, rigid_checked, rigid_agreement
        inl = kept

    inliers = np.zeros(m, dtype=bool)
    inliers[idx[inl]] = True
    num = int(inl.sum())
    rmse = float(np.sqrt(np.mean(err[inl] ** 2))) if num else float('nan')
    R, _ = cv2.Rodrigues(rvec)
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = tvec.ravel()
    if not np.all(np.isfinite(T)):
        return _failure(m, 'PnP returned a non-finite pose')
    reason = ''
    if depth_checked >= config.min_inliers and agreement < config.min_depth_agreement:
        reason = (f'inliers disagree with the depth ({agreement:.2f} of {depth_checked} agree '
                  f'< {config.min_depth_agreement:.2f})')
    elif num < config.min_inliers:
        reason = f'too few inliers ({num} < {config.min_inliers})'
    elif pixel_inliers / n < config.min_inlier_ratio:
        reason = (f'inlier ratio too low ({pixel_inliers / n:.2f} < '
                  f'{config.min_inlier_ratio:.2f}, {pixel_inliers} of {n})')
    if reason:
        return replace(_failure(m, reason, inliers, rmse), depth_checked=depth_checked,
                       depth_agreement=agreement)
    return MotionEstimate(True, T, inliers, num, '', rmse, depth_checked, agreement)
