"""Many simultaneous new dialogs against the local stack (real websockets, moto server, the
gateway's handler threads): every operator stays within their cap, no dialog is lost or
assigned twice, and the queue is served in order. The figures come from bench/routing.py."""
from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench_routing", Path(__file__).parents[2] / "bench" / "routing.py")
bench_routing = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_routing)


def test_simultaneous_dialogs_stay_within_caps_and_none_is_lost(stack):
    args = bench_routing._args(["--dialogs", "36", "--operators", "3", "--cap", "2", "--burst", "18",
                                "--handle-ms", "300"])
    result = asyncio.run(bench_routing.run(stack, args))
    assert result["dialogs"] == 36
    assert result["over_cap"] == 0 and result["max_load_seen"] <= 2
    assert result["lost"] == 0 and result["never_assigned"] == 0
    assert result["queued"] > 0 and result["queued_served"] > 0  # the burst did overflow into the queue
    assert result["queue_fifo_violations"] == 0
