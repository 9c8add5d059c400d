"""Error rates and power of the verdicts, by simulation through the report's own decision code.

Every simulated ablation goes through :func:`augmentlab.report.looks.replay`, the function the
runner asks which runs to train next and the report asks for each verdict, so the rates below are
the rates of what users see. A run's mIoU is

    mIoU(arm, seed) = 0.5 + effect(arm) + block(seed) + noise,

with block(seed) ~ N(0, σ_block²) shared by every arm of a seed (the same initialisation and
sample order) and noise ~ N(0, σ²) of its own; σ = 0.01 mIoU. Effects are given in units of σ.

Scenarios:

- ``null-*``: no arm differs from the baseline. A verdict of better or worse is a false one: the
  family-wise error rate (FWER) must be at most α = 0.05.
- ``power-*``: one arm differs by 1σ, 2σ or 3σ: how often its verdict says so.
- ``half-large``: half the arms differ by 4σ: runs a sequential design saves, and its power.
- ``screen-*``: a Plackett–Burman screen of many factors, two of them active.
- ``bh-mixed``: Benjamini–Hochberg with 3 of 7 arms active: the false discovery rate (FDR).
- ``margin-*``: every arm differs by exactly the margin δ = 2σ, the hardest case for an
  equivalence claim: a verdict of *no effect beyond ±δ* is a false one, and the rate of any such
  claim in an ablation (the ``equiv`` column) must be at most α too.
- ``peek-*``: no arm differs, and the fixed design is read again after each added seed (what
  running the same command with a larger ``--seeds`` after reading a report does), stopping at
  the first better or worse: the inflation the report's note about added seeds warns of; not
  checked against α, like ``null-uncorrected``.
- ``mde-*``: one arm differs by exactly the MDE the report quotes for this design when its
  spread is the true one (:func:`augmentlab.report.analysis.detectable_shift` standard errors):
  its power must be the promised 80%, within three Monte Carlo standard errors.

Run ``python benchmarks/design_simulation.py`` (2000 simulations a scenario, about 5 minutes on
2 cores); ``--sims`` and ``--only`` shrink it. tests/test_design_simulation.py runs a few hundred
of the null scenarios with a fixed seed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from augmentlab.report.analysis import POWER, detectable_shift
from augmentlab.report.looks import arm_comparisons, factor_comparisons, replay
from augmentlab.results.records import (
    AblationInfo,
    AnalysisSettings,
    ArmInfo,
    RunResult,
)
from augmentlab.runner.designs import screening_rows

SIGMA = 0.01
BLOCK = 0.02
ALPHA = 0.05


@dataclass(frozen=True)
class Scenario:
    name: str
    arms: int = 8
    """Arms, the baseline included (factorial designs)."""
    effects: dict[int, float] = field(default_factory=dict)
    """Arm index (or screening factor index) → its true effect in units of σ."""
    first_seeds: int = 2
    max_seeds: int | None = None
    correction: str = "holm"
    margin: float | None = None
    pooling: str = "pooled"
    factors: int = 0
    """Screening factors; 0 for an arms design."""
    at_mde: bool = False
    """Arm 1 differs by exactly the report's MDE for this design (``effects`` is then filled in)."""
    reads: tuple[int, ...] = ()
    """A fixed design read at each of these seed counts, stopping at the first better or worse:
    what growing ``--seeds`` after reading a report does (``first_seeds`` is then ignored)."""
    what: str = ""


