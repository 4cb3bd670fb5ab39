# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The project's import graph has no circles, and no module imports another's private names.

Edges are read with `ast` from every .py file under lfnet_core/, lfnet_ros/ and training/:
`import a.b` and `from a import b` point at the submodule a.b when it exists, else at the
package or module named (a package's `__init__`). A parent package, which Python imports first,
is not an edge. The module-level edges must form no circle, and neither may they together with
the imports made inside functions: an import moved into a function may delay a heavy or optional
dependency, but never hide a circle.
"""

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ('lfnet_core', 'lfnet_ros', 'training')
# Folders that install under another name (setup.py's package_dir).
IMPORT_NAMES = {'training': 'lfnet_training'}
SCANNED = PACKAGES + ('tests',)
Graph = Dict[str, Set[str]]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix('').parts)
    parts[0] = IMPORT_NAMES.get(parts[0], parts[0])
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def _files(folders) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((REPO / folder).rglob('*.py'))


def _project_modules() -> Dict[str, Path]:
    return {_module_name(path): path for path in _files(PACKAGES)}


def _test_helpers() -> Set[str]:
    """Modules that tests import by their bare name (tests/core/model_helpers.py and the like)."""
    return {path.stem for path in _files(('tests',)) if not path.stem.startswith('test_')}


class _Imports(ast.NodeVisitor):
    """Collect (target module, imported names, inside a function) for one file."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module if is_package else module.rpartition('.')[0]
        self.depth = 0
        self.found: List[Tuple[str, List[str], bool]] = []

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _function  # noqa: N815

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802
        for alias in node.names:
            self.found.append((alias.name, [], self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        base = node.module or ''
        if node.level:
            anchor = self.package.split('.')
            anchor = anchor[:len(anchor) - (node.level - 1)]
            base = '.'.join(anchor + ([base] if base else []))
        self.found.append((base, [alias.name for alias in node.names], self.depth > 0))


def _imports(path: Path) -> List[Tuple[str, List[str], bool]]:
    visitor = _Imports(_module_name(path), path.name == '__init__.py')
    visitor.visit(ast.parse(path.read_text(), str(path)))
    return visitor.found


def _resolve(name: str, modules) -> Optional[str]:
    """Return the longest prefix of the dotted `name` that is a project module."""
    parts = name.split('.')
    for end in range(len(parts), 0, -1):
        candidate = '.'.join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _targets(base: str, names: List[str], modules) -> Set[str]:
    """Project modules that `from base import names` (or `import base` when no names) loads."""
    if not names:
        found = [_resolve(base, modules)]
    else:
        found = [f'{base}.{item}' if f'{base}.{item}' in modules else _resolve(base, modules)
                 for item in names]
    return {target for target in found if target is not None}


def _graphs() -> Tuple[Graph, Graph]:
    """Return (module-level edges, module-level plus function-level edges)."""
    modules = _project_modules()
    top: Graph = {name: set() for name in modules}
    every: Graph = {name: set() for name in modules}
    for name, path in modules.items():
        for base, names, in_function in _imports(path):
            targets = _targets(base, names, modules)
            every[name] |= targets
            if not in_function:
                top[name] |= targets
    return top, every


def _cycle(graph: Graph) -> Optional[List[str]]:
    """Return one circle of the graph (first module repeated at the end), or None."""
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    path: List[str] = []

    def visit(node: str) -> Optional[List[str]]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_module_level_imports_form_no_circle():
    top, _ = _graphs()
    circle = _cycle(top)
    assert circle is None, 'import circle: ' + ' -> '.join(circle)


def test_imports_inside_functions_hide_no_circle():
    _, every = _graphs()
    circle = _cycle(every)
    assert circle is None, 'import circle (with imports inside functions): ' + ' -> '.join(circle)


def test_no_private_names_are_imported_from_other_modules():
    modules = set(_project_modules()) | _test_helpers()
    found = []
    for path in _files(SCANNED):
        for base, names, _ in _imports(path):
            if _resolve(base, modules) is None:
                continue
            private = [item for item in names if item.startswith('_')
                       and not (item.startswith('__') and item.endswith('__'))]
            if private:
                found.append(f'{path.relative_to(REPO)}: from {base} import {", ".join(private)}')
    assert not found, 'private names imported across modules:\n' + '\n'.join(found)


def test_the_checker_reads_imports_and_finds_circles():
    """Submodules and packages resolve as documented; a circle is found, a chain is not."""
    modules = {'p', 'p.sub', 'p.mod'}
    assert _targets('p', ['sub', 'name'], modules) == {'p.sub', 'p'}
    assert _targets('p.mod', ['name'], modules) == {'p.mod'}
    assert _targets('p.sub.missing', [], modules) == {'p.sub'}
    assert _targets('numpy', ['ndarray'], modules) == set()
    assert _cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert _cycle({'a': {'b'}, 'b': set()}) is None
    top, every = _graphs()
    assert all(top[name] <= every[name] for name in top)
    assert any(top[name] != every[name] for name in top)  # imports inside functions are read
    assert 'lfnet_training.data' in top['lfnet_training.train']  # training/ is lfnet_training
