"""Every table: short name ("<prefix>-<name>" is the table) -> model, and which have a TTL."""
from __future__ import annotations

from pynamodb.models import Model

from chalicelib.storage.connection_store import Connection
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.greeting_store import Greeting
from chalicelib.storage.mail_item_store import MailItem
from chalicelib.storage.message_store import Message
from chalicelib.storage.operator_store import Operator
from chalicelib.storage.routing_store import RoutingItem
from chalicelib.storage.site_config_store import SiteConfig
from chalicelib.storage.site_store import Site
from chalicelib.storage.template_store import Template
from chalicelib.storage.visitor_event_store import VisitorEvent
from chalicelib.storage.visitor_store import Visitor

TABLES: dict[str, type[Model]] = {
    "sites": Site, "operators": Operator, "visitors": Visitor, "visitor_events": VisitorEvent,
    "dialogs": Dialog, "messages": Message, "templates": Template, "connections": Connection,
    "site_config": SiteConfig, "greetings": Greeting, "mail": MailItem, "routing": RoutingItem,
}
ALL_MODELS: tuple[type[Model], ...] = tuple(TABLES.values())
TIME_TO_LIVE: dict[str, str] = {"connections": "expires_at", "mail": "expires_at"}  # table -> TTL attribute (epoch s)