SCENARIOS = [
    Scenario("null-fixed-2", what="8 arms, 2 seeds, Holm: FWER"),
    Scenario("null-fixed-3", first_seeds=3, what="8 arms, 3 seeds, Holm: FWER"),
    Scenario("null-uncorrected", correction="none", what="8 arms, 2 seeds, no correction: FWER"),
    Scenario("null-arm-pooling", pooling="arm", first_seeds=3, what="8 arms, 3 seeds, per-arm paired t, Holm: FWER"),
    Scenario("null-bh", correction="bh", what="8 arms, 2 seeds, BH: FWER (= FDR under the null)"),
    Scenario("null-sequential", max_seeds=5, what="8 arms, 2 then up to 5 seeds, Holm: FWER"),
    Scenario("null-sequential-margin", max_seeds=5, margin=0.02, what="8 arms, 2→5 seeds, margin ±2σ, Holm: FWER"),
    Scenario("power-1σ-3seeds", effects={1: 1.0}, first_seeds=3, what="one arm +1σ, 3 seeds: power"),
    Scenario("power-2σ-3seeds", effects={1: 2.0}, first_seeds=3, what="one arm +2σ, 3 seeds: power"),
    Scenario("power-2σ-sequential", effects={1: 2.0}, max_seeds=5, what="one arm +2σ, 2→5 seeds: power"),
    Scenario("power-2σ-5seeds", effects={1: 2.0}, first_seeds=5, what="one arm +2σ, 5 seeds: power (the fixed plan sequential stops short of)"),
    Scenario("power-3σ-2seeds", effects={1: 3.0}, what="one arm +3σ, 2 seeds: power"),
    Scenario("half-large-fixed-5", effects={1: 4.0, 2: -4.0, 3: 4.0, 4: 4.0}, first_seeds=5, what="4 of 7 arms ±4σ, 5 seeds: power, runs"),
    Scenario("half-large-sequential", effects={1: 4.0, 2: -4.0, 3: 4.0, 4: 4.0}, max_seeds=5, what="4 of 7 arms ±4σ, 2→5 seeds: power, runs"),
    Scenario("bh-mixed", effects={1: 3.0, 2: 3.0, 3: -3.0}, first_seeds=3, correction="bh", what="3 of 7 arms ±3σ, 3 seeds, BH: FDR, power"),
    Scenario("screen-20-1seed", factors=20, effects={0: 3.0, 5: -3.0}, first_seeds=1, what="20 factors in 24 runs, 1 seed, 2 active ±3σ"),
    Scenario("screen-20-2seeds", factors=20, effects={0: 3.0, 5: -3.0}, first_seeds=2, what="20 factors in 24 runs, 2 seeds, 2 active ±3σ"),
    Scenario("screen-null-20-2seeds", factors=20, first_seeds=2, what="20 factors in 24 runs, 2 seeds, none active: FWER"),
    Scenario("margin-fixed-5", effects={i: (2.0 if i % 2 else -2.0) for i in range(1, 8)}, first_seeds=5, margin=0.02,
             what="7 arms at ±δ = ±2σ, 5 seeds, margin δ: false equivalence"),
    Scenario("margin-sequential", effects={i: (2.0 if i % 2 else -2.0) for i in range(1, 8)}, max_seeds=5, margin=0.02,
             what="7 arms at ±δ = ±2σ, 2→5 seeds, margin δ: false equivalence"),
    Scenario("peek-fixed-2to5", reads=(2, 3, 4, 5),
             what="8 arms read at 2, 3, 4, 5 seeds by growing --seeds, stopping at the first verdict: FWER, uncorrected"),
    Scenario("mde-2arms-2seeds", arms=2, at_mde=True, what="one arm at its MDE, 2 arms × 2 seeds (1 df): power 0.80"),
    Scenario("mde-4arms-3seeds", arms=4, first_seeds=3, at_mde=True, what="one arm at its MDE, 4 arms × 3 seeds (6 df), Holm: power 0.80"),
    Scenario("mde-8arms-2seeds", at_mde=True, what="one arm at its MDE, 8 arms × 2 seeds (7 df), Holm: power 0.80"),
    Scenario("mde-8arms-3seeds-arm", first_seeds=3, pooling="arm", at_mde=True,
             what="one arm at its MDE, 8 arms × 3 seeds, per-arm paired t (2 df), Holm: power 0.80"),
]


@dataclass
class Rates:
    scenario: Scenario
    sims: int
    false_any: int = 0
    """Simulations with at least one false verdict of better or worse (a null comparison, or the wrong sign)."""
    false_total: int = 0
    discoveries_total: int = 0
    fdp_sum: float = 0.0
    false_equivalence_any: int = 0
    """Simulations with at least one verdict of no effect beyond ±δ for a comparison whose true effect is δ or more."""
    detected: int = 0
    """Active comparisons given their right verdict, summed over simulations."""
    active: int = 0
    runs: int = 0
    seconds: float = 0.0

    @property
    def fwer(self) -> float:
        return self.false_any / self.sims

    @property
    def equivalence_fwer(self) -> float:
        return self.false_equivalence_any / self.sims

    @property
    def fdr(self) -> float:
        return self.fdp_sum / self.sims

    @property
    def power(self) -> float | None:
        return self.detected / self.active if self.active else None

    def fwer_bound(self, alpha: float = ALPHA) -> float:
        """α plus three Monte Carlo standard errors: a rate within it is consistent with FWER ≤ α."""
        return alpha + 3 * math.sqrt(alpha * (1 - alpha) / self.sims)

    def power_band(self, promised: float = POWER) -> tuple[float, float]:
        """``promised`` ∓ three Monte Carlo standard errors; a power inside keeps the promise.

        The top has 0.01 more: under Holm the lone active arm is tested at α/m only when its p is
        the smallest, and at a looser level in the few simulations where a null arm's p is smaller.
        """
        half = 3 * math.sqrt(promised * (1 - promised) / self.active)
        return promised - half, promised + half + 0.01


