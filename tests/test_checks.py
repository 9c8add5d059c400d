"""The parameter checks every transform and loss uses: what they accept, return and say."""

from __future__ import annotations

import pytest

from augmentlab.checks import (
    check_colour,
    check_flag,
    check_integer,
    check_integer_pair,
    check_limit,
    check_number,
    check_range,
)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: check_number("alpha", 2), 2.0),
        (lambda: check_number("ratio", 1, low=0, high=1, low_open=True), 1.0),
        (lambda: check_integer("blur", 3, low=1, odd=True), 3),
        (lambda: check_integer("ignore_index", -100), -100),
        (lambda: check_flag("normalized", False), False),
        (lambda: check_range("std", [0, 0.5], low=0), (0.0, 0.5)),
        (lambda: check_range("num_holes_range", (1, 8), low=1, integer=True), (1, 8)),
        (lambda: check_range("kernel_size", (3, 3), low=3, odd=True), (3, 3)),
        (lambda: check_integer_pair("grid_size", (8, 4), low=1), (8, 4)),
        (lambda: check_limit("rotate_limit", 45, bound=360), (-45.0, 45.0)),
        (lambda: check_limit("scale_limit", (-0.5, 1), bound=1, low_open=True), (-0.5, 1.0)),
        (lambda: check_colour("color", [1, 0.5, 0]), (1.0, 0.5, 0.0)),
    ],
)
def test_accepted_values_come_back_in_the_callers_type(call, expected):
    # repr tells 2 from 2.0 and (1, 8) from (1.0, 8.0): ints stay ints and floats floats.
    assert repr(call()) == repr(expected)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_number("sigma", -1, low=0, low_open=True), "sigma must be a number > 0, got -1"),
        (lambda: check_number("alpha", float("inf"), low=0), "alpha must be a number ≥ 0, got inf"),
        (lambda: check_number("thresh", float("nan"), low=0, high=1), "thresh must be a number in [0, 1], got nan"),
        (lambda: check_number("scale", 1, low=0, high=1, high_open=True), "scale must be a number in [0, 1), got 1"),
        (lambda: check_number("weight", True), "weight must be a number, got True"),
        (lambda: check_number("beta", 10**400, low=0), f"beta must be a number ≥ 0, got {10**400}"),
        (lambda: check_number("drop", 2, high=1), "drop must be a number ≤ 1, got 2"),
        (lambda: check_integer("ignore_index", 2.5), "ignore_index must be an integer, got 2.5"),
        (lambda: check_integer("steps", True, low=0), "steps must be an integer ≥ 0, got True"),
        (lambda: check_integer("blur", -3, low=1, odd=True), "blur must be an odd integer ≥ 1, got -3"),
        (lambda: check_flag("per_image", "yes"), "per_image must be true or false, got 'yes'"),
        (lambda: check_range("angle", (10, 5)), "angle must satisfy low ≤ high, got (10, 5)"),
        (lambda: check_range("ratio", (0.5, float("inf")), low=0, low_open=True), "ratio must be a pair [low, high] of numbers, got (0.5, inf)"),
        (lambda: check_range("std", [0.1], low=0), "std must be a pair [low, high] of numbers, got [0.1]"),
        (lambda: check_range("unit_size_range", 4, low=2, integer=True), "unit_size_range must be a pair [low, high] of integers, got 4; write [v, v] for a fixed value"),
        (lambda: check_integer_pair("grid_size", (8, 4.0), low=1), "grid_size must be a pair of integers ≥ 1, got (8, 4.0)"),
        (lambda: check_limit("scale_limit", -0.5, bound=1), "scale_limit must be a number in [0, 1], got -0.5"),
        (lambda: check_limit("distort_limit", (-1, 0), bound=1, low_open=True), "distort_limit must satisfy -1 < low ≤ high ≤ 1, got (-1, 0)"),
        (lambda: check_colour("color", (-0.1, 0, 0)), "color must be an RGB colour [r, g, b] with values in [0, 1], got (-0.1, 0, 0)"),
        (lambda: check_colour("color", (255, 0, 0)), "color must be an RGB colour [r, g, b] with values in [0, 1], got (255, 0, 0); divide 0–255 values by 255"),
    ],
)
def test_rejected_values_get_one_message_shape(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message
