"""Property tests of assignment, through the real handlers on moto: for any sequence of
arrivals, closings, transfers, presence and cap changes, no operator goes over their cap,
every open dialog is exactly one operator's or queued (never lost, never twice), operators'
loads equal their dialogs, the queue is served strictly in arrival order, and nobody waits in
the queue while an available operator has room."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.moto_chat import SHOP
from tests.service.test_chat import msg, of_type

OPERATORS = 3
CONSOLE = "https://console.example"
_sites = itertools.count()

arrive = st.just(("arrive",))
close = st.tuples(st.just("close"), st.integers(0, 30))
transfer = st.tuples(st.just("transfer"), st.integers(0, 30), st.one_of(st.none(), st.integers(0, OPERATORS - 1)))
presence = st.tuples(st.just("presence"), st.integers(0, OPERATORS - 1), st.sampled_from(["online", "away", "offline"]))
cap = st.tuples(st.just("cap"), st.integers(0, OPERATORS - 1), st.integers(1, 3))
steps = st.lists(st.one_of(arrive, arrive, close, transfer, presence, cap), min_size=1, max_size=24)


class Site:
    """A fresh site with three operators' consoles, driven through frames."""

    def __init__(self, chat) -> None:
        from chalicelib.shared import auth
        from chalicelib.shared.config import settings as config
        from chalicelib.storage.operator_store import Operator
        from chalicelib.storage.site_store import Site as SiteModel

        self.chat, self.site_id = chat, f"prop{next(_sites)}"
        SiteModel(self.site_id, name="Prop shop", allowed_origins=[SHOP], created_at=0).save()
        self.ops: list[str] = []
        self.conns: list[str] = []
        for n in range(OPERATORS):
            operator_id = f"o_{self.site_id}x{n}"
            Operator(operator_id, site_id=self.site_id, email=f"op{n}@{self.site_id}.example", name=f"Op{n}",
                     password_hash="-", created_at=0).save()
            token = auth.issue_token(auth.Claims("operator", operator_id, self.site_id, 2**31, f"Op{n}"), config.secret)
            _, conn = chat.connect(token, CONSOLE)
            chat.send(conn, {"type": "cap_set", "operator_id": operator_id, "cap": 2})
            self.ops.append(operator_id)
            self.conns.append(conn)
        self.dialogs: list[str] = []
        self.caps = {op: 2 for op in self.ops}

    def apply(self, step: tuple) -> str | None:
        """Runs one step; the dialog it moved by hand (a transfer), if any."""
        chat, kind = self.chat, step[0]
        if kind == "arrive":
            session = chat.visitor_token(site_id=self.site_id)["body"]
            _, tab = chat.connect(session["token"], SHOP)
            ack = of_type(chat.send(tab, msg("hello", f"cid-{tab[:10]}".replace("=", "x"))), "ack")[0]
            self.dialogs.append(ack["dialog_id"])
        elif kind == "close" and self.dialogs:
            chat.send(self.conns[0], {"type": "close", "dialog_id": self.dialogs[step[1] % len(self.dialogs)]})
        elif kind == "transfer" and self.dialogs:
            dialog_id = self.dialogs[step[1] % len(self.dialogs)]
            target = self.ops[step[2]] if step[2] is not None else None
            giver = self.conns[1] if step[2] == 0 else self.conns[0]  # a transfer is to someone else
            chat.send(giver, {"type": "transfer", "dialog_id": dialog_id, "operator_id": target})
            return dialog_id
        elif kind == "presence":
            chat.send(self.conns[step[1]], {"type": "presence", "status": step[2]})
        elif kind == "cap":
            operator_id = self.ops[step[1]]
            chat.send(self.conns[0], {"type": "cap_set", "operator_id": operator_id, "cap": step[2]})
            self.caps[operator_id] = step[2]
        return None

    def state(self) -> dict:
        from chalicelib.storage.routing_store import RoutingItem

        items = list(RoutingItem.query(self.site_id, consistent_read=True))
        return {"ops": {i.item_key[3:]: i for i in items if i.item_key.startswith("op#")},
                "assigned": {i.item_key[2:]: i.operator_id for i in items if i.item_key.startswith("a#")},
                "queued": {i.item_key[3:]: int(i.ticket) for i in items if i.item_key.startswith("in#")},
                "tickets": {int(i.ticket): i.dialog_id for i in items if i.item_key.startswith("q#")}}


def check(site: Site, before: dict, after: dict, moved_by_hand: str | None, loads_before: dict) -> None:
    from chalicelib.routing import policy
    from chalicelib.shared.clock import now_ms
    from chalicelib.storage import dialog_store, routing_store

    for operator_id, item in after["ops"].items():
        load = int(item.load or 0)
        assert load == sum(1 for op in after["assigned"].values() if op == operator_id), "load drifted"
        # never over the cap by an assignment (a cap lowered below the load only stops new ones)
        assert load <= max(int(item.cap), loads_before.get(operator_id, 0)), "over the cap"
    assert set(after["assigned"]).isdisjoint(after["queued"]), "assigned and queued at once"
    assert {d: t for t, d in after["tickets"].items()} == after["queued"], "queue index out of step"
    for dialog_id in site.dialogs:
        dialog = dialog_store.get_dialog(dialog_id)
        if dialog.status == "open":
            assert dialog_id in after["assigned"] or dialog_id in after["queued"], "an open dialog was lost"
            assert dialog.assignee_id == after["assigned"].get(dialog_id), "the dialog does not show its operator"
        else:
            assert dialog_id not in after["assigned"] and dialog_id not in after["queued"], "a closed dialog holds a slot"
    served = [d for d in before["queued"] if d in after["assigned"] and d != moved_by_hand]
    still = after["queued"].values()
    for dialog_id in served:
        assert all(before["queued"][dialog_id] < ticket for ticket in still), "the queue was not served in order"
    if after["queued"]:
        states = routing_store.operator_states(site.site_id)
        assert not policy.candidates(states, now_ms()), "a dialog waits while an operator has room"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_any_sequence_keeps_caps_loads_and_the_queue_order(chat, steps):
    site = Site(chat)
    before = site.state()
    for step in steps:
        loads_before = {op: int(i.load or 0) for op, i in before["ops"].items()}
        moved = site.apply(step)
        after = site.state()
        check(site, before, after, moved, loads_before)
        before = after
