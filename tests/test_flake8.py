# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""flake8 over the whole repository with ament's rules (setup.cfg), like ament_flake8."""

import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    result = subprocess.run(
        [sys.executable, '-m', 'flake8', '.'],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    errors = [line for line in result.stdout.splitlines() if line.strip()]
    print('\n'.join(errors))
    print(result.stderr, file=sys.stderr)
    assert result.returncode == 0 and not errors, (
        f'flake8 found {len(errors)} code style error(s) / warning(s):\n' + '\n'.join(errors)
        + result.stderr)
