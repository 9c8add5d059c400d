"""From runs to verdicts: each comparison's estimate and noise, multiplicity, equivalence, power, and sequential looks.

A *comparison* is a contrast of arms' mIoU: an arm against the baseline, a factorial effect, or
a screening factor's main effect. Its noise comes from training, seed to seed, wherever there is
more than one seed:

- ``pooling="pooled"`` (the default): a linear model of every finished run's mIoU on arm and seed
  (seed as block: runs of one seed share an initialisation and a sample order), fitted by least
  squares; the residual variance is pooled over all arms, with (arms − 1)(seeds − 1) degrees of
  freedom in a complete design. With 8 arms and 2 seeds that is t(7) = 2.36, where each arm's own
  paired differences would give t(1) = 12.7.
- ``pooling="arm"``: each comparison's own paired differences over the seeds its arms share, for
  arms whose spread differs.
- A screening design fits main effects and seed instead of one mean per arm, so with one seed
  the spare columns carry the training noise.

With one seed and nothing else to estimate training noise from, the interval is a paired
bootstrap over validation images: it measures validation noise only, and the verdict says so
(``val-only +``) instead of claiming *better* or *worse*.

Seeds that all give the same mIoU (to rounding) measure no training noise at all: a zero spread
is not a precise one, so such comparisons fall back to the bootstrap too, and say why.

Each table of verdicts is one family: the arms against the baseline, a factorial's main effects and
interaction, or a screen's main effects (a factorial report shows two, each at α). Their
p-values are adjusted (Holm by default, or Benjamini–Hochberg). A comparison the adjustment
rejects (*better*, *worse*) is shown at the level that makes its interval agree with its adjusted
p-value; every other one at the Bonferroni level α / m, which its interval then always covers 0
at, and which is the level its *no effect beyond ±δ* verdict and its minimum detectable effect
are judged at, so that equivalence claims, too, are wrong with probability at most α over the
family. Either way an interval excludes 0 exactly when the verdict says *better* or *worse*.
Sequential seeds (``max_seeds``) spend α evenly over their planned looks (Bonferroni): every look
tests at α / looks, whichever look a comparison stops at.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import nctdtrinc, ndtri, stdtr, stdtrit

from augmentlab.report.stats import bootstrap_contrasts
from augmentlab.results.records import CORRECTIONS, RunResult

POWER = 0.8
"""The power at which a minimum detectable effect is quoted."""
DEFAULT_TARGET = 0.01
"""The effect (in mIoU) for which the notes say how many seeds would detect it, when no margin is given."""

VAL_ONLY = {1: "val-only +", -1: "val-only −", 0: "val-only ±"}

ONE_SEED = "one seed"
IDENTICAL_SEEDS = "identical seeds"
"""Why an estimate has no training noise: one seed, or seeds whose mIoU did not differ (to rounding)."""
# Zero residual spread: every contrast came out the same on every seed. The seeds' mIoU may differ (a seed
# that lifts every arm alike is a block effect); what they do not show is any noise in the differences.
SAME_DIFFERENCES = "gave the same differences between arms"

_ROUNDING = 1e-9
"""A residual spread below this share of the values' scale is rounding, not seed-to-seed noise."""


@dataclass(frozen=True)
class Estimate:
    """A comparison's estimate and its noise, before any decision.

    Attributes:
        estimate: the contrast Σ w·mIoU.
        se: its standard error.
        df: degrees of freedom of its t distribution; None for a bootstrap (normal).
        method: how it was estimated, in words a researcher can check.
        n: the seeds (training noise) or validation images (bootstrap) it rests on.
        training_noise: False when only validation-image noise is measured (one seed).
        resampled: the bootstrap's contrasts, for percentile intervals.
        per_seed_sd: the standard deviation of the contrast from one seed to the next, for power (None if unknown).
        df_per_seed: the residual degrees of freedom one more seed would add, for power.
        unmeasured: why training noise is not measured, when it is not (``one seed``, or that the seeds gave the same differences between arms).
    """

    estimate: float
    se: float
    df: float | None
    method: str
    n: int
    training_noise: bool
    resampled: tuple[float, ...] | None = field(default=None, repr=False)
    per_seed_sd: float | None = None
    df_per_seed: int = 1
    unmeasured: str = ONE_SEED

    def p_value(self) -> float:
        """Two-sided p-value of "the contrast is 0"; 1 where there is no spread to test against (no evidence either way)."""
        if self.resampled is not None:
            draws = np.asarray(self.resampled)
            return float(min(1.0, max(1.0 / len(draws), 2 * min(np.mean(draws <= 0), np.mean(draws >= 0)))))
        if not self.se > 0 or self.df is None:
            return 1.0
        return float(2 * stdtr(self.df, -abs(self.estimate) / self.se))

    def bounds(self, gamma: float) -> tuple[float, float]:
        """The two-sided interval of confidence 1 − ``gamma``."""
        if self.resampled is not None:
            low, high = np.quantile(np.asarray(self.resampled), [gamma / 2, 1 - gamma / 2])
            return float(low), float(high)
        half = float(stdtrit(self.df, 1 - gamma / 2)) * self.se
        return self.estimate - half, self.estimate + half

    def quantile(self, probability: float) -> float:
        return float(ndtri(probability)) if self.df is None else float(stdtrit(self.df, probability))

    def minimum_detectable(self, gamma: float, power: float = POWER) -> float:
        """The smallest true effect this comparison detects with probability ``power`` at level ``gamma``.

        Its standard error is taken as the true one: :func:`detectable_shift` standard errors.
        """
        return detectable_shift(self.df, gamma, power) * self.se