def at_mde(scenario: Scenario) -> Scenario:
    """``scenario`` with arm 1's effect (in σ) set to the MDE its report would quote if the spread were the true σ.

    Arm minus baseline has standard error σ·√(2/seeds) (each run's own noise; the seed block cancels);
    its degrees of freedom are (arms − 1)(seeds − 1) pooled, seeds − 1 per arm; the level is the
    family's Bonferroni level α / (arms − 1), the one the MDE is quoted at.
    """
    if not scenario.at_mde:
        return scenario
    seeds = scenario.first_seeds
    df = (seeds - 1) if scenario.pooling == "arm" else (scenario.arms - 1) * (seeds - 1)
    shift = detectable_shift(float(df), ALPHA / (scenario.arms - 1))
    return replace(scenario, effects={1: shift * math.sqrt(2 / seeds)})


def _info(scenario: Scenario) -> tuple[AblationInfo, list, list[str], dict[str, float]]:
    """The ablation's info, its family, its arms and each arm's true mean offset."""
    settings = AnalysisSettings(
        design="screen" if scenario.factors else "factorial", first_seeds=scenario.first_seeds, max_seeds=scenario.max_seeds,
        correction=scenario.correction, margin=scenario.margin, pooling=scenario.pooling,
    )
    if scenario.factors:
        rows = screening_rows(scenario.factors)
        names = [f"row{index}" for index in range(len(rows))]
        settings.factors = [f"f{index}" for index in range(scenario.factors)]
        settings.levels = {name: row.tolist() for name, row in zip(names, rows)}
        effects = np.array([scenario.effects.get(index, 0.0) for index in range(scenario.factors)]) * SIGMA
        offsets = {name: float(row @ effects / 2) for name, row in zip(names, rows)}  # a main effect is the present − absent difference
    else:
        names = ["baseline"] + [f"arm{index}" for index in range(1, scenario.arms)]
        offsets = {name: scenario.effects.get(index, 0.0) * SIGMA for index, name in enumerate(names)}
    seeds = list(range(scenario.max_seeds or scenario.first_seeds))
    info = AblationInfo("sim", ["bg", "a"], [ArmInfo(name, name, "ce") for name in names], seeds, {}, "cpu", "sim", "sim", analysis=settings)
    bootstrap = {"samples": 200}
    comparisons = factor_comparisons(info, bootstrap) if scenario.factors else arm_comparisons(info, settings, bootstrap)
    return info, comparisons, names, offsets


def _true_effects(scenario: Scenario, labels: Sequence[str]) -> dict[str, float]:
    if scenario.factors:
        return {label: scenario.effects.get(index, 0.0) for index, label in enumerate(labels)}
    return {label: scenario.effects.get(index + 1, 0.0) for index, label in enumerate(labels)}


def _counts(miou: float, images: int = 16) -> tuple[list[list[int]], list[list[int]]]:
    """Per-image counts whose pooled mIoU is about ``miou``, for the one-seed bootstrap fallback."""
    unions = [[1000, 1000]] * images
    intersections = [[int(round(miou * 1000))] * 2] * images
    return intersections, unions


