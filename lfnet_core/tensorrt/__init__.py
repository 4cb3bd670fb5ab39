# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT: engine builder (`lfnet-build-engine`), engine cache and backend; optional.

Written from NVIDIA's documented TensorRT 10 Python API and NEVER EXECUTED: no machine this was
written on has a GPU or TensorRT (the README's "Running on a GPU" says what has been verified
where). The cache logic below the TensorRT calls is plain Python and tested without TensorRT.

An engine is valid for one ONNX file, one TensorRT version, one GPU model, one precision and one
input-shape profile. The cache keeps `<cache>/<key>.engine` and `<key>.json`; the JSON holds the
key's fields (plus the model's `lfnet_config`), and loading checks every field against the running
environment: a stale or foreign engine is refused with the file and the field named. Nothing here
rebuilds an engine behind the user's back: the backend only loads; building is the CLI's job (or
an explicit `builder.ensure_engines(..., build=True)`).

Modules: `environment` (TensorRT version and GPU), `shape_profile` (optimisation profiles),
`engine_cache` (records, cache, checks), `builder` (ONNX -> engine), `cli` (`lfnet-build-engine`),
`backend` (runs engines), `ops` (the ONNX operators TensorRT's parser supports). None imports
tensorrt (or torch, onnx) at import time: without TensorRT they import, and the CLI exits at once.
"""
