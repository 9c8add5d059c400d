"""The ablation report as one picture: Δ mIoU per arm beside a per-class IoU heatmap.

matplotlib is imported only when a plot is drawn, so printing or rendering a report does not load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from augmentlab.atomic import write_atomically
from augmentlab.report.summary import ArmSummary, Report
from augmentlab.report.text import miou_text, number_text, percent_text, verdict_style

MATPLOTLIB_COLOURS = {"green": "tab:green", "red": "tab:red", "blue": "tab:blue"}
"""The tables' verdict colours (:func:`~augmentlab.report.text.verdict_style`) in matplotlib's palette; other verdicts are grey."""


def write_plot(report: Report, path: Path) -> Path:
    """Left: Δ mIoU per arm with CI (mIoU ± std without a baseline), or a screen's main effects; right: per-class IoU coloured by Δ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_arms, n_classes = len(report.arms), len(report.class_names)
    screen = report.design == "screen" and bool(report.effects)
    labels = [effect.level for effect in report.effects] if screen else [arm.arm for arm in report.arms]
    label_inches = 0.08 * max(len(label) for label in labels)  # the names left of the bars
    heatmap_label_inches = 0.08 * max(len(arm.arm) for arm in report.arms) if screen else 0.0
    figure, (bars, heatmap) = plt.subplots(
        1, 2, sharey=not screen, layout="constrained",
        figsize=(4 + label_inches + heatmap_label_inches + 0.75 * n_classes, 1.6 + 0.45 * max(n_arms, len(labels))),
        gridspec_kw={"width_ratios": [3, max(3, 0.6 * n_classes)]},
    )
    if screen:
        _plot_effect_bars(bars, report)  # a screen's runs are design runs: its answers are the factors' main effects
    else:
        _plot_arm_bars(bars, report)
    _plot_class_heatmap(heatmap, figure, report)
    bars.set_yticks(range(len(labels)), labels)
    bars.set_ylim(len(labels) - 0.5, -0.5)
    if screen:
        heatmap.set_yticks(range(n_arms), [arm.arm for arm in report.arms], fontsize=8)
        heatmap.tick_params(axis="y", left=True)
    figure.suptitle(f"{report.name}: {report.runs.finished} of {report.runs.planned} runs finished", fontsize=11)
    try:
        write_atomically(path, lambda file: figure.savefig(file, format="png", dpi=120), what="the report plot")
    finally:
        plt.close(figure)
    return path


def _plot_arm_bars(axes: Any, report: Report) -> None:
    """Δ mIoU bars with CI error bars, coloured by verdict; mIoU ± std bars when no arm has a Δ."""
    has_delta = any(arm.delta is not None for arm in report.arms)
    for row, arm in enumerate(report.arms):
        if has_delta and arm.delta is not None:
            interval = arm.delta
            error = [[interval.estimate - interval.low], [interval.high - interval.estimate]]
            axes.barh(row, interval.estimate, xerr=error, color=_verdict_colour(arm.verdict), capsize=3)
        elif not has_delta and arm.miou_mean is not None:
            axes.barh(row, arm.miou_mean, xerr=arm.miou_std or 0, color="tab:blue", capsize=3)
        else:
            axes.text(0, row, f" {_bar_label(arm)}", va="center", fontsize=8, color="dimgray")
    axes.axvline(0, color="black", linewidth=0.8)
    # Rejected comparisons are drawn at their Holm/BH level, the others at the Bonferroni level: both are adjusted for the family.
    # One-seed comparisons are outside it: their bootstrap intervals are at the plain level.
    adjusted = {"holm": "Holm", "bh": "BH"}.get(report.correction)
    in_family = any(arm.delta is not None and arm.delta.training_noise for arm in report.arms)
    if adjusted and in_family:
        levels = f"intervals adjusted for multiplicity, {adjusted}"
    elif has_delta and not in_family:
        levels = f"{percent_text(report.confidence)} bootstrap CI, val noise only"
    else:
        levels = f"{percent_text(report.confidence)} intervals"
    axes.set_title(f"Δ mIoU vs baseline\n({levels})" if has_delta else "mIoU ± std over seeds", fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    _few_ticks(axes)


def _few_ticks(axes: Any) -> None:
    """At most 5 x ticks: signed three-decimal labels overlap in a narrow panel otherwise."""
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(nbins=4, symmetric=False))


def _verdict_colour(verdict: str | None) -> str:
    return MATPLOTLIB_COLOURS.get(verdict_style(verdict) or "", "tab:gray")


def _plot_effect_bars(axes: Any, report: Report) -> None:
    """A screening design's main effects (present − absent) with their intervals, coloured by verdict."""
    for row, effect in enumerate(report.effects):
        interval = effect.interval
        if interval is None:
            axes.text(0, row, " no estimate", va="center", fontsize=8, color="dimgray")
            continue
        error = [[interval.estimate - interval.low], [interval.high - interval.estimate]]
        axes.barh(row, interval.estimate, xerr=error, color=_verdict_colour(effect.verdict), capsize=3)
    # The verdicts as labels of a right-hand axis: the layout makes room for them, so none runs over the frame or a bar.
    verdicts = axes.secondary_yaxis("right")
    verdicts.set_yticks(range(len(report.effects)), [effect.verdict or "" for effect in report.effects], fontsize=7, color="dimgray")
    verdicts.tick_params(axis="y", length=0)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_title("Main effect on mIoU (present − absent), interval", fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    _few_ticks(axes)
    axes.margins(x=0.25)


def _bar_label(arm: ArmSummary) -> str:
    """What the bar panel writes where an arm has no bar."""
    if arm.miou_mean is None:
        return f"baseline: {miou_text(arm)}" if arm.verdict == "baseline" else miou_text(arm)
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
        axes.text(column, row, number_text(value, 2), ha="center", va="center", fontsize=7, color=colour)
    axes.set_xticks(range(len(report.class_names)), report.class_names, rotation=40, ha="right", fontsize=8)
    axes.tick_params(axis="y", left=False)


def _matrix(rows: Sequence[Sequence[float | None]]) -> np.ndarray:
    """float64 ``[arms, classes]`` with NaN for None."""
    return np.array([[np.nan if value is None else value for value in row] for row in rows], dtype=np.float64)
