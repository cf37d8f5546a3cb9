"""What each role may do, as small policy functions used by views and services."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask_login import current_user

from hvcase.common.errors import Forbidden


def require_role(*roles: str, on_deny: Callable[[], None] | None = None) -> Callable:
    """Refuse (403) callers whose role may not use this endpoint at all; ``on_deny`` runs
    first (family data audits every refusal)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                if on_deny is not None:
                    on_deny()
                raise Forbidden(f"The {current_user.role} role may not do this.")
            return view(*args, **kwargs)

        apidoc = getattr(wrapper, "_apidoc", {})
        apidoc.setdefault("manual_doc", {})["x-hvcase-roles"] = list(roles)
        wrapper._apidoc = apidoc
        return wrapper

    return decorator
