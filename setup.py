# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ament_python build script for lfnet_ros (colcon and plain pip both use it)."""

from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'lfnet_ros'
# The training code lives in training/ but installs as lfnet_training (no top-level `training`).
training_packages = ['lfnet_training' + name[len('training'):]
                     for name in find_packages(include=['training', 'training.*'])]


def _files(pattern):
    """Return the regular files that match ``pattern``, sorted (directories are left out)."""
    return sorted(path for path in glob(pattern) if os.path.isfile(path))


setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['tests', 'tests.*', 'training', 'training.*'])
    + training_packages,
    package_dir={'lfnet_training': 'training'},
    package_data={'lfnet_core': ['weights/*.pt']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', _files('launch/*.launch.py')),
        ('share/' + package_name + '/config', _files('config/*')),
    ],
    python_requires='>=3.10',
    install_requires=[
        'setuptools',
        'numpy',
        'opencv-python-headless',
        'onnxruntime',
        'pyyaml',
        'tqdm',
        'threadpoolctl',
    ],
    extras_require={
        # torch must stay pinned: unpinned, pip resolves a multi-GB CUDA build.
        'torch': ['torch==2.13.0', 'onnx', 'onnxscript'],
        'ros': [
            'ros-rclpy',
            'ros-rmw-fastrtps-cpp',
            'ros-std-msgs',
            'ros-sensor-msgs',
            'ros-geometry-msgs',
            'ros-nav-msgs',
            'ros-diagnostic-msgs',
        ],
        'train': ['omegaconf', 'tensorboard', 'matplotlib', 'scikit-image'],
        'eval': ['evo', 'rosbags', 'matplotlib'],
    },
    zip_safe=False,
    maintainer='The lfnet_ros Authors',
    maintainer_email='maintainers@lfnet-ros.invalid',
    description='LF-Net learned local features as a ROS 2 visual-odometry front-end.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'lfnet-extract = lfnet_core.cli.extract:main',
            'lfnet-export = lfnet_core.export:main',
            'lfnet-build-engine = lfnet_core.tensorrt.cli:main',
            'lfnet-demo = lfnet_ros.node_demo:main',
            'lfnet-bag-from-tum = lfnet_ros.bag_from_tum:main',
            'lfnet-bag-play = lfnet_ros.bag_play:main',
            'lfnet-eval = lfnet_ros.bag_eval:main',
            'lfnet-soak = lfnet_ros.soak:main',
            'lfnet-bench = lfnet_ros.node_bench:main',
            'lfnet-pair-demo = lfnet_core.cli.demo:main',
            'lfnet-scenes = lfnet_core.scenes:main',
            'lfnet-match-eval = lfnet_core.evaluation.cli:main',
            'lfnet-train = lfnet_training.train:main',
            'lfnet-validate = lfnet_training.validate:main',
            'frontend = lfnet_ros.frontend_node:main',
            'lfnet-frontend = lfnet_ros.frontend_node:main',
            'frontend_lifecycle = lfnet_ros.lifecycle_node:main',
            'lfnet-frontend-lifecycle = lfnet_ros.lifecycle_node:main',
        ],
    },
)
