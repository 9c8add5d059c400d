"""Verdicts from runs: the pooled two-way ANOVA, paired intervals, multiplicity, margins, looks and screening designs.

Each estimate is checked against the textbook formulas written out by hand, not against the
least-squares fit the code uses.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.stats

from augmentlab.errors import FieldError
from augmentlab.report.analysis import (
    Estimate,
    adjusted_p_values,
    contrast_estimate,
    decide,
    detectable_shift,
    factor_estimate,
    family_text,
    level_text,
    paired_estimate,
    pooled_estimate,
    seeds_to_detect,
)
from augmentlab.report.looks import arm_comparisons, factor_comparisons, replay
from augmentlab.results.records import (
    AblationInfo,
    AnalysisSettings,
    ArmInfo,
    RunResult,
)
from augmentlab.runner.designs import plackett_burman, screening_rows

T_975 = {1: 12.706204736174698, 2: 4.302652729749464, 7: 2.3646242510102993}


def finished(arm: str, seed: int, miou: float, intersections: list | None = None, unions: list | None = None) -> RunResult:
    return RunResult(arm, arm, "ce", seed, "finished", miou=miou, image_intersections=intersections or [], image_unions=unions or [])


def runs_of(table: dict[str, list[float]]) -> list[RunResult]:
    return [finished(arm, seed, value) for arm, values in table.items() for seed, value in enumerate(values)]


# Three arms × two seeds; the hand-worked two-way ANOVA (arm + seed, no interaction) is in the test.
TABLE = {"A": [0.50, 0.54], "B": [0.56, 0.62], "C": [0.52, 0.53]}


def test_pooled_estimate_is_the_two_way_anova() -> None:
    y = np.array(list(TABLE.values()))  # [arms, seeds]
    residual = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    df = (3 - 1) * (2 - 1)
    mse = float((residual**2).sum()) / df  # (1² + 7² + 8²)·2 / 600² / 2 = 114 / 360000
    assert mse == pytest.approx(114 / 360000, rel=1e-12)
    estimate = pooled_estimate({"B": 1, "A": -1}, runs_of(TABLE))
    assert estimate is not None
    assert (estimate.estimate, estimate.se, estimate.df, estimate.n) == pytest.approx((0.07, math.sqrt(mse * (1 / 2 + 1 / 2)), 2, 2), rel=1e-9)
    assert estimate.training_noise
    assert estimate.method == "two-way ANOVA of mIoU on arm and seed (seed as block), residual pooled over 3 arms: t with 2 df"
    low, high = estimate.bounds(0.05)
    assert (low, high) == pytest.approx((0.07 - T_975[2] * math.sqrt(114) / 600, 0.07 + T_975[2] * math.sqrt(114) / 600), rel=1e-9)


def test_paired_estimate_uses_the_comparisons_own_differences() -> None:
    estimate = paired_estimate({"B": 1, "A": -1}, runs_of(TABLE))  # differences 0.06 and 0.08
    assert estimate is not None
    assert (estimate.estimate, estimate.se, estimate.df) == pytest.approx((0.07, 0.01, 1), rel=1e-9)
    assert estimate.method == "paired t over 2 seeds"
    assert estimate.bounds(0.05) == pytest.approx((0.07 - T_975[1] * 0.01, 0.07 + T_975[1] * 0.01), rel=1e-9)


def test_eight_arms_two_seeds_pool_seven_degrees_of_freedom() -> None:
    rng = np.random.default_rng(3)
    table = {f"arm{index}": list(0.5 + rng.normal(0, 0.01, 2)) for index in range(8)}
    pooled = pooled_estimate({"arm1": 1, "arm0": -1}, runs_of(table))
    paired = paired_estimate({"arm1": 1, "arm0": -1}, runs_of(table))
    assert pooled is not None and paired is not None
    assert (pooled.df, paired.df) == (7, 1)
    assert float(pooled.quantile(0.975)) == pytest.approx(T_975[7], rel=1e-9)
    assert float(paired.quantile(0.975)) == pytest.approx(T_975[1], rel=1e-9)


def test_pooled_estimate_of_an_incomplete_design_keeps_every_finished_run() -> None:
    runs = runs_of(TABLE) + [finished("A", 2, 0.51), finished("C", 2, 0.50)]  # B lacks seed 2
    estimate = pooled_estimate({"B": 1, "A": -1}, runs)
    assert estimate is not None
    assert estimate.df == 8 - 3 - 2  # 8 runs, 3 arm means, 2 seed effects beyond the first
    # B's two seeds against A's three, seed-adjusted: the fit is least squares, so re-fit it by hand.
    rows = [(arm, seed, run.miou) for run in runs for arm, seed in [(run.arm, run.seed)]]
    x = np.array([[arm == name for name in "ABC"] + [seed == 1, seed == 2] for arm, seed, _ in rows], dtype=float)
    beta, *_ = np.linalg.lstsq(x, np.array([miou for *_, miou in rows]), rcond=None)
    assert estimate.estimate == pytest.approx(beta[1] - beta[0], rel=1e-9)


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        pytest.param([finished("A", 0, 0.5)], None, id="an arm without a run"),
        pytest.param([finished("A", 0, 0.5), RunResult("B", "B", "ce", 0, "failed", error="NaN")], None, id="a failed run counts as none"),
    ],
)
def test_pooled_estimate_needs_every_arm(runs: list[RunResult], expected: None) -> None:
    assert pooled_estimate({"B": 1, "A": -1}, runs) is expected


def test_one_seed_falls_back_to_a_bootstrap_over_images_and_says_so() -> None:
    unions = [[8, 4, 0], [4, 8, 4]]
    runs = [finished("A", 0, 0.5, [[4, 2, 0], [2, 4, 2]], unions), finished("B", 0, 0.75, [[6, 3, 0], [3, 6, 3]], unions)]
    estimate = contrast_estimate({"B": 1, "A": -1}, runs)
    assert estimate is not None
    assert (estimate.estimate, estimate.training_noise, estimate.method) == (pytest.approx(0.25), False, "paired bootstrap over 2 val images (1 seed)")
    decision = decide({"B": estimate})["B"]
    assert decision.verdict == "val-only +"  # never "better" from one seed
    assert not decision.decided


@pytest.mark.parametrize(
    ("p_values", "correction", "expected"),
    [
        ([0.01, 0.04, 0.03, 0.005], "holm", [0.03, 0.06, 0.06, 0.02]),
        ([0.01, 0.04, 0.03, 0.005], "bh", [0.02, 0.04, 0.04, 0.02]),
        ([0.01, 0.04, 0.03, 0.005], "none", [0.01, 0.04, 0.03, 0.005]),
        ([0.5, 0.9], "holm", [1.0, 1.0]),
        ([0.5, 0.9], "bh", [0.9, 0.9]),
        ([0.02], "holm", [0.02]),
        ([], "holm", []),
    ],
)
def test_adjusted_p_values(p_values: list[float], correction: str, expected: list[float]) -> None:
    assert adjusted_p_values(p_values, correction) == pytest.approx(expected, rel=1e-12)


def test_adjusted_p_values_reject_an_unknown_correction() -> None:
    with pytest.raises(ValueError, match="correction must be one of holm, bh, none, got 'bonf'"):
        adjusted_p_values([0.1], "bonf")


def t_estimate(value: float, se: float, df: int = 7) -> Estimate:
    return Estimate(value, se, df, "test", 2, True, per_seed_sd=se * math.sqrt(2), df_per_seed=7)


@pytest.mark.parametrize(
    ("value", "se", "margin", "expected"),
    [
        (0.05, 0.01, None, "better"),
        (-0.05, 0.01, None, "worse"),
        (0.01, 0.01, None, "within noise"),
        (0.001, 0.001, 0.01, "no effect beyond ±0.01"),
        (0.005, 0.004, 0.01, "within noise"),  # the interval reaches past +0.01
    ],
)
def test_verdicts(value: float, se: float, margin: float | None, expected: str) -> None:
    assert decide({"x": t_estimate(value, se)}, margin=margin)["x"].verdict == expected


def test_interval_and_adjusted_p_value_agree_for_every_comparison() -> None:
    rng = np.random.default_rng(0)
    for correction, looks in itertools.product(("holm", "bh", "none"), (1, 3)):
        estimates = {f"c{index}": t_estimate(float(rng.normal(0, 0.03)), 0.01) for index in range(12)}
        for label, decision in decide(estimates, correction=correction, looks=looks).items():
            excludes_zero = decision.low > 0 or decision.high < 0
            assert excludes_zero == (decision.p_adjusted < 0.05 / looks), (correction, looks, label)


def test_holm_intervals_widen_with_the_family() -> None:
    one = decide({"x": t_estimate(0.02, 0.01)})["x"]
    seven = decide({f"c{index}": t_estimate(0.02, 0.01) for index in range(7)})["c0"]
    assert one.confidence == pytest.approx(0.95)
    assert seven.confidence > one.confidence and seven.high - seven.low > one.high - one.low
    assert seven.method == "test; Holm over 7 comparisons"


def test_closed_comparisons_stay_in_the_family() -> None:
    alone = decide({"x": t_estimate(0.03, 0.01)}, correction="holm")["x"]
    kept = decide({"x": t_estimate(0.03, 0.01)}, correction="holm", kept=3)["x"]
    assert kept.p_adjusted == pytest.approx(4 * alone.p_value, rel=1e-12)
    assert kept.method == "test; Holm over 4 comparisons"


def test_comparisons_without_training_noise_beside_members_count_in_the_family_at_p_1() -> None:
    # --pooling arm: one arm shares a single seed with the baseline, so its comparison falls back to the bootstrap.
    bootstrap = Estimate(0.01, 0.005, None, "paired bootstrap", 40, False, resampled=tuple(np.linspace(0.0, 0.02, 200)))
    estimates = {"a": t_estimate(0.03, 0.01), "b": t_estimate(0.0, 0.01), "c": bootstrap}
    decisions = decide(estimates, correction="holm")
    alone = decide({"a": t_estimate(0.03, 0.01), "b": t_estimate(0.0, 0.01)}, correction="holm")
    assert decisions["a"].method == "test; Holm over 3 comparisons (1 without training noise, counted at p = 1)"
    assert decisions["b"].confidence == pytest.approx(1 - 0.05 / 3) and alone["b"].confidence == pytest.approx(1 - 0.05 / 2)
    assert decisions["b"].mde_confidence == pytest.approx(1 - 0.05 / 3)
    assert (decisions["c"].verdict, decisions["c"].method) == ("val-only +", "paired bootstrap")
    # Every comparison without training noise (one seed everywhere): no family, nothing to count.
    assert decide({"c": bootstrap})["c"].confidence == pytest.approx(0.95)
    assert decide({"a": t_estimate(0.03, 0.01)}, waiting=1)["a"].method == "test; Holm over 2 comparisons (1 without an estimate yet, counted at p = 1)"


@pytest.mark.parametrize(
    ("gamma", "expected"),
    [(0.05, "α = 0.05"), (0.025, "α/2 = 0.025"), (0.05 / 7, "α/7 = 0.0071"), (0.05 / 28, "α/28 = 0.0018"), (0.05 / 48, "α/48 = 0.001")],
)
def test_level_text_names_the_divisor_and_the_level(gamma: float, expected: str) -> None:
    assert level_text(gamma, 0.05) == expected


@pytest.mark.parametrize(
    ("count", "correction", "looks", "expected"),
    [
        (7, "holm", 1, "Holm over 7 comparisons"),
        (1, "bh", 1, "Benjamini–Hochberg over 1 comparison"),
        (3, "none", 1, "no correction for 3 comparisons"),
        (7, "holm", 3, "Holm over 7 comparisons, Bonferroni over 3 planned looks (α = 0.05/3 at each)"),
    ],
)
def test_family_text(count: int, correction: str, looks: int, expected: str) -> None:
    assert family_text(count, correction, looks) == expected


@pytest.mark.parametrize("df", [1.0, 2.0, 3.0, 7.0, 14.5, 28.0, 500.0])
@pytest.mark.parametrize("gamma", [0.05, 0.05 / 7, 0.05 / 48])
def test_detectable_shift_has_the_promised_power(df: float, gamma: float) -> None:
    # Checked against scipy.stats.nct (boost), another implementation than nctdtrinc (cdflib).
    critical = scipy.stats.t.ppf(1 - gamma / 2, df)
    shift = detectable_shift(df, gamma)
    assert scipy.stats.nct.sf(critical, df, shift) == pytest.approx(0.8, abs=1e-4)  # the far tail, T < −t, is left out
    if df <= 7:  # the shortcut t₁₋γ/₂ + t₀.₈ promises the same and delivers 0.70 to 0.798 here
        shortcut = critical + scipy.stats.t.ppf(0.8, df)
        assert scipy.stats.nct.sf(critical, df, shortcut) < 0.8


def test_detectable_shift_of_a_normal_statistic() -> None:
    assert detectable_shift(None, 0.05) == pytest.approx(1.959963984540054 + 0.8416212335729143, rel=1e-12)


def test_minimum_detectable_effect_and_seeds_to_detect() -> None:
    estimate = t_estimate(0.0, 0.01)
    decision = decide({"x": estimate})["x"]
    assert decision.mde == pytest.approx(3.2697621904759817 * 0.01, rel=1e-6)  # P(t(7 df, 3.2698) > T_975[7]) = 0.8
    seeds = seeds_to_detect(decision, estimate, target=decision.mde / 2)
    assert seeds is not None and seeds > 2
    assert seeds_to_detect(decision, estimate, target=decision.mde * 2) == 2
    assert seeds_to_detect(decision, Estimate(0.1, 0.1, None, "bootstrap", 50, False), target=0.01) is None


# --- screening designs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factors", "runs"),
    [(2, 4), (3, 4), (4, 8), (7, 8), (8, 12), (11, 12), (12, 16), (15, 16), (16, 20), (19, 20), (20, 24), (23, 24),
     (24, 32), (27, 32), (31, 32), (32, 40), (35, 40), (39, 40), (40, 44), (43, 44), (44, 48), (47, 48)],
)
def test_plackett_burman_sizes_and_orthogonality(factors: int, runs: int) -> None:
    design = plackett_burman(factors)
    assert design.shape == (runs, runs - 1)
    assert set(np.unique(design)) == {-1, 1}
    assert (design.sum(axis=0) == 0).all()  # each factor present in half the runs
    assert (design.T @ design == runs * np.eye(runs - 1, dtype=np.int64)).all()  # every pair of columns orthogonal
    assert (design[-1] == -1).all()  # the baseline: every factor absent


@pytest.mark.parametrize(("factors", "message"), [(1, "needs two or more"), (0, "needs two or more"), (48, "at most 47")])
def test_plackett_burman_rejects(factors: int, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        plackett_burman(factors)


def test_screening_rows_put_the_baseline_first_and_fold_over() -> None:
    rows = screening_rows(3)
    assert rows.tolist() == [[-1, -1, -1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]]  # Paley, q = 3: squares mod 3 are 0 and 1
    folded = screening_rows(3, foldover=True)
    assert folded.shape == (8, 3)
    assert (folded[4:] == -rows).all()


def screen_info(factors: list[str], rows: np.ndarray, first_seeds: int = 1, max_seeds: int | None = None) -> AblationInfo:
    names = [f"row{index}" for index in range(len(rows))]
    settings = AnalysisSettings(design="screen", factors=factors, levels={name: row.tolist() for name, row in zip(names, rows)},
                                first_seeds=first_seeds, max_seeds=max_seeds)
    return AblationInfo("t", ["bg", "a"], [ArmInfo(name, name, "ce") for name in names], list(range(max_seeds or first_seeds)), {}, "cpu", "demo", "d", analysis=settings)


def test_screening_main_effects_from_one_seed_use_the_spare_columns() -> None:
    rows = screening_rows(5)  # 8 runs, 5 factors, 2 spare columns
    effects = np.array([0.04, 0.0, -0.02, 0.0, 0.01])
    # Training noise with a part outside the factors' columns (the residual of 1.8e-4 RMS); noise
    # inside them alone would leave a residual of rounding only, which measures nothing.
    noise = np.array([0.001, -0.002, 0.0015, 0.0005, -0.001, 0.002, -0.0005, -0.001])
    mious = 0.5 + rows @ effects / 2 + noise
    info = screen_info(["a", "b", "c", "d", "e"], rows)
    runs = [finished(name, 0, float(value)) for name, value in zip(info.analysis.levels, mious)]
    estimate = factor_estimate(0, info.analysis.levels, runs)
    assert estimate is not None
    assert estimate.df == 2
    # Orthogonal columns: the main effect is mean where present minus mean where absent.
    assert estimate.estimate == pytest.approx(mious[rows[:, 0] > 0].mean() - mious[rows[:, 0] < 0].mean(), rel=1e-9)
    assert estimate.method == "least squares of mIoU on 5 factors and seed, residual from the spare columns: t with 2 df"
    decisions = decide({comparison.label: comparison.estimate(runs) for comparison in factor_comparisons(info, {"samples": 200})})
    assert decisions["a"].verdict == "better"
    assert decisions["c"].verdict == "worse"


# --- looks -----------------------------------------------------------------------------------------


def arms_info(names: list[str], first_seeds: int, max_seeds: int | None, margin: float | None = None) -> AblationInfo:
    settings = AnalysisSettings(first_seeds=first_seeds, max_seeds=max_seeds, margin=margin)
    return AblationInfo("t", ["bg", "a"], [ArmInfo(name, name, "ce") for name in names], list(range(max_seeds or first_seeds)), {}, "cpu", "demo", "d", analysis=settings)


def simulated(arm: str, seed: int) -> RunResult:
    """A large effect for 'big', none for 'zero', noise from a fixed generator keyed by (arm, seed)."""
    effect = {"base": 0.0, "big": 0.2, "zero": 0.0}[arm]
    noise = np.random.default_rng([seed, sum(map(ord, arm))]).normal(0, 0.01)
    return finished(arm, seed, 0.5 + effect + noise + 0.003 * seed)


def drive(info: AblationInfo) -> tuple[list[RunResult], list[list[tuple[str, int]]]]:
    """Train what each replay asks for until the path is complete; return the runs and each look's requests."""
    names = [arm.name for arm in info.arms]
    results: list[RunResult] = []
    requests = []
    for _ in range(20):
        path = replay(arm_comparisons(info, info.analysis, {"samples": 200}), names, results, info.analysis)
        if path.complete:
            return results, requests
        requests.append(path.next_runs)
        results += [simulated(arm, seed) for arm, seed in path.next_runs]
    raise AssertionError("the looks never completed")


