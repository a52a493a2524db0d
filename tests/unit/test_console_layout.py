"""The operator console's layout: small files, an acyclic import graph, and exactly its files served."""
from __future__ import annotations

import re
from pathlib import Path

from chalicelib.http import web

CONSOLE = Path(__file__).resolve().parents[2] / "console"
MAX_LINES = 400
# Static imports and re-exports (`import {a} from './x.js'`, `import './x.js'`, `export … from`) and
# dynamic ones (`import('./x.js')`); the console only imports its own modules, by relative path.
IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)['"]\./([\w.-]+\.js)['"]""")


def console_files() -> set[str]:
    return {p.name for p in CONSOLE.iterdir() if p.is_file() and not p.name.startswith(".")}


def import_graph() -> dict[str, set[str]]:
    return {p.name: set(IMPORT.findall(p.read_text(encoding="utf-8"))) for p in CONSOLE.glob("*.js")}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that ends where it starts, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_import_parsing_sees_every_form():
    text = "import { a } from './a.js';\nimport './b.js';\nexport { c } from \"./c.js\";\nawait import('./d.js');"
    assert set(IMPORT.findall(text)) == {"a.js", "b.js", "c.js", "d.js"}


def test_cycle_detection():
    assert find_cycle({"a.js": {"b.js"}, "b.js": {"c.js"}, "c.js": set()}) is None
    assert find_cycle({"a.js": {"b.js"}, "b.js": {"c.js"}, "c.js": {"a.js"}}) == ["a.js", "b.js", "c.js", "a.js"]


def test_console_imports_have_no_cycle():
    assert find_cycle(import_graph()) is None


def test_console_imports_only_existing_modules():
    graph = import_graph()
    missing = {f"{source} -> {target}" for source, targets in graph.items() for target in targets if target not in graph}
    assert not missing


def test_console_files_are_at_most_400_lines():
    long = {name: n for name in console_files() if (n := len((CONSOLE / name).read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long


def test_every_console_file_is_served_and_every_served_file_exists():
    assert console_files() == set(web.ALLOWED["console"])


def test_index_preloads_every_module_it_loads():
    html = (CONSOLE / "index.html").read_text(encoding="utf-8")
    entry = set(re.findall(r'<script type="module" src="([\w.-]+\.js)"', html))
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([\w.-]+\.js)"', html))
    graph = import_graph()
    reachable, todo = set(), list(entry)
    while todo:
        name = todo.pop()
        if name not in reachable:
            reachable.add(name)
            todo.extend(graph.get(name, ()))
    assert entry == {"console.js"}
    assert preloaded == reachable - entry
