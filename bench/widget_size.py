#!/usr/bin/env python3
"""Bytes a shop page downloads for the widget: every JS and CSS file in widget/, gzip -9."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

WIDGET = Path(__file__).resolve().parent.parent / "widget"


def main() -> None:
    files = sorted(p for p in WIDGET.iterdir() if p.suffix in {".js", ".css"})
    raw = b"".join(p.read_bytes() for p in files)
    print(json.dumps({"files": [p.name for p in files], "raw_bytes": len(raw),
                      "gzip9_bytes": len(gzip.compress(raw, compresslevel=9)), "target_bytes": 10 * 1024}))


if __name__ == "__main__":
    main()
