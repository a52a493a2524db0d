"""The shape of the house (DEVELOPERS.md, "Architecture"): chalicelib is layered by capability,
every import points down, nothing imports in a circle, no file grows past 400 lines, one module
writes messages and one module names channels."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"
LAYERS = ("shared", "storage", "realtime", "site", "visitors", "dialogs", "protocol", "mail", "routing",
          "workspace", "proactive", "chat", "http", "socket", "admin")  # bottom first
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every chalicelib module this file imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("chalicelib.")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chalicelib"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else str(node.module))
    return found - {"chalicelib"}


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".")[1])


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, set(modules)) for name, path in modules.items()}


def test_every_module_is_in_a_layer() -> None:
    unplaced = [name for name in _modules() if name != "chalicelib" and name.split(".")[1] not in LAYERS]
    assert unplaced == []


def test_imports_point_down() -> None:
    upward = sorted(f"{source} -> {target}" for source, targets in _graph().items() if source != "chalicelib"
                    for target in targets if _layer(target) > _layer(source))
    assert upward == []


def test_no_import_cycle() -> None:
    graph = _graph()
    cycles = [cycle for cycle in _strongly_connected(graph) if len(cycle) > 1 or cycle[0] in graph[cycle[0]]]
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative enough for a few hundred modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_file_over_the_limit() -> None:
    sources = [*PACKAGE.rglob("*.py"), ROOT / "app.py"]  # console/: test_console_layout
    long = sorted(f"{path.relative_to(ROOT)} ({count})" for path in sources
                  if (count := len(path.read_text().splitlines())) > MAX_LINES)
    assert long == []


def test_one_message_write_path() -> None:
    writers = sorted(str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py")
                     if "insert_message(" in path.read_text() and path.name != "message_store.py")
    assert writers == ["chalicelib/dialogs/posting.py"]


def test_one_module_names_channels() -> None:
    naming = sorted(str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py")
                    if re.search(r"""f?["'](ops|vis)#""", path.read_text()))
    assert naming == ["chalicelib/realtime/audience.py"]


def test_one_module_opens_an_outbox() -> None:
    """Every path that sends frames goes through audience.sending, which forgets gone connections."""
    opening = sorted(str(path.relative_to(ROOT)) for path in [*PACKAGE.rglob("*.py"), ROOT / "app.py"]
                     if re.search(r"\bOutbox\(", path.read_text()))
    assert opening == ["chalicelib/realtime/audience.py"]
