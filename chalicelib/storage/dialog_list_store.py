"""Lists of dialogs (dialogs table indexes): by status, by assignee, by visitor, one page at a time."""
from __future__ import annotations

from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.storage.base import FILTERED_PAGE, READ_PAGES, decode_cursor, encode_cursor
from chalicelib.storage.dialog_store import Dialog


def dialogs_in_status(site_id: str, status: str, cursor: str | None, limit: int,
                      tag: str | None = None, segment: str | None = None) -> tuple[list[Dialog], str | None]:
    """Query dialogs.site-status-index["site#status"], newest activity first, one page."""
    return _dialog_page(Dialog.by_site_status, "site_status", f"{site_id}#{status}", cursor, limit,
                        _list_filter(tag, segment))


def dialogs_of_assignee(site_id: str, status: str, assignee: str, cursor: str | None, limit: int,
                        tag: str | None = None, segment: str | None = None) -> tuple[list[Dialog], str | None]:
    """Query dialogs.assignee-index["site#status#operator"] ("-" for nobody), newest first."""
    partition = f"{site_id}#{status}#{assignee}"
    return _dialog_page(Dialog.by_assignee, "assignee_key", partition, cursor, limit,
                        _list_filter(tag, segment))


def _list_filter(tag: str | None, segment: str | None) -> Condition | None:
    """The list's FilterExpression: a tag on the dialog and/or its visitor in a segment."""
    condition = Dialog.tags.contains(tag) if tag else None
    if segment:
        in_segment = Dialog.visitor_segments.contains(segment)
        condition = in_segment if condition is None else condition & in_segment
    return condition


def visitor_dialogs(visitor_id: str, limit: int) -> list[Dialog]:
    """Query dialogs.visitor-index[visitor_id], oldest first."""
    return list(Dialog.by_visitor.query(visitor_id, limit=limit))


def _dialog_page(index: Any, hash_name: str, partition: str, cursor: str | None, limit: int,
                 filter_condition: Condition | None) -> tuple[list[Dialog], str | None]:
    """One page of an index, newest first. With a filter the Query filters, so it reads pages
    until the list is full or READ_PAGES were read; the cursor then resumes where it stopped."""
    results = index.query(
        partition, scan_index_forward=False,
        page_size=max(limit, FILTERED_PAGE) if filter_condition is not None else limit,
        filter_condition=filter_condition,
        last_evaluated_key=decode_cursor(cursor, hash_name, partition),
    )
    pages = results.page_iter
    raw: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    for number, page in enumerate(pages, 1):
        items = page.get("Items", [])
        if len(raw) + len(items) >= limit:
            taken = items[: limit - len(raw)]
            raw.extend(taken)
            last = pages.last_evaluated_key if len(taken) == len(items) else {
                name: taken[-1][name] for name in pages.key_names}
            break
        raw.extend(items)
        last = pages.last_evaluated_key
        if last is None or number >= READ_PAGES:
            break
    return [Dialog.from_raw_data(item) for item in raw], encode_cursor(last)