def test_sequential_seeds_go_only_where_the_verdict_is_open() -> None:
    info = arms_info(["base", "big", "zero"], first_seeds=2, max_seeds=4)
    results, requests = drive(info)
    assert requests[0] == [(arm, seed) for arm in ("base", "big", "zero") for seed in (0, 1)]
    assert requests[1:] == [[("base", 2), ("zero", 2)], [("base", 3), ("zero", 3)]]  # 'big' is decided after look 1
    path = replay(arm_comparisons(info, info.analysis, {"samples": 200}), ["base", "big", "zero"], results, info.analysis)
    assert path.outcomes["big"].reason == "better at look 1 of 3, with 2 seeds"
    assert path.outcomes["zero"].reason == "within noise with the most seeds, 4 at the last look"
    assert path.outcomes["big"].decision.method.endswith("Holm over 2 comparisons, Bonferroni over 3 planned looks (α = 0.05/3 at each)")


def test_replay_resumes_on_the_same_path() -> None:
    info = arms_info(["base", "big", "zero"], first_seeds=2, max_seeds=4)
    results, _ = drive(info)
    names = ["base", "big", "zero"]
    comparisons = arm_comparisons(info, info.analysis, {"samples": 200})
    killed = [run for run in results if run.key != ("zero", 3)]  # the last run was lost to a kill
    path = replay(comparisons, names, killed, info.analysis)
    assert path.next_runs == [("zero", 3)]
    assert path.look == 3
    again = replay(comparisons, names, results, info.analysis)
    assert again.complete and again.outcomes == replay(comparisons, names, results, info.analysis).outcomes


