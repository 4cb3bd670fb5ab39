# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""A wheel built from the project ships the code plus what colcon/ament expect in share/."""

import ast
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# Build outputs and caches that must not be copied into the throw-away build tree.
_IGNORE = shutil.ignore_patterns(
    '.venv', '.git', 'build', 'install', 'log', 'out', 'runs', '__pycache__', '*.egg-info',
    '.pytest_cache', '.hypothesis', '*.onnx', '*.onnx.data')


# Deliberately not marked slow: it takes ~2 s and guards what colcon/ament install.
def test_wheel_contents(tmp_path):
    # Build from a copy so that build/ and *.egg-info never land in the working tree.
    src = tmp_path / 'src'
    shutil.copytree(REPO_ROOT, src, ignore=_IGNORE)
    dist = tmp_path / 'dist'
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '.', '--no-deps', '--no-build-isolation',
         '--no-cache-dir', '-q', '-w', str(dist)],
        cwd=src, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    wheels = list(dist.glob('lfnet_ros-*.whl'))
    assert len(wheels) == 1, wheels

    with zipfile.ZipFile(wheels[0]) as whl:
        names = set(whl.namelist())
        data = next(n.split('/')[0] for n in names if n.split('/')[0].endswith('.data'))
        entry_points = next(
            whl.read(n).decode() for n in names if n.endswith('.dist-info/entry_points.txt'))

    assert 'lfnet_core/__init__.py' in names
    # training/ installs as lfnet_training: no top-level `training` package in site-packages
    assert 'lfnet_training/train.py' in names and 'lfnet_training/datasets/tum.py' in names
    assert not any(n.startswith('training/') for n in names)
    assert not any(n.startswith('tests/') for n in names)
    share = f'{data}/data/share'
    for expected in (
            f'{share}/ament_index/resource_index/packages/lfnet_ros',
            f'{share}/lfnet_ros/package.xml',
            f'{share}/lfnet_ros/config/fastdds_shm.xml'):
        assert expected in names, f'{expected} missing from {sorted(names)}'
    for weights in (REPO_ROOT / 'lfnet_core' / 'weights').glob('*.pt'):
        assert f'lfnet_core/weights/{weights.name}' in names
    for script in ('lfnet-extract', 'lfnet-export', 'lfnet-demo', 'lfnet-scenes'):
        assert f'{script} = ' in entry_points


def test_console_scripts_name_existing_functions():
    """Every console_scripts target in setup.py is a module-level function of a project module."""
    setup_py = (REPO_ROOT / 'setup.py').read_text()
    scripts = re.findall(r"'([\w-]+) = ([\w.]+):(\w+)'", setup_py)
    assert len(scripts) >= 10, scripts
    folders = ast.literal_eval(re.search(r'package_dir=(\{[^}]*\})', setup_py).group(1))
    for script, module, function in scripts:
        top, _, rest = module.partition('.')
        path = REPO_ROOT.joinpath(folders.get(top, top), *rest.split('.'))
        source = path.with_suffix('.py') if path.with_suffix('.py').is_file() \
            else path / '__init__.py'
        assert source.is_file(), f'{script}: no module {module}'
        tree = ast.parse(source.read_text(), str(source))
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert function in defined, f'{script}: {module} defines no {function}()'
