"""The websocket entry: $connect, $default and $disconnect, and the frame table: which
package's HANDLERS answer each frame type. A frame's handler gets the connection's identity
(stored at $connect), the validated frame and an Outbox that is sent when the handler is done.

The three routes are three Lambda functions, and a module is imported when a route first needs
it (a frame type's module on its first frame), so a cold start pays only for what it runs."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from chalicelib import protocol
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.shared.auth import read_token
from chalicelib.shared.clock import now_ms, now_s
from chalicelib.shared.config import settings
from chalicelib.shared.errors import ParleyError, Unauthorized
from chalicelib.storage import connection_store, site_store, visitor_store
from chalicelib.storage.connection_store import Connection

logger = Logger(service="parley", child=True)
CONNECTION_TTL_S = 3 * 3600  # API Gateway closes a websocket after 2 hours at the latest


@dataclass(frozen=True)
class ConnectRequest:
    connection_id: str
    query: dict[str, str]
    headers: dict[str, str]
    source_ip: str = ""


def connect(request: ConnectRequest, endpoint: str | None = None) -> int:
    """Authenticates a new websocket and remembers who it is; an operator's console makes them
    present (told to the team through `endpoint`). Returns the HTTP status."""
    query = request.query
    if query.get("v") != protocol.VERSION or not query.get("token"):
        return 400
    try:
        claims = read_token(query["token"], settings.secret, now_s())
    except Unauthorized:
        logger.info("websocket refused: bad token")
        return 401
    origin = _header(request.headers, "origin")
    if not _origin_allowed(claims.role, claims.site_id, origin):
        logger.info("websocket refused: origin", extra={"origin": origin})
        return 403
    if claims.role == "visitor" and _blocked(claims.site_id, claims.subject, request):
        return 403
    channel = audience.channel_of(claims.role, claims.site_id, claims.subject)
    conn = Connection(
        request.connection_id, role=claims.role, site_id=claims.site_id, subject_id=claims.subject,
        name=claims.name, channel=channel, connected_at=now_ms(),
        expires_at=now_s() + CONNECTION_TTL_S,
    )
    connection_store.put_connection(conn)
    if claims.role == "operator":
        from chalicelib.routing import team

        with audience.telling(endpoint) as outbox:
            team.console_connected(conn, outbox)
    return 200


def _header(headers: dict[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _origin_allowed(role: str, site_id: str, origin: str) -> bool:
    if role == "operator":
        return origin in settings.console_origins
    if role != "visitor":
        return False
    site = site_store.get_site(site_id)
    return site is not None and origin in site.allowed_origins


def _blocked(site_id: str, visitor_id: str, request: ConnectRequest) -> bool:
    site = site_store.get_site(site_id)
    if site is None:
        return True
    from chalicelib.site import siteconfig
    from chalicelib.visitors import blocking, tracking

    setup = siteconfig.load(site)
    if not setup.blocks:
        return False
    client = tracking.Client(ip=request.source_ip, country=viewer_country(request.headers))
    return blocking.block_of(setup, visitor_store.get_visitor(visitor_id), client, now_ms()) is not None


def viewer_country(headers: dict[str, str]) -> str:
    """The visitor's country from CloudFront's header, when the site is behind CloudFront."""
    value = _header(headers, "cloudfront-viewer-country").strip().upper()
    return value if len(value) == 2 and value.isalpha() else ""


def disconnect(connection_id: str, endpoint: str | None = None) -> None:
    """Forgets a closed connection; a visitor's last tab closing makes the visitor leave (the
    monitor, the schedule), told to operators through `endpoint` when there is one."""
    conn = connection_store.get_connection(connection_id)
    if conn is None:
        return
    audience.remove_connection(conn)
    with audience.telling(endpoint) as outbox:
        if conn.role == "operator":
            from chalicelib.routing import team

            team.console_closed(conn, outbox)
        elif outbox is not None:
            from chalicelib.proactive import greetings

            greetings.visitor_left(conn, outbox)


def receive(connection_id: str, body: str | None, endpoint: str) -> None:
    """Handles one inbound frame; every outcome, error included, is answered by a frame."""
    with audience.sending(endpoint, on_gone=disconnect) as outbox:
        try:
            _dispatch(connection_id, body, outbox)
        except ParleyError as exc:
            logger.info("frame refused", extra={"code": exc.code, "reason": exc.message})
            outbox.add([connection_id], protocol.error_frame(exc.code, exc.message, exc.client_id))
        except Exception:
            logger.exception("frame failed")
            outbox.add([connection_id], protocol.error_frame("internal", "the server failed; retry"))


def _dispatch(connection_id: str, body: str | None, outbox: Outbox) -> None:
    conn = connection_store.get_connection(connection_id)
    if conn is None:
        raise Unauthorized("unknown connection; reconnect with a fresh token")
    frame = protocol.parse_frame(body, conn.role)
    try:
        handler_for(conn.role, frame.type)(conn, frame, outbox)
    except ParleyError as exc:
        exc.client_id = exc.client_id or frame.client_id
        raise


Handler = Callable[[Connection, protocol.Frame, Outbox], None]
FRAME_MODULES: dict[str, dict[str, str]] = {  # role -> frame type -> the module whose HANDLERS has it
    "visitor": {
        **dict.fromkeys(("resume", "message", "upload", "typing", "ping", "leave_message", "handoff"),
                        "chalicelib.chat.visitor"),
        **dict.fromkeys(("track", "identify", "check", "read"), "chalicelib.proactive.live"),
        **dict.fromkeys(("availability", "queue"), "chalicelib.routing.reception"),
        "rate": "chalicelib.routing.ratings",
    },
    "operator": {
        **dict.fromkeys(("subscribe", "history", "message", "upload", "typing", "ping"), "chalicelib.chat.operator"),
        **dict.fromkeys(("workspace", "tag_add", "tag_remove", "close", "reopen", "assign", "transfer", "visitor",
                         "visitor_update", "visitor_events", "template_save", "template_delete"),
                        "chalicelib.workspace.desk"),
        **dict.fromkeys(("proactive", *protocol.DOCUMENT_FIELDS, *protocol.ID_FIELDS), "chalicelib.proactive.editor"),
        "monitor": "chalicelib.proactive.monitor",
        "invite": "chalicelib.proactive.greetings",
        **dict.fromkeys(("team", "presence", "cap_set"), "chalicelib.routing.team"),
    },
}


def handler_for(role: str, frame_type: str) -> Handler:
    """The handler of a frame type (parse_frame already refused a type the role may not send)."""
    module = importlib.import_module(FRAME_MODULES[role][frame_type])
    handler: Handler = module.HANDLERS[frame_type]
    return handler
