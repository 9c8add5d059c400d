"""Parameter checks shared by the mix and dropout transforms; each raises a ValueError a user can act on."""

from __future__ import annotations

from typing import Any


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_number(name: str, value: Any, *, low: float, high: float | None = None, low_inclusive: bool = True) -> float:
    """``value`` as a float, if it is a number in ``[low, high]`` (``(low, high]`` with ``low_inclusive=False``)."""
    above = _is_number(value) and (value >= low if low_inclusive else value > low)
    if not above or (high is not None and value > high):
        bound = f"{'≥' if low_inclusive else '>'} {low:g}" if high is None else f"in {'[' if low_inclusive else '('}{low:g}, {high:g}]"
        raise ValueError(f"{name} must be a number {bound}, got {value!r}")
    return float(value)


def check_integer(name: str, value: Any, *, low: int) -> int:
    """``value``, if it is an integer ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
    return value


def check_range(name: str, value: Any, *, low: float, high: float | None = None, integer: bool = False, low_inclusive: bool = True) -> tuple[Any, Any]:
    """``value`` as a (low, high) pair, if it is one with ``low <= first <= second <= high``.

    Args:
        name: the parameter name, for the message.
        value: what the user gave (a spec list arrives as a tuple).
        low, high: the allowed bounds (``high=None``: unbounded above).
        integer: both ends must be integers.
        low_inclusive: whether ``low`` itself is allowed.
    """
    kind = "integers" if integer else "numbers"
    is_kind = (lambda v: isinstance(v, int) and not isinstance(v, bool)) if integer else _is_number
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(is_kind(v) for v in value):
        raise ValueError(f"{name} must be a pair [low, high] of {kind}, got {value!r}")
    first, second = value
    lowest_ok = first >= low if low_inclusive else first > low
    if not lowest_ok or first > second or (high is not None and second > high):
        lower = f"{low:g} {'≤' if low_inclusive else '<'} low"
        upper = "" if high is None else f" ≤ {high:g}"
        raise ValueError(f"{name} must satisfy {lower} ≤ high{upper}, got {value!r}")
    return (int(first), int(second)) if integer else (float(first), float(second))
