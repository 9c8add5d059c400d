"""The ablation report as text: rich tables, plain lines, markdown, csv and json.

The three tables (arms, per-class IoU, factorial effects) are built once as :class:`_Table` and then
drawn as rich tables, plain lines (``quiet``) or markdown, so every format shows the same cells.
json and csv carry the unformatted numbers.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import html
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from augmentlab.report.analysis import SAME_DIFFERENCES, Decision, family_level
from augmentlab.report.summary import ArmSummary, EffectSummary, Report
from augmentlab.results.records import recipe_words, size_text

MISSING = "—"
GAIN, LOSS = "▲", "▼"
LABEL_MIN_WIDTH = 12
VERDICT_STYLES = {"better": "green", "worse": "red", "no effect": "blue"}
"""Verdict styles by prefix: ``no effect beyond ±0.01`` is blue."""


def print_report(report: Report, console: Console, *, quiet: bool = False) -> None:
    """Print the report: rich tables, or with ``quiet`` plain lines without borders or colour, for CI logs."""

    def print_plain(line: str) -> None:
        console.print(line, markup=False, highlight=False, soft_wrap=quiet)

    for line in _header_lines(report):
        print_plain(line)
    for table in _tables(report):
        if quiet:
            for line in _plain_lines(table):
                print_plain(line)
        else:
            console.print(_rich_table(table))
    for note in report.notes:
        print_plain(f"note: {note}")


def render_report(report: Report, fmt: str) -> str:
    """The report as ``md`` (header and tables), ``csv`` (one row per arm) or ``json`` (everything).

    Raises:
        ValueError: ``fmt`` is none of md, csv, json.
    """
    if fmt not in _RENDERERS:
        raise ValueError(f"unknown report format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    return _RENDERERS[fmt](report)


# --- cell text --------------------------------------------------------------------------------


def number_text(value: float | None, digits: int = 4, sign: bool = False) -> str:
    """``value`` with ``digits`` decimals (and a sign with ``sign``); ``—`` for None or NaN."""
    if value is None or math.isnan(value):
        return MISSING
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def percent_text(confidence: float) -> str:
    """A confidence level as a percentage: 0.95 is ``95%``."""
    return f"{confidence * 100:g}%"


def miou_text(arm: ArmSummary) -> str:
    """``mean ± std`` of the arm's mIoU; ``failed`` or ``—`` when no run finished."""
    if arm.miou_mean is None:
        return "failed" if arm.seeds_failed else MISSING
    return f"{number_text(arm.miou_mean)} ± {number_text(arm.miou_std)}"


def _interval_text(interval: Decision | None) -> str:
    if interval is None:
        return MISSING
    return f"{number_text(interval.estimate, sign=True)} [{number_text(interval.low, sign=True)}, {number_text(interval.high, sign=True)}]"


def _seeds_text(arm: ArmSummary) -> str:
    failed = f" ({arm.seeds_failed} failed)" if arm.seeds_failed else ""
    return f"{arm.seeds_finished}/{arm.seeds_planned}{failed}"


def _memory_text(peak_bytes: int | None) -> str:
    return MISSING if peak_bytes is None else f"{peak_bytes / 2**30:.2f} GiB"


