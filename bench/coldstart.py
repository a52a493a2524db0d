#!/usr/bin/env python3
"""Lambda cold start: time to import `app` versus importing only its dependencies.

Each measurement is a fresh interpreter (as a cold Lambda is); the two kinds alternate and the
median of --runs is printed as one JSON line. Target: app adds at most 25% to the dependencies.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPS = "import boto3, pynamodb.models, chalice, aws_lambda_powertools.logging"
PROBE = "import time; t=time.perf_counter(); {stmt}; print(time.perf_counter()-t)"
ENV = {"PARLEY_SECRET": "bench", "AWS_DEFAULT_REGION": "us-east-1", "PARLEY_STAGE": "bench"}


def measure(stmt: str, cwd: Path = ROOT, extra_env: dict[str, str] | None = None) -> float:
    """Milliseconds ``stmt`` takes in a fresh interpreter (run in ``cwd``)."""
    # Bytecode is written and reused, as on Lambda, whose package ships compiled modules
    # (infra/cloud/build.py): a cold start imports, it does not compile.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PARLEY_") and k != "PYTHONDONTWRITEBYTECODE"} | ENV | (extra_env or {})
    out = subprocess.run([sys.executable, "-c", PROBE.format(stmt=stmt)], cwd=cwd, env=env,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip()) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    deps, app = [], []
    measure(DEPS + "; import app")  # writes the bytecode the measured runs load
    for _ in range(args.runs):
        deps.append(measure(DEPS))
        app.append(measure(DEPS + "; import app"))
    deps_ms, app_ms = statistics.median(deps), statistics.median(app)
    print(json.dumps({"deps_import_ms": round(deps_ms, 1), "app_import_ms": round(app_ms, 1),
                      "app_overhead_pct": round(100 * (app_ms - deps_ms) / deps_ms, 1), "runs": args.runs}))


if __name__ == "__main__":
    main()
