# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The front-end node's parameters, declared once: defaults, descriptions, ranges, liveness.

``config/frontend.yaml`` holds the same defaults (a test checks that they agree). The names in
`LIVE` can be changed while the node runs (``ros2 param set``); they take effect on the next
frame. The others (backend, weights, topics' QoS, frames) are read-only.
"""

from typing import Dict, Mapping, Optional, Tuple

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node

from lfnet_core.config import pool_factors
from lfnet_core.frontend import FrontendConfig
from lfnet_core.vo import RansacConfig
from lfnet_ros.camera_mount import parse_base_to_camera
from lfnet_ros.node_health import HealthConfig

# name: (default, description, (min, max) for numbers or None)
PARAMETERS = {
    'weights': ('', 'LF-Net checkpoint path; empty: the shipped weights', None),
    'onnx_dir': ('', 'folder with lfnet-export output for onnxruntime; empty: export once', None),
    'backend': ('auto', 'inference backend: auto | tensorrt | onnxruntime | torch', None),
    'engine_path': ('', 'TensorRT engines: folder with lfnet_dense.engine and '
                    'lfnet_describe.engine (lfnet-build-engine EXPORT_DIR --out FOLDER); empty: '
                    'the engine cache. Engines are only loaded, never built at start-up', None),
    'threads': (0, 'ONNX Runtime intra-op threads; 0: its default', (0, 256)),
    'descriptor_pool_scales': ('', 'describe each keypoint on patches at its scale times each '
                               'of these factors and average, e.g. "0.7071 1.4142" (one '
                               'descriptor pass each: better matches, slower); empty: the '
                               "checkpoint's own setting (one patch for the shipped weights)",
                               None),
    'resize_width': (0, 'network input width; 0 with resize_height 0: native size', (0, 8192)),
    'resize_height': (0, 'network input height; 0: native size', (0, 8192)),
    'resize_scale': (0.5, 'network input size as a fraction of the image size, used when '
                     'resize_width and resize_height are 0; 1: native size', (0.05, 4.0)),
    'pyramid_levels': (1, 'image pyramid levels 2^(-l/2) apart that keypoints are detected '
                       'on, K shared by area, twins across levels merged; 1: one level',
                       (1, 8)),
    'top_k': (250, 'maximum keypoints per frame', (1, 100000)),
    'match_max_distance': (0.0, 'max descriptor L2 distance of a match; 0: off', (0.0, 4.0)),
    'match_ratio': (0.0, 'symmetric ratio test threshold; 0: off', (0.0, 1.0)),
    'depth_scale': (0.001, 'metres per unit of 16UC1/mono16 depth (0.001: millimetres)',
                    (0.0, 100.0)),
    'depth_min': (0.1, 'smallest valid depth in metres', (0.0, 1000.0)),
    'depth_max': (10.0, 'largest valid depth in metres', (0.0, 1000.0)),
    'ransac_reprojection_px': (3.0, 'PnP RANSAC inlier threshold in pixels of the network '
                               'input (x image / resize_* size when resizing)', (0.01, 100.0)),
    'ransac_iterations': (300, 'PnP RANSAC iterations', (1, 100000)),
    'ransac_min_inliers': (15, 'fewest PnP inliers for tracking ok', (4, 100000)),
    'ransac_minimal_solver': ('ap3p', 'PnP RANSAC hypothesis solver: ap3p (4-point samples) | '
                              'epnp (5-point samples)', None),
    'ransac_depth_tolerance': (0.03, 'depth check: an inlier must land within this many '
                               'metres (or ransac_depth_tolerance_ratio x depth) of the '
                               'depth measured in the current frame', (0.0, 100.0)),
    'ransac_depth_tolerance_ratio': (0.03, 'depth check tolerance as a fraction of the '
                                     'measured depth (the larger tolerance applies)',
                                     (0.0, 10.0)),
    'ransac_min_depth_agreement': (0.5, 'fewest depth-checked inliers that must agree in '
                                   'depth for tracking ok, as a fraction; 0: no depth check',
                                   (0.0, 1.0)),
    'odom_frame': ('odom', 'frame id of the odometry: the child frame at the first frame',
                   None),
    'base_frame': ('', 'child frame id of odometry and TF (e.g. base_link), moved by the '
                   'camera pose in it (base_to_camera, else TF); empty: the colour image frame '
                   'id, no extrinsics', None),
    'base_to_camera': ('', 'pose of the colour image frame in base_frame, "x y z qx qy qz qw" '
                       '(metres); empty: from TF where tf2_ros imports, else odometry is '
                       'withheld with a warning', None),
    'publish_tf': (False, 'also publish odom_frame -> base_frame on /tf', None),
    'qos_reliability': ('best_effort', 'input QoS reliability: best_effort | reliable', None),
    'qos_depth': (5, 'input QoS history depth', (1, 1000)),
    'sync_slop': (0.02, 'max colour/depth stamp difference (s); also how long colour waits '
                  'for depth before it is processed alone', (0.0, 1.0)),
    'color_transport': ('raw', 'colour input: raw (Image on color/image_raw) | compressed '
                        '(CompressedImage on color/image_raw/compressed)', None),
    'depth_transport': ('raw', 'depth input: raw (Image on depth/image_raw) | compressedDepth '
                        '(CompressedImage on depth/image_raw/compressedDepth)', None),
    'use_depth': (True, 'subscribe to depth and estimate odometry', None),
    'max_stamp_jump': (5.0, 'largest forward stamp step (s) accepted without confirmation by '
                       'the next frame (see the module doc); 0: off', (0.0, 1e6)),
    'max_image_pixels': (3840 * 2160, 'larger network inputs (native size, or resize_*) are '
                         'dropped as too_large', (1, 1 << 30)),
    'diagnostics_window': (5.0, 'seconds of history behind the /diagnostics level', (0.5, 600.0)),
    'diagnostics_stale_s': (3.0, 'STALE after this many seconds without a colour image',
                            (0.1, 600.0)),
    'diagnostics_drop_warn': (0.2, 'WARN when more than this fraction of colour frames is '
                              'dropped over the window (superseded frames not counted)',
                              (0.0, 1.0)),
}

# Parameters of any type, checked when read: a number or list where text is meant still works.
DYNAMIC_TYPING = frozenset({'descriptor_pool_scales'})

LIVE = frozenset({
    'top_k', 'resize_width', 'resize_height', 'resize_scale', 'pyramid_levels',
    'match_max_distance', 'match_ratio', 'depth_scale', 'depth_min', 'depth_max',
    'ransac_reprojection_px', 'ransac_iterations', 'ransac_min_inliers', 'ransac_minimal_solver',
    'ransac_depth_tolerance', 'ransac_depth_tolerance_ratio', 'ransac_min_depth_agreement',
    'max_image_pixels', 'diagnostics_window', 'diagnostics_stale_s', 'diagnostics_drop_warn',
})


def frontend_config(params: Mapping[str, object]) -> FrontendConfig:
    """Return the front-end settings the node's parameters describe (ValueError if invalid)."""
    resize = (int(params['resize_width']), int(params['resize_height']))
    if any(resize) and not all(resize):
        raise ValueError(f'resize_width and resize_height: set both or neither, got '
                         f'{resize[0]} x {resize[1]}')
    scale = float(params['resize_scale'])
    return FrontendConfig(
        top_k=int(params['top_k']), resize=resize if all(resize) else None,
        resize_scale=scale if scale != 1.0 else None,
        pyramid_levels=int(params['pyramid_levels']),
        match_max_distance=float(params['match_max_distance']) or None,
        match_ratio=float(params['match_ratio']) or None, depth_min=float(params['depth_min']),
        depth_max=float(params['depth_max']), ransac=ransac_config(params))


def network_size_text(config: FrontendConfig) -> str:
    """Return the network input size of `config` in words, for the start-up log."""
    if config.resize is not None:
        return f'{config.resize[0]}x{config.resize[1]}'
    if config.resize_scale is not None:
        return f'{config.resize_scale:g} x the image size'
    return 'the image size'


def pool_scales(params: Mapping[str, object]) -> Optional[Tuple[float, ...]]:
    """Return the factors of `descriptor_pool_scales`, or None when it is empty.

    The parameter takes any type (`DYNAMIC_TYPING`): text such as "0.7071 1.4142" or
    "0.7071, 1.4142", a number (a params file's unquoted 1.5) or a list of numbers.

    Raises:
        ValueError: other values, or factors `DescriptorConfig.pool_scales` refuses.

    """
    value = params['descriptor_pool_scales']
    if isinstance(value, str):
        value = value.replace(',', ' ').split()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, (list, tuple)) and not value:
        return None
    try:
        return pool_factors(value)
    except ValueError as exc:
        raise ValueError(f'descriptor_pool_scales: need factors such as "0.7071 1.4142" '
                         f"({exc}), got {params['descriptor_pool_scales']!r}") from exc