def _ci_text(confidence: float, intervals: Sequence[tuple[str, Decision | None]]) -> str:
    """How the intervals were computed and adjusted: the most common method, then any other with the rows that used it."""
    rows_by_method: dict[str, list[str]] = {}
    for label, interval in intervals:
        if interval is not None:
            rows_by_method.setdefault(interval.method, []).append(label)
    if not rows_by_method:
        return "No interval could be computed (see the notes)."
    common, *others = sorted(rows_by_method, key=lambda method: -len(rows_by_method[method]))
    methods = "; ".join([common, *(f"{method} for {', '.join(rows_by_method[method])}" for method in others)])
    levels = sorted({round(interval.confidence, 4) for _, interval in intervals if interval is not None})
    adjusted = levels != [round(confidence, 4)]
    text = f"CI by {methods}."
    text += (
        f" A better or worse verdict's interval is at the level that makes it agree with its adjusted p-value, every other at the "
        f"Bonferroni level {family_level((interval for _, interval in intervals), 1 - confidence) or 'α/m'} ({percent_text(confidence)} before adjustment), which also decides "
        "'no effect beyond ±δ'; so an interval excludes 0 exactly when its verdict is better or worse." if adjusted else f" {percent_text(confidence)} intervals."
    )
    unmeasured = [interval for _, interval in intervals if interval is not None and not interval.training_noise]
    if any(SAME_DIFFERENCES not in interval.method for interval in unmeasured):
        text += (
            " val-only: one seed, so the interval is a bootstrap over validation images and covers validation noise only, "
            "not seed-to-seed training noise: no verdict of better or worse; train 2 or more seeds for one."
        )
    elif unmeasured:
        text += (
            f" val-only: the seeds {SAME_DIFFERENCES}, which measures no training noise, so the interval is a bootstrap over "
            "validation images and covers validation noise only: no verdict of better or worse."
        )
    return text


# --- tables -----------------------------------------------------------------------------------


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


def verdict_style(verdict: str | None) -> str | None:
    """The colour a verdict is shown in (green better, red worse, blue no effect beyond ±δ); None for the others."""
    return next((style for prefix, style in VERDICT_STYLES.items() if (verdict or "").startswith(prefix)), None)


def _verdict_cell(verdict_text: str | None) -> _Cell:
    return _Cell(verdict_text or MISSING, verdict_style(verdict_text))


def _mde_text(interval: Decision | None) -> str:
    return MISSING if interval is None or interval.mde is None else number_text(interval.mde)


def _cost_text(arm: ArmSummary) -> str:
    return MISSING if arm.cost_ratio is None else f"{arm.cost_ratio:.2f}×"


ArmColumns = list[tuple[str, Callable[["ArmSummary"], "str | _Cell"]]]
"""A column's header and its cell for an arm: plain text, or a styled :class:`_Cell`."""
QUALITY_COLUMNS: ArmColumns = [
    ("augmentation", lambda arm: arm.augmentation),
    ("loss", lambda arm: arm.loss),
    ("seeds", _seeds_text),
    ("mIoU ± std", miou_text),
    ("img mIoU", lambda arm: number_text(arm.per_image_miou_mean)),
    ("pixel acc", lambda arm: number_text(arm.pixel_accuracy_mean)),
    ("Δ mIoU [CI]", lambda arm: _interval_text(arm.delta)),
    ("verdict", lambda arm: _verdict_cell(arm.verdict)),
    ("MDE", lambda arm: _mde_text(arm.delta)),
    ("cost", _cost_text),
]
COST_COLUMNS: ArmColumns = [
    ("arm", lambda arm: arm.arm),
    ("train s", lambda arm: number_text(arm.train_seconds_mean, 1)),
    ("img/s", lambda arm: number_text(arm.images_per_second_mean, 1)),
    ("data ms/step", lambda arm: number_text(arm.data_ms_per_step_mean, 1)),
    ("model ms/step", lambda arm: number_text(arm.model_ms_per_step_mean, 1)),
    ("peak memory", lambda arm: _memory_text(arm.peak_memory_bytes)),
]


def _arm_table(report: Report, title: str, columns: ArmColumns, caption: str, label_columns: int) -> _Table:
    """One row per arm, numbered as the per-class table's columns are, one column per entry of ``columns``."""
    rows = [
        [_Cell(f"#{index}"), *(cell if isinstance(cell := cell_of(arm), _Cell) else _Cell(cell) for _, cell_of in columns)]
        for index, arm in enumerate(report.arms)
    ]
    return _Table(title, ["#", *(header for header, _ in columns)], rows, caption, label_columns + 1)


