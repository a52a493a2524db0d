#!/usr/bin/env python3
"""Lambda cold start per function kind: its imports against those of its dependencies alone.

Each Lambda function of the app imports `app`, then only the modules its handler needs (KINDS).
For each kind, a fresh interpreter first lists the third-party modules those imports load (the
kind's dependencies); then, in fresh interpreters as a cold Lambda is, with bytecode compiled
beforehand as the Lambda package ships it, the bench times importing the dependencies alone
("deps") and the dependencies, `app` and the kind's modules ("total"). Kinds and the two
measurements alternate; the medians of --runs are printed as one JSON line. A kind whose modules
do not import gets an "error" instead of times. Target: total/deps at most BUDGET_RATIO.

    bench/coldstart.py [--runs N] [--kind KIND ...] [--kind-module KIND=MODULE[,MODULE...] ...]
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_RATIO = 1.25
# What each kind of Lambda function imports after `app` (its handler's lazy imports).
KINDS: dict[str, tuple[str, ...]] = {
    # The $default function loads a frame type's module on its first frame (socket.FRAME_MODULES):
    # a visitor's first message, and an operator's.
    "websocket": ("chalicelib.socket", "chalicelib.chat.visitor"),
    "websocket_operator": ("chalicelib.socket", "chalicelib.chat.operator"),
    "connect": ("chalicelib.socket", "chalicelib.routing.team"),
    "rest": ("chalicelib.http.sessions",),
    "schedule": ("chalicelib.routing.answertime",),
    "triggers": ("chalicelib.proactive.greetings",),
    "mail": ("chalicelib.mail.mirror",),
    "inbound_mail": ("chalicelib.mail.inbound",),
}
PROBE = "import time; t=time.perf_counter(); {stmt}; print(time.perf_counter()-t)"
# Imports argv[1:] and prints, in load order, the third-party modules that loaded: not the
# stdlib's (by name, or for e.g. _sysconfigdata by place), not Parley's, not aliases (__mp_main__).
DISCOVER = """
import importlib, json, os, sys
before = set(sys.modules)
for name in sys.argv[1:]:
    importlib.import_module(name)
stdlib = os.path.dirname(os.__file__)
def place(module):
    paths = [getattr(module, "__file__", None), *getattr(module, "__path__", [])]
    return next((p for p in paths if p), stdlib)
def third_party(name):
    top = name.partition(".")[0]
    spec = getattr(sys.modules[name], "__spec__", None)
    return (name not in before and top not in sys.stdlib_module_names
            and top not in ("app", "chalicelib", "__main__") and spec is not None
            and spec.name == name and not place(sys.modules[top]).startswith(stdlib))
print(json.dumps([name for name in list(sys.modules) if third_party(name)]))
"""
ENV = {"PARLEY_SECRET": "bench", "AWS_DEFAULT_REGION": "us-east-1", "PARLEY_STAGE": "bench"}


@dataclass
class Kind:
    name: str
    modules: tuple[str, ...]
    deps: list[str] = field(default_factory=list)  # third-party modules, in load order
    error: str | None = None
    deps_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)


def python(args: list[str], cwd: Path = ROOT, extra_env: dict[str, str] | None = None) -> str:
    """Stdout of a fresh interpreter run with ``args``; raises CalledProcessError on failure."""
    # Bytecode is written and reused, as on Lambda, whose package ships compiled modules
    # (infra/cloud/build.py): a cold start imports, it does not compile.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PARLEY_") and k != "PYTHONDONTWRITEBYTECODE"} | ENV | (extra_env or {})
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=True).stdout


def measure(stmt: str, cwd: Path = ROOT, extra_env: dict[str, str] | None = None) -> float:
    """Milliseconds ``stmt`` takes in a fresh interpreter (run in ``cwd``)."""
    return float(python(["-c", PROBE.format(stmt=stmt)], cwd, extra_env).strip()) * 1000


def failure(exc: subprocess.CalledProcessError) -> str:
    """The last line of a failed interpreter's stderr, e.g. ModuleNotFoundError: ..."""
    lines = (exc.stderr or "").strip().splitlines()
    return lines[-1] if lines else f"exit status {exc.returncode}"


def compile_parley() -> None:
    """Writes the bytecode of app and chalicelib (the dependencies' is written on first import)."""
    compileall.compile_file(ROOT / "app.py", quiet=1)
    compileall.compile_dir(ROOT / "chalicelib", quiet=1)


def discover(kind: Kind) -> None:
    """Fills ``kind.deps`` from a fresh interpreter's imports, or ``kind.error``."""
    try:
        kind.deps = json.loads(python(["-c", DISCOVER, "app", *kind.modules]))
    except subprocess.CalledProcessError as exc:
        kind.error = failure(exc)


def deps_stmt(kind: Kind) -> str:
    return "import " + ", ".join(kind.deps) if kind.deps else "pass"


def total_stmt(kind: Kind) -> str:
    return f"{deps_stmt(kind)}; import {', '.join(('app', *kind.modules))}"


def run_once(kinds: list[Kind]) -> None:
    """One deps and one total measurement of every kind still without an error."""
    for kind in kinds:
        if kind.error:
            continue
        try:
            kind.deps_ms.append(measure(deps_stmt(kind)))
            kind.total_ms.append(measure(total_stmt(kind)))
        except subprocess.CalledProcessError as exc:
            kind.error = failure(exc)


def summary(kind: Kind) -> dict[str, object]:
    if kind.error:
        return {"modules": list(kind.modules), "error": kind.error}
    packages = sorted({name.partition(".")[0] for name in kind.deps})
    deps, total = statistics.median(kind.deps_ms), statistics.median(kind.total_ms)
    return {"deps_ms": round(deps, 1), "total_ms": round(total, 1), "ratio": round(total / deps, 3),
            "parley_ms": round(total - deps, 1), "deps": packages}


def kind_table(selected: list[str] | None, overrides: list[str]) -> dict[str, tuple[str, ...]]:
    """KINDS with ``KIND=MODULE[,MODULE...]`` overrides (or additions), limited to ``selected``."""
    table = dict(KINDS)
    for item in overrides:
        name, sep, modules = item.partition("=")
        if not sep or not name or not modules:
            raise SystemExit(f"--kind-module wants KIND=MODULE[,MODULE...], not {item!r}")
        table[name] = tuple(m.strip() for m in modules.split(",") if m.strip())
    unknown = set(selected or ()) - table.keys()
    if unknown:
        raise SystemExit(f"unknown kind(s): {', '.join(sorted(unknown))}; known: {', '.join(table)}")
    return {name: mods for name, mods in table.items() if not selected or name in selected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per kind and measurement")
    parser.add_argument("--kind", action="append", help="measure only this kind (repeatable)")
    parser.add_argument("--kind-module", action="append", default=[], metavar="KIND=MODULE[,MODULE]",
                        help="the modules KIND imports after app, replacing the table's (repeatable)")
    args = parser.parse_args()
    kinds = [Kind(name, modules) for name, modules in kind_table(args.kind, args.kind_module).items()]
    compile_parley()
    for kind in kinds:
        discover(kind)  # also writes any bytecode still missing, before the measured runs
    for _ in range(args.runs):
        run_once(kinds)
    print(json.dumps({"bench": "coldstart", "runs": args.runs,
                      "kinds": {kind.name: summary(kind) for kind in kinds}, "budget_ratio": BUDGET_RATIO}))


if __name__ == "__main__":
    main()
