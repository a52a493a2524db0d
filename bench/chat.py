#!/usr/bin/env python3
"""Chat benchmark: N visitors and M operators over real websockets against a local stack.

Starts its own stack on free ports (or uses --url and friends), lets every visitor open its
dialog, then sends the rest of the messages at a steady total rate and prints one JSON line:
delivery latency to the operators (p50/p99), throughput, messages lost or duplicated (checked
against what every operator received, what each visitor's tab received and what was stored),
and the DynamoDB requests the handlers made per visitor message.

    python3 dev.py bench --visitors 200 --operators 5 --messages 10
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.local.client import Client, new_client_id, operator_login, visitor_session  # noqa: E402


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--operators", type=int, default=3)
    parser.add_argument("--messages", type=int, default=10, help="messages per visitor")
    parser.add_argument("--rate", type=float, default=20.0, help="visitor messages per second, all visitors together")
    parser.add_argument("--url", help="Parley base URL of a running stack (default: start one)")
    parser.add_argument("--shop-origin", help="with --url: an allowed origin of the site")
    parser.add_argument("--site", default="demo")
    parser.add_argument("--email", help="with --url: operator email")
    parser.add_argument("--password", help="with --url: operator password")
    parser.add_argument("--mgmt-url", help="with --url: local management API, for DynamoDB call counts")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the last deliveries")
    return parser.parse_args()


class Run:
    def __init__(self, args: argparse.Namespace, target: dict[str, Any]) -> None:
        self.args, self.target = args, target
        self.operators: list[Client] = []
        self.tabs: list[Client] = []
        self.visitors: list[tuple[Client, str]] = []  # (tab, dialog_id)
        self.sent: dict[str, float] = {}  # client_id -> send time
        self.acked: dict[str, tuple[str, int]] = {}  # client_id -> (dialog_id, seq)
        self.steady: set[str] = set()  # client ids sent at the steady rate (latency is measured on these)

    async def connect(self) -> None:
        t = self.target
        for _ in range(self.args.operators):
            login = await operator_login(t["parley_url"], t["email"], t["password"])
            self.operators.append(await Client.connect(login["ws_url"], login["token"], t["parley_url"]))
        for op in self.operators:
            await op.request({"type": "subscribe"}, "dialogs")
        sem = asyncio.Semaphore(20)

        async def one_visitor() -> tuple[Client, str]:
            async with sem:
                session = await visitor_session(t["parley_url"], self.args.site, t["shop_origin"])
                tab = await Client.connect(session["ws_url"], session["token"], t["shop_origin"])
                await tab.request({"type": "resume", "after_seq": 0}, "history")
                return tab

        self.tabs = list(await asyncio.gather(*(one_visitor() for _ in range(self.args.visitors))))

    async def first_messages(self) -> None:
        """Every visitor's first message, which opens its dialog."""
        sem = asyncio.Semaphore(20)

        async def first(tab: Client) -> tuple[Client, str]:
            async with sem:
                ack = await self._send(tab, "hello, first message")
                return tab, ack["dialog_id"]

        self.visitors = list(await asyncio.gather(*(first(tab) for tab in self.tabs)))

    async def _send(self, tab: Client, text: str, steady: bool = False) -> dict[str, Any]:
        client_id = new_client_id()
        self.sent[client_id] = time.perf_counter()
        if steady:
            self.steady.add(client_id)
        ack = await tab.message(text, client_id=client_id, timeout=self.args.timeout)
        if ack.get("type") == "ack":
            self.acked[client_id] = (ack["dialog_id"], ack["seq"])
        return ack

    async def steady_phase(self) -> float:
        """Sends messages 2..K of every visitor at the configured total rate; returns seconds."""
        pending = [(tab, n) for n in range(2, self.args.messages + 1) for tab, _ in self.visitors]
        random.shuffle(pending)
        interval = 1.0 / self.args.rate
        started = time.perf_counter()
        tasks = []
        for index, (tab, n) in enumerate(pending):
            delay = started + index * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self._send(tab, f"message {n} " + "x" * random.randint(5, 200), True)))
        await asyncio.gather(*tasks)
        await self._wait_delivered()
        return time.perf_counter() - started

    async def _wait_delivered(self) -> None:
        deadline = time.perf_counter() + self.args.timeout
        while time.perf_counter() < deadline:
            if not self._missing():
                return
            await asyncio.sleep(0.1)

    def _missing(self) -> int:
        gaps = self._receipt_gaps()
        return gaps["lost_operator"] + gaps["lost_visitor"]

    def _receipt_gaps(self) -> Counter:
        """Acked messages an operator or the visitor's tab has not received, and receipts twice."""
        acked, gaps = set(self.acked.values()), Counter()
        receivers = [(op, acked, "lost_operator") for op in self.operators]
        receivers += [(tab, {k for k in acked if k[0] == dialog_id}, "lost_visitor")
                      for tab, dialog_id in self.visitors]
        for client, expected, key in receivers:
            counts = _received(client)
            gaps[key] += len(expected - counts.keys())
            gaps["duplicated"] += sum(n - 1 for n in counts.values() if n > 1)
        return gaps

    def latencies_ms(self) -> list[float]:
        out = []
        for op in self.operators:
            for at, frame in op.frames:
                if frame.get("type") == "message":
                    client_id = frame["message"]["client_id"]
                    if client_id in self.steady:
                        out.append((at - self.sent[client_id]) * 1000)
        return out

    async def audit(self) -> dict[str, int]:
        """Messages lost or duplicated, by where: ack, operator receipts, visitor tabs, storage."""
        acked = set(self.acked.values())
        found = self._receipt_gaps()
        found["lost_unacked"] = len(self.sent) - len(self.acked)
        stored = await self._stored()
        found["lost_storage"] = len(acked - {(d, s) for d, s, _ in stored})
        found["duplicated"] += len(stored) - len({cid for _, _, cid in stored})  # one client id, two seqs
        found["lost"] = sum(v for k, v in found.items() if k.startswith("lost_"))
        return dict(found)

    async def _stored(self) -> list[tuple[str, int, str]]:
        op, keys = self.operators[0], []
        for _, dialog_id in self.visitors:
            after = 0
            while True:
                page = await op.request({"type": "history", "dialog_id": dialog_id, "after_seq": after}, "history")
                keys += [(m["dialog_id"], m["seq"], m["client_id"]) for m in page["messages"] if m["client_id"] in self.sent]
                if not page.get("more"):
                    break
                after = page["messages"][-1]["seq"]
        return keys

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.operators + self.tabs),
                             return_exceptions=True)



