"""Counts in the data messages, with the noun's number: ``1 class``, ``2 classes``."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """``1 class``, ``2 classes``, ``1 image``, ``3 images``, ``0 images``."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun}es" if noun.endswith(("s", "sh", "ch", "x")) else f"{count} {noun}s"


def verb(count: int, singular: str, plural_form: str) -> str:
    """``singular`` for a count of 1 (``has``, ``is``), else ``plural_form`` (``have``, ``are``)."""
    return singular if count == 1 else plural_form
