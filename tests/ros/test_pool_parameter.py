# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The node's descriptor_pool_scales parameter: parsing, checking, loading, tools (no DDS)."""

import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy is not importable (ROS 2 not installed)')

from rclpy.parameter import Parameter  # noqa: E402

from lfnet_core.frontend import FrontendConfig  # noqa: E402
from lfnet_ros.frontend_loading import load_frontend  # noqa: E402
from lfnet_ros.node_health import HealthMonitor  # noqa: E402
from lfnet_ros.node_parameters import check_parameters, declare_parameters, \
    PARAMETERS, pool_scales  # noqa: E402
from lfnet_ros.node_process import node_command, node_parameters, NodeLaunch  # noqa: E402

POOL = (0.7071, 1.4142)


def defaults(**changes) -> dict:
    params = {name: default for name, (default, _, _) in PARAMETERS.items()}
    params.update(changes)
    return params


class Lines:
    """A logger that keeps what the node would log (`info`, `error`)."""

    def __init__(self) -> None:
        self.lines = []

    def info(self, text: str) -> None:
        self.lines.append(('info', text))

    def error(self, text: str) -> None:
        self.lines.append(('error', text))


@pytest.mark.parametrize('value, expected', [('', None), ('  ', None), ([], None),
                                             ('1.5', (1.5,)), (1.5, (1.5,)), (2, (2.0,)),
                                             ('0.7071 1.4142', POOL), ('0.7071, 1.4142', POOL),
                                             ([0.7071, 1.4142], POOL)])
def test_pool_scales_are_read_from_text_numbers_and_lists(value, expected):
    assert pool_scales(defaults(descriptor_pool_scales=value)) == expected


@pytest.mark.parametrize('value', ['a b', '0', '-1 1', 'inf', '1 1 1 1 1 1 1 1 1', True,
                                   ['a'], [0.0]])
def test_bad_pool_scales_are_refused_before_anything_loads(value):
    with pytest.raises(ValueError, match='descriptor_pool_scales'):
        check_parameters(defaults(descriptor_pool_scales=value))


@pytest.mark.parametrize('value, expected', [(1.5, (1.5,)), ([0.7071, 1.4142], POOL),
                                             ('0.7071 1.4142', POOL), ('', None)])
def test_a_params_file_may_give_a_number_or_a_list(ros_env, value, expected):
    # rclpy refuses a double for a string parameter unless it is dynamically typed.
    context = rclpy.Context()
    rclpy.init(args=[], context=context)
    try:
        node = rclpy.create_node('pool_parameter_test', context=context, parameter_overrides=[
            Parameter('descriptor_pool_scales', value=value)])
        try:
            assert pool_scales(declare_parameters(node)) == expected
        finally:
            node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def test_the_node_loads_the_backend_with_the_pooling_and_logs_it():
    logger, health = Lines(), HealthMonitor()
    params = defaults(backend='torch', descriptor_pool_scales='0.7071 1.4142')
    frontend, _ = load_frontend(params, FrontendConfig(), logger, health)
    assert frontend.backend.config.descriptor.pool_scales == (0.7071, 1.4142)
    assert any('descriptor pool scales 0.7071 1.4142' in text for _, text in logger.lines)
    plain, _ = load_frontend(defaults(backend='torch'), FrontendConfig(), Lines(), health)
    assert plain.backend.config.descriptor.pool_scales == (1.0,)


def test_tools_pass_the_pooling_as_a_string_parameter():
    launch = NodeLaunch(pool_scales=(1.5,))
    command = node_command(launch)
    overrides = [command[i + 1] for i, arg in enumerate(command) if arg == '-p']
    assert "descriptor_pool_scales:='1.5'" in overrides  # quoted: a string, not a double
    assert node_parameters(launch)['descriptor_pool_scales'] == '1.5'
    two = node_command(NodeLaunch(pool_scales=(0.7071, 1.4142)))
    assert 'descriptor_pool_scales:=0.7071 1.4142' in two