def test_a_fixed_design_has_one_look() -> None:
    info = arms_info(["base", "big", "zero"], first_seeds=2, max_seeds=None)
    results, requests = drive(info)
    assert len(requests) == 1 and len(results) == 6
    path = replay(arm_comparisons(info, info.analysis, {"samples": 200}), ["base", "big", "zero"], results, info.analysis)
    assert path.outcomes["zero"].reason == "within noise with 2 seeds"


def test_a_margin_closes_comparisons_with_no_effect() -> None:
    info = arms_info(["base", "big", "zero"], first_seeds=2, max_seeds=6, margin=0.1)
    results, requests = drive(info)
    path = replay(arm_comparisons(info, info.analysis, {"samples": 200}), ["base", "big", "zero"], results, info.analysis)
    assert path.outcomes["zero"].decision.verdict == "no effect beyond ±0.1"
    assert len(results) < 3 * 6


UNIONS = [[8, 4, 0], [4, 8, 4]]
SAME = [[4, 2, 0], [2, 4, 2]]


@pytest.mark.parametrize("pooling", ["pooled", "arm"])
@pytest.mark.parametrize(
    "table",
    [
        {"A": [0.7, 0.7, 0.7], "B": [0.7, 0.7, 0.7], "C": [0.7, 0.7, 0.7]},  # every run alike: the model learnt nothing that a seed changes
        {"A": [0.5, 0.5, 0.5], "B": [0.5022, 0.5022, 0.5022], "C": [0.49, 0.49, 0.49]},  # seeds that change nothing, arms that differ
    ],
)
def test_seeds_with_identical_miou_measure_no_training_noise_and_give_no_verdict(pooling, table) -> None:
    # A spread of rounding error (1e-16) read as noise made a difference of 1e-16 "better" at p 0.02, and 0.0022 "better" at p 3e-79.
    runs = [finished(arm, seed, value, SAME, UNIONS) for arm, values in table.items() for seed, value in enumerate(values)]
    direct = (pooled_estimate if pooling == "pooled" else paired_estimate)({"B": 1, "A": -1}, runs)
    assert (direct.training_noise, direct.unmeasured, math.isnan(direct.se)) == (False, "identical seeds", True)
    assert direct.method.endswith("; the 3 seeds gave the same differences between arms (to rounding), so training noise is unmeasured")
    estimate = contrast_estimate({"B": 1, "A": -1}, runs, pooling, samples=200)
    assert (estimate.training_noise, estimate.method) == (False, "paired bootstrap over 2 val images (seed 0; the seeds gave the same differences between arms, so training noise is unmeasured)")
    decision = decide({"B": estimate})["B"]
    assert decision.verdict.startswith("val-only") and not decision.decided


