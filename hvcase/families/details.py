"""What GET of one family adds to the record (API.md): its next and last visit, the screenings
due and the open referrals.

families declares these fields and their empty values; the domain that owns each fact fills it
for one family with a provider registered here (visits fills ``next_visit`` and ``last_visit``),
so families never imports a later domain (STYLE habit 16). The registrations happen when
``create_app`` imports each domain's contributions module; a field no domain fills yet keeps
its empty value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from hvcase.families.models import Family

Provider = Callable[[Family], dict[str, Any]]

# Each field with a function making its empty value (a fresh list each time, never shared).
EMPTY: dict[str, Callable[[], Any]] = {
    "next_visit": lambda: None,
    "last_visit": lambda: None,
    "screenings_due": list,
    "open_referrals": list,
}

# Who fills each field: one provider per field (a provider may fill several).
PROVIDERS: dict[str, Provider] = {}


def register_details(fields: Collection[str], provider: Provider) -> Provider:
    """Let ``provider`` fill ``fields`` of one family: it is called with the family and returns
    a dict holding each of those fields. A field has one owner: a second, different provider for
    it is a programming error, refused at start-up. Returns ``provider``."""
    for field in fields:
        if field not in EMPTY:
            raise ValueError(f"{field!r} is not a detail of a family")
        if PROVIDERS.get(field, provider) is not provider:
            raise ValueError(f"The family detail {field!r} already has a provider")
    for field in fields:
        PROVIDERS[field] = provider
    return provider


def fill(family: Family) -> Family:
    """Set every detail of ``family``: each provider's fields, called once per provider, and
    the empty value of the fields no provider fills."""
    filled: dict[str, Any] = {}
    for provider in dict.fromkeys(PROVIDERS.values()):
        values = provider(family)
        filled.update({f: values[f] for f, owner in PROVIDERS.items() if owner is provider})
    for field, empty in EMPTY.items():
        setattr(family, field, filled[field] if field in filled else empty())
    return family
