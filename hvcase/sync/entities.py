"""What /sync syncs: every kind registered with the write pipeline (hvcase/common/records.py).

A domain that registers a kind gets it pushed and pulled here, without /sync naming it; sync
runs the very pipeline the REST endpoints run, and nothing here decides a rule.
"""

from __future__ import annotations

from hvcase.common.records import KINDS as ENTITIES
from hvcase.common.records import Kind as Entity
from hvcase.common.records import by_rank

__all__ = ["ENTITIES", "Entity", "by_rank"]
