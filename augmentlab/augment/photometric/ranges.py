"""Parameter ranges of the photometric transforms: checked once in ``__init__``, drawn per sample.

A range is a ``(low, high)`` pair, as a spec writes it (``sigma=[0.5, 3]``); a fixed value is
``[v, v]``. Checks raise ``ValueError`` with a message that names the parameter and the fix.
"""

from __future__ import annotations

import math
from typing import Any

import torch


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_range(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above_minimum: bool = False,
) -> tuple[float, float]:
    """Check that ``value`` is a pair ``[low, high]`` of finite numbers with ``low ≤ high`` inside the bounds.

    Args:
        name: the parameter, for the message.
        value: what the user gave.
        minimum: lowest allowed value (inclusive unless ``above_minimum``).
        maximum: highest allowed value (inclusive).
        above_minimum: the minimum itself is not allowed (``sigma must be > 0``).

    Returns:
        (low, high) as floats.
    """
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_is_number(v) for v in value):
        raise ValueError(f"{name} must be a pair [low, high] of numbers, got {value!r}; write [v, v] for a fixed value")
    low, high = float(value[0]), float(value[1])
    if low > high:
        raise ValueError(f"{name} must have low ≤ high, got {value!r}; swap the two numbers")
    if minimum is not None and (low <= minimum if above_minimum else low < minimum):
        raise ValueError(f"{name} must be {'>' if above_minimum else '≥'} {minimum:g}, got {value!r}")
    if maximum is not None and high > maximum:
        raise ValueError(f"{name} must be ≤ {maximum:g}, got {value!r}")
    return low, high


def check_integer_pair(name: str, value: Any, *, minimum: int) -> tuple[int, int]:
    """Check a pair ``[a, b]`` of integers, each ≥ ``minimum``; returns (a, b)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{name} must be a pair of integers, got {value!r}")
    if min(value) < minimum:
        raise ValueError(f"{name} must be ≥ {minimum}, got {value!r}")
    return value[0], value[1]


def check_integer_range(name: str, value: Any, *, minimum: int, odd: bool = False) -> tuple[int, int]:
    """Check a pair ``[low, high]`` of integers ≥ ``minimum`` (odd ones if ``odd``); returns (low, high)."""
    low, high = check_integer_pair(name, value, minimum=minimum)
    if low > high:
        raise ValueError(f"{name} must have low ≤ high, got {value!r}; swap the two numbers")
    if odd and (low % 2 == 0 or high % 2 == 0):
        raise ValueError(f"{name} must hold odd sizes, got {value!r}")
    return low, high


def check_number(name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None, above_minimum: bool = False) -> float:
    """Check one finite number inside the bounds (inclusive unless ``above_minimum``); returns it as a float."""
    if not _is_number(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if minimum is not None and (value <= minimum if above_minimum else value < minimum):
        raise ValueError(f"{name} must be {'>' if above_minimum else '≥'} {minimum:g}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be ≤ {maximum:g}, got {value!r}")
    return float(value)


def check_integer(name: str, value: Any, *, minimum: int, odd: bool = False) -> int:
    """Check one integer ≥ ``minimum`` (odd if ``odd``); returns it."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be ≥ {minimum}, got {value!r}")
    if odd and value % 2 == 0:
        raise ValueError(f"{name} must be odd, got {value!r}")
    return value


def check_colour(name: str, value: Any) -> tuple[float, float, float]:
    """Check an RGB colour ``[r, g, b]`` with each channel in [0, 1]; returns it as floats."""
    if not isinstance(value, (tuple, list)) or len(value) != 3 or not all(_is_number(v) for v in value):
        raise ValueError(f"{name} must be an RGB colour [r, g, b] with values in [0, 1], got {value!r}")
    if not all(0.0 <= v <= 1.0 for v in value):
        raise ValueError(f"{name} must have each channel in [0, 1], got {value!r}; divide 0–255 values by 255")
    return float(value[0]), float(value[1]), float(value[2])


def sample_uniform(value_range: tuple[float, float], *shape: int, device: torch.device) -> torch.Tensor:
    """float32 tensor of ``shape`` on ``device``, drawn uniformly from ``[low, high]``."""
    low, high = value_range
    return torch.empty(shape, device=device).uniform_(low, high)


def colour_tensor(colour: tuple[float, float, float], device: torch.device) -> torch.Tensor:
    """float32 [1,3,1,1] on ``device``, ready to broadcast against images [B,3,H,W]."""
    # Filled on the device: torch.tensor(colour, device="cuda") is a host-to-device copy that waits for the stream.
    return torch.stack([torch.full((), channel, device=device) for channel in colour]).view(1, 3, 1, 1)