def health_config(params: Mapping[str, object]) -> HealthConfig:
    """Return the diagnostics thresholds held by the node's `diagnostics_*` parameters."""
    return HealthConfig(window=float(params['diagnostics_window']),
                        stale_after=float(params['diagnostics_stale_s']),
                        drop_warn=float(params['diagnostics_drop_warn']))


def check_parameters(params: Mapping[str, object]) -> None:
    """Raise ValueError naming the problem if the parameter set is not usable."""
    if params['qos_reliability'] not in ('best_effort', 'reliable'):
        raise ValueError('qos_reliability must be best_effort or reliable, got '
                         f"{params['qos_reliability']!r}")
    if params['color_transport'] not in ('raw', 'compressed'):
        raise ValueError('color_transport must be raw or compressed, got '
                         f"{params['color_transport']!r}")
    if params['depth_transport'] not in ('raw', 'compressedDepth'):
        raise ValueError('depth_transport must be raw or compressedDepth, got '
                         f"{params['depth_transport']!r}")
    if params['base_to_camera'] and not params['base_frame']:
        raise ValueError('base_to_camera is set but base_frame is empty: name the frame the '
                         'camera pose is given in')
    parse_base_to_camera(str(params['base_to_camera']))
    pool_scales(params)
    frontend_config(params)
    health_config(params)


