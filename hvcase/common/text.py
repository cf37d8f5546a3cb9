"""Folding names for search and duplicate detection: no case, no accents."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """``"Zoë  Núñez"`` → ``"zoe nunez"``: decomposed, accents dropped, case-folded, spaces
    collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def name_key(first_name: str, last_name: str) -> str:
    return f"{fold(first_name)} {fold(last_name)}"
