"""Static files for local runs: always revalidated, HTML optionally templated."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

NO_CACHE = "no-cache"


class NoCacheStaticFiles(StaticFiles):
    """StaticFiles whose answers carry ``Cache-Control: no-cache`` (edit, reload, see it)."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = NO_CACHE
        return response


class TemplatedStaticFiles(NoCacheStaticFiles):
    """Serves ``*.html`` with literal placeholders (e.g. ``{{PARLEY_URL}}``) replaced."""

    def __init__(self, *, directory: PathLike, replacements: Mapping[str, str], **kwargs: bool) -> None:
        super().__init__(directory=directory, **kwargs)
        self._replacements = dict(replacements)

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        if not str(full_path).endswith((".html", ".htm")):
            return super().file_response(full_path, stat_result, scope, status_code)
        html = Path(full_path).read_text(encoding="utf-8")
        for placeholder, value in self._replacements.items():
            html = html.replace(placeholder, value)
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": NO_CACHE})
