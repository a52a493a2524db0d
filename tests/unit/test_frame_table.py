"""The websocket's frame table (socket.FRAME_MODULES) names, for every frame type a role may
send, the module whose HANDLERS answer it: a type the parser accepts but no handler takes would
fail at run time, and a handler the table does not name could never run."""
from __future__ import annotations

import importlib

import pytest

from chalicelib import socket
from chalicelib.protocol import frame


@pytest.mark.parametrize("role, accepted", [("visitor", frame.VISITOR_TYPES), ("operator", frame.OPERATOR_TYPES)])
def test_every_frame_type_a_role_may_send_has_one_handler(role: str, accepted: frozenset[str]) -> None:
    table = socket.FRAME_MODULES[role]
    assert set(table) == set(accepted)
    for module_name in set(table.values()):
        handled = set(importlib.import_module(module_name).HANDLERS)
        assert handled == {t for t, m in table.items() if m == module_name}, module_name
