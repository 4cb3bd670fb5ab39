# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The front-end node's model loading: the backend its parameters name, logged and timed."""

import time
from typing import Mapping, Optional, Tuple

from lfnet_core.frontend import Frontend, FrontendConfig
from lfnet_core.inference import create_backend, default_cache_dir
from lfnet_ros.node_diagnostics import hardware_id
from lfnet_ros.node_health import HealthMonitor
from lfnet_ros.node_parameters import network_size_text, pool_scales


def load_frontend(params: Mapping[str, object], config: FrontendConfig, logger: object,
                  health: HealthMonitor) -> Optional[Tuple[Frontend, str]]:
    """
    Return (front-end, hardware id) for the node's parameters, or None when loading failed.

    Progress goes to `logger` at INFO (cache folder, time taken); a failure is logged as an
    error and recorded in `health` (``failed``: diagnostics ERROR). On success the caller sets
    the state (``running`` for the plain node, ``inactive`` for the managed one).
    """
    logger.info(
        f"loading LF-Net ({params['weights'] or 'shipped weights'}, backend "
        f"{params['backend']}, cache {default_cache_dir()}); without onnx_dir the first start "
        'exports the model to ONNX there (about a minute on a CPU); lfnet-export at deploy '
        'time makes start-up instant')
    started = time.monotonic()
    try:
        backend = create_backend(params['backend'], weights=params['weights'] or None,
                                 onnx_dir=params['onnx_dir'] or None,
                                 threads=params['threads'] or None,
                                 engine_path=params['engine_path'] or None,
                                 pool_scales=pool_scales(params))
    except Exception as exc:  # noqa: B902 - any load failure is reported, not raised
        detail = f'{type(exc).__name__}: {exc}'
        health.failed(detail)
        logger.error(f'cannot load the model, processing nothing: {detail}')
        return None
    device = hardware_id(backend)
    pooling = ' '.join(f'{factor:g}' for factor in backend.config.descriptor.pool_scales)
    logger.info(
        f'backend {backend.name} on {device} ready in {time.monotonic() - started:.1f} s; '
        f'top_k {config.top_k}, network input {network_size_text(config)}, pyramid levels '
        f'{config.pyramid_levels}, descriptor pool scales {pooling}')
    return Frontend(backend, config), device
