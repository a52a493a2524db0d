#!/usr/bin/env python3
"""The README's two commands: `python3 dev.py run` (the local stack) and `python3 dev.py test`;
also `check` (ruff and mypy, as CI runs them), `bench`, and `deploy`, `destroy`, `package`
(`python -m infra`, Parley on AWS).

Each makes or reuses a virtual environment in .venv with the pinned requirements, then runs
inside it. Needs only Python 3.11+ with venv and pip.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
REQUIREMENTS = (ROOT / "requirements.txt", ROOT / "requirements-dev.txt")
STAMP = VENV / ".requirements.sha256"


def ensure_venv() -> None:
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in REQUIREMENTS)).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing pinned requirements into .venv ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-r", str(ROOT / "requirements-dev.txt")], check=True)
    STAMP.write_text(digest)


def main(argv: list[str]) -> int:
    commands = {
        "run": ["-m", "infra.local", "--demo-proactive"],
        "test": ["-m", "pytest", "-q"],
        "check": ["-c", "import subprocess, sys; sys.exit(subprocess.call([sys.executable, '-m', 'ruff', 'check', '.'])"
                  " or subprocess.call([sys.executable, '-m', 'mypy']))"],
        "bench": ["bench/chat.py"],
        "deploy": ["-m", "infra", "deploy"],
        "destroy": ["-m", "infra", "destroy"],
        "package": ["-m", "infra", "package"],
        "screenshots": ["-m", "infra.local.screenshots"],
    }
    if not argv or argv[0] not in commands:
        print(f"usage: python3 dev.py {{{'|'.join(commands)}}} [args...]", file=sys.stderr)
        return 2
    ensure_venv()
    os.chdir(ROOT)
    args = [str(PYTHON), *commands[argv[0]], *argv[1:]]
    try:
        return subprocess.call(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