def _received(client: Client) -> Counter:
    return Counter((f["message"]["dialog_id"], f["message"]["seq"]) for f in client.of_type("message"))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def bench(args: argparse.Namespace, target: dict[str, Any], metrics: Any) -> dict[str, Any]:
    run = Run(args, target)
    try:
        await run.connect()
        if metrics:
            metrics.reset()
        await run.first_messages()
        first_calls = metrics.reset() if metrics else None
        steady_count = args.visitors * (args.messages - 1)
        seconds = await run.steady_phase()
        steady_calls = metrics.reset() if metrics else None
        audit = await run.audit()
        lat = run.latencies_ms()
        result = {
            "visitors": args.visitors, "operators": args.operators,
            "messages": len(run.sent), "rate_offered": args.rate,
            "p50_ms": round(_percentile(lat, 0.5), 1), "p99_ms": round(_percentile(lat, 0.99), 1),
            "msgs_per_s": round(steady_count / seconds, 1) if seconds else None,
            "lost": audit["lost"], "duplicated": audit["duplicated"],
            "ddb_requests_per_message": round(steady_calls / steady_count, 2) if steady_calls is not None and steady_count else None,
            "ddb_requests_first_message": round(first_calls / args.visitors, 2) if first_calls is not None else None,
        }
        result.update({k: v for k, v in audit.items() if k.startswith("lost_") and v})
        return result
    finally:
        await run.close()


class Metrics:
    """DynamoDB calls the handlers made, read from the local management API."""

    def __init__(self, mgmt_url: str) -> None:
        self.mgmt_url = mgmt_url

    def reset(self) -> int:
        import urllib.request
        with urllib.request.urlopen(f"{self.mgmt_url}/_local/metrics", timeout=10) as response:
            calls = int(json.loads(response.read())["ddb_calls"])
        urllib.request.urlopen(urllib.request.Request(f"{self.mgmt_url}/_local/metrics/reset", method="POST"),
                               timeout=10).close()
        return calls


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def main() -> None:
    args = _args()
    if args.messages < 2:
        sys.exit("--messages must be at least 2 (the first opens the dialog)")
    if args.url:
        target = {"parley_url": args.url.rstrip("/"), "shop_origin": args.shop_origin,
                  "email": args.email, "password": args.password}
        metrics = Metrics(args.mgmt_url) if args.mgmt_url else None
        print(json.dumps(asyncio.run(bench(args, target, metrics))))
        return
    from infra.local.stack import LocalStack

    with LocalStack() as stack:
        target = {"parley_url": stack.parley_url, "shop_origin": _origin(stack.shop_url),
                  "email": stack.operator_email, "password": stack.operator_password}
        print(json.dumps(asyncio.run(bench(args, target, Metrics(stack.mgmt_url)))))


if __name__ == "__main__":
    main()
