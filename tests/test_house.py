# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Facts of the code base a newcomer relies on: small modules, a short README, no work log."""

import pathlib
import re

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ('lfnet_core', 'lfnet_ros', 'training', 'launch')
MAX_MODULE_LINES = 400
MAX_README_WORDS = 2000
# A dated work log reads like "session 4", "runs/s7_x" or "out/s4/..."
WORK_LOG = re.compile(r'\bsession[ -]\d|\bruns/s\d|\bout/s\d', re.IGNORECASE)


def project_files(suffixes):
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob('*')):
            if path.suffix in suffixes and 'runs' not in path.relative_to(REPO_ROOT).parts[1:2]:
                yield path


@pytest.mark.parametrize('path', list(project_files({'.py'})),
                         ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_module_is_over_400_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f'{path.relative_to(REPO_ROOT)}: {lines} lines'


def test_readme_is_a_manual_of_at_most_2000_words():
    words = len((REPO_ROOT / 'README.md').read_text().split())
    assert words <= MAX_README_WORDS, f'README.md: {words} words'


def test_no_file_reads_as_a_work_log():
    texts = [REPO_ROOT / 'README.md', *sorted((REPO_ROOT / 'docs').glob('*.md')),
             *project_files({'.py', '.yaml', '.md'})]
    hits = [f'{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}'
            for path in texts
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if WORK_LOG.search(line)]
    assert not hits, '\n'.join(hits)


def test_no_file_cites_the_shared_folder_as_a_path_the_user_has():
    texts = [REPO_ROOT / 'README.md', *sorted((REPO_ROOT / 'docs').glob('*.md'))]
    hits = [f'{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}'
            for path in texts
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if '../shared' in line]
    assert not hits, '\n'.join(hits)