def test_a_spread_above_rounding_is_noise_however_small() -> None:
    runs = runs_of({"A": [0.5, 0.5, 0.5], "B": [0.52, 0.52, 0.520001]})
    estimate = paired_estimate({"B": 1, "A": -1}, runs)
    assert estimate.training_noise and estimate.se > 0


def test_zero_spread_gives_no_power_claim() -> None:
    estimate = Estimate(0.0, 0.0, 7, "test", 2, True, per_seed_sd=0.0, df_per_seed=7)
    assert seeds_to_detect(decide({"x": estimate})["x"], estimate, target=0.01) is None


def test_a_factor_that_failed_runs_leave_inestimable_gets_no_estimate() -> None:
    # 4 factors in 8 runs, one seed, no true effect; rows 1 and 3 failed (an OOM). The two runs
    # left spare are not enough: the minimum-norm fit spread the intercept over the aliased
    # columns and reported a −0.25 effect as "worse" at t with 2 df.
    rows = screening_rows(4)
    info = screen_info(["a", "b", "c", "d"], rows)
    noise = np.random.default_rng(0).normal(0, 0.01, len(rows))
    runs = [finished(name, 0, 0.5 + float(value)) for index, (name, value) in enumerate(zip(info.analysis.levels, noise)) if index not in (1, 3)]
    estimates = {factor: factor_estimate(index, info.analysis.levels, runs) for index, factor in enumerate("abcd")}
    # The six runs left (intercept and 4 factors, rank 4) still separate b from the rest, and only b.
    assert [factor for factor, estimate in estimates.items() if estimate is not None] == ["b"]
    assert abs(estimates["b"].estimate) < 0.05


