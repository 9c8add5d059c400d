"""Parameter checks shared by the geometric transforms; each raises a ValueError a user can act on."""

from __future__ import annotations

from typing import Any


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_number(name: str, value: Any, *, low: float, high: float | None = None, low_inclusive: bool = True, high_inclusive: bool = True) -> float:
    """``value`` as a float, if it is a number between ``low`` and ``high`` (each end included unless told)."""
    above = _is_number(value) and (value >= low if low_inclusive else value > low)
    below = high is None or (_is_number(value) and (value <= high if high_inclusive else value < high))
    if not (above and below):
        if high is None:
            bound = f"{'≥' if low_inclusive else '>'} {low:g}"
        else:
            bound = f"in {'[' if low_inclusive else '('}{low:g}, {high:g}{']' if high_inclusive else ')'}"
        raise ValueError(f"{name} must be a number {bound}, got {value!r}")
    return float(value)


def check_integer(name: str, value: Any, *, low: int) -> int:
    """``value``, if it is an integer ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
    return value


def check_flag(name: str, value: Any) -> bool:
    """``value``, if it is ``true`` or ``false``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def check_range(name: str, value: Any, *, low: float, high: float | None = None, low_inclusive: bool = True) -> tuple[float, float]:
    """``value`` as a (low, high) pair, if ``low ≤ first ≤ second ≤ high`` (``low <`` with ``low_inclusive=False``; ``high=None``: unbounded)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_is_number(v) for v in value):
        raise ValueError(f"{name} must be a pair [low, high] of numbers, got {value!r}")
    first, second = float(value[0]), float(value[1])
    if not (first >= low if low_inclusive else first > low) or first > second or (high is not None and second > high):
        upper = "" if high is None else f" ≤ {high:g}"
        raise ValueError(f"{name} must satisfy {low:g} {'≤' if low_inclusive else '<'} low ≤ high{upper}, got {value!r}")
    return first, second


def check_limit(name: str, value: Any, *, bound: float, low_inclusive: bool = True) -> tuple[float, float]:
    """An albumentations-style limit as a (low, high) range: a number ``x`` means ``[-x, x]``.

    Args:
        name: the parameter name, for the message.
        value: a number ``0 ≤ x ≤ bound`` or a pair [low, high] inside ``[-bound, bound]``.
        bound: the largest magnitude allowed.
        low_inclusive: whether ``-bound`` itself is allowed.
    """
    if _is_number(value):
        magnitude = check_number(name, value, low=0.0, high=bound, high_inclusive=low_inclusive)
        return -magnitude, magnitude
    if not isinstance(value, (tuple, list)):
        raise ValueError(f"{name} must be a number or a pair [low, high], got {value!r}")
    return check_range(name, value, low=-bound, high=bound, low_inclusive=low_inclusive)
