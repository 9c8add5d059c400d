"""The ablation report: what each arm gained over the baseline, how sure we are, what it cost, and what more seeds would buy.

:func:`build_report` turns the result store's runs into a :class:`Report` of plain values; the other
modules only present it: :mod:`augmentlab.report.text` as rich tables, plain lines, md, csv and json
(:func:`print_report`, :func:`render_report`), :mod:`augmentlab.report.plot` as report.png.
:func:`augmentlab.report.files.write_report_files` writes them all beside an ablation's results.
Verdicts come from :mod:`augmentlab.report.analysis` (estimates, multiplicity, equivalence,
power) and :mod:`augmentlab.report.looks` (the family, and sequential looks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from augmentlab.report.analysis import (
    DEFAULT_TARGET,
    IDENTICAL_SEEDS,
    Decision,
    decide,
    family_level,
    seeds_to_detect,
)
from augmentlab.report.looks import (
    Comparison,
    Replay,
    contrast_comparison,
    replay_design,
)
from augmentlab.report.stats import factorial_effects, mean_and_std
from augmentlab.results.records import (
    AblationInfo,
    AnalysisSettings,
    ArmInfo,
    RunResult,
)

__all__ = ["ArmSummary", "EffectSummary", "Failure", "Report", "RunCounts", "build_report", "screening_text"]

DESIGN_RUN = "design run"
"""The verdict column of a screening design's runs: their verdicts are the factors' main effects."""


@dataclass(frozen=True)
class Failure:
    """A failed run of an arm."""

    seed: int
    error: str | None
    retryable: bool | None = None
    """Whether running it again can succeed; None where the run did not record it."""


@dataclass(frozen=True)
class ArmSummary:
    """One arm over its finished seeds. Means are None when no run finished."""

    arm: str
    augmentation: str
    loss: str
    seeds_planned: int
    """Seeds the plan gives this arm; with sequential seeds, those its path has asked for so far."""
    seeds_finished: int
    seeds_failed: int
    seeds_missing: int
    """Planned seeds with no finished or failed record: not run yet, or interrupted."""
    failures: list[Failure]
    miou_mean: float | None
    miou_std: float | None
    """Sample std over seeds; None for fewer than two finished seeds."""
    per_image_miou_mean: float | None
    pixel_accuracy_mean: float | None
    delta: Decision | None
    """mIoU minus the baseline's, with its interval at the family's adjusted level; None without one."""
    verdict: str | None
    """``better``, ``worse``, ``within noise``, ``no effect beyond ±δ``, ``val-only +/−/±`` (one seed), ``baseline``,
    ``design run`` (a screening run: the verdicts are the factors'); None without a Δ."""
    stopped: str | None
    """Why the arm's comparison ended (the look and verdict, or the most seeds); None for the baseline."""
    cost_ratio: float | None
    """Steady-state train time over the baseline's: each run's fastest epoch × epochs (its total where no epoch is timed), mean over seeds."""
    train_seconds_mean: float | None
    images_per_second_mean: float | None
    data_ms_per_step_mean: float | None
    model_ms_per_step_mean: float | None
    peak_memory_bytes: int | None
    """Largest peak over finished runs; None when not recorded (CPU)."""
    per_class_iou: list[float | None]
    per_class_delta: list[float | None]
    largest_gain_class: str | None
    largest_loss_class: str | None


@dataclass(frozen=True)
class EffectSummary:
    """A factorial main effect or interaction, or a screening factor's main effect, with its interval."""

    kind: str
    """``augmentation``, ``loss`` or ``interaction`` (factorial); ``main effect`` (screening)."""
    level: str
    weights: dict[str, float]
    interval: Decision | None
    verdict: str | None
    stopped: str | None = None


@dataclass(frozen=True)
class RunCounts:
    """The ablation's runs by outcome; ``missing`` were planned but never recorded as finished or failed.

    ``planned`` counts the runs the design asks for so far; with sequential seeds ``fixed_plan`` is
    what the most seeds for every arm would take, and the difference is what the looks saved.
    """

    planned: int
    finished: int
    failed: int
    missing: int
    fixed_plan: int


@dataclass(frozen=True)
class Report:
    """Everything the report shows, as plain values: ``dataclasses.asdict`` is its json."""

    name: str
    recipe: dict[str, Any]
    preset: str
    device: str
    data: str
    seeds: list[int]
    class_names: list[str]
    confidence: float
    """Before adjustment for the family; each interval states its own level."""
    design: str
    correction: str
    margin: float | None
    runs: RunCounts
    arms: list[ArmSummary]
    effects: list[EffectSummary]
    notes: list[str]

    def arm(self, key: int | str) -> ArmSummary:
        """An arm by its number in the tables (``0`` is the baseline) or its name (``"hflip | ce"``).

        Raises:
            KeyError: no such arm; the message lists the arms.
        """
        if isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(self.arms):
            return self.arms[key]
        found = next((arm for arm in self.arms if arm.arm == key), None)
        if found is None:
            raise KeyError(f"no arm {key!r} in {self.name}; its arms: " + ", ".join(f"{index} ({arm.arm})" for index, arm in enumerate(self.arms)))
        return found

    def class_iou(self, key: int | str) -> dict[str, float | None]:
        """An arm's mean IoU per class, by class name (None where a class never appeared)."""
        return dict(zip(self.class_names, self.arm(key).per_class_iou))


def build_report(info: AblationInfo, results: list[RunResult], *, bootstrap_samples: int = 2000, bootstrap_seed: int = 0) -> Report:
    """Summarize an ablation's runs: per arm, per class, the family's verdicts, and factorial effects when the arms form a factorial.

    Failed runs are counted and their errors kept, but only finished runs enter the statistics.

    Raises:
        ValueError: a run of an arm or seed the plan does not have, two runs of one (arm, seed), or a
            finished run whose per-class IoU does not match the class names.
    """
    runs_by_arm = _runs_by_arm(info, results)
    settings = info.analysis
    bootstrap = {"samples": bootstrap_samples, "seed": bootstrap_seed}
    screen = settings.design == "screen"
    comparisons, path = replay_design(info, results, bootstrap)

    baseline = info.baseline
    baseline_runs = _finished(runs_by_arm[baseline.name])
    baseline_iou = _per_class_means(baseline_runs, len(info.class_names)) if baseline_runs else None
    baseline_seconds = _mean_of([_steady_seconds(run) for run in baseline_runs])
    arms = [_summarize_arm(arm, runs_by_arm[arm.name], info, path, baseline_iou, baseline_seconds, screen) for arm in info.arms]
    if screen:
        effects = [
            EffectSummary("main effect", comparison.label, dict(comparison.weights), *_outcome(path, comparison.label))
            for comparison in comparisons
        ]
    else:
        effects = _factorial_effects(info, results, settings, bootstrap)
    runs = RunCounts(
        planned=sum(path.seeds.values()),
        finished=sum(arm.seeds_finished for arm in arms),
        failed=sum(arm.seeds_failed for arm in arms),
        missing=sum(arm.seeds_missing for arm in arms),
        fixed_plan=len(info.arms) * (settings.max_seeds or len(info.seeds)),
    )
    return Report(
        name=info.name,
        recipe=dict(info.recipe),
        preset=info.preset,
        device=info.device,
        data=info.data,
        seeds=list(info.seeds),
        class_names=list(info.class_names),
        confidence=settings.confidence,
        design=settings.design,
        correction=settings.correction,
        margin=settings.margin,
        runs=runs,
        arms=arms,
        effects=effects,
        notes=_notes(info, runs_by_arm, arms, comparisons, path, runs, bool(baseline_runs)),
    )


def _outcome(path: Replay, label: str) -> tuple[Decision | None, str | None, str | None]:
    """(interval, verdict, why it stopped) of a comparison, from the path."""
    outcome = path.outcomes.get(label)
    if outcome is None or outcome.decision is None:
        return None, None, None if outcome is None else outcome.reason
    return outcome.decision, outcome.decision.verdict, outcome.reason


def _factorial_effects(info: AblationInfo, results: list[RunResult], settings: AnalysisSettings, bootstrap: dict[str, int]) -> list[EffectSummary]:
    """The main effects and interactions of a full factorial, a family of their own, decided on every finished run."""
    effects = factorial_effects(info.arms, info.baseline.augmentation, info.baseline.loss)
    comparisons = [contrast_comparison(f"{effect.kind} {effect.level}", effect.weights, settings, bootstrap) for effect in effects]
    estimates = {comparison.label: estimate for comparison in comparisons if (estimate := comparison.estimate(results)) is not None}
    waiting = len(comparisons) - len(estimates)  # effects the runs so far cannot estimate still count, as in the arms' family
    decisions = decide(estimates, alpha=settings.alpha, correction=settings.correction, margin=settings.margin, looks=settings.looks, waiting=waiting)
    summaries = []
    for effect, comparison in zip(effects, comparisons):
        decision = decisions.get(comparison.label)
        summaries.append(EffectSummary(effect.kind, effect.level, effect.weights, decision, None if decision is None else decision.verdict))
    return summaries


# --- building ---------------------------------------------------------------------------------


def _runs_by_arm(info: AblationInfo, results: Sequence[RunResult]) -> dict[str, list[RunResult]]:
    """The runs of each planned arm, after checking that every run belongs to the plan exactly once."""
    by_arm: dict[str, list[RunResult]] = {arm.name: [] for arm in info.arms}
    seen: set[tuple[str, int]] = set()
    for run in results:
        if run.arm not in by_arm or run.seed not in info.seeds:
            raise ValueError(f"run of arm {run.arm!r} seed {run.seed} is not in ablation {info.name!r} (arms {list(by_arm)}, seeds {info.seeds})")
        if run.key in seen:
            raise ValueError(f"two runs of arm {run.arm!r} seed {run.seed}; the result store must hold one per (arm, seed)")
        if run.status == "finished" and len(run.per_class_iou) != len(info.class_names):
            raise ValueError(f"run of arm {run.arm!r} seed {run.seed} has {len(run.per_class_iou)} per-class IoUs for {len(info.class_names)} classes")
        seen.add(run.key)
        by_arm[run.arm].append(run)
    return by_arm


def _finished(runs: Sequence[RunResult]) -> list[RunResult]:
    """The runs that enter the statistics: finished, with a finite mIoU (as :func:`augmentlab.report.analysis.finished_by_arm_and_seed` takes them)."""
    return [run for run in runs if run.status == "finished" and run.miou is not None and math.isfinite(run.miou)]


def _unscored(run: RunResult) -> bool:
    """A run recorded as finished whose mIoU no statistic can use (None or NaN: no validation pixel was scored)."""
    return run.status == "finished" and (run.miou is None or not math.isfinite(run.miou))


def _steady_seconds(run: RunResult) -> float | None:
    """A run's fastest epoch × its epochs (training only), as timeit takes the minimum.

    The first run of a process pays one-time warm-up (allocations, thread pools) in its first
    epochs; the baseline always trains first, so its total would make every other arm look cheaper.
    """
    epochs = [entry.seconds for entry in run.history]
    return min(epochs) * len(epochs) if epochs else run.train_seconds


def _ratio(value: float | None, reference: float | None) -> float | None:
    return None if value is None or not reference else value / reference


def _mean_of(values: Sequence[float | None]) -> float | None:
    """Mean of the known values; None when none is known."""
    known = [value for value in values if value is not None]
    return mean_and_std(known)[0] if known else None


def _per_class_means(finished: Sequence[RunResult], num_classes: int) -> list[float | None]:
    """Each class's IoU averaged over the runs where the class was present."""
    return [_mean_of([run.per_class_iou[index] for run in finished]) for index in range(num_classes)]


def _summarize_arm(
    arm: ArmInfo, runs: Sequence[RunResult], info: AblationInfo, path: Replay, baseline_iou: list[float | None] | None,
    baseline_seconds: float | None, screen: bool,
) -> ArmSummary:
    """One arm's row: means over its finished runs, its comparison's outcome, and per-class Δ against ``baseline_iou``."""
    finished = _finished(runs)
    failures = [
        Failure(run.seed, run.error, run.retryable) if run.status == "failed"
        else Failure(run.seed, "finished without a usable mIoU (no validation pixel was scored), left out of the statistics", False)
        for run in sorted(runs, key=lambda run: run.seed) if run.status == "failed" or _unscored(run)
    ]
    miou_mean, miou_std = mean_and_std([run.miou for run in finished]) if finished else (None, None)
    per_class = _per_class_means(finished, len(info.class_names))
    is_baseline = arm == info.baseline
    per_class_delta = [None if b is None or a is None else a - b for a, b in zip(per_class, baseline_iou or [None] * len(per_class))]
    gain, loss = _extreme_classes(per_class_delta, info.class_names) if not is_baseline else (None, None)
    memory = [run.peak_memory_bytes for run in finished if run.peak_memory_bytes is not None]
    if is_baseline:
        delta, verdict, stopped = None, "baseline", None
    elif screen:
        delta, verdict, stopped = None, DESIGN_RUN, None
    else:
        delta, verdict, stopped = _outcome(path, arm.name)
    planned = path.seeds.get(arm.name, len(info.seeds))
    recorded = {run.seed for run in runs if run.status in ("finished", "failed")}
    return ArmSummary(
        arm=arm.name,
        augmentation=arm.augmentation,
        loss=arm.loss,
        seeds_planned=planned,
        seeds_finished=len(finished),
        seeds_failed=len(failures),
        seeds_missing=sum(seed not in recorded for seed in range(planned)),
        failures=failures,
        miou_mean=miou_mean,
        miou_std=miou_std,
        per_image_miou_mean=_mean_of([run.per_image_miou for run in finished]),
        pixel_accuracy_mean=_mean_of([run.pixel_accuracy for run in finished]),
        delta=delta,
        verdict=verdict,
        stopped=stopped,
        cost_ratio=_ratio(_mean_of([_steady_seconds(run) for run in finished]), baseline_seconds),
        train_seconds_mean=_mean_of([run.train_seconds for run in finished]),
        images_per_second_mean=_mean_of([run.images_per_second for run in finished]),
        data_ms_per_step_mean=_mean_of([run.data_ms_per_step for run in finished]),
        model_ms_per_step_mean=_mean_of([run.model_ms_per_step for run in finished]),
        peak_memory_bytes=max(memory) if memory else None,
        per_class_iou=per_class,
        per_class_delta=per_class_delta,
        largest_gain_class=gain,
        largest_loss_class=loss,
    )


def _extreme_classes(deltas: Sequence[float | None], class_names: Sequence[str]) -> tuple[str | None, str | None]:
    """The class with the largest gain (Δ > 0) and the one with the largest loss (Δ < 0), if any."""
    known = [(delta, name) for delta, name in zip(deltas, class_names) if delta is not None]
    gain = max(known, default=None, key=lambda pair: pair[0])
    loss = min(known, default=None, key=lambda pair: pair[0])
    return (gain[1] if gain and gain[0] > 0 else None), (loss[1] if loss and loss[0] < 0 else None)


def _notes(
    info: AblationInfo, runs_by_arm: dict[str, list[RunResult]], arms: Sequence[ArmSummary], comparisons: Sequence[Comparison],
    path: Replay, runs: RunCounts, baseline_found: bool,
) -> list[str]:
    """How the verdicts were reached and what more seeds would buy; why numbers are missing; failed and missing runs."""
    settings = info.analysis
    notes = [] if baseline_found else [f"the baseline {info.baseline.name} has no finished run, so no Δ, verdict or per-class Δ is shown"]
    notes += _design_notes(info, path, comparisons, runs)
    notes += _power_notes(info, comparisons, path)
    if baseline_found and settings.design != "screen":
        finished_seeds = {name: {run.seed for run in _finished(runs_by_arm[name])} for name in runs_by_arm}
        for arm in arms[1:]:
            if not arm.seeds_finished or arm.delta is not None:
                continue
            shared = finished_seeds.get(arm.arm, set()) & finished_seeds.get(info.baseline.name, set())
            if shared:
                why = "one seed shared with the baseline" if len(shared) == 1 else "the same difference from the baseline on every seed"
                notes.append(f"{arm.arm}: no Δ: {why} measures no training noise, "
                             "and its runs hold no per-image counts to bootstrap over")
            else:
                notes.append(f"{arm.arm}: no seed where it and the baseline both finished, so no Δ")
    notes += [f"failed: {arm.arm} seed {failure.seed}: {failure.error or 'no error recorded'}" for arm in arms for failure in arm.failures]
    for arm, summary in zip(info.arms, arms):
        recorded = {run.seed for run in runs_by_arm[arm.name] if run.status in ("finished", "failed")}
        notes += [f"missing: {arm.name} seed {seed} (not run, or interrupted)" for seed in range(summary.seeds_planned) if seed not in recorded]
    return notes


def _design_notes(info: AblationInfo, path: Replay, comparisons: Sequence[Comparison], runs: RunCounts) -> list[str]:
    settings = info.analysis
    notes = []
    if settings.design == "screen":
        notes.append(screening_text(settings))
        missing = [comparison.label for comparison in comparisons if comparison.label not in path.outcomes or path.outcomes[comparison.label].estimate is None]
        if missing and runs.finished:
            notes.append(f"no main effect for {', '.join(missing)}: the runs that did not finish leave "
                         f"{'it' if len(missing) == 1 else 'them'} aliased with other factors; train those runs again (run the same command)")
    if settings.read_at_seeds:
        counts = " and ".join(map(str, settings.read_at_seeds))
        notes.append(
            f"seeds were added after the report at {counts} seeds was complete: if they were added because a verdict was open, "
            "a false better or worse is more likely than the α above says (reading 8 arms at 2, 3, 4 and 5 seeds and stopping at the "
            "first verdict gave one in 9.3% of simulated ablations without any effect, not 5%); --max-seeds plans such looks and splits α over them"
        )
    if settings.looks > 1:
        state = "" if path.complete else f" so far ({len(path.next_runs)} more planned for the next look)"
        notes.append(
            f"sequential seeds: {runs.planned} runs{state}, where {settings.max_seeds} seeds for every arm would take {runs.fixed_plan}; "
            f"each look tests at α/{settings.looks} (Bonferroni over {settings.looks} planned looks, from {settings.first_seeds} to {settings.max_seeds} seeds)"
        )
        notes += [f"stopped: {label}: {path.outcomes[label].reason}" for label in [comparison.label for comparison in comparisons] if label in path.outcomes]
    return notes


def screening_text(settings: AnalysisSettings) -> str:
    """A screening design in words: its factors, runs, and what its main effects are aliased with."""
    foldover = _has_foldover(settings.levels)
    return (
        f"screening design: {len(settings.factors)} factors in {len(settings.levels)} runs (Plackett–Burman{', folded over' if foldover else ''}); "
        + ("main effects are free of two-factor interactions (resolution IV)" if foldover
           else "each main effect is aliased with two-factor interactions of the other factors (resolution III); --foldover frees them")
    )


def _has_foldover(levels: dict[str, list[int]]) -> bool:
    rows = {tuple(row) for row in levels.values()}
    return all(tuple(-value for value in row) in rows for row in rows)


def _power_notes(info: AblationInfo, comparisons: Sequence[Comparison], path: Replay) -> list[str]:
    """What the seeds so far can detect, and how many would detect δ (the margin, or 0.01) at 80% power."""
    settings = info.analysis
    target = settings.margin if settings.margin is not None else DEFAULT_TARGET
    outcomes = [path.outcomes[comparison.label] for comparison in comparisons if comparison.label in path.outcomes]
    outcomes = [outcome for outcome in outcomes if outcome.decision is not None and outcome.estimate is not None]
    if not outcomes:
        return []
    if any(outcome.estimate.unmeasured == IDENTICAL_SEEDS for outcome in outcomes if not outcome.decision.training_noise):
        notes = [
            "identical seeds: some comparisons came out the same on every seed (to rounding), which measures no training noise, so "
            "those get a bootstrap over validation images and no verdict of better or worse; check that the runs learn "
            "(a model that predicts one class everywhere scores the same whatever the seed)"
        ]
    else:
        notes = []
    if not any(outcome.decision.training_noise for outcome in outcomes):
        return notes or [
            "one seed: the intervals cover validation-image noise only, not training noise, so no verdict says better or worse; "
            "train 2 or more seeds (--seeds 2) to measure the spread from seed to seed"
        ]
    needed = [seeds_to_detect(outcome.decision, outcome.estimate, target) for outcome in outcomes if outcome.decision.training_noise]
    if any(count is None for count in needed):
        return notes + [f"power: at the observed spread from seed to seed, detecting ±{target:g} mIoU at 80% power would take more than 200 seeds per arm"]
    level = family_level((outcome.decision for outcome in outcomes), settings.alpha)
    return notes + [
        f"power: detecting ±{target:g} mIoU at 80% power would take about {max(needed)} seeds per arm for every comparison "
        f"(from the observed spread from seed to seed, at {'level' if settings.correction == 'none' else 'the Bonferroni level'} {level}); the MDE column is the effect the seeds so far detect at 80% power"
    ]
