"""An ablation's comparisons and its looks, replayed from the stored results alone.

A fixed design has one look: every arm with every planned seed. With sequential seeds
(``max_seeds`` M above the first ``seeds`` N) there are M − N + 1 planned looks: after each, every
comparison is decided (better, worse, no effect beyond the margin) or its arms get one more
seed; the baseline trains on while any comparison that needs it is open, and a screening
design's rows all train on while any factor is open. Each look tests at α / looks (Bonferroni
over the planned looks), so the error rate holds whichever look a comparison stops at.

Everything here is a function of the stored results: the runner asks :func:`replay` which runs
the next look needs, and the report asks it for each comparison's decision and why it stopped.
So a killed ablation, started again, continues on the same path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from augmentlab.report.analysis import (
    Decision,
    Estimate,
    bootstrap_estimate,
    contrast_estimate,
    decide,
    factor_estimate,
    finished_by_arm_and_seed,
)
from augmentlab.results.records import AblationInfo, AnalysisSettings, RunResult


@dataclass(frozen=True)
class Comparison:
    """One verdict a report makes: its label, the arms its estimate needs, and how it is estimated."""

    label: str
    arms: frozenset[str]
    estimate: Callable[[Sequence[RunResult]], Estimate | None] = field(compare=False, repr=False)
    weights: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """Where a comparison stands: its decision, the look that made it, and why it stopped (or that it is still open)."""

    decision: Decision | None
    estimate: Estimate | None
    look: int
    seeds: int
    """Seeds its arms had at that look."""
    reason: str


@dataclass
class Replay:
    """The looks replayed so far.

    Attributes:
        outcomes: every comparison's latest outcome (open ones: the last complete look's).
        open: the comparisons not decided yet.
        seeds: each arm's seeds in the path so far (what the next look asks for, when it is incomplete).
        next_runs: ``(arm, seed)`` the next look needs and the results lack; empty when the path is complete.
        looks: the planned looks.
        look: the look the next runs are for; when the path is complete, the last look made.
    """

    outcomes: dict[str, Outcome]
    open: list[str]
    seeds: dict[str, int]
    next_runs: list[tuple[str, int]]
    looks: int
    look: int

    @property
    def complete(self) -> bool:
        return not self.next_runs


def arm_comparisons(info: AblationInfo, settings: AnalysisSettings, bootstrap: Mapping[str, int]) -> list[Comparison]:
    """Each arm against the baseline, the family of a factorial (or ``each``) design."""
    baseline = info.baseline.name
    comparisons = []
    for arm in info.arms[1:]:
        weights = {arm.name: 1.0, baseline: -1.0}
        comparisons.append(Comparison(arm.name, frozenset(weights), _contrast(weights, settings.pooling, bootstrap), weights))
    return comparisons


def factor_comparisons(info: AblationInfo, bootstrap: Mapping[str, int]) -> list[Comparison]:
    """Each screening factor's main effect, the family of a screening design."""
    levels = info.analysis.levels
    arms = frozenset(levels)
    comparisons = []
    for index, factor in enumerate(info.analysis.factors):
        present = [arm for arm, row in levels.items() if row[index] > 0]
        absent = [arm for arm, row in levels.items() if row[index] < 0]
        weights = {**{arm: 1 / len(present) for arm in present}, **{arm: -1 / len(absent) for arm in absent}}

        def estimate(runs: Sequence[RunResult], index: int = index, weights: Mapping[str, float] = weights) -> Estimate | None:
            fitted = factor_estimate(index, levels, runs)
            if fitted is None or fitted.training_noise:
                return fitted  # None: no runs, or failed runs left the factor not estimable
            # One seed and no spare column (or seeds that changed nothing): validation noise only.
            return bootstrap_estimate(weights, runs, **bootstrap, unmeasured=fitted.unmeasured)

        comparisons.append(Comparison(factor, arms, estimate, weights))
    return comparisons


def contrast_comparison(label: str, weights: Mapping[str, float], settings: AnalysisSettings, bootstrap: Mapping[str, int]) -> Comparison:
    """A comparison of any contrast (a factorial effect), estimated as the arm comparisons are."""
    arms = frozenset(arm for arm, weight in weights.items() if weight != 0)
    return Comparison(label, arms, _contrast(weights, settings.pooling, bootstrap), weights)


def _contrast(weights: Mapping[str, float], pooling: str, bootstrap: Mapping[str, int]) -> Callable[[Sequence[RunResult]], Estimate | None]:
    return lambda runs: contrast_estimate(weights, runs, pooling, **bootstrap)


