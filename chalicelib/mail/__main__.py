"""``python -m chalicelib.mail FILE.eml``: the chat message Parley would post for an email reply.

``-`` reads standard input; ``--full`` prints the whole body text, ``--json`` every parsed field.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from chalicelib.mail.parse import parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.mail",
                                     description="The chat message Parley would post for an email reply.")
    parser.add_argument("file", help="a raw email (.eml), or - for standard input")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--full", action="store_true", help="print the whole body text, quotes included")
    shown.add_argument("--json", action="store_true", help="print all parsed fields as JSON")
    args = parser.parse_args(argv)
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror or error}", file=sys.stderr)
        return 2
    mail = parse(raw)
    if args.json:
        fields = {field.name: getattr(mail, field.name) for field in dataclasses.fields(mail)}
        fields["attachments"] = [{"name": item.name, "content_type": item.content_type, "size": len(item.data)}
                                 for item in mail.attachments]
        out = json.dumps(fields, ensure_ascii=False, indent=2)
    else:
        out = mail.text if args.full else mail.reply
    sys.stdout.buffer.write(out.encode("utf-8") + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
