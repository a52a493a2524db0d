#!/usr/bin/env python3
"""Routing benchmark: many visitors start dialogs at once against a local stack whose operators
(real websockets, each with a cap) close their dialogs after a short while; prints one JSON line.

- `max_load_seen`, `over_cap`: operators' loads sampled from the routing table all along (and
  every operator's dialogs counted from what they were assigned): `over_cap` must be 0;
- `p99_assign_ms`: from a visitor's first message to their tab hearing which operator answers,
  for dialogs assigned on arrival (`p99_queue_wait_ms`: the same for those that queued);
- `lost`: dialogs acked to the visitor that end neither assigned nor queued (must be 0);
- `queue_fifo_violations`: pairs of queued dialogs served out of ticket order (must be 0).

    python3 bench/routing.py --dialogs 200 --operators 10 --cap 3
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.local.client import Client, new_client_id, operator_login, visitor_session  # noqa: E402

PREFIX = "parley-local"  # infra.local's tables


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dialogs", type=int, default=200)
    parser.add_argument("--operators", type=int, default=10)
    parser.add_argument("--cap", type=int, default=3)
    parser.add_argument("--burst", type=int, default=50, help="visitors writing at the same instant, per wave")
    parser.add_argument("--handle-ms", type=int, default=400, help="how long an operator keeps a dialog, on average")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _dynamodb(moto_url: str) -> Any:
    import boto3

    return boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def add_operators(moto_url: str, site_id: str, count: int, tag: str) -> list[tuple[str, str]]:
    """Operators written straight into the stack's moto: (email, password) each."""
    from chalicelib.shared import auth

    db, made = _dynamodb(moto_url), []
    for n in range(count):
        email, password = f"op{n}.{tag}@bench.local", f"pw-bench-{n}-{tag}"
        db.put_item(TableName=f"{PREFIX}-operators", Item={
            "operator_id": {"S": f"o_bench{tag}x{n}"}, "site_id": {"S": site_id}, "email": {"S": email},
            "name": {"S": f"Op{n}"}, "password_hash": {"S": auth.hash_password(password)},
            "created_at": {"N": "0"}})
        made.append((email, password))
    return made


class OperatorBot:
    """An operator's console: takes what routing gives, answers it, closes it after a while."""

    def __init__(self, client: Client, operator_id: str, handle_ms: int, rng: random.Random) -> None:
        self.client, self.operator_id, self.handle_ms, self.rng = client, operator_id, handle_ms, rng
        self.mine: set[str] = set()
        self.closed: set[str] = set()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._work())

    async def _work(self) -> None:
        seen = 0
        while True:
            frames = self.client.frames[seen:]
            seen += len(frames)
            for _, frame in frames:
                summary = frame.get("dialog") if frame.get("type") in ("dialog", "message") else None
                if not summary or summary.get("status") != "open":
                    continue
                dialog_id = summary["dialog_id"]
                if (summary.get("assignee") or {}).get("operator_id") == self.operator_id and dialog_id not in self.mine:
                    self.mine.add(dialog_id)
                    asyncio.ensure_future(self._handle(dialog_id))
            await asyncio.sleep(0.02)

    async def _handle(self, dialog_id: str) -> None:
        await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.handle_ms / 1000)
        await self.client.send({"type": "close", "dialog_id": dialog_id})
        self.closed.add(dialog_id)


async def _load_sampler(moto_url: str, site_id: str, operator_ids: set[str], stop: asyncio.Event,
                        seen: dict[str, int]) -> None:
    db = _dynamodb(moto_url)
    while not stop.is_set():
        items = await asyncio.to_thread(
            db.query, TableName=f"{PREFIX}-routing", KeyConditionExpression="site_id = :s AND begins_with(item_key, :p)",
            ExpressionAttributeValues={":s": {"S": site_id}, ":p": {"S": "op#"}}, ConsistentRead=True)
        for item in items["Items"]:
            if item["item_key"]["S"][3:] not in operator_ids:
                continue  # the stack's own operators (who may have taken dialogs themselves)
            load, cap = int(item.get("load", {"N": "0"})["N"]), int(item.get("cap", {"N": "0"})["N"])
            seen["max_load"] = max(seen.get("max_load", 0), load)
            seen["over_cap"] = seen.get("over_cap", 0) + (1 if load > cap else 0)
        await asyncio.sleep(0.05)


async def _visitor(parley_url: str, ws_url: str, site_id: str, origin: str, start: asyncio.Event) -> dict[str, Any]:
    session = await visitor_session(parley_url, site_id, origin)
    tab = await Client.connect(ws_url, session["token"], origin)
    await tab.request({"type": "resume", "after_seq": 0}, "history")
    await start.wait()
    sent = time.perf_counter()
    client_id = new_client_id()
    await tab.send({"type": "message", "client_id": client_id, "text": "Hello, I need help with my order"})
    ack = await tab.wait_for(lambda f: f.get("type") == "ack" and f.get("client_id") == client_id, timeout=60)
    result: dict[str, Any] = {"dialog_id": ack["dialog_id"], "tab": tab, "sent": sent}
    try:
        told = await tab.wait_for(lambda f: f.get("type") == "queue" and f.get("operator"), timeout=120)
        result["assigned_ms"] = (time.perf_counter() - sent) * 1000
        result["operator"] = told["operator"]["name"]
    except TimeoutError:
        pass
    result["queued"] = any(f.get("position") for f in tab.of_type("queue"))
    return result


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


