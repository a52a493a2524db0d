"""Who hears a frame: the only place that names a channel.

A connection listens on one channel, set at $connect: an operator's console on its site's
operator channel, a visitor's tab on the visitor's channel. A dialog also keeps the tabs of its
visitor that opened it (`visitor_conns`), so a message reaches them without a Query.
`sending` opens an Outbox for a request and, at the end, sends it and forgets the connections
API Gateway called gone, on every path that sends.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from chalicelib.realtime.delivery import Outbox
from chalicelib.shared.clock import now_ms
from chalicelib.storage import connection_store, dialog_store
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.dialog_store import Dialog

OPENING_MS = 10_000  # a connection this young may still be in its $connect


def channel_of(role: str, site_id: str, subject_id: str) -> str:
    """The channel a new connection listens on."""
    return f"ops#{site_id}" if role == "operator" else f"vis#{subject_id}"


def operators(site_id: str) -> list[str]:
    """Every open console of the site's operators (one Query)."""
    return connection_store.channel_connections(f"ops#{site_id}")


def visitor_tabs(visitor_id: str) -> list[str]:
    """Every open tab of one visitor (one Query)."""
    return connection_store.channel_connections(f"vis#{visitor_id}")


def dialog_tabs(dialog: Dialog, sending_tab: str | None = None) -> set[str]:
    """The dialog's visitor tabs (no Query), with the tab that just wrote to it."""
    tabs = set(dialog.visitor_conns or ())
    if sending_tab:
        tabs.add(sending_tab)
    return tabs


@contextmanager
def sending(endpoint: str | None, on_gone: Callable[[str], None] | None = None) -> Iterator[Outbox]:
    """An Outbox sent when the block ends without an error; connections that came back gone
    are forgotten (`on_gone`, else their records are removed). Without an endpoint (a handler
    run where no websocket API is configured) nothing is sent."""
    outbox = Outbox(endpoint or "")
    yield outbox
    if endpoint:
        forget(outbox.send(), on_gone or forget_connection)


@contextmanager
def telling(endpoint: str | None) -> Iterator[Outbox | None]:
    """`sending` where there is an API to post to; else None, which tells a handler that
    nobody is to be told (its storage work is done all the same)."""
    if not endpoint:
        yield None
        return
    with sending(endpoint) as outbox:
        yield outbox


def forget(gone: Iterable[str], on_gone: Callable[[str], None]) -> None:
    """Forgets connections the management API called gone (410), except those still opening:
    a connection is stored during its $connect, before API Gateway can post to it, so a frame
    fanned out to it then is refused although it is about to live."""
    for connection_id in gone:
        conn = connection_store.get_connection(connection_id)
        if conn is not None and now_ms() - int(conn.connected_at) < OPENING_MS:
            continue
        on_gone(connection_id)


def forget_connection(connection_id: str) -> None:
    """A gone connection's records, if it still has any."""
    conn = connection_store.get_connection(connection_id)
    if conn is not None:
        remove_connection(conn)


def remove_connection(conn: Connection) -> None:
    """A closed connection's records: off its dialog, then deleted."""
    if conn.role == "visitor" and conn.dialog_id:
        dialog_store.remove_visitor_connections(conn.dialog_id, {conn.connection_id})
    connection_store.delete_connection(conn.connection_id)
