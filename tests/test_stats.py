"""The statistics of arm comparisons, pinned with hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from augmentlab.report.stats import (
    FactorialEffect,
    factorial_effects,
    mean_and_std,
    miou_from_counts,
    paired_bootstrap_ci,
    t_confidence_interval,
)
from augmentlab.results.records import ArmInfo, RunResult

T_975_1 = 12.706204736174698  # Student t 97.5% quantile, 1 degree of freedom
T_975_2 = 4.302652729749464  # 2 degrees of freedom
T_95_2 = 2.919985580353724  # 95% quantile, 2 degrees of freedom

# Six validation images, three classes: the unions, and two arms' intersections.
UNIONS = [[18, 12, 13], [17, 11, 15], [16, 4, 1], [6, 5, 17], [18, 0, 9], [16, 2, 15]]
INTERSECTIONS_A = [[11, 6, 6], [8, 6, 9], [10, 3, 0], [4, 4, 7], [7, 0, 2], [5, 1, 9]]
INTERSECTIONS_B = [[16, 8, 8], [11, 5, 4], [6, 3, 0], [3, 1, 14], [7, 0, 8], [10, 1, 11]]
# Summed: unions [91, 34, 70]; A [45, 20, 33]; B [53, 18, 45].
MIOU_A = (45 / 91 + 20 / 34 + 33 / 70) / 3
MIOU_B = (53 / 91 + 18 / 34 + 45 / 70) / 3


def finished(arm: str, seed: int, miou: float, intersections: list[list[int]] | None = None, unions: list[list[int]] | None = None) -> RunResult:
    return RunResult(arm, arm, "ce", seed, "finished", miou=miou, image_intersections=intersections or [], image_unions=unions or [])


@pytest.mark.parametrize(
    ("values", "expected_mean", "expected_std"),
    [
        ([2.0], 2.0, None),
        ([1.0, 2.0, 3.0], 2.0, 1.0),
        ([1.0, 3.0], 2.0, math.sqrt(2)),
        ([0.5, 0.5, 0.5, 0.5], 0.5, 0.0),
    ],
)
def test_mean_and_std(values: list[float], expected_mean: float, expected_std: float | None) -> None:
    mean, std = mean_and_std(values)
    assert mean == pytest.approx(expected_mean, rel=1e-12)
    assert std == (None if expected_std is None else pytest.approx(expected_std, rel=1e-12))


def test_mean_and_std_needs_a_value() -> None:
    with pytest.raises(ValueError, match="mean_and_std needs at least one value, got none"):
        mean_and_std([])


@pytest.mark.parametrize(
    ("values", "confidence", "expected"),
    [
        ([1.0, 2.0, 3.0], 0.95, (2.0, 2 - T_975_2 / math.sqrt(3), 2 + T_975_2 / math.sqrt(3))),
        ([1.0, 2.0, 3.0], 0.90, (2.0, 2 - T_95_2 / math.sqrt(3), 2 + T_95_2 / math.sqrt(3))),
        ([1.0, 3.0], 0.95, (2.0, 2 - T_975_1, 2 + T_975_1)),  # std √2 over √2 samples: half-width t
        ([5.0, 5.0, 5.0], 0.95, (5.0, 5.0, 5.0)),
    ],
)
def test_t_confidence_interval(values: list[float], confidence: float, expected: tuple[float, float, float]) -> None:
    assert t_confidence_interval(values, confidence) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("values", "confidence", "message"),
    [
        ([1.0], 0.95, "a t interval needs at least 2 values, got 1"),
        ([], 0.95, "a t interval needs at least 2 values, got 0"),
        ([1.0, 2.0], 1.5, r"confidence must be between 0 and 1 \(e.g. 0.95\), got 1.5"),
        ([1.0, 2.0], 0.0, "confidence must be between 0 and 1"),
    ],
)
def test_t_confidence_interval_rejects(values: list[float], confidence: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        t_confidence_interval(values, confidence)


@pytest.mark.parametrize(
    ("intersections", "unions", "expected"),
    [
        ([1, 2, 0], [2, 4, 0], 0.5),  # [C]; class 2 has no union and is left out
        ([[1, 0], [1, 2]], [[2, 2], [2, 6]], (2 / 4 + 2 / 8) / 2),  # summed over images first: 0.375
        ([[3, 0]], [[3, 5]], 0.5),  # a class with union but no intersection counts as 0
        (INTERSECTIONS_A, UNIONS, MIOU_A),
        ([[0, 0], [0, 0]], [[0, 0], [0, 0]], math.nan),
    ],
)
def test_miou_from_counts(intersections: list, unions: list, expected: float) -> None:
    assert miou_from_counts(intersections, unions) == pytest.approx(expected, rel=1e-12, nan_ok=True)


def test_miou_from_counts_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"miou_from_counts: intersections and unions must both be \[N_images, C\] or \[C\], got shapes \(2,\) and \(3,\)"):
        miou_from_counts([1, 2], [2, 2, 2])


def test_paired_bootstrap_is_pinned_by_its_seed() -> None:
    counts = {"a": (INTERSECTIONS_A, UNIONS), "b": (INTERSECTIONS_B, UNIONS)}
    estimate, low, high = paired_bootstrap_ci({"a": 1, "b": -1}, counts, samples=2000, seed=0)
    assert estimate == pytest.approx(MIOU_A - MIOU_B, rel=1e-12)
    assert (low, high) == pytest.approx((-0.1824586480304565, 0.04961794820004115), rel=1e-9)
    assert low < estimate < high
    assert paired_bootstrap_ci({"a": 1, "b": -1}, counts, samples=2000, seed=0) == (estimate, low, high)
    assert paired_bootstrap_ci({"a": 1, "b": -1}, counts, samples=2000, seed=1)[1:] != (low, high)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"a": 1, "b": -1}, 0.25),  # every image, every class: a's IoU 0.75, b's 0.5
        ({"a": 1, "b": -1, "same": 0}, 0.25),
        ({"a": 0.5, "b": 0.5}, 0.625),
        ({"b": 1, "same": -1}, 0.0),
    ],
)
def test_paired_bootstrap_of_a_constant_contrast_has_no_width(weights: dict[str, float], expected: float) -> None:
    unions = np.array([[8, 4, 0], [4, 8, 4], [8, 0, 4], [4, 4, 8]])
    counts = {"a": (unions * 3 // 4, unions), "b": (unions // 2, unions), "same": (unions // 2, unions)}
    assert paired_bootstrap_ci(weights, counts, samples=500) == pytest.approx((expected, expected, expected), abs=1e-15)


def test_paired_bootstrap_of_three_arms_uses_each_weight() -> None:
    counts = {"a": (INTERSECTIONS_A, UNIONS), "b": (INTERSECTIONS_B, UNIONS), "c": (INTERSECTIONS_B, UNIONS)}
    estimate, low, high = paired_bootstrap_ci({"a": 1, "b": -0.5, "c": -0.5}, counts)
    assert estimate == pytest.approx(MIOU_A - MIOU_B, rel=1e-12)
    assert low < estimate < high


def test_paired_bootstrap_narrows_with_more_images() -> None:
    def width(copies: int) -> tuple[float, float]:
        counts = {name: (np.tile(intersections, (copies, 1)), np.tile(UNIONS, (copies, 1))) for name, intersections in (("a", INTERSECTIONS_A), ("b", INTERSECTIONS_B))}
        estimate, low, high = paired_bootstrap_ci({"a": 1, "b": -1}, counts)
        return estimate, high - low

    (few_estimate, few_width), (many_estimate, many_width) = width(1), width(16)
    assert many_estimate == pytest.approx(few_estimate, rel=1e-12)
    assert many_width < few_width / 3  # about √16 = 4 times narrower


def test_paired_bootstrap_at_a_realistic_size() -> None:
    rng = np.random.default_rng(0)
    unions = rng.integers(0, 5000, size=(1500, 11))
    counts = {arm: ((unions * rng.uniform(0.3, 0.9, size=unions.shape)).astype(int), unions) for arm in "abcd"}
    estimate, low, high = paired_bootstrap_ci({"a": 1, "b": -1, "c": -1, "d": 1}, counts, samples=2000)
    assert low < estimate < high


@pytest.mark.parametrize(
    ("weights", "counts", "samples", "message"),
    [
        ({}, {}, 10, r"the contrast has no arms; give weights like \{'arm': 1, 'baseline': -1\}"),
        ({"a": 1, "z": -1}, {"a": (INTERSECTIONS_A, UNIONS)}, 10, r"no per-image counts for arm 'z'; counts has arms \['a'\]"),
        ({"a": 1, "b": -1}, {"a": (INTERSECTIONS_A, UNIONS), "b": (INTERSECTIONS_B[:5], UNIONS[:5])}, 10, "arms must be validated on the same images and classes"),
        ({"a": 1}, {"a": ([], [])}, 10, "arm 'a' has no per-image counts; its run must record image_intersections and image_unions"),
        ({"a": 1}, {"a": ([[1, 2]], [[2, 2], [2, 2]])}, 10, r"arm 'a': intersections and unions must both be"),
        ({"a": 1}, {"a": (INTERSECTIONS_A, UNIONS)}, 0, "the paired bootstrap needs samples >= 1, got 0"),
    ],
)
def test_paired_bootstrap_rejects(weights: dict[str, float], counts: dict, samples: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        paired_bootstrap_ci(weights, counts, samples=samples)


def arms_of(cells: list[tuple[str, str]]) -> list[ArmInfo]:
    return [ArmInfo(f"{augmentation} | {loss}", augmentation, loss) for augmentation, loss in cells]


def test_factorial_effects_of_two_by_two() -> None:
    arms = arms_of([("none", "ce"), ("none", "focal"), ("flip", "ce"), ("flip", "focal")])
    assert factorial_effects(arms) == [
        FactorialEffect("augmentation", "flip", {"flip | ce": 0.5, "flip | focal": 0.5, "none | ce": -0.5, "none | focal": -0.5}),
        FactorialEffect("loss", "focal", {"none | focal": 0.5, "flip | focal": 0.5, "none | ce": -0.5, "flip | ce": -0.5}),
        FactorialEffect("interaction", "flip × focal", {"flip | focal": 1.0, "flip | ce": -1.0, "none | focal": -1.0, "none | ce": 1.0}),
    ]


def test_factorial_effects_of_three_by_two_average_over_the_other_factor() -> None:
    arms = arms_of([(a, l) for a in ("none", "flip", "grid") for l in ("ce", "dice")])
    effects = {(effect.kind, effect.level): effect.weights for effect in factorial_effects(arms)}
    assert list(effects) == [("augmentation", "flip"), ("augmentation", "grid"), ("loss", "dice"), ("interaction", "flip × dice"), ("interaction", "grid × dice")]
    assert effects["augmentation", "grid"] == {"grid | ce": 0.5, "grid | dice": 0.5, "none | ce": -0.5, "none | dice": -0.5}
    third = 1 / 3
    assert effects["loss", "dice"] == pytest.approx({"none | dice": third, "flip | dice": third, "grid | dice": third, "none | ce": -third, "flip | ce": -third, "grid | ce": -third})


@pytest.mark.parametrize(
    "cells",
    [
        pytest.param([("none", "ce"), ("none", "focal"), ("flip", "ce")], id="a missing cell"),
        pytest.param([("none", "ce"), ("flip", "ce"), ("grid", "ce")], id="one loss level"),
        pytest.param([("none", "ce"), ("none", "focal"), ("flip", "ce"), ("flip", "focal"), ("flip", "focal")], id="a cell twice"),
        pytest.param([("grid", "ce"), ("grid", "focal"), ("flip", "ce"), ("flip", "focal")], id="no baseline augmentation"),
    ],
)
def test_factorial_effects_need_a_full_factorial(cells: list[tuple[str, str]]) -> None:
    assert factorial_effects(arms_of(cells)) == []


def test_factorial_effects_take_other_baseline_levels() -> None:
    arms = arms_of([("id", "bce"), ("id", "focal"), ("flip", "bce"), ("flip", "focal")])
    assert [effect.level for effect in factorial_effects(arms, "id", "bce")] == ["flip", "focal", "flip × focal"]
