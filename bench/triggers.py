#!/usr/bin/env python3
"""The scheduled trigger evaluation at scale, on moto.

Writes N visitors of whom A are on the site now (a page open, a websocket connection), and T
triggers, then times one run of the every-minute handler (`greetings.run_schedule`) and counts
the DynamoDB requests it makes. The triggers are of the shapes shops use (time on page on a
URL, referrer, visits, device, cart value). As in steady state, a greeting's time comes for
only a few visitors in any one minute (about 2% here): the rest are evaluated and pass.
Prints one JSON line.

    python3 bench/triggers.py --visitors 100000 --active 10000 --triggers 20
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1", "PARLEY_SECRET": "bench-secret",
                   "PARLEY_STAGE": "bench"})
for name in ("PARLEY_AWS_ENDPOINT", "PARLEY_WS_ENDPOINT", "AWS_PROFILE"):
    os.environ.pop(name, None)

ENDPOINT = "https://bench.execute-api.us-east-1.amazonaws.com/api"
PAGES = ["/", "/pricing", "/mug.html", "/cart.html", "/product.html", "/blog/tea"]


def trigger_docs(count: int) -> list[dict]:
    shapes = [
        {"all": [{"field": "url", "op": "contains", "value": "/pricing"},
                 {"field": "time_on_page", "op": "gte", "value": 80}]},
        {"all": [{"field": "event", "key": "added_to_cart.value", "op": "gt", "value": 100},
                 {"field": "time_on_page", "op": "gte", "value": 85}]},
        {"all": [{"any": [{"field": "referrer", "op": "contains", "value": "google"},
                          {"field": "utm", "key": "source", "op": "equals", "value": "newsletter"}]},
                 {"field": "time_on_site", "op": "gte", "value": 880}]},
        {"all": [{"field": "visits", "op": "gte", "value": 5}, {"field": "time_on_site", "op": "gte", "value": 870}]},
        {"all": [{"field": "device", "op": "equals", "value": "mobile"},
                 {"field": "url", "op": "glob", "value": "*/cart*"}, {"field": "time_on_page", "op": "gte", "value": 45}]},
    ]
    docs = []
    for number in range(count):
        match = shapes[number % len(shapes)]
        if number >= len(shapes):  # the rest never hold here, but are evaluated all the same
            match = {"all": [match, {"field": "country", "op": "in", "value": [f"Z{number % 10}"]}]}
        docs.append({"name": f"Trigger {number}", "enabled": True, "match": match, "holdout_percent": 10,
                     "action": {"kind": "message", "text": "Hi {visitor.name|there}! Can we help?",
                                "sender": {"kind": "site"}, "open_desktop": True, "open_mobile": False}})
    return docs


def write_visitors(total: int, active: int, now: int) -> None:
    from chalicelib.storage.connection_store import Connection
    from chalicelib.storage.visitor_store import Visitor
    from chalicelib.visitors import tracking

    rng = random.Random(7)
    with Visitor.batch_write() as visitors, Connection.batch_write() as connections:
        for number in range(total):
            visitor_id = f"v_bench{number:07d}"
            visitor = Visitor(visitor_id, site_id="demo", created_at=now - 86_400_000, visits=rng.randint(1, 5),
                              last_seen=now - rng.randint(0, 3_600_000), version=1,
                              session_id=f"s_{number}", session_started=now - rng.randint(0, 900_000),
                              current_url="https://shop.example" + rng.choice(PAGES),
                              device=rng.choice(["desktop", "desktop", "mobile"]))
            if rng.random() < 0.2:
                visitor.session_referrer = "https://www.google.com/"
            if rng.random() < 0.1:
                visitor.events = json.dumps({"added_to_cart": {"count": 1, "at": now, "props": {"value": 150}}})
            if number < active:
                visitor.page_started = now - rng.randint(0, 90_000)
                visitor.live_site, visitor.active_until = "demo", now + 3_600_000
                visitor.due_shard = tracking.shard_of(visitor_id)
                connections.save(Connection(f"c{number}=", role="visitor", site_id="demo", subject_id=visitor_id,
                                            channel=f"vis#{visitor_id}", connected_at=now, expires_at=now // 1000 + 7200))
            visitors.save(visitor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--active", type=int, default=2_000)
    parser.add_argument("--triggers", type=int, default=20)
    args = parser.parse_args()

    from moto import mock_aws

    with mock_aws():
        from chalicelib import admin
        from chalicelib.proactive import greetings
        from chalicelib.site import triggers
        from chalicelib.storage.site_config_store import SiteConfig

        admin.create_tables()
        admin.seed_demo(["https://shop.example"], "ann@demo.shop", "pw-ann-123")
        now = int(time.time() * 1000)
        for number, doc in enumerate(trigger_docs(args.triggers)):
            checked = triggers.check_trigger(doc, trigger_id=f"t_bench{number:02d}", created_at=now + number,
                                             operator_ids=())
            SiteConfig("demo", f"c#trigger#{checked.trigger_id}", doc=json.dumps(triggers.trigger_doc(checked))).save()
        started = time.perf_counter()
        write_visitors(args.visitors, args.active, now)
        setup_s = time.perf_counter() - started

        from infra.local.metrics import Metrics, install_botocore_counter

        metrics = Metrics()
        install_botocore_counter(metrics)
        report = greetings.run_schedule(ENDPOINT, now)
        counted = metrics.snapshot()
        print(json.dumps({
            "visitors": args.visitors, "active_visitors": args.active, "triggers": args.triggers,
            "handler_s": round(report.handler_s, 2), "ddb_requests": counted["ddb_calls"],
            "ddb_by_operation": counted["ddb_by_operation"],
            "due_read": report.due_visitors, "greeted": report.greeted, "held_out": report.held_out,
            "setup_s": round(setup_s, 1),
        }))


if __name__ == "__main__":
    main()
