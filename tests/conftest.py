# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Shared pytest options and fixtures: --runslow, shared data paths and a private ROS env."""

import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
FASTDDS_PROFILE = REPO_ROOT / 'config' / 'fastdds_shm.xml'


def pytest_addoption(parser):
    parser.addoption(
        '--runslow', action='store_true', default=False,
        help='also run tests marked slow')


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: long-running test, skipped unless --runslow')
    for name in ('linter', 'flake8', 'pep257', 'copyright', 'xmllint'):
        config.addinivalue_line('markers', f'{name}: ament-style lint test')


def pytest_collection_modifyitems(config, items):
    if config.getoption('--runslow'):
        return
    skip_slow = pytest.mark.skip(reason='slow test: pass --runslow to run it')
    for item in items:
        if 'slow' in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope='session')
def repo_root():
    """Return the repository root (the ament package root)."""
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_data():
    """Return the shared data folder: ``$LFNET_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get('LFNET_SHARED_DATA')
    if env:
        return pathlib.Path(env).expanduser().resolve()
    return (REPO_ROOT.parent / 'shared' / 'data').resolve()


@pytest.fixture(scope='session')
def require_shared(shared_data):
    """
    Return ``require(name) -> Path`` for a folder under the shared data folder.

    ``require`` skips the calling test with a clear message when the folder is absent, e.g.
    ``pair = require_shared('tum_fr2_desk_pair')``.
    """
    def require(name):
        path = shared_data / name
        if not path.is_dir():
            pytest.skip(
                f'shared data folder {path} is absent (set LFNET_SHARED_DATA or put '
                f'the shared/ folder beside the repository)')
        return path
    return require


def _domain_id_for(pid):
    """Map a process id to a ROS domain id in 1..100 so parallel test runs stay apart."""
    return pid % 100 + 1


@pytest.fixture(scope='session')
def ros_env():
    """
    Set a private ROS 2 environment for this test session and return it as a dict.

    The variables go into ``os.environ`` (so rclpy in this process and every child process
    see them) and are restored afterwards: a pid-derived ``ROS_DOMAIN_ID``, discovery limited
    to this host, and the big-SHM Fast DDS profile (best-effort 640x480 images need it).
    """
    env = {
        'ROS_DOMAIN_ID': str(_domain_id_for(os.getpid())),
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
        'FASTDDS_DEFAULT_PROFILES_FILE': str(FASTDDS_PROFILE),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        yield dict(env)
