# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The ROS environment of the package's tools: package files and the Fast DDS profile.

Fast DDS's default shared-memory segment is too small for 640x480 images, so best-effort
subscribers lose most frames unless both sides load the package's profile
(``config/fastdds_shm.xml``, larger segment). Every tool process that talks to the node loads
it (`use_shm_profile`) unless the user has set ``FASTDDS_DEFAULT_PROFILES_FILE`` already; a
camera driver's process needs the same profile, or reliable QoS.

The tools that start the node in a process of their own (``lfnet-demo``, ``lfnet-eval``,
``lfnet-bench``, ``lfnet-soak``) also keep discovery on this host and pick a private domain
(`ros_environment`), set for the duration of the run with `temporary_environ`.
"""

import contextlib
import os
from pathlib import Path
import sys
from typing import Dict, Iterator, Mapping, MutableMapping, Optional

PACKAGE = 'lfnet_ros'
PROFILE_VARIABLE = 'FASTDDS_DEFAULT_PROFILES_FILE'


ROS_VARIABLES = ('ROS_DOMAIN_ID', 'ROS_AUTOMATIC_DISCOVERY_RANGE', 'FASTDDS_DEFAULT_PROFILES_FILE')


def ros_variables(environ: Mapping[str, str] = os.environ) -> Dict[str, Optional[str]]:
    """Return the ROS variables a run report records (None where unset)."""
    return {name: environ.get(name) for name in ROS_VARIABLES}


def find_package_file(relative: str) -> Path:
    """
    Return a file of the package share (e.g. ``config/fastdds_shm.xml``).

    Looked up, in order: the ament index (a colcon install), the source tree next to this
    module (a checkout or editable install), ``<sys.prefix>/share/lfnet_ros`` (pip install).

    Raises:
        FileNotFoundError: in none of them.

    """
    candidates = []
    try:
        from ament_index_python.packages import get_package_share_directory
        candidates.append(Path(get_package_share_directory(PACKAGE)) / relative)
    except Exception:  # noqa: B902 - not installed, no AMENT_PREFIX_PATH, package not indexed
        pass
    candidates.append(Path(__file__).resolve().parent.parent / relative)
    candidates.append(Path(sys.prefix) / 'share' / PACKAGE / relative)
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f'{relative} not found in {[str(p) for p in candidates]}')


def use_shm_profile(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Point ``FASTDDS_DEFAULT_PROFILES_FILE`` at the package's profile unless it is set.

    Call before ``rclpy.init`` (Fast DDS reads the variable when the first participant is
    created). Only for Fast DDS (``RMW_IMPLEMENTATION`` unset or ``rmw_fastrtps_cpp``).

    Returns:
        whether the variable was set here.

    """
    if environ.get(PROFILE_VARIABLE):
        return False
    if environ.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp') != 'rmw_fastrtps_cpp':
        return False
    environ[PROFILE_VARIABLE] = str(find_package_file('config/fastdds_shm.xml'))
    return True


def ros_environment(environ: Mapping[str, str], pid: int) -> Dict[str, str]:
    """Return the ROS variables to set: only those missing from ``environ`` (see the doc)."""
    wanted = {}
    if not environ.get('FASTDDS_DEFAULT_PROFILES_FILE'):
        wanted['FASTDDS_DEFAULT_PROFILES_FILE'] = str(find_package_file('config/fastdds_shm.xml'))
    if not environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE'):
        wanted['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    if not environ.get('ROS_DOMAIN_ID'):
        wanted['ROS_DOMAIN_ID'] = str(101 + pid % 100)
    return wanted


@contextlib.contextmanager
def temporary_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, then restore the old ones."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
