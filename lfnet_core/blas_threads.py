# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Keep NumPy's BLAS on one thread for the small matrix work between two network runs.

A multi-threaded OpenBLAS call (NumPy's matmul in descriptor matching: 1000 x 256 x 1000)
leaves its worker threads spinning for about 2^28 cycles (~0.1 s) after it returns. On a
2-core robot computer that spin takes a core from the next frame's network: on the 640x480
dense network, ONNX Runtime measured 324 ms right after such a matmul against 268 ms with the
matmul on one thread, which itself costs 3.2 instead of 1.8 ms. The front-end therefore runs
matching and PnP inside `single_blas_thread()`.
"""

from contextlib import contextmanager
import threading
from typing import Iterator, Optional

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_controller: Optional[ThreadpoolController] = None


def _blas_controller() -> ThreadpoolController:
    """Return the controller of the BLAS libraries loaded now (found once: the scan takes ms)."""
    global _controller
    with _lock:
        if _controller is None:
            _controller = ThreadpoolController().select(user_api='blas')
        return _controller


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the body with every loaded BLAS library limited to one thread, then restore it.

    Only BLAS is limited: ONNX Runtime's and PyTorch's own thread pools are untouched.
    """
    with _blas_controller().limit(limits=1):
        yield
