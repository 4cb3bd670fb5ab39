# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""package.xml and config/*.xml are well formed; setup.py agrees with package.xml."""

import ast
import pathlib
import xml.etree.ElementTree as ET

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def _xml_files():
    return [REPO_ROOT / 'package.xml', *sorted((REPO_ROOT / 'config').glob('*.xml'))]


def _setup_keywords():
    """Return the literal keyword arguments of the ``setup()`` call in setup.py."""
    tree = ast.parse((REPO_ROOT / 'setup.py').read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'setup':
            keywords = {}
            for kw in node.keywords:
                try:
                    keywords[kw.arg] = ast.literal_eval(kw.value)
                except ValueError:
                    pass  # computed values (packages, data_files) are not needed here
            return keywords
    raise AssertionError('no setup() call in setup.py')


@pytest.mark.linter
@pytest.mark.xmllint
@pytest.mark.parametrize('path', _xml_files(), ids=lambda p: p.name)
def test_xml_well_formed(path):
    ET.parse(path)


@pytest.mark.linter
@pytest.mark.xmllint
def test_package_xml():
    root = ET.parse(REPO_ROOT / 'package.xml').getroot()
    assert root.tag == 'package'
    assert root.get('format') == '3'
    assert root.findtext('name') == 'lfnet_ros'
    assert root.findtext('export/build_type') == 'ament_python'
    assert root.findtext('version') == _setup_keywords()['version']


def _module_file(module):
    top, *rest = module.split('.')
    folder = _setup_keywords().get('package_dir', {}).get(top, top)  # lfnet_training: training/
    base = REPO_ROOT.joinpath(folder, *rest)
    for candidate in (base.with_suffix('.py'), base / '__init__.py'):
        if candidate.is_file():
            return candidate
    return None


def _top_level_names(path):
    """Return the names a module binds at top level (defs, imports, assignments)."""
    names = set()
    for node in ast.parse(path.read_text(encoding='utf-8')).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split('.')[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def test_console_scripts_exist():
    scripts = _setup_keywords()['entry_points']['console_scripts']
    assert scripts
    missing = []
    for spec in scripts:
        name, target = (part.strip() for part in spec.split('='))
        module, _, func = target.partition(':')
        path = _module_file(module)
        if path is None:
            missing.append(f'{name}: module {module} has no file')
            continue
        if func not in _top_level_names(path):
            missing.append(f'{name}: {path.relative_to(REPO_ROOT)} binds no top-level {func}')
    assert not missing, '\n'.join(missing)
