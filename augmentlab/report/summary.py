"""The ablation report: what each arm gained over the baseline, how sure we are, and what it cost.

:func:`build_report` turns the result store's runs into a :class:`Report` of plain values; the other
modules only present it: :mod:`augmentlab.report.text` as rich tables, plain lines, md, csv and json
(:func:`print_report`, :func:`render_report`), :mod:`augmentlab.report.plot` as report.png.
:func:`augmentlab.report.files.write_report_files` writes them all beside an ablation's results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from augmentlab.report.stats import (
    Interval,
    contrast_interval,
    factorial_effects,
    mean_and_std,
    verdict,
)
from augmentlab.results.records import AblationInfo, ArmInfo, RunResult

__all__ = ["ArmSummary", "EffectSummary", "Failure", "Report", "RunCounts", "build_report"]


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
    delta: Interval | None
    """mIoU minus the baseline's, paired by seed (or over validation images for one seed)."""
    verdict: str | None
    """``better``, ``worse``, ``within noise``, ``baseline``; None without a Δ."""
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
    """A factorial main effect or interaction with its interval."""

    kind: str
    level: str
    weights: dict[str, float]
    interval: Interval | None
    verdict: str | None


@dataclass(frozen=True)
class RunCounts:
    """The ablation's planned runs by outcome; ``missing`` were never recorded as finished or failed."""

    planned: int
    finished: int
    failed: int
    missing: int


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


def build_report(info: AblationInfo, results: list[RunResult], *, confidence: float = 0.95, bootstrap_samples: int = 2000, bootstrap_seed: int = 0) -> Report:
    """Summarize an ablation's runs: per arm, per class, and factorial effects when the arms form one.

    Failed runs are counted and their errors kept, but only finished runs enter the statistics.

    Raises:
        ValueError: a run of an arm or seed the plan does not have, two runs of one (arm, seed), or a
            finished run whose per-class IoU does not match the class names.
    """
    runs_by_arm = _runs_by_arm(info, results)

    def interval_of(weights: dict[str, float]) -> Interval | None:
        return contrast_interval(weights, results, confidence=confidence, bootstrap_samples=bootstrap_samples, bootstrap_seed=bootstrap_seed)

    baseline = info.baseline
    baseline_runs = _finished(runs_by_arm[baseline.name])
    baseline_iou = _per_class_means(baseline_runs, len(info.class_names)) if baseline_runs else None
    arms = [
        _summarize_arm(arm, runs_by_arm[arm.name], info, baseline_iou, None if arm == baseline else interval_of({arm.name: 1.0, baseline.name: -1.0}))
        for arm in info.arms
    ]
    effects = []
    for effect in factorial_effects(info.arms, baseline.augmentation, baseline.loss):
        interval = interval_of(effect.weights)
        effects.append(EffectSummary(effect.kind, effect.level, effect.weights, interval, _verdict_of(interval)))
    return Report(
        name=info.name,
        recipe=dict(info.recipe),
        preset=info.preset,
        device=info.device,
        data=info.data,
        seeds=list(info.seeds),
        class_names=list(info.class_names),
        confidence=confidence,
        runs=RunCounts(
            planned=len(info.arms) * len(info.seeds),
            finished=sum(arm.seeds_finished for arm in arms),
            failed=sum(arm.seeds_failed for arm in arms),
            missing=sum(arm.seeds_missing for arm in arms),
        ),
        arms=arms,
        effects=effects,
        notes=_notes(info, runs_by_arm, arms, baseline_found=bool(baseline_runs)),
    )


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
    """The runs that enter the statistics."""
    return [run for run in runs if run.status == "finished" and run.miou is not None]


def _mean_of(values: Sequence[float | None]) -> float | None:
    """Mean of the known values; None when none is known."""
    known = [value for value in values if value is not None]
    return mean_and_std(known)[0] if known else None


def _per_class_means(finished: Sequence[RunResult], num_classes: int) -> list[float | None]:
    """Each class's IoU averaged over the runs where the class was present."""
    return [_mean_of([run.per_class_iou[index] for run in finished]) for index in range(num_classes)]


def _summarize_arm(arm: ArmInfo, runs: Sequence[RunResult], info: AblationInfo, baseline_iou: list[float | None] | None, delta: Interval | None) -> ArmSummary:
    """One arm's row: means over its finished runs, and per-class Δ against ``baseline_iou`` (None: no baseline)."""
    finished = _finished(runs)
    failures = [Failure(run.seed, run.error, run.retryable) for run in sorted(runs, key=lambda run: run.seed) if run.status == "failed"]
    miou_mean, miou_std = mean_and_std([run.miou for run in finished]) if finished else (None, None)
    per_class = _per_class_means(finished, len(info.class_names))
    is_baseline = arm == info.baseline
    per_class_delta = [None if b is None or a is None else a - b for a, b in zip(per_class, baseline_iou or [None] * len(per_class))]
    gain, loss = _extreme_classes(per_class_delta, info.class_names) if not is_baseline else (None, None)
    memory = [run.peak_memory_bytes for run in finished if run.peak_memory_bytes is not None]
    return ArmSummary(
        arm=arm.name,
        augmentation=arm.augmentation,
        loss=arm.loss,
        seeds_planned=len(info.seeds),
        seeds_finished=len(finished),
        seeds_failed=len(failures),
        seeds_missing=len(info.seeds) - len(finished) - len(failures),
        failures=failures,
        miou_mean=miou_mean,
        miou_std=miou_std,
        per_image_miou_mean=_mean_of([run.per_image_miou for run in finished]),
        pixel_accuracy_mean=_mean_of([run.pixel_accuracy for run in finished]),
        delta=delta,
        verdict="baseline" if is_baseline else _verdict_of(delta),
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


def _verdict_of(interval: Interval | None) -> str | None:
    """The interval's verdict; None when there is no interval."""
    return None if interval is None else verdict(interval)


def _extreme_classes(deltas: Sequence[float | None], class_names: Sequence[str]) -> tuple[str | None, str | None]:
    """The class with the largest gain (Δ > 0) and the one with the largest loss (Δ < 0), if any."""
    known = [(delta, name) for delta, name in zip(deltas, class_names) if delta is not None]
    gain = max(known, default=None, key=lambda pair: pair[0])
    loss = min(known, default=None, key=lambda pair: pair[0])
    return (gain[1] if gain and gain[0] > 0 else None), (loss[1] if loss and loss[0] < 0 else None)


def _notes(info: AblationInfo, runs_by_arm: dict[str, list[RunResult]], arms: Sequence[ArmSummary], baseline_found: bool) -> list[str]:
    """Why numbers are missing: no baseline, no common seed, failed and missing runs."""
    notes = [] if baseline_found else [f"the baseline {info.baseline.name} has no finished run, so no Δ, verdict or per-class Δ is shown"]
    notes += [
        f"{arm.arm}: no seed where it and the baseline both finished, so no Δ"
        for arm in arms[1:]
        if baseline_found and arm.seeds_finished and arm.delta is None
    ]
    notes += [f"failed: {arm.arm} seed {failure.seed}: {failure.error or 'no error recorded'}" for arm in arms for failure in arm.failures]
    for arm in info.arms:
        recorded = {run.seed for run in runs_by_arm[arm.name] if run.status in ("finished", "failed")}
        notes += [f"missing: {arm.name} seed {seed} (not run, or interrupted)" for seed in info.seeds if seed not in recorded]
    return notes