def simulate(scenario: Scenario, sims: int, seed: int = 0) -> Rates:
    """Run ``sims`` simulated ablations of ``scenario`` through the replay; count false and right verdicts."""
    if scenario.reads:
        return _simulate_reads(scenario, sims, seed)
    scenario = at_mde(scenario)
    rng = np.random.default_rng(seed)
    info, comparisons, names, offsets = _info(scenario)
    labels = [comparison.label for comparison in comparisons]
    truth = _true_effects(scenario, labels)
    rates = Rates(scenario, sims)
    started = time.perf_counter()
    one_seed = scenario.first_seeds == 1 and scenario.max_seeds is None
    for _ in range(sims):
        most = scenario.max_seeds or scenario.first_seeds
        blocks = rng.normal(0, BLOCK, most)
        noise = rng.normal(0, SIGMA, (len(names), most))
        results: list[RunResult] = []
        while True:
            path = replay(comparisons, names, results, info.analysis)
            if path.complete:
                break
            for arm, seed_index in path.next_runs:
                miou = 0.5 + offsets[arm] + blocks[seed_index] + noise[names.index(arm), seed_index]
                intersections, unions = _counts(miou) if one_seed else ([], [])
                results.append(RunResult(arm, arm, "ce", seed_index, "finished", miou=miou, image_intersections=intersections, image_unions=unions))
        rates.runs += len(results)
        false = right = discoveries = false_equivalence = 0
        for label in labels:
            decision = path.outcomes[label].decision
            verdict = decision.verdict if decision is not None else "none"
            sign = {"better": 1, "worse": -1}.get(verdict, 0)
            effect = truth[label]
            if verdict.startswith("no effect") and abs(effect) * SIGMA >= scenario.margin - 1e-12:
                false_equivalence += 1
            if sign:
                discoveries += 1
                if effect == 0 or sign != np.sign(effect):
                    false += 1
            if effect != 0:
                rates.active += 1
                right += sign == np.sign(effect)
        rates.detected += right
        rates.false_any += false > 0
        rates.false_equivalence_any += false_equivalence > 0
        rates.false_total += false
        rates.discoveries_total += discoveries
        rates.fdp_sum += false / discoveries if discoveries else 0.0
    rates.seconds = time.perf_counter() - started
    return rates


def _simulate_reads(scenario: Scenario, sims: int, seed: int) -> Rates:
    """A null fixed design read at each of ``scenario.reads`` seeds, each read a fixed design of its own (as the store
    makes of a grown folder), until one gives a better or worse verdict. Only null scenarios: every such verdict is false."""
    assert not scenario.effects, "reads simulate the null only"
    rng = np.random.default_rng(seed)
    designs = [_info(replace(scenario, reads=(), first_seeds=count)) for count in scenario.reads]
    _, _, names, _ = designs[0]
    rates = Rates(scenario, sims)
    started = time.perf_counter()
    most = max(scenario.reads)
    for _ in range(sims):
        blocks = rng.normal(0, BLOCK, most)
        noise = rng.normal(0, SIGMA, (len(names), most))
        results = [RunResult(arm, arm, "ce", index, "finished", miou=0.5 + blocks[index] + noise[row, index])
                   for row, arm in enumerate(names) for index in range(most)]
        for count, (info, comparisons, _, _) in zip(scenario.reads, designs):
            path = replay(comparisons, names, [run for run in results if run.seed < count], info.analysis)
            false = sum(path.outcomes[c.label].decision.verdict in ("better", "worse") for c in comparisons)
            if false:
                rates.false_any += 1
                rates.false_total += false
                rates.discoveries_total += false
                rates.fdp_sum += 1.0
                rates.runs += count * len(names)
                break
        else:
            rates.runs += most * len(names)
    rates.seconds = time.perf_counter() - started
    return rates


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="comma-separated scenario names (prefixes)")
    args = parser.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.only or any(s.name.startswith(p) for p in args.only.split(","))]
    print(f"{args.sims} simulations a scenario; σ = {SIGMA}, seed block σ = {BLOCK}, α = {ALPHA}")
    print(f"{'scenario':26} {'FWER':>6} {'bound':>6} {'FDR':>6} {'equiv':>6} {'power':>6} {'runs':>6}  what")
    failed = []
    for scenario in chosen:
        rates = simulate(scenario, args.sims, args.seed)
        power = "" if rates.power is None else f"{rates.power:.3f}"
        equivalence = "" if scenario.margin is None else f"{rates.equivalence_fwer:.3f}"
        print(f"{scenario.name:26} {rates.fwer:6.3f} {rates.fwer_bound():6.3f} {rates.fdr:6.3f} {equivalence:>6} {power:>6} {rates.runs / args.sims:6.1f}  "
              f"{scenario.what}", flush=True)
        controlled = scenario.correction != "none" and not scenario.reads  # reads show an inflation, like no correction
        if controlled and (rates.fdr if scenario.correction == "bh" else rates.fwer) > rates.fwer_bound():
            failed.append(scenario.name)
        if controlled and scenario.margin is not None and rates.equivalence_fwer > rates.fwer_bound():
            failed.append(f"{scenario.name} (equivalence)")
        if scenario.at_mde and not rates.power_band()[0] <= rates.power <= rates.power_band()[1]:
            failed.append(f"{scenario.name} (power at the MDE)")
    if failed:
        print(f"error rate above its bound, or power at the MDE off its promise: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