def _quality_table(report: Report) -> _Table:
    if report.design == "screen":
        delta = "Δ and verdicts: see the main effects below (each run is one row of the screening design)."
    else:
        delta = f"Δ mIoU: arm − baseline ({report.arms[0].arm}). {_ci_text(report.confidence, [(arm.arm, arm.delta) for arm in report.arms])}"
    caption = (
        f"{delta} seeds: finished/planned. img mIoU: mean of per-image mIoU. MDE: the effect the seeds so far detect at 80% power, "
        f"at {_mde_level(report)}. cost: train time over the baseline's ({_cost_basis(report)})."
    )
    return _arm_table(report, "Arms", QUALITY_COLUMNS, caption, label_columns=2)


def _mde_level(report: Report) -> str:
    """The level every MDE of the arms' family is quoted at, in words."""
    level = family_level((arm.delta for arm in report.arms), 1 - report.confidence)
    if level is None:
        return "the family's Bonferroni level α/m"
    if report.correction == "none":
        return f"level {level}"
    return f"the Bonferroni level {level}" + (", the one Holm's first step tests at" if report.correction == "holm" else "")


def _cost_basis(report: Report) -> str:
    """How the cost ratio was measured: with one epoch, that epoch is the whole run, start-up included."""
    if report.recipe.get("epochs") == 1:
        return "a run's one epoch, so a process's first run also pays its start-up"
    return "fastest epoch × epochs, so warm-up and a busy machine do not count"


def _cost_table(report: Report) -> _Table:
    caption = (
        "Means over finished runs. data: batch gathering and augmentation; model: forward to optimizer step. "
        "A data share, data ÷ (data + model), far above a few percent means the input pipeline costs training time."
    )
    return _arm_table(report, "Cost", COST_COLUMNS, caption, label_columns=1)


def _class_cell(arm: ArmSummary, index: int, class_name: str) -> _Cell:
    text = number_text(arm.per_class_iou[index])
    if class_name == arm.largest_gain_class:
        return _Cell(f"{text} {GAIN}", "green")
    if class_name == arm.largest_loss_class:
        return _Cell(f"{text} {LOSS}", "red")
    return _Cell(text)


def _class_table(report: Report) -> _Table:
    """Classes as rows and arms as numbered columns: a dataset's dozen classes fit a terminal's width that way."""
    rows = [[_Cell(name), *(_class_cell(arm, index, name) for arm in report.arms)] for index, name in enumerate(report.class_names)]
    caption = (
        f"Mean IoU over finished seeds; column #N is arm N of the Arms table; {GAIN} largest gain and {LOSS} largest loss "
        "of each arm vs the baseline's per-class IoU."
    )
    return _Table("Per-class IoU", ["class", *(f"#{index}" for index in range(len(report.arms)))], rows, caption, label_columns=1)


def _effect_label(effect: EffectSummary) -> str:
    return f"{effect.kind} {effect.level}"


def _effect_table(report: Report) -> _Table:
    rows = [
        [_Cell(_effect_label(effect)), _Cell(_interval_text(effect.interval)), _verdict_cell(effect.verdict), _Cell(_mde_text(effect.interval))]
        for effect in report.effects
    ]
    intervals = _ci_text(report.confidence, [(_effect_label(effect), effect.interval) for effect in report.effects])
    if report.design == "screen":
        what = "Main effect: mean mIoU of the runs where the factor is present minus where it is absent, over every run of the design."
        title = "Main effects"
    else:
        what = (
            "Main effect: mean gain of a level over the baseline level across the other factor's levels; interaction: "
            "gain of the pair beyond the sum of its parts. A family of their own, corrected apart from the Arms table's."
        )
        title = "Factorial effects"
    return _Table(title, ["effect", "Δ mIoU [CI]", "verdict", "MDE"], rows, f"{what} {intervals}", label_columns=1)


def _tables(report: Report) -> list[_Table]:
    return [_quality_table(report), _cost_table(report), _class_table(report), *([_effect_table(report)] if report.effects else [])]


