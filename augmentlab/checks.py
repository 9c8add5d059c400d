"""Checks of the parameters users give to transforms and losses.

Each check returns the value in the type the caller keeps (float, int, bool or a tuple of them),
or raises ``ValueError`` with one message shape: ``<name> must be <what is allowed>, got <value>``,
plus a hint where the fix is not plain from that: ``sigma must be a number > 0, got -1``.
Numbers must be finite: a spec can spell ``1e999``, and no parameter means anything at infinity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def _is_number(value: Any) -> bool:
    """A finite int or float; bool is not a number here, although Python counts it as an int."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float is as good as infinite
        return False


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_odd_integer(value: Any) -> bool:
    return _is_integer(value) and value % 2 == 1


def _is_sequence(value: Any, length: int, is_item: Callable[[Any], bool]) -> bool:
    """Whether ``value`` is a tuple or list (a spec list arrives as a tuple) of ``length`` items that pass ``is_item``."""
    return isinstance(value, (tuple, list)) and len(value) == length and all(is_item(item) for item in value)


def _in_bounds(value: float, low: float | None, high: float | None, low_open: bool = False, high_open: bool = False) -> bool:
    above = low is None or (value > low if low_open else value >= low)
    below = high is None or (value < high if high_open else value <= high)
    return above and below


def _describe_bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """The allowed interval as a message states it: `` in (0, 1]``, `` ≥ 0``, `` < 1``, or nothing when unbounded."""
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '≥'} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '≤'} {high:g}"
    return ""


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a float, if it is a finite number between ``low`` and ``high``.

    Args:
        name: the parameter, for the message.
        value: what the user gave.
        low, high: the allowed bounds, each included unless ``low_open`` / ``high_open``; None: unbounded.

    Raises:
        ValueError: ``alpha must be a number > 0, got 0``.
    """
    if not (_is_number(value) and _in_bounds(value, low, high, low_open, high_open)):
        raise ValueError(f"{name} must be a number{_describe_bounds(low, high, low_open, high_open)}, got {value!r}")
    return float(value)


def check_integer(name: str, value: Any, *, low: int | None = None, odd: bool = False) -> int:
    """``value``, if it is an integer ``≥ low`` (None: any), and odd if ``odd``.

    Raises:
        ValueError: ``num_steps must be an integer ≥ 1, got 0``; ``blur must be an odd integer ≥ 1, got 4``.
    """
    is_integer = _is_odd_integer if odd else _is_integer
    if not (is_integer(value) and (low is None or value >= low)):
        bound = "" if low is None else f" ≥ {low}"
        raise ValueError(f"{name} must be an {'odd ' if odd else ''}integer{bound}, got {value!r}")
    return value


def check_flag(name: str, value: Any) -> bool:
    """``value``, if it is True or False (a spec writes ``true`` / ``false``).

    Raises:
        ValueError: ``normalized must be true or false, got 1``.
    """
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def check_range(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
    odd: bool = False,
) -> tuple[float, float] | tuple[int, int]:
    """``value`` as a (low, high) pair, if it is one with ``low ≤ first ≤ second ≤ high``.

    A range is a pair ``[low, high]`` as a spec writes it (``sigma=[0.5, 3]``); a fixed value is ``[v, v]``.

    Args:
        name: the parameter, for the message.
        value: what the user gave.
        low, high: the allowed bounds (None: unbounded); ``low`` itself is excluded with ``low_open``.
        integer: both ends must be integers; they are returned as ints, otherwise as floats.
        odd: both ends must be odd integers (implies ``integer``).

    Raises:
        ValueError: ``scale must satisfy 0 < low ≤ high ≤ 1, got (0, 1)``;
            ``std must be a pair [low, high] of numbers, got 0.1; write [v, v] for a fixed value``.
    """
    if odd:
        kind, is_item = "odd integers", _is_odd_integer
    elif integer:
        kind, is_item = "integers", _is_integer
    else:
        kind, is_item = "numbers", _is_number
    if not _is_sequence(value, 2, is_item):
        hint = "; write [v, v] for a fixed value" if _is_number(value) else ""
        raise ValueError(f"{name} must be a pair [low, high] of {kind}, got {value!r}{hint}")
    first, second = value
    if first > second or not (_in_bounds(first, low, high, low_open) and _in_bounds(second, low, high, low_open)):
        lower = "" if low is None else f"{low:g} {'<' if low_open else '≤'} "
        upper = "" if high is None else f" ≤ {high:g}"
        raise ValueError(f"{name} must satisfy {lower}low ≤ high{upper}, got {value!r}")
    return (first, second) if integer or odd else (float(first), float(second))


def check_integer_pair(name: str, value: Any, *, low: int) -> tuple[int, int]:
    """``value`` as a pair, if it holds two integers ``≥ low`` in either order, such as a grid's [rows, columns].

    Raises:
        ValueError: ``grid_size must be a pair of integers ≥ 1, got (0, 8)``.
    """
    if not _is_sequence(value, 2, _is_integer) or min(value) < low:
        raise ValueError(f"{name} must be a pair of integers ≥ {low}, got {value!r}")
    return value[0], value[1]


def check_limit(name: str, value: Any, *, bound: float, low_open: bool = False) -> tuple[float, float]:
    """An albumentations-style limit as a (low, high) range of floats: a number ``x`` means ``[-x, x]``.

    Args:
        name: the parameter, for the message.
        value: a number ``0 ≤ x ≤ bound`` or a pair [low, high] inside ``[-bound, bound]``.
        bound: the largest magnitude allowed.
        low_open: ``-bound`` itself is excluded (a scale change of -1 leaves nothing), and so is ``x = bound``.

    Raises:
        ValueError: ``scale_limit must be a number in [0, 1), got 1``;
            ``rotate_limit must satisfy -360 ≤ low ≤ high ≤ 360, got (50, 10)``.
    """
    if _is_number(value):
        magnitude = check_number(name, value, low=0.0, high=bound, high_open=low_open)
        return -magnitude, magnitude
    if not _is_sequence(value, 2, _is_number):
        raise ValueError(f"{name} must be a number or a pair [low, high] of numbers, got {value!r}")
    return check_range(name, value, low=-bound, high=bound, low_open=low_open)


def check_colour(name: str, value: Any) -> tuple[float, float, float]:
    """``value`` as floats, if it is an RGB colour ``[r, g, b]`` with each channel in [0, 1].

    Raises:
        ValueError: ``color must be an RGB colour [r, g, b] with values in [0, 1], got (200, 200, 200); divide 0–255 values by 255``.
    """
    is_triple = _is_sequence(value, 3, _is_number)
    if not (is_triple and all(0.0 <= channel <= 1.0 for channel in value)):
        hint = "; divide 0–255 values by 255" if is_triple and max(value) > 1.0 else ""
        raise ValueError(f"{name} must be an RGB colour [r, g, b] with values in [0, 1], got {value!r}{hint}")
    return float(value[0]), float(value[1]), float(value[2])


def free_ignore_index(num_classes: int) -> int:
    """An ignore index that is no class, to suggest: 255 (masks stay one byte a pixel) while the
    classes leave it free, else 65535 (two bytes), else ``num_classes`` itself."""
    for candidate in (255, 65535):
        if candidate >= num_classes:
            return candidate
    return num_classes