def replay(
    comparisons: Sequence[Comparison],
    arms: Sequence[str],
    results: Iterable[RunResult],
    settings: AnalysisSettings,
    ended: set[tuple[str, int]] | None = None,
) -> Replay:
    """Replay the looks: each look's runs, decisions and stops, up to the first look the results do not complete.

    Args:
        comparisons: the family.
        arms: every arm of the ablation, the baseline first.
        results: the stored runs.
        settings: the first seeds, the most seeds, α, the correction and the margin.
        ended: the runs that count as done for the path (default: every finished or failed run);
            the runner passes the failed ones of this invocation only, so that earlier failures are retried.
    """
    results = list(results)
    done = {run.key for run in results if run.status in ("finished", "failed")} if ended is None else ended
    looks = settings.looks
    seeds = {arm: settings.first_seeds for arm in arms}
    open_labels = [comparison.label for comparison in comparisons]
    by_label = {comparison.label: comparison for comparison in comparisons}
    outcomes: dict[str, Outcome] = {}
    kept = 0  # closed without a rejection (no effect beyond the margin): they stay in the family
    look = 1
    position = {arm: index for index, arm in enumerate(arms)}
    for look in range(1, looks + 1):
        needed = {(arm, seed) for arm in arms for seed in range(seeds[arm])}
        missing = sorted(needed - done, key=lambda key: (position[key[0]], key[1]))
        used = [run for run in results if run.key in needed]
        estimates = {label: estimate for label in open_labels if (estimate := by_label[label].estimate(used)) is not None}
        # A comparison without an estimate yet (its runs missing or failed) stays in the family as p = 1: verdicts are
        # adjusted for every comparison the ablation plans, so a report read before its last runs claims no more than after.
        waiting = len(open_labels) - len(estimates)
        decisions = decide(estimates, alpha=settings.alpha, correction=settings.correction, margin=settings.margin, looks=looks, kept=kept, waiting=waiting)
        if missing:
            # An interrupted look: the open comparisons are shown as the runs so far give them, and stay open.
            for label in open_labels:
                decision = decisions.get(label)
                arm_seeds = min(seeds[arm] for arm in by_label[label].arms)
                what = "no run finished" if decision is None else decision.verdict
                lacking = f"{len(missing)} run{'s' if len(missing) != 1 else ''} missing"
                where = lacking if looks == 1 else f"look {look} of {looks} has {lacking}"
                outcomes[label] = Outcome(decision, estimates.get(label), look, arm_seeds, f"{what} so far; {where}")
            return Replay(outcomes, open_labels, seeds, missing, looks, look)
        still_open = []
        finished = finished_by_arm_and_seed(used)
        for label in open_labels:
            decision = decisions.get(label)
            arm_seeds = min(seeds[arm] for arm in by_label[label].arms)
            # The seeds the verdict rests on: a run that failed at this look is planned but not counted.
            finished_seeds = min(len(finished.get(arm, {})) for arm in by_label[label].arms)
            seeds_text = _seeds_text(finished_seeds, arm_seeds)
            if decision is not None and decision.decided:
                when = f" at look {look} of {looks}," if looks > 1 else ""  # a fixed design has one look: nothing to say about it
                outcomes[label] = Outcome(decision, estimates.get(label), look, arm_seeds, f"{decision.verdict}{when} with {seeds_text}")
                kept += decision.verdict not in ("better", "worse")
            elif look == looks:
                if looks == 1:
                    why = "no run finished" if decision is None else f"{decision.verdict} with {seeds_text}"
                else:
                    why = ("no run finished" if decision is None else f"{decision.verdict} with the most seeds, {_seeds_text(finished_seeds, arm_seeds, noun=False)}") + " at the last look"
                outcomes[label] = Outcome(decision, estimates.get(label), look, arm_seeds, why)
            else:
                outcomes[label] = Outcome(decision, estimates.get(label), look, arm_seeds, f"open after look {look} of {looks}")
                still_open.append(label)
        open_labels = still_open
        if not open_labels:
            break
        for arm in set().union(*(by_label[label].arms for label in open_labels)):
            seeds[arm] += 1
    return Replay(outcomes, open_labels, seeds, [], looks, look)


def _seeds_text(finished: int, planned: int, noun: bool = True) -> str:
    """``3 seeds``, ``1 seed``, or ``3 of 4 seeds`` where a planned run failed (without the noun: ``3``, ``3 of 4``)."""
    count = f"{finished}" if finished == planned else f"{finished} of {planned}"
    return f"{count} {'seed' if planned == 1 else 'seeds'}" if noun else count


def design_comparisons(info: AblationInfo, bootstrap: Mapping[str, int]) -> tuple[list[Comparison], list[str]]:
    """The family of verdicts an ablation's report makes, and the arms its design trains (the baseline first)."""
    if info.analysis.design == "screen":
        return factor_comparisons(info, bootstrap), list(info.analysis.levels)
    return arm_comparisons(info, info.analysis, bootstrap), [arm.name for arm in info.arms]


def replay_design(
    info: AblationInfo, results: Sequence[RunResult], bootstrap: Mapping[str, int], ended: set[tuple[str, int]] | None = None,
) -> tuple[list[Comparison], Replay]:
    """The ablation's family and its path through the looks, from the stored results (see :func:`replay`)."""
    comparisons, arms = design_comparisons(info, bootstrap)
    return comparisons, replay(comparisons, arms, results, info.analysis, ended)
