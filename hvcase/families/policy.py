"""Who may do what with family data; every refusal on family data is audited as ``denied``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request

from hvcase.audit import services as audit
from hvcase.auth.policy import require_role

FAMILY_DATA = ("home_visitor", "supervisor", "agency_admin")
ASSIGN = ("supervisor", "agency_admin")
VOID_FAMILY = ("supervisor", "agency_admin")


def record_denied(
    object_type: str | None = None,
    object_id: Any = None,
    status: int = 403,
    object_agency_id: Any = None,
) -> None:
    """An audit event for a refusal (403 or 404), written even though the request fails. The
    caller is answered the same whether or not the record exists; the event names the owning
    agency when there is one, so that agency's admin sees who tried."""
    audit.record(
        "denied",
        object_type=object_type,
        object_id=object_id,
        object_agency_id=object_agency_id,
        detail={"status": status, "method": request.method, "path": request.path},
        lasting=True,
    )


def require_family_role(*roles: str) -> Callable:
    """403, audited, for roles that may not use this family-data endpoint at all."""
    return require_role(*roles, on_deny=record_denied)