@functools.lru_cache(maxsize=1024)
def detectable_shift(df: float | None, gamma: float, power: float = POWER) -> float:
    """The true effect, in standard errors, that a two-sided test at level ``gamma`` detects with probability ``power``.

    For a t test with ``df`` degrees of freedom the t statistic of a true effect of λ standard
    errors follows the noncentral t with noncentrality λ, so λ solves P(T > t₁₋γ/₂) = ``power``
    (scipy's ``nctdtrinc``, exact). The far tail, T < −t₁₋γ/₂, adds less than γ/2 and is left
    out, which errs on the side of a larger effect. The textbook shortcut t₁₋γ/₂ + t_power is the
    normal answer written with t quantiles: quoted as 80%, it detects 73% of the time at 1 df
    and 77% at 7 (benchmarks/design_simulation.py's ``mde-*`` rows check this one). ``df`` None
    is a normal statistic: z₁₋γ/₂ + z_power.
    """
    if df is None:
        return float(ndtri(1 - gamma / 2) + ndtri(power))
    return float(nctdtrinc(df, 1 - power, stdtrit(df, 1 - gamma / 2)))


@dataclass(frozen=True)
class Decision:
    """A comparison decided within its family: its interval at the adjusted level, its verdict and its power."""

    estimate: float
    low: float
    high: float
    method: str
    """How the interval was computed and adjusted, e.g. ``two-way ANOVA … t with 7 df; Holm over 7 comparisons``."""
    n: int
    se: float
    df: float | None
    confidence: float
    """The level of this interval: 1 − α for one comparison, higher after the adjustment for the family."""
    p_value: float
    p_adjusted: float
    mde: float | None
    """Minimum detectable effect at 80% power and level ``mde_confidence``; None without training noise (one seed)."""
    verdict: str
    training_noise: bool
    mde_confidence: float = 0.95
    """The level the MDE and the seeds needed are quoted at: the family's Bonferroni level, the one a comparison must reach at Holm's first step."""

    @property
    def decided(self) -> bool:
        """Whether the verdict ends the comparison: better, worse, or no effect beyond the margin."""
        return self.verdict in ("better", "worse") or self.verdict.startswith("no effect")


# --- estimates ------------------------------------------------------------------------------------


def finished_by_arm_and_seed(runs: Iterable[RunResult]) -> dict[str, dict[int, RunResult]]:
    """Finished runs with a finite mIoU, by arm name then seed."""
    finished: dict[str, dict[int, RunResult]] = {}
    for run in runs:
        if run.status != "finished" or run.miou is None or not math.isfinite(run.miou):
            continue
        by_seed = finished.setdefault(run.arm, {})
        if run.seed in by_seed:
            raise ValueError(f"two finished runs for arm {run.arm!r} seed {run.seed}; the result store must hold one per (arm, seed)")
        by_seed[run.seed] = run
    return finished


@dataclass(frozen=True)
class _Fit:
    """A least-squares fit: coefficients, their unscaled covariance (X'X)⁺, X'X, the residual variance and its degrees of freedom."""

    coefficients: np.ndarray
    unscaled: np.ndarray
    gram: np.ndarray
    variance: float
    df: int
    columns: int


