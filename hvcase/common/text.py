"""Folding names for search and duplicate detection: no case, no accents."""

from __future__ import annotations

import unicodedata

# Letters that Unicode does not decompose into a base letter and a mark.
UNDECOMPOSED = str.maketrans(
    {
        "đ": "d",
        "Đ": "d",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "ħ": "h",
        "Ħ": "h",
        "ŧ": "t",
        "Ŧ": "t",
        "ı": "i",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "þ": "th",
        "Þ": "th",
        "ð": "d",
        "Ð": "d",
    }
)


def fold(text: str) -> str:
    """``"Zoë  Núñez"`` → ``"zoe nunez"``: decomposed, accents dropped, case-folded, spaces
    collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(UNDECOMPOSED)
    return " ".join(bare.casefold().split())


def name_key(first_name: str, last_name: str) -> str:
    return f"{fold(first_name)} {fold(last_name)}"