def _fifo_violations(moto_url: str, dialog_ids: list[str]) -> tuple[int, int]:
    """Queued dialogs (a ticket) ordered by ticket: pairs assigned in the other order."""
    db, served = _dynamodb(moto_url), []
    for dialog_id in dialog_ids:
        item = db.get_item(TableName=f"{PREFIX}-dialogs", Key={"dialog_id": {"S": dialog_id}}, ConsistentRead=True)["Item"]
        if "queue_no" in item and "assigned_at" in item:
            served.append((int(item["queue_no"]["N"]), int(item["assigned_at"]["N"])))
    served.sort()
    at = [assigned for _, assigned in served]
    return sum(1 for i in range(len(at)) for j in range(i + 1, len(at)) if at[i] > at[j]), len(served)


def _unplaced(moto_url: str, site_id: str, dialog_ids: list[str]) -> int:
    """Open dialogs that are neither an operator's nor in the queue: lost."""
    db = _dynamodb(moto_url)
    items = db.query(TableName=f"{PREFIX}-routing", KeyConditionExpression="site_id = :s",
                     ExpressionAttributeValues={":s": {"S": site_id}}, ConsistentRead=True)["Items"]
    keys = {i["item_key"]["S"] for i in items}
    lost = 0
    for dialog_id in dialog_ids:
        item = db.get_item(TableName=f"{PREFIX}-dialogs", Key={"dialog_id": {"S": dialog_id}}, ConsistentRead=True).get("Item")
        if item is None:
            lost += 1
        elif item["status"]["S"] == "open" and f"a#{dialog_id}" not in keys and f"in#{dialog_id}" not in keys:
            lost += 1
    return lost


async def _demo_presence(stack: Any, console: str, status: str) -> None:
    login = await operator_login(stack.parley_url, stack.operator_email, stack.operator_password)
    demo = await Client.connect(stack.ws_url, login["token"], console)
    await demo.request({"type": "presence", "status": status}, "team")
    await demo.close()


async def run(stack: Any, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    site_id, shop, console = stack.site_id, _origin(stack.shop_url), _origin(stack.console_url)
    tag = f"{int(time.time() * 1000) % 10**8}"
    accounts = await asyncio.to_thread(add_operators, stack.moto_url, site_id, args.operators, tag)
    bots: list[OperatorBot] = []
    for email, password in accounts:
        login = await operator_login(stack.parley_url, email, password)
        client = await Client.connect(stack.ws_url, login["token"], console)
        me = login["operator"]["operator_id"]
        await client.request({"type": "cap_set", "operator_id": me, "cap": args.cap}, "team")
        bots.append(OperatorBot(client, me, args.handle_ms, rng))
    await _demo_presence(stack, console, "away")  # only the bench's operators take dialogs
    for bot in bots:
        bot.start()
    stop, seen = asyncio.Event(), {}
    sampler = asyncio.ensure_future(_load_sampler(stack.moto_url, site_id, {b.operator_id for b in bots}, stop, seen))
    results: list[dict[str, Any]] = []
    try:
        for wave in range(0, args.dialogs, args.burst):
            start = asyncio.Event()
            pending = [asyncio.ensure_future(_visitor(stack.parley_url, stack.ws_url, site_id, shop, start))
                       for _ in range(min(args.burst, args.dialogs - wave))]
            await asyncio.sleep(0.2)
            start.set()  # the whole wave writes at the same instant
            results += await asyncio.gather(*pending)
    finally:
        stop.set()
        await sampler
    dialog_ids = [r["dialog_id"] for r in results]
    violations, queued_served = await asyncio.to_thread(_fifo_violations, stack.moto_url, dialog_ids)
    unplaced = await asyncio.to_thread(_unplaced, stack.moto_url, site_id, dialog_ids)
    per_operator = max((len(b.mine) - len(b.closed) for b in bots), default=0)
    for bot in bots:
        if bot.task:
            bot.task.cancel()
        await bot.client.request({"type": "presence", "status": "offline"}, "team")
    await _demo_presence(stack, console, "online")  # the stack as it was
    await asyncio.gather(*(b.client.close() for b in bots), *(r["tab"].close() for r in results),
                         return_exceptions=True)
    direct = [r["assigned_ms"] for r in results if "assigned_ms" in r and not r["queued"]]
    waited = [r["assigned_ms"] for r in results if "assigned_ms" in r and r["queued"]]
    return {
        "dialogs": len(results), "operators": args.operators, "cap": args.cap,
        "max_load_seen": max(seen.get("max_load", 0), per_operator), "over_cap": seen.get("over_cap", 0),
        "p99_assign_ms": _percentile(direct, 0.99), "p50_assign_ms": _percentile(direct, 0.5),
        "assigned_on_arrival": len(direct), "queued": len(waited) + sum(1 for r in results if "assigned_ms" not in r),
        "p99_queue_wait_ms": _percentile(waited, 0.99),
        "lost": unplaced + sum(1 for r in results if "assigned_ms" not in r and not r["queued"]),
        "never_assigned": sum(1 for r in results if "assigned_ms" not in r),
        "queue_fifo_violations": violations, "queued_served": queued_served,
    }


def main() -> None:
    args = _args()
    from infra.local.stack import LocalStack

    with LocalStack() as stack:
        print(json.dumps(asyncio.run(run(stack, args))))


if __name__ == "__main__":
    main()