def _least_squares(design: np.ndarray, values: np.ndarray) -> _Fit:
    coefficients, _, rank, _ = np.linalg.lstsq(design, values, rcond=None)
    residual = values - design @ coefficients
    df = len(values) - int(rank)
    variance = float(residual @ residual) / df if df > 0 else math.nan
    if df > 0 and _rounding_only(math.sqrt(variance), values):
        variance = 0.0  # the seeds changed nothing: no noise measured, not a noise of 1e-16
    gram = design.T @ design
    return _Fit(coefficients, np.linalg.pinv(gram), gram, variance, df, design.shape[1])


# Every comparison of a family is a contrast of the same fit: the fits are cached by their rows,
# so a family of m comparisons fits once, not m times (a 23-factor screen asked for 23 identical fits).


@functools.lru_cache(maxsize=16)
def _arm_seed_fit(rows: tuple[tuple[str, int, float], ...]) -> _Fit:
    """mIoU on one column per arm (in sorted order) and seed as block, over ``(arm, seed, mIoU)`` rows."""
    names = sorted({arm for arm, _, _ in rows})
    arm_columns = np.array([[1.0 if arm == name else 0.0 for name in names] for arm, _, _ in rows])
    design = np.hstack([arm_columns, _seed_columns([seed for _, seed, _ in rows])])
    return _least_squares(design, np.array([miou for _, _, miou in rows]))


@functools.lru_cache(maxsize=16)
def _factor_seed_fit(rows: tuple[tuple[tuple[int, ...], int, float], ...]) -> _Fit:
    """mIoU on an intercept, every factor's ±1 level and seed as block, over ``(levels, seed, mIoU)`` rows."""
    design = np.hstack([
        np.ones((len(rows), 1)),
        np.array([levels for levels, _, _ in rows], dtype=np.float64),
        _seed_columns([seed for _, seed, _ in rows]),
    ])
    return _least_squares(design, np.array([miou for _, _, miou in rows]))


def _seed_columns(seeds: Sequence[int]) -> np.ndarray:
    """One-hot seed columns without the first seed's (the intercept carries it): the seed as a block."""
    levels = sorted(set(seeds))
    return np.array([[1.0 if seed == level else 0.0 for level in levels[1:]] for seed in seeds]).reshape(len(seeds), len(levels) - 1)


def _rounding_only(spread: float, values: np.ndarray) -> bool:
    """Whether a residual spread is rounding error: below ``_ROUNDING`` of the values' scale (mIoU: of 1)."""
    return spread <= _ROUNDING * max(1.0, float(np.max(np.abs(values)))) if len(values) else True


def _no_spread(estimate: float, seeds: int, method: str) -> Estimate:
    """A contrast that came out the same on every seed: its training noise is unmeasured, not zero."""
    return Estimate(estimate, math.nan, None, f"{method}; the {seeds} seeds {SAME_DIFFERENCES} (to rounding), so training noise is unmeasured", seeds, False,
                    unmeasured=IDENTICAL_SEEDS)


def pooled_estimate(weights: Mapping[str, float], runs: Iterable[RunResult]) -> Estimate | None:
    """The contrast from a least-squares fit of every finished run's mIoU on arm and seed.

    Every finished run of every arm enters the fit, so the residual variance is pooled over all
    arms. None when an arm of the contrast has no finished run; the standard error is NaN when
    the fit leaves no residual degree of freedom (one seed).
    """
    finished = finished_by_arm_and_seed(runs)
    arms = [arm for arm, weight in weights.items() if weight != 0]
    if not arms or any(arm not in finished for arm in arms):
        return None
    names = sorted(finished)
    fit = _arm_seed_fit(tuple((arm, seed, run.miou) for arm in names for seed, run in sorted(finished[arm].items())))
    df = fit.df
    contrast = np.zeros(fit.columns)
    for arm in arms:
        contrast[names.index(arm)] = weights[arm]
    if not np.allclose(contrast @ fit.unscaled @ fit.gram, contrast, atol=1e-9):
        return None  # not estimable: the arms share no seed, directly or through other arms
    seeds = {seed for arm in arms for seed in finished[arm]}
    estimate = float(contrast @ fit.coefficients)
    method = f"two-way ANOVA of mIoU on arm and seed (seed as block), residual pooled over {len(names)} arms: t with {df} df"
    if df > 0 and fit.variance == 0:
        return _no_spread(estimate, len(seeds), method)
    se = math.sqrt(fit.variance * float(contrast @ fit.unscaled @ contrast)) if df > 0 else math.nan
    # The contrast's spread with one seed per arm, σ·√Σw², which s seeds for every arm divide by √s. Not se·√seeds: where
    # its arms have different seeds (a failed run, a comparison a sequential design stopped early) that overstates it.
    per_seed = math.sqrt(fit.variance * float(contrast @ contrast)) if df > 0 else None
    return Estimate(estimate, se, df if df > 0 else None, method, len(seeds), df > 0, per_seed_sd=per_seed, df_per_seed=len(names) - 1)


