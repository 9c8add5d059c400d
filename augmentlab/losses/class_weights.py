"""Per-class weights for the ``weight`` of ``ce`` and the ``alpha`` of ``focal``: none, auto or a list."""

from __future__ import annotations

import math
import statistics
from typing import Sequence

import torch

ClassWeights = tuple[float, ...]


def median_frequency_weights(class_frequencies: Sequence[float], num_classes: int) -> ClassWeights:
    """Median-frequency balancing (Eigen & Fergus, 2015): ``w_c = median(f) / f_c``.

    ``f_c`` is class c's share of all labelled training pixels, so pixel counts and shares give
    the same weights. (Eigen & Fergus divide by the pixels of the images where c occurs; that
    needs per-image counts, which the host does not pass.) The median is taken over the classes
    that occur. A class that never occurs gets the weight of the rarest class that does: it is
    at least that rare, and an infinite weight (or a zero one, which would silently drop it if
    it shows up later) would be worse.

    Args:
        class_frequencies: C non-negative pixel counts or shares, at least one of them > 0.
        num_classes: C.

    Raises:
        ValueError: wrong length, a negative or non-finite value, or all zero.
    """
    frequencies = _numbers("class_frequencies", class_frequencies, num_classes)
    if any(f < 0 for f in frequencies):
        raise ValueError(f"class_frequencies must be pixel counts or shares ≥ 0, got {list(class_frequencies)}")
    occurring = [f for f in frequencies if f > 0]
    if not occurring:
        raise ValueError("class_frequencies are all 0; count the pixels of each class in the training masks")
    median = statistics.median(occurring)
    rarest = median / min(occurring)
    return tuple(median / f if f > 0 else rarest for f in frequencies)


def resolve_class_weights(
    name: str,
    value: str | Sequence[float] | None,
    num_classes: int,
    class_frequencies: Sequence[float] | None,
) -> ClassWeights | None:
    """Turn a spec value ``none | auto | [w_0, ..., w_{C-1}]`` into C weights, or None.

    Args:
        name: the parameter, for error messages (``weight``, ``alpha``).
        value: None, ``"auto"`` (median-frequency weights of ``class_frequencies``) or one
            non-negative number per class, not all 0.
        num_classes: C.
        class_frequencies: per-class pixel counts of the training set; needed for ``auto``.

    Raises:
        ValueError: a value of another form, or ``auto`` without class frequencies.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if value.lower() != "auto":
            raise ValueError(f"{name} must be none, auto or a list of {num_classes} numbers (one per class), got {value!r}")
        if class_frequencies is None:
            raise ValueError(
                f"{name}=auto needs the training set's class frequencies; pass class_frequencies= (pixel count per class) to build_loss"
            )
        return median_frequency_weights(class_frequencies, num_classes)
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be none, auto or a list of {num_classes} numbers (one per class), got {value!r}")
    weights = _numbers(name, value, num_classes)
    if any(w < 0 for w in weights) or not any(weights):
        raise ValueError(f"{name} must be numbers ≥ 0, not all 0, got {list(value)}")
    return weights


def class_weight_buffer(
    name: str,
    value: str | Sequence[float] | None,
    num_classes: int,
    class_frequencies: Sequence[float] | None,
) -> torch.Tensor | None:
    """:func:`resolve_class_weights` as float32 [C] on the CPU (for ``register_buffer``), or None."""
    weights = resolve_class_weights(name, value, num_classes, class_frequencies)
    return None if weights is None else torch.tensor(weights, dtype=torch.float32)


def format_class_weights(weights: torch.Tensor | None) -> str:
    """``none`` or ``[w_0, ..., w_{C-1}]`` with 4 significant digits, for module reprs."""
    return "none" if weights is None else "[" + ", ".join(f"{w:.4g}" for w in weights.tolist()) + "]"


def _numbers(name: str, values: Sequence[float], num_classes: int) -> tuple[float, ...]:
    """``values`` as C finite floats; accepts lists, tuples, numpy arrays and 1-d tensors."""
    try:
        numbers = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of {num_classes} numbers (one per class), got {values!r}") from None
    if len(numbers) != num_classes:
        raise ValueError(f"{name} has {len(numbers)} values but num_classes is {num_classes}; give one per class")
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError(f"{name} must be finite numbers, got {list(numbers)}")
    return numbers