UNBALANCED = {"A": [0.50, 0.53, 0.51], "B": [0.56], "C": [0.52, 0.55, 0.50]}  # B finished 1 of its 3 seeds


@pytest.mark.parametrize(
    ("table", "mse", "seeds_for_0_01"),
    [
        pytest.param(TABLE, 114 / 360000, 62, id="complete: se·√seeds, as before"),
        # Residual 0.00015 on 2 df (hand-fitted least squares). se·√3 made the per-seed spread 2σ, not σ√2,
        # and the power note said 73 seeds where 30 would do.
        pytest.param(UNBALANCED, 0.00015, 30, id="an arm with 1 seed against 3"),
    ],
)
def test_power_extrapolates_from_one_seed_per_arm_whatever_seeds_finished(table, mse, seeds_for_0_01) -> None:
    estimate = pooled_estimate({"B": 1, "A": -1}, runs_of(table))
    assert estimate is not None
    assert estimate.per_seed_sd == pytest.approx(math.sqrt(2 * mse), rel=1e-9)
    decision = decide({"B": estimate, "C": pooled_estimate({"C": 1, "A": -1}, runs_of(table))})["B"]
    assert seeds_to_detect(decision, estimate, target=0.01) == seeds_for_0_01


def test_a_stopped_comparisons_power_is_not_inflated_by_the_baselines_extra_seeds() -> None:
    # A sequential design stopped 'B' at 2 seeds while the baseline went on to 4: se² = σ²(1/2 + 1/4), times 4 seeds was 3σ², not 2σ².
    runs = runs_of({"A": [0.50, 0.53, 0.51, 0.52], "B": [0.60, 0.62], "C": [0.52, 0.55, 0.50, 0.53]})
    estimate = pooled_estimate({"B": 1, "A": -1}, runs)
    rows = [(run.arm, run.seed, run.miou) for run in runs]
    x = np.array([[arm == name for name in "ABC"] + [seed == level for level in (1, 2, 3)] for arm, seed, _ in rows], dtype=float)
    y = np.array([miou for *_, miou in rows])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    mse = float(((y - x @ beta) ** 2).sum()) / (len(y) - 6)
    assert estimate.df == 10 - 6
    assert estimate.per_seed_sd == pytest.approx(math.sqrt(2 * mse), rel=1e-9)