def paired_estimate(weights: Mapping[str, float], runs: Iterable[RunResult]) -> Estimate | None:
    """The contrast's own paired t over the seeds where all its arms finished (``pooling="arm"``)."""
    finished = finished_by_arm_and_seed(runs)
    arms = [arm for arm, weight in weights.items() if weight != 0]
    seeds = sorted(set.intersection(*(set(finished.get(arm, {})) for arm in arms))) if arms else []
    if not seeds:
        return None
    values = np.array([sum(weights[arm] * finished[arm][seed].miou for arm in arms) for seed in seeds])
    if len(values) < 2:
        return Estimate(float(values[0]), math.nan, None, "paired t needs two seeds", 1, False)
    sd = float(values.std(ddof=1))
    method = f"paired t over {len(values)} seeds"
    scale = np.array([finished[arm][seed].miou for arm in arms for seed in seeds])
    if _rounding_only(sd, scale):
        return _no_spread(float(values.mean()), len(values), method)
    return Estimate(float(values.mean()), sd / math.sqrt(len(values)), len(values) - 1, method, len(values), True, per_seed_sd=sd)


def factor_estimate(factor: int, levels: Mapping[str, Sequence[int]], runs: Iterable[RunResult]) -> Estimate | None:
    """A screening factor's main effect, mean mIoU where present minus where absent, from a fit of mIoU on every factor and seed.

    Args:
        factor: the factor's column in ``levels``.
        levels: each design run's arm name → its ±1 level of every factor.
    """
    finished = finished_by_arm_and_seed(runs)
    rows = tuple((tuple(levels[arm]), seed, run.miou) for arm in levels if arm in finished for seed, run in sorted(finished[arm].items()))
    if not rows:
        return None
    fit = _factor_seed_fit(rows)
    df = fit.df
    index = 1 + factor
    contrast = np.zeros(fit.columns)
    contrast[index] = 1.0
    if not np.allclose(contrast @ fit.unscaled @ fit.gram, contrast, atol=1e-9):
        return None  # not estimable: failed runs left the factor's column aliased with the others
    seeds = len({seed for _, seed, _ in rows})
    spare = "the spare columns" if seeds == 1 else f"{seeds} seeds and the spare columns"
    method = f"least squares of mIoU on {fit.columns - 1 - (seeds - 1)} factors and seed, residual from {spare}: t with {df} df"
    if df > 0 and fit.variance == 0:
        return _no_spread(2 * float(fit.coefficients[index]), seeds, method)
    se = 2 * math.sqrt(fit.variance * fit.unscaled[index, index]) if df > 0 else math.nan
    per_seed = 2 * math.sqrt(fit.variance / len(levels)) if df > 0 else None  # with every run of one seed: orthogonal ±1 columns
    return Estimate(2 * float(fit.coefficients[index]), se, df if df > 0 else None, method, seeds, df > 0, per_seed_sd=per_seed, df_per_seed=len(levels) - 1)


def bootstrap_estimate(
    weights: Mapping[str, float], runs: Iterable[RunResult], *, samples: int = 2000, seed: int = 0, unmeasured: str = ONE_SEED,
) -> Estimate | None:
    """The contrast on one seed (the first all its arms finished), with a paired bootstrap over validation images: validation noise only.

    ``unmeasured`` says why there is no training noise to use instead: one seed, or identical seeds.
    """
    finished = finished_by_arm_and_seed(runs)
    arms = [arm for arm, weight in weights.items() if weight != 0]
    seeds = sorted(set.intersection(*(set(finished.get(arm, {})) for arm in arms))) if arms else []
    if not seeds:
        return None
    only = {arm: finished[arm][seeds[0]] for arm in arms}
    if any(not run.image_intersections for run in only.values()):
        return None  # a run stored without per-image counts: nothing to resample
    counts = {arm: (run.image_intersections, run.image_unions) for arm, run in only.items()}
    estimate, resampled = bootstrap_contrasts({arm: weights[arm] for arm in arms}, counts, samples, seed)
    images = len(next(iter(only.values())).image_intersections)
    which = "1 seed" if unmeasured == ONE_SEED else f"seed {seeds[0]}; the seeds {SAME_DIFFERENCES}, so training noise is unmeasured"
    return Estimate(
        estimate, float(np.std(resampled, ddof=1)), None, f"paired bootstrap over {images} val images ({which})", images, False,
        resampled=tuple(float(value) for value in resampled), unmeasured=unmeasured,
    )


