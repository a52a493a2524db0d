#!/usr/bin/env python3
"""Inbound mail to the operator's screen, on the local stack.

Starts the stack, connects an operator over a real websocket, then sends N emails over SMTP to
the site's support address (each a reply quoting an earlier email, with a signature, so the
quote stripping runs) one after another, and times each from the SMTP send to the `message`
frame reaching the operator; also counts the DynamoDB requests per mail (each from a new
sender: a new visitor and an email dialog). Prints one JSON line.

    python3 bench/mail.py --mails 50
"""
from __future__ import annotations

import argparse
import json
import smtplib
import statistics
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.local.environment import INBOUND_DOMAIN  # noqa: E402
from infra.local.screenshots import OperatorSocket  # noqa: E402
from infra.local.stack import LocalStack  # noqa: E402


def reply(marker: str, n: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Reader {n} <reader{n}@example.com>"
    mail["To"] = f"support@{INBOUND_DOMAIN}"
    mail["Subject"] = "Re: Your conversation with Parley Demo Shop"
    mail["Message-ID"] = f"<{marker}@example.com>"
    quoted = "\n".join(f"> line {i} of the earlier email" for i in range(40))
    mail.set_content(f"Question {marker}: does it come in blue?\n\n-- \nReader {n}\n\n"
                     f"On Mon, 23 Nov 2026 at 10:00, Ann <support@{INBOUND_DOMAIN}> wrote:\n{quoted}\n")
    return mail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=30)
    args = parser.parse_args()
    with LocalStack() as stack:
        operator = OperatorSocket(stack)
        port = int(stack.info["smtp_port"])
        lags = []
        stack.reset_metrics()
        for n in range(args.mails):
            marker = uuid.uuid4().hex[:12]
            start = len(operator.frames)
            sent = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.send_message(reply(marker, n))  # CRLF line ends, as mail clients send
            frame = operator.wait(lambda f: f.get("type") == "message" and marker in f["message"]["text"], start)
            lags.append((time.perf_counter() - sent) * 1000)
            assert "earlier email" not in frame["message"]["text"], frame  # quotes stripped
        ddb_calls = stack.metrics()["ddb_calls"]
        operator.close()
    lags.sort()
    print(json.dumps({"mails": len(lags), "p50_ms": round(statistics.median(lags), 1),
                      "p95_ms": round(lags[int(len(lags) * 0.95) - 1], 1), "max_ms": round(lags[-1], 1),
                      "ddb_per_mail": round(ddb_calls / len(lags), 1)}))


if __name__ == "__main__":
    main()
