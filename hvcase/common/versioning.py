"""Versions as ETags, and the optional If-Match check (stale: 412; absent: the write applies)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request

from hvcase.common.errors import StaleVersion
from hvcase.extensions import db


def etag_of(record: Any) -> str:
    return f'"{record.version}"'


def with_etag(record: Any, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    """A view's return value: the record, its status and its ``ETag`` header."""
    return record, status, {"ETag": etag_of(record)}


def check_if_match(record: Any) -> None:
    """Refuse the write with 412 when ``If-Match`` names another version of ``record``."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" in wanted or etag_of(record) in wanted:
        return
    raise StaleVersion(
        f"The record has changed: it is at version {record.version}.",
        headers={"ETag": etag_of(record)},
    )


def check_put_target(model: type, record_id: Any, get_in_scope: Callable[[], Any]) -> Any:
    """A PUT's checks before its body is read: an existing record must be in the caller's
    scope (404) and at the ``If-Match`` version (412); a new id passes (the PUT creates it).
    The record found, or None for a new id."""
    if db.session.get(model, record_id) is None:
        return None
    record = get_in_scope()
    check_if_match(record)
    return record


def if_match(view: Any) -> Any:
    """Document ``If-Match`` and its 412 on a view that calls ``check_if_match``."""
    apidoc = getattr(view, "_apidoc", {})
    apidoc.setdefault("manual_doc", {})["x-hvcase-if-match"] = True
    view._apidoc = apidoc
    return view
