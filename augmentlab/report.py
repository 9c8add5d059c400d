"""The ablation report: what each arm gained over the baseline, how sure we are, and what it cost.

:func:`build_report` turns the result store's runs into a :class:`Report` of plain values; the
other functions only present it. The three tables (arms, per-class IoU, factorial effects) are
built once as :class:`_Table` and then drawn as rich tables, plain lines (``quiet``) or markdown,
so every format shows the same cells. json and csv carry the unformatted numbers.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from augmentlab.results import AblationInfo, ArmInfo, RunResult
from augmentlab.stats import Interval, contrast_interval, factorial_effects, mean_and_std, verdict

FORMATS = ("md", "csv", "json")
MISSING = "—"
GAIN, LOSS = "▲", "▼"
LABEL_MIN_WIDTH = 12


@dataclass(frozen=True)
class Failure:
    """A failed run of an arm."""

    seed: int
    error: str | None


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


@dataclass(frozen=True)
class _Cell:
    text: str
    style: str | None = None


@dataclass(frozen=True)
class _Table:
    """A table as text cells, drawn by every format; the first ``label_columns`` are left-aligned."""

    title: str
    headers: list[str]
    rows: list[list[_Cell]]
    caption: str
    label_columns: int


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
    effects = [
        EffectSummary(effect.kind, effect.level, effect.weights, *_with_verdict(interval_of(effect.weights)))
        for effect in factorial_effects(info.arms, baseline.augmentation, baseline.loss)
    ]
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


def print_report(report: Report, console: Console, *, quiet: bool = False) -> None:
    """Print the report: rich tables, or with ``quiet`` plain lines without borders or colour, for CI logs."""
    for line in _header_lines(report):
        console.print(line, markup=False, highlight=False, soft_wrap=quiet)
    for table in _tables(report):
        if quiet:
            for line in _plain_lines(table):
                console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            console.print(_rich_table(table))
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=quiet)


def render_report(report: Report, fmt: str) -> str:
    """The report as ``md`` (header and tables), ``csv`` (one row per arm) or ``json`` (everything).

    Raises:
        ValueError: ``fmt`` is none of md, csv, json.
    """
    renderers: dict[str, Callable[[Report], str]] = {"md": _markdown, "csv": _csv, "json": _json}
    if fmt not in renderers:
        raise ValueError(f"unknown report format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    return renderers[fmt](report)


def write_report_files(report: Report, folder: Path) -> list[Path]:
    """Write report.md, report.csv, report.json and report.png into ``folder`` (which must exist)."""
    if not folder.is_dir():
        raise ValueError(f"report folder {folder} does not exist; create it or give the ablation's output folder")
    paths = []
    for fmt in FORMATS:
        path = folder / f"report.{fmt}"
        path.write_text(render_report(report, fmt), encoding="utf-8")
        paths.append(path)
    paths.append(_write_plot(report, folder / "report.png"))
    return paths


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
    failures = [Failure(run.seed, run.error) for run in sorted(runs, key=lambda run: run.seed) if run.status == "failed"]
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
        verdict="baseline" if is_baseline else _with_verdict(delta)[1],
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


def _with_verdict(interval: Interval | None) -> tuple[Interval | None, str | None]:
    """The interval and its verdict; None for both when there is no interval."""
    return interval, None if interval is None else verdict(interval)


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


# --- cells and tables -------------------------------------------------------------------------


def _number(value: float | None, digits: int = 4, sign: bool = False) -> str:
    if value is None or math.isnan(value):
        return MISSING
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _interval_text(interval: Interval | None) -> str:
    if interval is None:
        return MISSING
    return f"{_number(interval.estimate, sign=True)} [{_number(interval.low, sign=True)}, {_number(interval.high, sign=True)}]"


def _percent(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _seeds_text(arm: ArmSummary) -> str:
    failed = f" ({arm.seeds_failed} failed)" if arm.seeds_failed else ""
    return f"{arm.seeds_finished}/{arm.seeds_planned}{failed}"


def _miou_text(arm: ArmSummary) -> str:
    if arm.miou_mean is None:
        return "failed" if arm.seeds_failed else MISSING
    return f"{_number(arm.miou_mean)} ± {_number(arm.miou_std)}"


def _memory_text(peak_bytes: int | None) -> str:
    return MISSING if peak_bytes is None else f"{peak_bytes / 2**30:.2f} GiB"


def _ci_text(confidence: float, intervals: Sequence[tuple[str, Interval | None]]) -> str:
    """How the intervals were computed: the most common method, then any other with the rows that used it."""
    rows_by_method: dict[str, list[str]] = {}
    for label, interval in intervals:
        if interval is not None:
            rows_by_method.setdefault(interval.method, []).append(label)
    if not rows_by_method:
        return "No interval could be computed (see the notes)."
    common, *others = sorted(rows_by_method, key=lambda method: -len(rows_by_method[method]))
    methods = "; ".join([common, *(f"{method} for {', '.join(rows_by_method[method])}" for method in others)])
    return f"{_percent(confidence)} CI by {methods}."


ArmColumns = list[tuple[str, Callable[[ArmSummary], str]]]
QUALITY_COLUMNS: ArmColumns = [
    ("augmentation", lambda arm: arm.augmentation),
    ("loss", lambda arm: arm.loss),
    ("seeds", _seeds_text),
    ("mIoU ± std", _miou_text),
    ("img mIoU", lambda arm: _number(arm.per_image_miou_mean)),
    ("pixel acc", lambda arm: _number(arm.pixel_accuracy_mean)),
    ("Δ mIoU [CI]", lambda arm: _interval_text(arm.delta)),
    ("verdict", lambda arm: arm.verdict or MISSING),  # drawn by _verdict_cell, with its colour
]
COST_COLUMNS: ArmColumns = [
    ("arm", lambda arm: arm.arm),
    ("train s", lambda arm: _number(arm.train_seconds_mean, 1)),
    ("img/s", lambda arm: _number(arm.images_per_second_mean, 1)),
    ("data ms/step", lambda arm: _number(arm.data_ms_per_step_mean, 1)),
    ("model ms/step", lambda arm: _number(arm.model_ms_per_step_mean, 1)),
    ("peak memory", lambda arm: _memory_text(arm.peak_memory_bytes)),
]
VERDICT_STYLES = {"better": "green", "worse": "red"}


def _verdict_cell(verdict_text: str | None) -> _Cell:
    return _Cell(verdict_text or MISSING, VERDICT_STYLES.get(verdict_text or ""))


def _arm_rows(report: Report, columns: ArmColumns) -> list[list[_Cell]]:
    """One row per arm; the verdict cell is coloured."""
    return [[_verdict_cell(arm.verdict) if header == "verdict" else _Cell(text(arm)) for header, text in columns] for arm in report.arms]


def _quality_table(report: Report) -> _Table:
    caption = (
        f"Δ mIoU: arm − baseline ({report.arms[0].arm}). {_ci_text(report.confidence, [(arm.arm, arm.delta) for arm in report.arms])} "
        "seeds: finished/planned. img mIoU: mean of per-image mIoU."
    )
    return _Table("Arms", [header for header, _ in QUALITY_COLUMNS], _arm_rows(report, QUALITY_COLUMNS), caption, label_columns=2)


def _cost_table(report: Report) -> _Table:
    caption = (
        "Means over finished runs. data: batch gathering and augmentation; model: forward to optimizer step. "
        "data ms/step well above model ms/step means the input pipeline is the bottleneck."
    )
    return _Table("Cost", [header for header, _ in COST_COLUMNS], _arm_rows(report, COST_COLUMNS), caption, label_columns=1)


def _class_cell(arm: ArmSummary, index: int, class_name: str) -> _Cell:
    text = _number(arm.per_class_iou[index])
    if class_name == arm.largest_gain_class:
        return _Cell(f"{text} {GAIN}", "green")
    if class_name == arm.largest_loss_class:
        return _Cell(f"{text} {LOSS}", "red")
    return _Cell(text)


def _class_table(report: Report) -> _Table:
    rows = [[_Cell(arm.arm), *(_class_cell(arm, index, name) for index, name in enumerate(report.class_names))] for arm in report.arms]
    caption = f"Mean IoU over finished seeds; {GAIN} largest gain and {LOSS} largest loss of each arm vs the baseline's per-class IoU."
    return _Table("Per-class IoU", ["arm", *report.class_names], rows, caption, label_columns=1)


def _effect_label(effect: EffectSummary) -> str:
    return f"{effect.kind} {effect.level}"


def _effect_table(report: Report) -> _Table:
    rows = [
        [_Cell(_effect_label(effect)), _Cell(_interval_text(effect.interval)), _verdict_cell(effect.verdict)]
        for effect in report.effects
    ]
    caption = (
        "Main effect: mean gain of a level over the baseline level across the other factor's levels; interaction: "
        f"gain of the pair beyond the sum of its parts. {_ci_text(report.confidence, [(_effect_label(effect), effect.interval) for effect in report.effects])}"
    )
    return _Table("Factorial effects", ["effect", "Δ mIoU [CI]", "verdict"], rows, caption, label_columns=1)


def _tables(report: Report) -> list[_Table]:
    return [_quality_table(report), _cost_table(report), _class_table(report), *([_effect_table(report)] if report.effects else [])]


def _header_lines(report: Report) -> list[str]:
    recipe = report.recipe
    runs = report.runs
    return [
        f"ablation {report.name}",
        f"recipe: DeepLabV3+ {recipe.get('encoder', '?')} (weights {recipe.get('encoder_weights', '?')}), {recipe.get('epochs', '?')} epochs, "
        f"{recipe.get('image_size', '?')}px, batch {recipe.get('batch_size', '?')}, lr {recipe.get('lr', '?')}, preset {report.preset}, device {report.device}",
        f"data: {report.data}",
        f"seeds: {', '.join(map(str, report.seeds))}",
        f"runs: {runs.finished} finished, {runs.failed} failed, {runs.missing} missing of {runs.planned} planned",
    ]


# --- formats ----------------------------------------------------------------------------------


def _rich_table(table: _Table) -> Table:
    """Label columns keep up to ``LABEL_MIN_WIDTH`` characters on narrow consoles; numbers wrap at spaces."""
    rich_table = Table(title=table.title, caption=table.caption, title_justify="left", caption_justify="left")
    for index, header in enumerate(table.headers):
        if index < table.label_columns:
            widest = max([len(header), *(len(row[index].text) for row in table.rows)])
            rich_table.add_column(header, overflow="fold", min_width=min(widest, LABEL_MIN_WIDTH))
        else:
            rich_table.add_column(header, justify="right")
    for row in table.rows:
        rich_table.add_row(*(Text(cell.text, style=cell.style or "") for cell in row))
    return rich_table


def _plain_lines(table: _Table) -> list[str]:
    """The title, then one line per row: its label cells, then ``header value`` pairs."""
    lines = [f"{table.title}:"]
    for row in table.rows:
        label = " | ".join(cell.text for cell in row[: table.label_columns])
        values = "; ".join(f"{header} {cell.text}" for header, cell in zip(table.headers[table.label_columns :], row[table.label_columns :]))
        lines.append(f"  {label}: {values}")
    return [*lines, f"  ({table.caption})"]


def _markdown_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown_table(table: _Table) -> list[str]:
    alignments = ["---" if index < table.label_columns else "---:" for index in range(len(table.headers))]
    rows = [[_markdown_escape(cell.text) for cell in row] for row in table.rows]
    return [
        f"## {table.title}",
        "",
        "| " + " | ".join(map(_markdown_escape, table.headers)) + " |",
        "| " + " | ".join(alignments) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        f"*{table.caption}*",
        "",
    ]


def _markdown(report: Report) -> str:
    title, *details = _header_lines(report)
    lines = [f"# {_markdown_escape(title)}", "", *(f"- {line}" for line in details), ""]
    for table in _tables(report):
        lines += _markdown_table(table)
    if report.notes:
        lines += ["## Notes", "", *(f"- {note}" for note in report.notes), ""]
    return "\n".join(lines)


def _without_nan(value: Any) -> Any:
    """``value`` with NaN floats turned into None, so the json is standard."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nan(item) for item in value]
    return value