def contrast_estimate(weights: Mapping[str, float], runs: Sequence[RunResult], pooling: str = "pooled", **bootstrap: int) -> Estimate | None:
    """The contrast's estimate with training noise where the runs give it, else validation noise (one seed)."""
    estimate = pooled_estimate(weights, runs) if pooling == "pooled" else paired_estimate(weights, runs)
    if estimate is not None and estimate.training_noise:
        return estimate
    return bootstrap_estimate(weights, runs, **bootstrap, unmeasured=ONE_SEED if estimate is None else estimate.unmeasured)


# --- decisions --------------------------------------------------------------------------------


def adjusted_p_values(p_values: Sequence[float], correction: str) -> list[float]:
    """Holm's step-down or Benjamini–Hochberg's step-up adjusted p-values (or the p-values themselves), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda index: (math.isnan(p_values[index]), p_values[index]))  # an unknown p (NaN) last, as if 1
    adjusted = [0.0] * m
    if correction == "none":
        return list(p_values)
    if correction == "holm":
        running = 0.0
        for rank, index in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p_values[index]))
            adjusted[index] = running
        return adjusted
    if correction == "bh":
        running = 1.0
        for rank in range(m - 1, -1, -1):
            index = order[rank]
            running = min(running, (m / (rank + 1)) * p_values[index])
            adjusted[index] = min(1.0, running)
        return adjusted
    raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")


def _multiplier(p_values: Sequence[float], adjusted: Sequence[float], index: int, correction: str) -> float:
    """How much stricter than α the comparison ``index`` is tested: its adjusted p over its p (the step's factor where p is 0)."""
    if p_values[index] > 0:
        return adjusted[index] / p_values[index]
    rank = sorted(range(len(p_values)), key=lambda i: p_values[i]).index(index)
    return {"holm": len(p_values) - rank, "bh": len(p_values) / (rank + 1), "none": 1.0}[correction]


def level_text(gamma: float, alpha: float) -> str:
    """A family's Bonferroni level in words a reader can check: ``α/7 = 0.0071``, or ``α = 0.05`` without correction.

    ``gamma`` is α divided by the comparisons and the looks it is split over (the level a Decision's MDE is quoted at).
    """
    divisor = round(alpha / gamma) if gamma > 0 else 0
    if divisor <= 1:
        return f"α = {alpha:g}"
    return f"α/{divisor} = {gamma:.2g}"


def family_level(decisions: Iterable[Decision | None], alpha: float) -> str | None:
    """:func:`level_text` of a family's Bonferroni level, from its first member with training noise; None without one."""
    member = next((decision for decision in decisions if decision is not None and decision.training_noise), None)
    return None if member is None else level_text(1 - member.mde_confidence, alpha)


def family_text(count: int, correction: str, looks: int = 1, alpha: float = 0.05, waiting: int = 0, unmeasured: int = 0) -> str:
    """The adjustment in words: ``Holm over 7 comparisons``, with those counted at p = 1 and the looks' share of α when sequential."""
    what = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "no correction"}[correction]
    text = f"{what} over {count} comparison{'s' if count != 1 else ''}" if correction != "none" else f"no correction for {count} comparison{'s' if count != 1 else ''}"
    at_one = [f"{waiting} without an estimate yet"] * bool(waiting) + [f"{unmeasured} without training noise"] * bool(unmeasured)
    if at_one and correction != "none":
        text += f" ({' and '.join(at_one)}, counted at p = 1)"
    if looks > 1:
        text += f", Bonferroni over {looks} planned looks (α = {alpha:g}/{looks} at each)"
    return text


