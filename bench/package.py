#!/usr/bin/env python3
"""The Lambda deployment package: its size, and the cold-start import time it gives.

Builds the package as `python -m infra package` does, unpacks it, and imports `app` from the
unpacked files in fresh interpreters, the way a cold Lambda does. boto3 and botocore come from
this environment, standing in for the copies the Lambda runtime provides. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from coldstart import measure  # noqa: E402

from infra.cloud.build import build  # noqa: E402

# Imports `app` and checks that it, and a vendored package, came from the unpacked files.
FROM_PACKAGE = ("import app, pynamodb; assert app.__file__.startswith({d!r}) and "
                "pynamodb.__file__.startswith({d!r})")


def import_ms(unpacked: Path) -> float:
    return measure(FROM_PACKAGE.format(d=str(unpacked)), cwd=unpacked, extra_env={"PYTHONPATH": str(unpacked)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-package-") as tmp:
        package = build(Path(tmp) / "out", "bench", "us-east-1")
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(package.zip_path) as archive:
            archive.extractall(unpacked)
        times = [import_ms(unpacked) for _ in range(args.runs)]
        print(json.dumps({
            "zip_bytes": package.zip_bytes, "unzipped_bytes": package.unzipped_bytes(),
            "files": len(zipfile.ZipFile(package.zip_path).namelist()),
            "cold_import_app_ms_median": round(statistics.median(times), 1),
            "cold_import_app_ms_min": round(min(times), 1), "runs": args.runs,
        }))


if __name__ == "__main__":
    main()
