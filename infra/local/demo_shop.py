"""The demo shop: a static site on its own origin, with the Parley widget embedded.

HTML pages may contain the literal ``{{PARLEY_URL}}`` (the public Parley base URL, e.g.
``http://127.0.0.1:8000``); it is replaced on the fly.
"""
from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount

from .static import TemplatedStaticFiles

SHOP_DIR = Path(__file__).resolve().parent / "shop"


def create_shop_app(parley_url: str, directory: Path = SHOP_DIR) -> Starlette:
    files = TemplatedStaticFiles(
        directory=directory, replacements={"{{PARLEY_URL}}": parley_url}, html=True, check_dir=False
    )
    return Starlette(routes=[Mount("/", app=files)])
