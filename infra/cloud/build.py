"""Builds the Lambda deployment package and Chalice's template, without AWS credentials.

The app is staged in a temporary project: app.py, chalicelib/, the widget and console (served
by the app) and a ``vendor/`` folder with the pure-Python packages the Lambda runtime lacks.
Chalice's own requirements step gets an empty requirements.txt, so botocore and boto3, which
the runtime already provides, stay out of the zip.
"""
from __future__ import annotations

import compileall
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Distributions the functions import that the Lambda Python runtime does not ship
# (it has boto3, botocore, jmespath, s3transfer, urllib3, dateutil and six).
VENDORED = ("pynamodb", "aws-lambda-powertools", "typing_extensions", "ua-parser", "ua-parser-builtins", "tzdata")
WEB_DIRS = ("widget", "console")
LAMBDA_MEMORY_MB = 256
LAMBDA_TIMEOUT_S = 30


class BuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Build:
    zip_path: Path
    sam: dict[str, Any]

    @property
    def zip_bytes(self) -> int:
        return self.zip_path.stat().st_size

    def unzipped_bytes(self) -> int:
        with zipfile.ZipFile(self.zip_path) as archive:
            return sum(info.file_size for info in archive.infolist())


def build(outdir: Path, stage: str, region: str) -> Build:
    """Writes ``deployment.zip`` into ``outdir`` and returns it with Chalice's SAM template."""
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="parley-build-") as tmp:
        project = Path(tmp) / "project"
        _stage_project(project, stage)
        chalice_out = Path(tmp) / "out"
        _chalice_package(project, chalice_out, stage, region)
        sam = json.loads((chalice_out / "sam.json").read_text())
        zip_path = outdir / "deployment.zip"
        _precompile(chalice_out / "deployment.zip", zip_path, Path(tmp) / "unpacked")
    return Build(zip_path=zip_path, sam=sam)


def _precompile(source: Path, target: Path, workdir: Path) -> None:
    """Adds bytecode for every module. Lambda's /var/task is read-only, so without it each cold
    start compiles every module again (about a third of the import time). The bytecode is for
    this interpreter, which is also the runtime Chalice chose (python3.X of the build)."""
    with zipfile.ZipFile(source) as archive:
        archive.extractall(workdir)
    ok = compileall.compile_dir(str(workdir), quiet=2, ddir="/var/task", workers=0,
                                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    if not ok:
        raise BuildError("some module of the package does not compile")
    files = sorted(p for p in workdir.rglob("*") if p.is_file())
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(workdir).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16  # deterministic, readable by the Lambda user
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)


def _stage_project(project: Path, stage: str) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_web")
    project.mkdir(parents=True)
    shutil.copy2(ROOT / "app.py", project / "app.py")
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib", ignore=ignore)
    for name in WEB_DIRS:
        shutil.copytree(ROOT / name, project / "chalicelib" / "_web" / name, ignore=ignore)
    for name in VENDORED:
        _copy_distribution(name, project / "vendor")
    (project / "requirements.txt").write_text("")
    chalice_dir = project / ".chalice"
    chalice_dir.mkdir()
    (chalice_dir / "policy.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": []}))
    (chalice_dir / "config.json").write_text(json.dumps(_chalice_config(stage), indent=2))


def _chalice_config(stage: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "app_name": "parley",
        "stages": {
            stage: {
                "api_gateway_stage": "api",
                "api_gateway_endpoint_type": "REGIONAL",
                "autogen_policy": False,
                "iam_policy_file": "policy.json",
                "lambda_memory_size": LAMBDA_MEMORY_MB,
                "lambda_timeout": LAMBDA_TIMEOUT_S,
            }
        },
    }


def _copy_distribution(name: str, target: Path) -> None:
    """Copies an installed distribution's files (the pinned version in this environment)."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError as exc:
        raise BuildError(f"{name} is not installed; run through `python3 dev.py` so .venv has it") from exc
    for file in dist.files or ():
        parts = Path(str(file)).parts
        if parts[0] == ".." or "__pycache__" in parts or str(file).endswith(".pyc"):
            continue
        source = Path(str(dist.locate_file(file)))
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


def _chalice_package(project: Path, out: Path, stage: str, region: str) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PARLEY_")}
    env.update({"AWS_DEFAULT_REGION": region, "AWS_REGION": region})
    command = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())",
               "--project-dir", str(project), "package", "--stage", stage, str(out)]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"chalice package failed:\n{result.stdout}{result.stderr}")
