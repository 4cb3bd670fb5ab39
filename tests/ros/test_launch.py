# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
launch/frontend.launch.py and config/frontend.yaml.

The structure is checked everywhere (``ast``, no launch needed); the launch description is run
through ``launch.LaunchService`` only where launch_ros imports and the package is installed.
"""

import ast
import importlib.util
import pathlib
import re
import threading
import xml.etree.ElementTree as ET

import pytest
import yaml

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
LAUNCH_FILE = REPO_ROOT / 'launch' / 'frontend.launch.py'
REQUIRED_ARGUMENTS = {'color_topic', 'depth_topic', 'camera_info_topic', 'params_file',
                      'backend', 'use_sim_time', 'weights', 'top_k', 'fastdds_profile',
                      'lifecycle', 'base_frame', 'base_to_camera'}


def _module_constants():
    tree = ast.parse(LAUNCH_FILE.read_text())
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return tree, constants


def _load_launch_module():
    spec = importlib.util.spec_from_file_location('lfnet_frontend_launch', LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_arguments_are_declared_with_descriptions():
    tree, constants = _module_constants()
    arguments = constants['ARGUMENTS']
    assert REQUIRED_ARGUMENTS <= set(arguments)
    for name, (default, description) in arguments.items():
        assert isinstance(default, str), name
        assert isinstance(description, str) and len(description) > 10, name
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    generate = functions['generate_launch_description']
    calls = {n.func.id for n in ast.walk(generate)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {'DeclareLaunchArgument', 'LaunchDescription', 'OpaqueFunction'} <= calls
    # every argument is used by the node setup
    setup_source = ast.get_source_segment(LAUNCH_FILE.read_text(), functions['_launch_setup'])
    overrides = _load_launch_module().OVERRIDES
    for name in set(arguments) - set(overrides):
        assert f"'{name}'" in setup_source, name
    assert {'backend', 'weights', 'top_k', 'resize_width', 'resize_height',
            'qos_reliability'} <= set(overrides) <= set(arguments)
    # the profile goes to the node's own environment, not to every later process
    assert 'additional_env' in setup_source and 'SetEnvironmentVariable' not in setup_source


def test_overrides_are_node_parameters_of_the_same_type():
    pytest.importorskip('rclpy', reason='rclpy is not importable')
    from lfnet_ros.node_parameters import PARAMETERS
    for name, cast in _load_launch_module().OVERRIDES.items():
        default = PARAMETERS[name][0]
        assert type(cast(str(default))) is type(default), name
        assert cast(str(default)) == default, name


def test_no_launch_code_runs_at_import():
    tree, _ = _module_constants()
    top_imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [alias.name for n in top_imports for alias in n.names] + \
        [n.module for n in top_imports if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n and n.split('.')[0] in ('launch', 'launch_ros',
                                                              'ament_index_python')]
    module = _load_launch_module()  # works without launch installed
    assert callable(module.generate_launch_description)


def test_package_and_executable_match_setup_and_package_xml():
    _, constants = _module_constants()
    package = ET.parse(REPO_ROOT / 'package.xml').getroot().findtext('name')
    assert constants['PACKAGE'] == package
    setup_py = (REPO_ROOT / 'setup.py').read_text()
    assert re.search(rf"'{constants['EXECUTABLE']} = lfnet_ros\.frontend_node:main'", setup_py)
    assert re.search(rf"'{constants['LIFECYCLE_EXECUTABLE']} = lfnet_ros\.lifecycle_node:main'",
                     setup_py)
    assert "'lfnet-frontend = lfnet_ros.frontend_node:main'" in setup_py
    assert "_files('launch/*.launch.py')" in setup_py and "_files('config/*')" in setup_py
    assert '/lib/' + package in (REPO_ROOT / 'setup.cfg').read_text()


def test_lifecycle_argument_starts_a_lifecycle_node_of_the_lifecycle_executable():
    tree, constants = _module_constants()
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    setup = functions['_launch_setup']
    names = {n.id for n in ast.walk(setup) if isinstance(n, ast.Name)}
    assert {'LifecycleNode', 'Node', 'LIFECYCLE_EXECUTABLE', 'EXECUTABLE'} <= names
    imported = {alias.name for n in ast.walk(setup) if isinstance(n, ast.ImportFrom)
                and n.module == 'launch_ros.actions' for alias in n.names}
    assert {'LifecycleNode', 'Node'} <= imported
    assert constants['ARGUMENTS']['lifecycle'][0] == 'false'  # a plain node by default
    assert constants['ARGUMENTS']['lifecycle_autostart'][0] == 'false'


def test_params_file_matches_the_node_parameters():
    pytest.importorskip('rclpy', reason='rclpy is not importable')
    from lfnet_ros.node_parameters import PARAMETERS
    params = yaml.safe_load((REPO_ROOT / 'config' / 'frontend.yaml').read_text())
    values = params['/**']['ros__parameters']
    assert set(values) == set(PARAMETERS)
    for name, value in values.items():
        default = PARAMETERS[name][0]
        assert type(value) is type(default) and value == default, name


def test_launch_service_runs_the_description():
    pytest.importorskip('launch_ros', reason='launch_ros is not installed (not on PyPI)')
    import launch
    from ament_index_python.packages import get_package_share_directory, \
        PackageNotFoundError
    try:
        get_package_share_directory('lfnet_ros')
    except PackageNotFoundError:
        pytest.skip('lfnet_ros is not installed in an ament index (colcon build)')
    service = launch.LaunchService()
    service.include_launch_description(
        _load_launch_module().generate_launch_description())
    # let it start the node, then shut it down: a clean exit code means the description is valid
    timer = threading.Timer(10.0, service.shutdown)
    timer.start()
    try:
        assert service.run() == 0
    finally:
        timer.cancel()
