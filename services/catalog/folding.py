"""Folding Vietnamese text for search: lower case, no diacritics, đ -> d."""

from __future__ import annotations

import re

from unidecode import unidecode

_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """'Đăng ký khai sinh' -> 'dang ky khai sinh' (unidecode maps đ/Đ to d/D)."""
    return unidecode(text).lower()


def folded_words(text: str) -> list[str]:
    """The search words of a text: folded, split on anything but letters and digits."""
    return _WORD.findall(fold(text))


def folded_text(text: str) -> str:
    """The folded words joined by single spaces: what the search index stores."""
    return " ".join(folded_words(text))
