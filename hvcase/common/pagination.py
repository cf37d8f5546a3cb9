"""The list envelope: a count and one page, in two queries whatever the page size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from hvcase.extensions import db


def paginate(statement: Select, args: dict[str, Any]) -> dict[str, Any]:
    """Run ``statement`` (already ordered) for one page; return the list envelope."""
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    items = db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total or 0}
