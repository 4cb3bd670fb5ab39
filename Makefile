# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# make venv   create .venv from requirements.txt and install this package editable (no deps)
# make test   run the test suite (ROS traffic kept on this host, big-SHM Fast DDS profile)
# make demo   run the end-to-end demo into out/demo
# make lint   flake8 over the repo (ament rules from setup.cfg)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
PYTEST_ARGS ?= -ra

ROS_TEST_ENV := ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST \
	FASTDDS_DEFAULT_PROFILES_FILE=$(CURDIR)/config/fastdds_shm.xml \
	RMW_IMPLEMENTATION=rmw_fastrtps_cpp

.PHONY: venv test demo eval lint clean distclean

venv: $(STAMP)

$(STAMP): requirements.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install -e . --no-deps
	touch $@

test: venv
	$(ROS_TEST_ENV) $(BIN)/python -m pytest tests $(PYTEST_ARGS)

demo: venv
	$(BIN)/lfnet-demo --out out/demo

# make eval DATA=<TUM folder>: convert it to out/eval/bag (a previous bag is deleted first),
# then score it through the node with the ORB comparison into out/eval
eval: venv
	@test -n "$(DATA)" || { echo 'usage: make eval DATA=<TUM RGB-D folder>' >&2; exit 2; }
	rm -rf out/eval/bag
	$(BIN)/lfnet-bag-from-tum $(DATA) out/eval/bag
	$(BIN)/lfnet-eval out/eval/bag --compare orb --out out/eval

lint: venv
	$(BIN)/python -m flake8 .

# Build, test and run outputs; keeps .venv (see distclean).
clean:
	rm -rf build install log out *.egg-info .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
