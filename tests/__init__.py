"""Parley's tests, one directory per kind (tests/README.md).

Test modules import helpers from each other by their old flat names (``from tests.test_chat
import visitor``); a finder maps ``tests.test_<name>`` to the module's new place,
``tests.<kind>.test_<name>``, as the same module object, so nothing is imported twice.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional, Sequence

_HERE = Path(__file__).resolve().parent


def _moved_modules() -> dict[str, str]:
    """``tests.test_chat`` -> ``tests.service.test_chat``, for every test module in a kind directory."""
    return {f"{__name__}.{path.stem}": f"{__name__}.{path.parent.name}.{path.stem}"
            for path in sorted(_HERE.glob("*/test_*.py"))}


class _MovedModuleLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """Already executed under its own name by create_module."""


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    def __init__(self, moved: dict[str, str]) -> None:
        self.moved = moved

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in self.moved:
            return None
        return importlib.util.spec_from_loader(fullname, _MovedModuleLoader(self.moved[fullname]))


if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModuleFinder(_moved_modules()))
