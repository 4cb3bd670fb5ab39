# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Docstring check with pydocstyle itself, like ament_pep257.

Why pydocstyle and not ``flake8 --select D``: test_flake8 already reports D codes, but only
while the flake8-docstrings plugin is installed and loaded; without it flake8 drops them
silently. Running pydocstyle directly (as ament_pep257 does) keeps this check independent of
flake8's plugin set. It uses the pep257 convention and ament's ignore list, the same rules that
setup.cfg gives flake8-docstrings.
"""

import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# ament_pep257's default ignore list (= setup.cfg's D codes).
AMENT_IGNORE = 'D100,D101,D102,D103,D104,D105,D106,D107,D203,D212,D404'
CHECKED = ('setup.py', 'lfnet_core', 'lfnet_ros', 'training', 'tests', 'launch')


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    paths = [name for name in CHECKED if (REPO_ROOT / name).exists()]
    result = subprocess.run(
        [sys.executable, '-m', 'pydocstyle', '--convention=pep257',
         f'--add-ignore={AMENT_IGNORE}', r'--match=.*\.py$',
         '--match-dir=^(?!__pycache__$)[^.].*', *paths],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    report = (result.stdout + result.stderr).strip()
    print(report)
    assert result.returncode == 0, f'pydocstyle found docstring errors:\n{report}'