def ransac_config(params: Mapping[str, object]) -> RansacConfig:
    """Return the PnP RANSAC settings held by the node's `ransac_*` parameters."""
    return RansacConfig(reprojection_px=float(params['ransac_reprojection_px']),
                        iterations=int(params['ransac_iterations']),
                        min_inliers=int(params['ransac_min_inliers']),
                        minimal_solver=str(params['ransac_minimal_solver']),
                        depth_tolerance_m=float(params['ransac_depth_tolerance']),
                        depth_tolerance_ratio=float(params['ransac_depth_tolerance_ratio']),
                        min_depth_agreement=float(params['ransac_min_depth_agreement']))


def parameter_descriptor(name: str, description: str,
                         bounds: Optional[tuple]) -> ParameterDescriptor:
    """Return the descriptor of a parameter: its range for numbers, read-only unless `LIVE`."""
    live = name in LIVE
    descriptor = ParameterDescriptor(
        name=name, description=description + ('' if live else ' (read-only)'),
        read_only=not live, dynamic_typing=name in DYNAMIC_TYPING)
    if bounds is not None and isinstance(bounds[0], int):
        descriptor.integer_range = [IntegerRange(from_value=bounds[0], to_value=bounds[1])]
    elif bounds is not None:
        descriptor.floating_point_range = [FloatingPointRange(from_value=bounds[0],
                                                              to_value=bounds[1])]
    return descriptor


def declare_parameters(node: Node) -> Dict[str, object]:
    """Declare every parameter of `PARAMETERS` on `node`; return their values (not checked)."""
    for name, (default, description, bounds) in PARAMETERS.items():
        node.declare_parameter(name, default, parameter_descriptor(name, description, bounds))
    return {name: node.get_parameter(name).value for name in PARAMETERS}
