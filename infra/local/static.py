"""Static files for local runs (the demo shop): always revalidated, HTML templated."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypedDict, Unpack

from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

NO_CACHE = "no-cache"


class StaticOptions(TypedDict, total=False):
    """StaticFiles' own keyword options, passed through unchanged."""

    html: bool
    check_dir: bool
    follow_symlink: bool


class TemplatedStaticFiles(StaticFiles):
    """StaticFiles whose answers carry ``Cache-Control: no-cache`` (edit, reload, see it) and
    whose ``*.html`` has literal placeholders (e.g. ``{{PARLEY_URL}}``) replaced."""

    def __init__(self, *, directory: PathLike, replacements: Mapping[str, str],
                 **kwargs: Unpack[StaticOptions]) -> None:
        super().__init__(directory=directory, **kwargs)
        self._replacements = dict(replacements)

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        if not str(full_path).endswith((".html", ".htm")):
            response = super().file_response(full_path, stat_result, scope, status_code)
            response.headers["Cache-Control"] = NO_CACHE
            return response
        html = Path(full_path).read_text(encoding="utf-8")
        for placeholder, value in self._replacements.items():
            html = html.replace(placeholder, value)
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": NO_CACHE})
