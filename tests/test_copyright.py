# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Every Python file starts with the project's copyright and SPDX lines (like ament_copyright)."""

import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
HEADER = [
    '# Copyright 2026 The lfnet_ros Authors',
    '# SPDX-License-Identifier: Apache-2.0',
]
PACKAGE_DIRS = ('lfnet_core', 'lfnet_ros', 'training', 'tests', 'launch')


def _python_files():
    files = [REPO_ROOT / 'setup.py']
    for name in PACKAGE_DIRS:
        files.extend(
            path for path in (REPO_ROOT / name).rglob('*.py')
            if '__pycache__' not in path.parts)
    return sorted(files)


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright():
    bad = []
    for path in _python_files():
        with path.open(encoding='utf-8') as f:
            head = [f.readline().rstrip('\r\n') for _ in HEADER]
        if head != HEADER:
            bad.append(str(path.relative_to(REPO_ROOT)))
    assert not bad, (
        'these files do not start with the two header lines\n  ' + '\n  '.join(HEADER)
        + '\n:\n' + '\n'.join(bad))