def _json(report: Report) -> str:
    return json.dumps(_without_nan(dataclasses.asdict(report)), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _csv(report: Report) -> str:
    """One row per arm: the arm's scalar fields, its Δ interval's fields, then one IoU column per class."""
    scalar_fields = [field.name for field in dataclasses.fields(ArmSummary) if field.name not in ("failures", "delta", "per_class_iou", "per_class_delta")]
    delta_fields = [field.name for field in dataclasses.fields(Interval)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*scalar_fields, *(f"delta_{name}" for name in delta_fields), *(f"iou_{name}" for name in report.class_names)])
    for arm in report.arms:
        delta = [getattr(arm.delta, name) if arm.delta else None for name in delta_fields]
        writer.writerow(_without_nan([*(getattr(arm, name) for name in scalar_fields), *delta, *arm.per_class_iou]))
    return buffer.getvalue()


# --- plot -------------------------------------------------------------------------------------


def _write_plot(report: Report, path: Path) -> Path:
    """Left: Δ mIoU per arm with CI (mIoU ± std without a baseline); right: per-class IoU coloured by Δ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_arms, n_classes = len(report.arms), len(report.class_names)
    label_inches = 0.08 * max(len(arm.arm) for arm in report.arms)  # the arm names left of the bars
    figure, (bars, heatmap) = plt.subplots(
        1, 2, sharey=True, layout="constrained",
        figsize=(4 + label_inches + 0.75 * n_classes, 1.6 + 0.45 * n_arms),
        gridspec_kw={"width_ratios": [3, max(3, 0.6 * n_classes)]},
    )
    _plot_arm_bars(bars, report)
    _plot_class_heatmap(heatmap, figure, report)
    bars.set_yticks(range(n_arms), [arm.arm for arm in report.arms])
    bars.set_ylim(n_arms - 0.5, -0.5)
    figure.suptitle(f"{report.name}: {report.runs.finished} of {report.runs.planned} runs finished", fontsize=11)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _plot_arm_bars(axes: Any, report: Report) -> None:
    """Δ mIoU bars with CI error bars, coloured by verdict; mIoU ± std bars when no arm has a Δ."""
    has_delta = any(arm.delta is not None for arm in report.arms)
    colours = {"better": "tab:green", "worse": "tab:red"}
    for row, arm in enumerate(report.arms):
        if has_delta and arm.delta is not None:
            interval = arm.delta
            error = [[interval.estimate - interval.low], [interval.high - interval.estimate]]
            axes.barh(row, interval.estimate, xerr=error, color=colours.get(arm.verdict or "", "tab:gray"), capsize=3)
        elif not has_delta and arm.miou_mean is not None:
            axes.barh(row, arm.miou_mean, xerr=arm.miou_std or 0, color="tab:blue", capsize=3)
        else:
            axes.text(0, row, f" {_bar_label(arm)}", va="center", fontsize=8, color="dimgray")
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_title(f"Δ mIoU vs baseline ({_percent(report.confidence)} CI)" if has_delta else "mIoU ± std over seeds", fontsize=10)
    axes.grid(axis="x", alpha=0.3)


def _bar_label(arm: ArmSummary) -> str:
    """What the bar panel writes where an arm has no bar."""
    if arm.miou_mean is None:
        return f"{arm.verdict}: {_miou_text(arm)}" if arm.verdict == "baseline" else _miou_text(arm)
    return "baseline" if arm.verdict == "baseline" else "no Δ"


def _plot_class_heatmap(axes: Any, figure: Any, report: Report) -> None:
    """Arms × classes annotated with IoU, coloured by Δ vs the baseline (by IoU when there is no baseline)."""
    iou = _matrix([arm.per_class_iou for arm in report.arms])
    delta = _matrix([arm.per_class_delta for arm in report.arms])
    by_delta = bool(np.isfinite(delta).any())
    shown = delta if by_delta else iou
    limit = max(float(np.nanmax(np.abs(delta))), 1e-3) if by_delta else 1.0
    image = axes.imshow(shown, cmap="RdBu" if by_delta else "viridis", vmin=-limit if by_delta else 0.0, vmax=limit, aspect="auto")
    figure.colorbar(image, ax=axes, label="Δ IoU vs baseline" if by_delta else "IoU", shrink=0.8)
    axes.set_title("Per-class IoU (colour: Δ vs baseline)" if by_delta else "Per-class IoU", fontsize=10)
    for (row, column), value in np.ndenumerate(iou):
        colour = "black"
        if np.isfinite(shown[row, column]):
            red, green, blue, _ = image.cmap(image.norm(shown[row, column]))
            colour = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"
        axes.text(column, row, _number(value, 2), ha="center", va="center", fontsize=7, color=colour)
    axes.set_xticks(range(len(report.class_names)), report.class_names, rotation=40, ha="right", fontsize=8)
    axes.tick_params(axis="y", left=False)


def _matrix(rows: Sequence[Sequence[float | None]]) -> np.ndarray:
    """float64 ``[arms, classes]`` with NaN for None."""
    return np.array([[np.nan if value is None else value for value in row] for row in rows], dtype=np.float64)
