"""The mail parser's modules: standard library only (it runs on any untrusted mail, in any
Lambda), no import cycles between them, and ``chalicelib.mail.parse`` still offers every name
it offered before it was split by concern."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

MAIL = Path(__file__).resolve().parents[2] / "chalicelib" / "mail"
PARSER_MODULES = ("parse", "headers", "charsets", "text", "html_text", "body", "attachments", "quotes")


def imported_modules(name: str) -> set[str]:
    """Every module ``name`` imports, at the top or inside a function."""
    tree = ast.parse((MAIL / f"{name}.py").read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "chalicelib.mail":
            found.update(f"chalicelib.mail.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def sibling(module: str) -> str | None:
    prefix = "chalicelib.mail."
    return module[len(prefix):] if module.startswith(prefix) else None


def test_parser_modules_import_only_the_standard_library_and_each_other() -> None:
    for name in PARSER_MODULES:
        for module in imported_modules(name):
            top = module.split(".")[0]
            assert sibling(module) in PARSER_MODULES or top in sys.stdlib_module_names, (name, module)


def test_parser_modules_import_no_cycle() -> None:
    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join(path + (name,))
        for module in imported_modules(name):
            inner = sibling(module)
            if inner:
                visit(inner, path + (name,))

    for name in PARSER_MODULES:
        visit(name, ())


def test_parse_offers_the_names_it_offered_before_the_split() -> None:
    from chalicelib.mail import parse

    offered = {"MAX_DEPTH", "MAX_HTML", "MAX_IDS", "MAX_NAME", "MAX_PARTS", "MAX_SUBJECT", "MAX_TEXT", "EMPTY",
               "Attachment", "ParsedMail", "decode_bytes", "decode_words", "html_texts", "html_to_text",
               "parse", "unflow"}
    assert offered <= set(dir(parse)) and offered == set(parse.__all__)