def test_a_screens_power_extrapolates_from_every_run_of_one_seed() -> None:
    rows = screening_rows(5)  # 8 runs, 2 seeds, row 2 failed at seed 1
    info = screen_info(["a", "b", "c", "d", "e"], rows, first_seeds=2)
    noise = np.random.default_rng(1).normal(0, 0.01, (len(rows), 2))
    runs = [finished(name, seed, 0.5 + float(noise[index, seed])) for index, name in enumerate(info.analysis.levels) for seed in (0, 1) if (index, seed) != (2, 1)]
    x = np.array([[1.0, *info.analysis.levels[run.arm], float(run.seed == 1)] for run in runs])
    y = np.array([run.miou for run in runs])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    mse = float(((y - x @ beta) ** 2).sum()) / (15 - 7)
    estimate = factor_estimate(0, info.analysis.levels, runs)
    assert (estimate.df, estimate.estimate) == (8, pytest.approx(2 * beta[1], rel=1e-9))
    assert estimate.se == pytest.approx(2 * math.sqrt(mse * np.linalg.inv(x.T @ x)[1, 1]), rel=1e-9)
    assert estimate.per_seed_sd == pytest.approx(2 * math.sqrt(mse / 8), rel=1e-9)  # σ's share of a main effect over 8 runs