def decide(
    estimates: Mapping[str, Estimate],
    *,
    alpha: float = 0.05,
    correction: str = "holm",
    margin: float | None = None,
    looks: int = 1,
    kept: int = 0,
    waiting: int = 0,
) -> dict[str, Decision]:
    """Each comparison's verdict and interval within its family.

    The family's tests are the comparisons with training noise; comparisons without it get
    ``val-only`` verdicts and are not tested, but beside members they count at p = 1 (below). A member the adjustment rejects (adjusted p below
    α / looks) has its interval at level 1 − γ with γ = (α / looks) · p / p_adjusted, so that it
    just excludes 0; every other member's is at the Bonferroni level γ = α / (looks · m), which
    covers 0 whenever Holm or Benjamini–Hochberg does not reject. With ``margin`` δ, such an
    interval inside (−δ, δ) is *no effect beyond ±δ*: by Bonferroni over the m comparisons and
    the looks, the chance that any of these is wrong is at most α. The minimum detectable
    effect is quoted at the Bonferroni level for every member, so equal noise gives equal MDEs.

    ``kept`` counts comparisons a sequential design closed earlier without rejecting them (no
    effect beyond the margin): they stay in the family with p = 1, so closing them never loosens
    the others' threshold. Comparisons rejected at an earlier look leave the family, as Holm's
    step-down (and its group-sequential form, Maurer and Bretz 2013) allows. ``waiting`` counts
    planned comparisons with no estimate yet (runs missing or failed): they too count at p = 1,
    so a report read before the last runs land claims no more than the finished one may. So do
    comparisons that fell back to the validation bootstrap beside members with training noise
    (``pooling="arm"`` with one seed shared with the baseline, or seeds that gave the same
    difference): they are in the family the ablation planned, only without a test.
    """
    look_alpha = alpha / looks
    family = [label for label, estimate in estimates.items() if estimate.training_noise]
    p_values = [estimates[label].p_value() for label in family]
    unmeasured = len(estimates) - len(family) if family else 0
    kept += waiting + unmeasured
    adjusted = adjusted_p_values(p_values + [1.0] * kept, correction)[: len(family)]
    p_values = p_values + [1.0] * kept
    bonferroni = look_alpha / (max(1, len(family) + kept) if correction != "none" else 1)
    decisions: dict[str, Decision] = {}
    for label, estimate in estimates.items():
        if label in family:
            index = family.index(label)
            p, p_adjusted = p_values[index], adjusted[index]
            gamma = look_alpha / _multiplier(p_values, adjusted, index, correction) if p_adjusted < look_alpha else bonferroni
            method = f"{estimate.method}; {family_text(len(family) + kept, correction, looks, alpha, waiting, unmeasured)}"
            power_gamma = bonferroni
        else:
            gamma, p = look_alpha, estimate.p_value()
            p_adjusted = p
            method = estimate.method
            power_gamma = gamma
        low, high = estimate.bounds(gamma)
        decisions[label] = Decision(
            estimate=estimate.estimate, low=low, high=high, method=method, n=estimate.n, se=estimate.se, df=estimate.df,
            confidence=1 - gamma, p_value=p, p_adjusted=p_adjusted,
            mde=estimate.minimum_detectable(power_gamma) if estimate.training_noise else None,
            verdict=_verdict(low, high, estimate.training_noise, margin), training_noise=estimate.training_noise, mde_confidence=1 - power_gamma,
        )
    return decisions


def _verdict(low: float, high: float, training_noise: bool, margin: float | None) -> str:
    if not training_noise:
        return VAL_ONLY[1 if low > 0 else -1 if high < 0 else 0]
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    if margin is not None and -margin < low and high < margin:
        return f"no effect beyond ±{margin:g}"
    return "within noise"


def seeds_to_detect(decision: Decision, estimate: Estimate, target: float, power: float = POWER, most: int = 200) -> int | None:
    """The seeds at which a comparison like this one detects ``target`` with ``power`` at its MDE's level (None: unknown, or beyond ``most``).

    The spread from seed to seed is the observed one; each seed adds ``estimate.df_per_seed`` residual degrees of freedom.
    """
    if estimate.per_seed_sd is None or estimate.df is None or not math.isfinite(estimate.per_seed_sd) or estimate.per_seed_sd <= 0:
        return None
    gamma = 1 - decision.mde_confidence
    for seeds in range(2, most + 1):
        df = max(1.0, estimate.df + (seeds - estimate.n) * estimate.df_per_seed)
        needed = detectable_shift(df, gamma, power) * estimate.per_seed_sd / math.sqrt(seeds)
        if needed <= abs(target):
            return seeds
    return None
