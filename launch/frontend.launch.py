# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Launch the LF-Net front-end node with config/frontend.yaml from the package share.

Requirements: a ROS 2 install with this package built (``colcon build``), launch and launch_ros.
Example::

    ros2 launch lfnet_ros frontend.launch.py color_topic:=/camera/color/image_raw
        depth_topic:=/camera/aligned_depth_to_color/image_raw
        camera_info_topic:=/camera/color/camera_info backend:=onnxruntime

(one command line).

``lifecycle:=true`` starts the managed node (``frontend_lifecycle``, a launch_ros
LifecycleNode): it waits unconfigured for ``configure`` and ``activate`` (``ros2 lifecycle set``,
a lifecycle manager, or ``lifecycle_autostart:=true``).

The arguments in ``OVERRIDES`` (backend, weights, top_k, the network size, pyramid levels,
descriptor pooling, QoS reliability, TF, the base frame and the camera's pose in it) override
the parameters file only when given (empty default = keep the file's value). The node's
process alone gets ``FASTDDS_DEFAULT_PROFILES_FILE``: set to ``fastdds_profile`` when given,
else to the shipped big-SHM config/fastdds_shm.xml unless the environment already sets it
(best-effort images larger than the default SHM segment are lost without it); other processes
of a parent launch file are not affected.

Nothing from launch is imported at module level: only generate_launch_description() does.
"""

import os

PACKAGE = 'lfnet_ros'
EXECUTABLE = 'frontend'
LIFECYCLE_EXECUTABLE = 'frontend_lifecycle'

# name: (default, description); '{share}' is replaced with the package share directory
ARGUMENTS = {
    'color_topic': ('/camera/color/image_raw',
                    'colour image topic (rgb8, bgr8, rgba8, bgra8, mono8, mono16), remapped to '
                    'color/image_raw'),
    'depth_topic': ('/camera/aligned_depth_to_color/image_raw',
                    'depth image topic registered to colour (16UC1, mono16 or 32FC1), remapped to '
                    'depth/image_raw'),
    'camera_info_topic': ('/camera/color/camera_info',
                          'colour camera info topic, remapped to color/camera_info'),
    'params_file': ('{share}/config/frontend.yaml',
                    'node parameters file (default: the shipped config/frontend.yaml)'),
    'backend': ('', "inference backend override: auto, tensorrt, onnxruntime or torch; '' = "
                    'the parameters file'),
    'weights': ('', "LF-Net weights override (path); '' = the parameters file"),
    'top_k': ('', "keypoints per frame override; '' = the parameters file"),
    'resize_width': ('', 'network input width override (with resize_height; 0 = use '
                         "resize_scale); '' = the parameters file"),
    'resize_height': ('', "network input height override; '' = the parameters file"),
    'resize_scale': ('', "network input size as a fraction of the image (1 = native); '' = "
                         'the parameters file'),
    'pyramid_levels': ('', "image pyramid levels override; '' = the parameters file"),
    'descriptor_pool_scales': ('', "descriptor pooling factors override, e.g. '0.7071 1.4142' "
                                   "(one descriptor pass each); '' = the parameters file"),
    'qos_reliability': ('', 'input QoS override: best_effort or reliable (use reliable when the '
                            "camera driver lacks the SHM profile); '' = the parameters file"),
    'publish_tf': ('', "publish odom_frame -> base_frame on /tf: true or false; '' = the "
                       'parameters file'),
    'base_frame': ('', "odometry child frame override, e.g. base_link; '' = the parameters "
                       'file'),
    'base_to_camera': ('', "camera pose in base_frame override, 'x y z qx qy qz qw'; '' = the "
                           'parameters file (empty there: from TF)'),
    'lifecycle': ('false', 'true: start the managed (lifecycle) node, which waits for configure '
                           'and activate'),
    'lifecycle_autostart': ('false', 'with lifecycle: configure and activate it at once '
                                     '(launch_ros autostart, Jazzy or newer)'),
    'use_sim_time': ('false', 'use /clock (true when playing a bag with --clock)'),
    'namespace': ('', 'node namespace (prefixes the node-relative topics)'),
    'node_name': ('lfnet_frontend', 'name of the node (its parameters file key is /**)'),
    'log_level': ('info', 'node log level: debug, info, warn, error or fatal'),
    'fastdds_profile': ('', "Fast DDS XML profile for the node; '' = keep the environment's "
                            'FASTDDS_DEFAULT_PROFILES_FILE, or the shipped '
                            'config/fastdds_shm.xml when that is unset'),
}
OVERRIDES = {'backend': str, 'weights': str, 'top_k': int, 'resize_width': int,
             'resize_height': int, 'resize_scale': float, 'pyramid_levels': int,
             'descriptor_pool_scales': str,
             'qos_reliability': str, 'publish_tf': lambda text: text.lower() in ('true', '1'),
             'base_frame': str, 'base_to_camera': str}


def _launch_setup(context, share):
    """Build the actions once the launch arguments are known (an OpaqueFunction)."""
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import LifecycleNode, Node

    def arg(name):
        return LaunchConfiguration(name).perform(context)

    def flag(name):
        return arg(name).lower() in ('true', '1', 'yes')

    profile = arg('fastdds_profile')
    environment = getattr(context, 'environment', os.environ)
    if not profile and not environment.get('FASTDDS_DEFAULT_PROFILES_FILE'):
        profile = os.path.join(share, 'config', 'fastdds_shm.xml')
    node_environment = {'FASTDDS_DEFAULT_PROFILES_FILE': profile} if profile else None
    overrides = {'use_sim_time': flag('use_sim_time')}
    for name, cast in OVERRIDES.items():
        if arg(name):
            overrides[name] = cast(arg(name))
    node, executable, extra = Node, EXECUTABLE, {}
    if flag('lifecycle'):
        node, executable = LifecycleNode, LIFECYCLE_EXECUTABLE
        if flag('lifecycle_autostart'):  # the keyword exists from Jazzy on
            extra['autostart'] = True
    return [node(
        package=PACKAGE, executable=executable, name=arg('node_name'),
        namespace=arg('namespace'), output='screen',
        parameters=[arg('params_file'), overrides],
        remappings=[('color/image_raw', arg('color_topic')),
                    ('color/image_raw/compressed', arg('color_topic') + '/compressed'),
                    ('depth/image_raw', arg('depth_topic')),
                    ('depth/image_raw/compressedDepth', arg('depth_topic') + '/compressedDepth'),
                    ('color/camera_info', arg('camera_info_topic'))],
        arguments=['--ros-args', '--log-level', arg('log_level')],
        additional_env=node_environment, **extra)]


def generate_launch_description():
    """Return the launch description: the arguments, then the node (built at launch time)."""
    from ament_index_python.packages import get_package_share_directory
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    share = get_package_share_directory(PACKAGE)
    declared = [DeclareLaunchArgument(name, default_value=default.replace('{share}', share),
                                      description=description)
                for name, (default, description) in ARGUMENTS.items()]
    return LaunchDescription(declared + [OpaqueFunction(function=_launch_setup,
                                                        args=[share])])
