"""Versions as ETags, and the optional If-Match check (stale: 412; absent: the write applies;
malformed: 400; on a PUT that creates: 412, there is nothing to match)."""

from __future__ import annotations

import re
from typing import Any

from flask import request

from hvcase.common.errors import BadRequest, StaleVersion

# RFC 9110's entity-tag: an optional weak prefix and a quoted string of visible characters.
_ENTITY_TAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"')


def etag_of(record: Any) -> str:
    return f'"{record.version}"'


def with_etag(record: Any, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    """A view's return value: the record, its status and its ``ETag`` header."""
    return record, status, {"ETag": etag_of(record)}


def _if_match() -> set[str] | None:
    """The entity tags ``If-Match`` names (weak prefixes dropped), None when it is absent; a
    400 naming the header when it is empty, unquoted or otherwise malformed."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    if header.strip() == "*":
        return {"*"}
    tags = [part.strip() for part in header.split(",")]
    if not all(_ENTITY_TAG.fullmatch(tag) for tag in tags):
        raise BadRequest('Malformed If-Match: send the version as its ETag gives it, quoted ("3").')
    return {tag.removeprefix("W/") for tag in tags}


def check_if_match(record: Any) -> None:
    """Refuse the write with 412 when ``If-Match`` names another version of ``record`` (400
    when it is malformed)."""
    wanted = _if_match()
    if wanted is None or "*" in wanted or etag_of(record) in wanted:
        return
    raise StaleVersion(
        f"The record has changed: it is at version {record.version}.",
        headers={"ETag": etag_of(record)},
    )


def refuse_if_match_on_create() -> None:
    """A PUT that finds no record creates one: an ``If-Match`` then has nothing to match (412;
    400 when it is malformed). The write pipeline's versions step (common/records.py)."""
    if _if_match() is None:
        return
    raise StaleVersion("If-Match names a version, but the record does not exist: nothing to match.")


def if_match(view: Any) -> Any:
    """Document ``If-Match`` and its 412 on a view that calls ``check_if_match``."""
    apidoc = getattr(view, "_apidoc", {})
    apidoc.setdefault("manual_doc", {})["x-hvcase-if-match"] = True
    view._apidoc = apidoc
    return view