def _header_lines(report: Report) -> list[str]:
    recipe = report.recipe
    runs = report.runs
    return [
        f"ablation {report.name}",
        f"recipe: {recipe_words(recipe)}, {_epochs_text(recipe.get('epochs', '?'))}, "
        f"{size_text(recipe.get('image_size', '?'))}, batch {recipe.get('batch_size', '?')}, lr {recipe.get('lr', '?')}, preset {report.preset}, device {report.device}",
        f"data: {report.data}",
        f"seeds: {', '.join(map(str, report.seeds))}; design: {report.design}; correction: {report.correction}"
        + (f"; margin: ±{report.margin:g}" if report.margin is not None else ""),
        f"runs: {runs.finished} finished, {runs.failed} failed, {runs.missing} missing of {runs.planned} planned",
    ]


def _epochs_text(epochs: object) -> str:
    """``1 epoch``, ``3 epochs``; ``? epochs`` for a recipe that lacks the count."""
    return "1 epoch" if epochs == 1 else f"{epochs} epochs"


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
        number, labels = (row[0].text + " ", row[1 : table.label_columns]) if table.headers[0] == "#" else ("", row[: table.label_columns])
        label = number + " | ".join(cell.text for cell in labels)
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
    delta_fields = [field.name for field in dataclasses.fields(Decision)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*scalar_fields, *(f"delta_{name}" for name in delta_fields), *(f"iou_{name}" for name in report.class_names)])
    for arm in report.arms:
        delta = [getattr(arm.delta, name) if arm.delta else None for name in delta_fields]
        writer.writerow(_without_nan([*(getattr(arm, name) for name in scalar_fields), *delta, *arm.per_class_iou]))
    return buffer.getvalue()


_HTML_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .3rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
ul.header { color: #57606a; padding-left: 1.2rem; margin-top: 0; }
table { border-collapse: collapse; margin: .5rem 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #d0d7de; padding: .3rem .6rem; white-space: nowrap; }
th { background: #f6f8fa; text-align: left; } td.number, th.number { text-align: right; }
p.caption { color: #57606a; font-size: .85rem; max-width: 1000px; margin-top: .2rem; }
.green { color: #1a7f37; font-weight: 600; } .red { color: #cf222e; font-weight: 600; } .blue { color: #0969da; font-weight: 600; }
img { max-width: 100%; border: 1px solid #d0d7de; }
"""


def render_html(report: Report, plot_png: bytes | None = None) -> str:
    """The report as one self-contained HTML page: the header, every table with its caption, the notes,
    and ``plot_png`` (report.png's bytes) embedded, so the file can be shared or attached on its own."""
    title, *details = _header_lines(report)
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>", f"<style>{_HTML_STYLE}</style>", "</head>", "<body>",
        f"<h1>{html.escape(title)}</h1>", '<ul class="header">', *(f"<li>{html.escape(line)}</li>" for line in details), "</ul>",
    ]
    if plot_png is not None:
        encoded = base64.b64encode(plot_png).decode("ascii")
        parts.append(f'<img alt="Δ mIoU with intervals and per-class IoU" src="data:image/png;base64,{encoded}">')
    for table in _tables(report):
        parts += [f"<h2>{html.escape(table.title)}</h2>", "<table>", "<thead><tr>"]
        parts += [f'<th class="{"label" if index < table.label_columns else "number"}">{html.escape(header)}</th>' for index, header in enumerate(table.headers)]
        parts.append("</tr></thead><tbody>")
        for row in table.rows:
            cells = []
            for index, cell in enumerate(row):
                classes = " ".join(name for name in ("label" if index < table.label_columns else "number", cell.style) if name)
                cells.append(f'<td class="{classes}">{html.escape(cell.text)}</td>')
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts += ["</tbody></table>", f'<p class="caption">{html.escape(table.caption)}</p>']
    if report.notes:
        parts += ["<h2>Notes</h2>", "<ul>", *(f"<li>{html.escape(note)}</li>" for note in report.notes), "</ul>"]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


_RENDERERS: dict[str, Callable[[Report], str]] = {"md": _markdown, "csv": _csv, "json": _json}
FORMATS = tuple(_RENDERERS)
"""The formats :func:`render_report` knows, in the order ``write_report_files`` writes them."""
