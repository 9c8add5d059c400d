"""The ablation report from hand-made runs: exact numbers in json, the same cells in md, csv and print."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console
from scipy.stats import t as scipy_t

from augmentlab.report import (
    build_report,
    print_report,
    render_report,
    write_report_files,
)
from augmentlab.results.records import AblationInfo, ArmInfo, RunResult

T_975_1 = 12.706204736174694  # Student t 97.5% quantile, 1 degree of freedom
T_9875_1 = 25.45169957935704  # 98.75% quantile (two-sided α/2 = 0.05/2), 1 degree of freedom: tan(0.4875π)
MDE_1 = 32.64286555226137  # noncentrality λ with P(t(1 df, λ) > T_9875_1) = 0.8 (scipy.stats.nct.sf gives 0.8000005)
POOLED_2 = "two-way ANOVA of mIoU on arm and seed (seed as block), residual pooled over 2 arms: t with 1 df"
HOLM_2_WAITING = "Holm over 2 comparisons (1 without an estimate yet, counted at p = 1)"
BONFERRONI_TEXT = (
    "A better or worse verdict's interval is at the level that makes it agree with its adjusted p-value, every other at the "
    "Bonferroni level α/2 = 0.025 (95% before adjustment), which also decides 'no effect beyond ±δ'; so an interval excludes 0 exactly "
    "when its verdict is better or worse."
)
GIB = 2**30
CLASSES = ["background", "cat", "dog"]
BASELINE = ArmInfo("none | ce", "none", "ce")
HFLIP = ArmInfo("hflip | ce", "hflip", "ce")
GRID = ArmInfo("grid | ce", "grid", "ce")
RECIPE = {"epochs": 4, "image_size": 128, "batch_size": 8, "lr": 0.001, "encoder": "resnet18", "encoder_weights": "none"}


def ablation(arms: list[ArmInfo], seeds: list[int]) -> AblationInfo:
    return AblationInfo("tiny", CLASSES, arms, seeds, RECIPE, "cpu", "demo", "demo data (key 1234)")


def finished(arm: ArmInfo, seed: int, miou: float, per_class_iou: list[float | None], **values: object) -> RunResult:
    return RunResult(arm.name, arm.augmentation, arm.loss, seed, "finished", miou=miou, per_class_iou=per_class_iou, **values)  # type: ignore[arg-type]


def failed(arm: ArmInfo, seed: int, error: str) -> RunResult:
    return RunResult(arm.name, arm.augmentation, arm.loss, seed, "failed", error=error)


def two_seed_runs() -> list[RunResult]:
    """Baseline and hflip over seeds 0 and 1; grid failed at seed 0 and never ran seed 1."""
    timing = {"pixel_accuracy": 0.8, "train_seconds": 10.0, "images_per_second": 100.0, "data_ms_per_step": 2.0, "model_ms_per_step": 8.0}
    return [
        finished(BASELINE, 0, 0.50, [0.80, 0.40, 0.30], per_image_miou=0.45, peak_memory_bytes=GIB, **timing),
        finished(BASELINE, 1, 0.54, [0.82, 0.44, 0.36], per_image_miou=0.47, peak_memory_bytes=2 * GIB, **timing | {"pixel_accuracy": 0.84, "train_seconds": 12.0}),
        finished(HFLIP, 0, 0.56, [0.78, 0.50, None], per_image_miou=0.50, **timing | {"data_ms_per_step": 6.0}),
        finished(HFLIP, 1, 0.62, [0.80, 0.60, 0.42], per_image_miou=0.56, **timing | {"data_ms_per_step": 10.0}),
        failed(GRID, 0, "NaN loss at epoch 2, step 5"),
    ]


@pytest.fixture
def report_json() -> dict:
    report = build_report(ablation([BASELINE, HFLIP, GRID], [0, 1]), two_seed_runs())
    return json.loads(render_report(report, "json"))


def test_json_header(report_json: dict) -> None:
    assert {key: report_json[key] for key in ("name", "recipe", "preset", "device", "data", "seeds", "class_names", "confidence")} == {
        "name": "tiny",
        "recipe": RECIPE,
        "preset": "demo",
        "device": "cpu",
        "data": "demo data (key 1234)",
        "seeds": [0, 1],
        "class_names": CLASSES,
        "confidence": 0.95,
    }
    assert (report_json["design"], report_json["correction"], report_json["margin"]) == ("factorial", "holm", None)
    assert report_json["runs"] == {"planned": 6, "finished": 4, "failed": 1, "missing": 1, "fixed_plan": 6}


@pytest.mark.parametrize(
    ("arm", "expected"),
    [
        (
            0,
            {
                "arm": "none | ce", "seeds_planned": 2, "seeds_finished": 2, "seeds_failed": 0, "seeds_missing": 0, "failures": [],
                "miou_mean": 0.52, "miou_std": math.sqrt(2) * 0.02, "per_image_miou_mean": 0.46, "pixel_accuracy_mean": 0.82,
                "delta": None, "verdict": "baseline", "stopped": None, "cost_ratio": 1.0, "train_seconds_mean": 11.0, "images_per_second_mean": 100.0,
                "data_ms_per_step_mean": 2.0, "model_ms_per_step_mean": 8.0, "peak_memory_bytes": 2 * GIB,
                "per_class_iou": [0.81, 0.42, 0.33], "per_class_delta": [0.0, 0.0, 0.0], "largest_gain_class": None, "largest_loss_class": None,
            },
        ),
        (
            1,
            {
                "arm": "hflip | ce", "seeds_planned": 2, "seeds_finished": 2, "seeds_failed": 0, "seeds_missing": 0, "failures": [],
                "miou_mean": 0.59, "miou_std": math.sqrt(2) * 0.03, "per_image_miou_mean": 0.53, "pixel_accuracy_mean": 0.8,
                # Two finished arms × two seeds: the pooled ANOVA is the paired t. Δ per seed 0.06 and 0.08:
                # mean 0.07, standard error 0.01, t = 7 on 1 df, p = 1 − 2·atan(7)/π. grid | ce has no
                # estimate yet and counts at p = 1, so Holm is over 2: p_adjusted = 2p, not rejected, and
                # the interval and the MDE are at the Bonferroni level 1 − α/2.
                "delta": {
                    "estimate": 0.07, "low": 0.07 - T_9875_1 * 0.01, "high": 0.07 + T_9875_1 * 0.01,
                    "method": f"{POOLED_2}; {HOLM_2_WAITING}", "n": 2, "se": 0.01, "df": 1, "confidence": 0.975,
                    "p_value": 1 - 2 * math.atan(7) / math.pi, "p_adjusted": 2 * (1 - 2 * math.atan(7) / math.pi),
                    "mde": MDE_1 * 0.01, "verdict": "within noise", "training_noise": True, "mde_confidence": 0.975,
                },
                "verdict": "within noise", "stopped": "within noise so far; 1 run missing", "cost_ratio": 10 / 11, "train_seconds_mean": 10.0, "images_per_second_mean": 100.0,
                "data_ms_per_step_mean": 8.0, "model_ms_per_step_mean": 8.0, "peak_memory_bytes": None,
                "per_class_iou": [0.79, 0.55, 0.42], "per_class_delta": [-0.02, 0.13, 0.09], "largest_gain_class": "cat", "largest_loss_class": "background",
            },
        ),
        (
            2,
            {
                "arm": "grid | ce", "seeds_planned": 2, "seeds_finished": 0, "seeds_failed": 1, "seeds_missing": 1,
                "failures": [{"seed": 0, "error": "NaN loss at epoch 2, step 5", "retryable": None}],
                "miou_mean": None, "miou_std": None, "per_image_miou_mean": None, "pixel_accuracy_mean": None,
                "delta": None, "verdict": None, "stopped": "no run finished so far; 1 run missing", "cost_ratio": None, "train_seconds_mean": None, "images_per_second_mean": None,
                "data_ms_per_step_mean": None, "model_ms_per_step_mean": None, "peak_memory_bytes": None,
                "per_class_iou": [None, None, None], "per_class_delta": [None, None, None], "largest_gain_class": None, "largest_loss_class": None,
            },
        ),
    ],
)
def test_json_arm_rows(report_json: dict, arm: int, expected: dict) -> None:
    row = report_json["arms"][arm]
    assert {key: row[key] for key in expected} == approx_tree(expected)
    assert set(row) == set(expected) | {"augmentation", "loss"}


def approx_tree(expected: object) -> object:
    """``expected`` with every float compared to 1e-9: dicts and lists compare element by element."""
    if isinstance(expected, float):
        return pytest.approx(expected, rel=1e-9, abs=1e-12)
    if isinstance(expected, list):
        return [approx_tree(item) for item in expected]
    if isinstance(expected, dict):
        return {key: approx_tree(item) for key, item in expected.items()}
    return expected


def test_json_notes_and_no_effects_without_a_factorial(report_json: dict) -> None:
    assert report_json["notes"] == [
        "power: detecting ±0.01 mIoU at 80% power would take about 22 seeds per arm for every comparison (from the observed spread from seed to seed, at the Bonferroni level α/2 = 0.025);"
        " the MDE column is the effect the seeds so far detect at 80% power",
        "failed: grid | ce seed 0: NaN loss at epoch 2, step 5",
        "missing: grid | ce seed 1 (not run, or interrupted)",
    ]
    assert report_json["effects"] == []


def test_one_seed_compares_by_bootstrap_over_validation_images() -> None:
    # In every image and class hflip's IoU is 0.75 and the baseline's 0.5, so every resample gives Δ 0.25.
    unions = [[8, 4, 0], [4, 8, 4], [8, 0, 4], [4, 4, 8]]
    runs = [
        finished(BASELINE, 0, 0.5, [0.5, 0.5, 0.5], image_intersections=[[u // 2 for u in row] for row in unions], image_unions=unions),
        finished(HFLIP, 0, 0.75, [0.75, 0.75, 0.75], image_intersections=[[u * 3 // 4 for u in row] for row in unions], image_unions=unions),
    ]
    report = build_report(ablation([BASELINE, HFLIP], [0]), runs, bootstrap_samples=200)
    row = json.loads(render_report(report, "json"))["arms"][1]
    # One seed measures validation noise only: the interval is shown, the verdict is never "better".
    assert (row["miou_mean"], row["miou_std"], row["verdict"]) == (0.75, None, "val-only +")
    assert row["delta"] == {
        "estimate": 0.25, "low": 0.25, "high": 0.25, "method": "paired bootstrap over 4 val images (1 seed)", "n": 4, "se": 0.0, "df": None,
        "confidence": 0.95, "p_value": 1 / 200, "p_adjusted": 1 / 200, "mde": None, "verdict": "val-only +", "training_noise": False, "mde_confidence": 0.95,
    }
    markdown = render_report(report, "md")
    assert "| #1 | hflip | ce | 1/1 | 0.7500 ± — | — | — | +0.2500 [+0.2500, +0.2500] | val-only + | — | — |" in markdown
    assert "CI by paired bootstrap over 4 val images (1 seed). 95% intervals. val-only: one seed" in markdown
    assert json.loads(render_report(report, "json"))["notes"][0].startswith("one seed: the intervals cover validation-image noise only")


def test_seeds_added_after_a_complete_report_are_noted() -> None:
    info = ablation([BASELINE, HFLIP], [0, 1, 2])
    info.analysis.read_at_seeds = [2]
    runs = [finished(arm, seed, 0.5 + 0.01 * seed + (0.02 if arm is HFLIP else 0.0), [0.5, 0.5, 0.5]) for arm in (BASELINE, HFLIP) for seed in range(3)]
    notes = build_report(info, runs).notes
    assert (
        "seeds were added after the report at 2 seeds was complete: if they were added because a verdict was open, a false better or "
        "worse is more likely than the α above says (reading 8 arms at 2, 3, 4 and 5 seeds and stopping at the first verdict gave one "
        "in 9.3% of simulated ablations without any effect, not 5%); --max-seeds plans such looks and splits α over them"
    ) in notes
    assert not any(note.startswith("seeds were added") for note in build_report(ablation([BASELINE, HFLIP], [0, 1, 2]), runs).notes)


@pytest.mark.parametrize(
    ("seeds", "correction", "title"),
    [
        (1, "holm", "Δ mIoU vs baseline\n(95% bootstrap CI, val noise only)"),  # outside the family: not adjusted
        (2, "holm", "Δ mIoU vs baseline\n(intervals adjusted for multiplicity, Holm)"),
        (2, "bh", "Δ mIoU vs baseline\n(intervals adjusted for multiplicity, BH)"),
        (2, "none", "Δ mIoU vs baseline\n(95% intervals)"),
    ],
)
def test_the_plot_title_says_how_the_intervals_were_made(seeds: int, correction: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from augmentlab.report.plot import _plot_arm_bars

    unions = [[8, 4, 0], [4, 8, 4]]
    info = ablation([BASELINE, HFLIP], list(range(seeds)))
    info.analysis.correction = correction
    runs = [
        finished(arm, seed, miou + step * seed, [0.5, 0.5, 0.5], image_intersections=[[int(u * miou) for u in row] for row in unions], image_unions=unions)
        for arm, miou, step in ((BASELINE, 0.5, 0.01), (HFLIP, 0.75, 0.03)) for seed in range(seeds)
    ]
    figure, axes = plt.subplots()
    _plot_arm_bars(axes, build_report(info, runs, bootstrap_samples=200))
    assert axes.get_title() == title
    plt.close(figure)


def test_the_cost_caption_says_one_epoch_includes_start_up() -> None:
    info = ablation([BASELINE, HFLIP], [0, 1])
    runs = [finished(arm, seed, 0.5 + 0.01 * seed, [0.5, 0.5, 0.5]) for arm in (BASELINE, HFLIP) for seed in range(2)]
    assert "(fastest epoch × epochs, so warm-up and a busy machine do not count)" in render_report(build_report(info, runs), "md")
    info.recipe = {**RECIPE, "epochs": 1}
    assert "(a run's one epoch, so a process's first run also pays its start-up)" in render_report(build_report(info, runs), "md")


def test_factorial_effects_with_intervals() -> None:
    focal, both = ArmInfo("none | focal", "none", "focal"), ArmInfo("hflip | focal", "hflip", "focal")
    mious = [(BASELINE, 0.50, 0.54), (focal, 0.52, 0.57), (HFLIP, 0.56, 0.62), (both, 0.60, 0.65)]
    runs = [finished(arm, seed, values[seed], [values[seed]] * 3) for arm, *values in mious for seed in (0, 1)]
    effects = json.loads(render_report(build_report(ablation([BASELINE, focal, HFLIP, both], [0, 1]), runs), "json"))["effects"]
    # Two-way ANOVA by hand: arm means 0.52, 0.545, 0.59, 0.625; seed means 0.545, 0.595; grand 0.57.
    # Residuals ±0.005 for none|ce and hflip|ce, 0 elsewhere: SSE 1e-4 on (4−1)(2−1) = 3 df.
    # A main effect (weights ±½) has variance MSE·(4·¼)/2, the interaction (±1) MSE·4/2.
    mse = 1e-4 / 3
    main_se, interaction_se = math.sqrt(mse / 2), math.sqrt(2 * mse)
    # Holm over the 3 effects: the smallest p (hflip) is tested at α/3, focal at α/2; the
    # interaction, not rejected, is shown at the Bonferroni level α/3, the one an equivalence claim needs.
    expected = [
        ("augmentation", "hflip", 0.075, main_se, 0.05 / 3, "better"),
        ("loss", "focal", 0.03, main_se, 0.05 / 2, "better"),
        ("interaction", "hflip × focal", 0.01, interaction_se, 0.05 / 3, "within noise"),
    ]
    method = "two-way ANOVA of mIoU on arm and seed (seed as block), residual pooled over 4 arms: t with 3 df; Holm over 3 comparisons"
    assert len(effects) == len(expected)
    for effect, (kind, level, estimate, se, gamma, verdict) in zip(effects, expected):
        interval = effect["interval"]
        half_width = float(scipy_t.ppf(1 - gamma / 2, 3)) * se
        assert (effect["kind"], effect["level"], effect["verdict"], interval["method"]) == (kind, level, verdict, method)
        assert (interval["estimate"], interval["se"], interval["confidence"]) == pytest.approx((estimate, se, 1 - gamma), rel=1e-9)
        assert (interval["low"], interval["high"]) == pytest.approx((estimate - half_width, estimate + half_width), rel=1e-9)
    assert effects[2]["weights"] == {"hflip | ce": -1.0, "hflip | focal": 1.0, "none | ce": 1.0, "none | focal": -1.0}


def test_without_a_finished_baseline_no_delta_is_shown() -> None:
    runs = [failed(BASELINE, 0, "CUDA out of memory"), finished(HFLIP, 0, 0.6, [0.7, 0.6, 0.5])]
    report = json.loads(render_report(build_report(ablation([BASELINE, HFLIP], [0]), runs), "json"))
    baseline, hflip = report["arms"]
    assert (baseline["verdict"], hflip["delta"], hflip["verdict"], hflip["per_class_delta"]) == ("baseline", None, None, [None, None, None])
    assert report["notes"] == [
        "the baseline none | ce has no finished run, so no Δ, verdict or per-class Δ is shown",
        "failed: none | ce seed 0: CUDA out of memory",
    ]


def test_an_arm_without_a_seed_in_common_with_the_baseline_has_no_delta() -> None:
    runs = [finished(BASELINE, 0, 0.5, [0.5] * 3), finished(HFLIP, 1, 0.6, [0.6] * 3)]
    report = json.loads(render_report(build_report(ablation([BASELINE, HFLIP], [0, 1]), runs), "json"))
    assert report["arms"][1]["delta"] is None
    assert report["notes"][0] == "hflip | ce: no seed where it and the baseline both finished, so no Δ"


def test_markdown() -> None:
    markdown = render_report(build_report(ablation([BASELINE, HFLIP, GRID], [0, 1]), two_seed_runs()), "md")
    for line in [
        "# ablation tiny",
        "- recipe: DeepLabV3+ resnet18 (weights none), scored at the training size, 4 epochs, 128px, batch 8, lr 0.001, preset demo, device cpu",
        "- runs: 4 finished, 1 failed, 1 missing of 6 planned",
        "- seeds: 0, 1; design: factorial; correction: holm",
        "| # | augmentation | loss | seeds | mIoU ± std | img mIoU | pixel acc | Δ mIoU [CI] | verdict | MDE | cost |",
        "| #0 | none | ce | 2/2 | 0.5200 ± 0.0283 | 0.4600 | 0.8200 | — | baseline | — | 1.00× |",
        "| #1 | hflip | ce | 2/2 | 0.5900 ± 0.0424 | 0.5300 | 0.8000 | +0.0700 [-0.1845, +0.3245] | within noise | 0.3264 | 0.91× |",
        "| #2 | grid | ce | 0/2 (1 failed) | failed | — | — | — | — | — | — |",
        f"*Δ mIoU: arm − baseline (none | ce). CI by {POOLED_2}; {HOLM_2_WAITING}. {BONFERRONI_TEXT} seeds: finished/planned."
        " img mIoU: mean of per-image mIoU. MDE: the effect the seeds so far detect at 80% power, at the Bonferroni level α/2 = 0.025, the one Holm's first step tests at. cost: train time over the baseline's"
        " (fastest epoch × epochs, so warm-up and a busy machine do not count).*",
        "| # | arm | train s | img/s | data ms/step | model ms/step | peak memory |",
        "| #0 | none \\| ce | 11.0 | 100.0 | 2.0 | 8.0 | 2.00 GiB |",
        "| #1 | hflip \\| ce | 10.0 | 100.0 | 8.0 | 8.0 | — |",
        "| class | #0 | #1 | #2 |",
        "| background | 0.8100 | 0.7900 ▼ | — |",
        "| cat | 0.4200 | 0.5500 ▲ | — |",
        "| dog | 0.3300 | 0.4200 | — |",
        "- failed: grid | ce seed 0: NaN loss at epoch 2, step 5",
    ]:
        assert line in markdown.splitlines()
    assert "## Factorial effects" not in markdown


def test_csv_has_one_row_per_arm_with_class_columns() -> None:
    rows = list(csv.DictReader(io.StringIO(render_report(build_report(ablation([BASELINE, HFLIP, GRID], [0, 1]), two_seed_runs()), "csv"))))
    assert list(rows[0]) == [
        "arm", "augmentation", "loss", "seeds_planned", "seeds_finished", "seeds_failed", "seeds_missing",
        "miou_mean", "miou_std", "per_image_miou_mean", "pixel_accuracy_mean", "verdict", "stopped", "cost_ratio",
        "train_seconds_mean", "images_per_second_mean", "data_ms_per_step_mean", "model_ms_per_step_mean", "peak_memory_bytes",
        "largest_gain_class", "largest_loss_class",
        "delta_estimate", "delta_low", "delta_high", "delta_method", "delta_n", "delta_se", "delta_df", "delta_confidence",
        "delta_p_value", "delta_p_adjusted", "delta_mde", "delta_verdict", "delta_training_noise", "delta_mde_confidence",
        "iou_background", "iou_cat", "iou_dog",
    ]
    assert [row["arm"] for row in rows] == ["none | ce", "hflip | ce", "grid | ce"]
    hflip, grid = rows[1], rows[2]
    assert [float(hflip[key]) for key in ("miou_mean", "delta_estimate", "delta_low", "iou_background", "iou_dog")] == pytest.approx([0.59, 0.07, 0.07 - T_9875_1 * 0.01, 0.79, 0.42])
    assert (hflip["verdict"], hflip["delta_method"], hflip["largest_gain_class"], hflip["peak_memory_bytes"]) == ("within noise", f"{POOLED_2}; {HOLM_2_WAITING}", "cat", "")
    assert (grid["seeds_failed"], grid["miou_mean"], grid["delta_estimate"], grid["iou_cat"]) == ("1", "", "", "")


def test_print_report_quiet_prints_plain_lines() -> None:
    console = Console(record=True, width=200)
    print_report(build_report(ablation([BASELINE, HFLIP, GRID], [0, 1]), two_seed_runs()), console, quiet=True)
    lines = console.export_text().splitlines()
    for line in [
        "ablation tiny",
        "runs: 4 finished, 1 failed, 1 missing of 6 planned",
        "Arms:",
        "  #0 none | ce: seeds 2/2; mIoU ± std 0.5200 ± 0.0283; img mIoU 0.4600; pixel acc 0.8200; Δ mIoU [CI] —; verdict baseline; MDE —; cost 1.00×",
        "  #1 hflip | ce: seeds 2/2; mIoU ± std 0.5900 ± 0.0424; img mIoU 0.5300; pixel acc 0.8000; Δ mIoU [CI] +0.0700 [-0.1845, +0.3245];"
        " verdict within noise; MDE 0.3264; cost 0.91×",
        "  #2 grid | ce: seeds 0/2 (1 failed); mIoU ± std failed; img mIoU —; pixel acc —; Δ mIoU [CI] —; verdict —; MDE —; cost —",
        "  #1 hflip | ce: train s 10.0; img/s 100.0; data ms/step 8.0; model ms/step 8.0; peak memory —",
        "  cat: #0 0.4200; #1 0.5500 ▲; #2 —",
        "note: missing: grid | ce seed 1 (not run, or interrupted)",
    ]:
        assert line in lines
    assert not any(character in console.export_text() for character in "┃━│")


def test_print_report_draws_tables() -> None:
    console = Console(record=True, width=200)
    print_report(build_report(ablation([BASELINE, HFLIP, GRID], [0, 1]), two_seed_runs()), console)
    text = console.export_text()
    assert "┃ augmentation ┃" in text
    assert "│ #1 │ hflip        │ ce   │" in text
    assert "0.5500 ▲" in text


def test_write_report_files(tmp_path: Path) -> None:
    paths = write_report_files(build_report(ablation([BASELINE, HFLIP, GRID], [0, 1]), two_seed_runs()), tmp_path)
    assert paths == [tmp_path / name for name in ("report.md", "report.csv", "report.json", "report.png", "report.html")]
    assert all(path.stat().st_size > 0 for path in paths)
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_write_report_files_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="report folder .*missing does not exist; create it"):
        write_report_files(build_report(ablation([BASELINE], [0]), []), tmp_path / "missing")


def test_render_report_rejects_unknown_formats() -> None:
    with pytest.raises(ValueError, match="unknown report format 'html'; valid formats: md, csv, json"):
        render_report(build_report(ablation([BASELINE], [0]), []), "html")


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([finished(GRID, 0, 0.5, [0.5] * 3)], r"run of arm 'grid \| ce' seed 0 is not in ablation 'tiny' \(arms \['none \| ce', 'hflip \| ce'\], seeds \[0\]\)"),
        ([finished(HFLIP, 3, 0.5, [0.5] * 3)], r"run of arm 'hflip \| ce' seed 3 is not in ablation 'tiny'"),
        ([finished(HFLIP, 0, 0.5, [0.5] * 3), failed(HFLIP, 0, "boom")], r"two runs of arm 'hflip \| ce' seed 0; the result store must hold one per \(arm, seed\)"),
        ([finished(HFLIP, 0, 0.5, [0.5] * 2)], r"run of arm 'hflip \| ce' seed 0 has 2 per-class IoUs for 3 classes"),
    ],
)
def test_build_report_rejects_runs_outside_the_plan(runs: list[RunResult], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_report(ablation([BASELINE, HFLIP], [0]), runs)


def test_a_screening_report_gives_each_factor_its_main_effect(tmp_path: Path) -> None:
    import numpy as np

    from augmentlab.results.records import AnalysisSettings
    from augmentlab.runner.designs import screening_rows

    rows = screening_rows(5)  # 8 runs, 5 factors, 2 spare columns
    factors = ["hflip", "vflip", "rot90", "grid", "elastic"]
    augmentations = [",".join(factor for factor, level in zip(factors, row) if level > 0) or "none" for row in rows]
    arms = [ArmInfo(f"{augmentation} | ce", augmentation, "ce") for augmentation in augmentations]
    settings = AnalysisSettings(design="screen", factors=factors, levels={arm.name: row.tolist() for arm, row in zip(arms, rows)})
    info = AblationInfo("screen", CLASSES, arms, [0, 1], RECIPE, "cpu", "demo", "demo data (key 1234)", analysis=settings)
    effects = np.array([0.05, 0.0, -0.04, 0.0, 0.0])
    noise = np.random.default_rng(0).normal(0, 0.002, (len(rows), 2))
    runs = [finished(arm, seed, float(0.5 + row @ effects / 2 + 0.01 * seed + noise[index, seed]), [0.5] * 3)
            for index, (arm, row) in enumerate(zip(arms, rows)) for seed in (0, 1)]
    report = build_report(info, runs)
    as_json = json.loads(render_report(report, "json"))
    assert [(effect["kind"], effect["level"], effect["verdict"]) for effect in as_json["effects"]] == [
        ("main effect", "hflip", "better"), ("main effect", "vflip", "within noise"), ("main effect", "rot90", "worse"),
        ("main effect", "grid", "within noise"), ("main effect", "elastic", "within noise"),
    ]
    # 16 runs: intercept, 5 factors and 1 seed effect leave 9 residual degrees of freedom.
    assert as_json["effects"][0]["interval"]["method"] == (
        "least squares of mIoU on 5 factors and seed, residual from 2 seeds and the spare columns: t with 9 df; Holm over 5 comparisons"
    )
    assert [arm["verdict"] for arm in as_json["arms"]] == ["baseline"] + ["design run"] * 7
    write_report_files(report, tmp_path)
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_screen_whose_failed_runs_alias_a_factor_says_so_and_gives_it_no_effect() -> None:
    import numpy as np

    from augmentlab.results.records import AnalysisSettings
    from augmentlab.runner.designs import screening_rows

    rows = screening_rows(4)  # 8 runs, 4 factors, one seed; rows 1 and 3 fail (an OOM)
    factors = ["hflip", "vflip", "rot90", "grid"]
    arms = [ArmInfo(f"row{index} | ce", f"row{index}", "ce") for index in range(len(rows))]
    settings = AnalysisSettings(design="screen", factors=factors, levels={arm.name: row.tolist() for arm, row in zip(arms, rows)})
    info = AblationInfo("screen", CLASSES, arms, [0], RECIPE, "cpu", "demo", "demo data (key 1234)", analysis=settings)
    noise = np.random.default_rng(0).normal(0, 0.01, len(rows))
    runs = [failed(arm, 0, "CUDA out of memory") if index in (1, 3) else finished(arm, 0, 0.5 + float(noise[index]), [0.5] * 3)
            for index, arm in enumerate(arms)]
    report = build_report(info, runs)
    assert [(effect.level, effect.verdict) for effect in report.effects] == [("hflip", None), ("vflip", "within noise"), ("rot90", None), ("grid", None)]
    assert ("no main effect for hflip, rot90, grid: the runs that did not finish leave them aliased with other factors; "
            "train those runs again (run the same command)") in report.notes


def test_seeds_that_change_nothing_give_no_verdict_and_say_why() -> None:
    counts = {"image_intersections": [[3, 3, 3]] * 4, "image_unions": [[10, 10, 10]] * 4}
    runs = [finished(arm, seed, 0.3, [0.3] * 3, **counts) for arm in (BASELINE, HFLIP) for seed in (0, 1)]
    report = build_report(ablation([BASELINE, HFLIP], [0, 1]), runs)
    assert (report.arms[1].verdict, report.arms[1].delta.method) == (
        "val-only ±", "paired bootstrap over 4 val images (seed 0; the seeds gave the same differences between arms, so training noise is unmeasured)")
    assert report.notes[0].startswith("identical seeds: some comparisons came out the same on every seed (to rounding)")
    bare = build_report(ablation([BASELINE, HFLIP], [0, 1]), [finished(arm, seed, 0.3, [0.3] * 3) for arm in (BASELINE, HFLIP) for seed in (0, 1)])
    assert bare.arms[1].delta is None
    assert ("hflip | ce: no Δ: the same difference from the baseline on every seed measures no training noise, "
            "and its runs hold no per-image counts to bootstrap over") in bare.notes
    # One seed where both finished (the arm's second has not run), without per-image counts: the note says one seed, not 'the same'.
    lone = build_report(ablation([BASELINE, HFLIP], [0, 1]), [finished(BASELINE, 0, 0.50, [0.5] * 3), finished(BASELINE, 1, 0.53, [0.5] * 3),
                                                              finished(HFLIP, 0, 0.55, [0.5] * 3)])
    assert lone.arms[1].delta is None
    assert ("hflip | ce: no Δ: one seed shared with the baseline measures no training noise, "
            "and its runs hold no per-image counts to bootstrap over") in lone.notes


def test_report_html_is_one_self_contained_page_with_every_table(tmp_path: Path) -> None:
    from html.parser import HTMLParser

    write_report_files(build_report(ablation([BASELINE, HFLIP, GRID], [0, 1]), two_seed_runs()), tmp_path)
    page = (tmp_path / "report.html").read_text()

    class Collect(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []
            self.sources: list[str] = []
            self.headings: list[str] = []
            self._in_h2 = False

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.tags.append(tag)
            self._in_h2 = tag == "h2"
            self.sources += [value for name, value in attrs if name in ("src", "href")]

        def handle_data(self, data: str) -> None:
            if self._in_h2:
                self.headings.append(data)
                self._in_h2 = False

    parsed = Collect()
    parsed.feed(page)
    assert parsed.headings == ["Arms", "Cost", "Per-class IoU", "Notes"]
    assert parsed.tags.count("table") == 3
    assert len(parsed.sources) == 1 and parsed.sources[0].startswith("data:image/png;base64,")  # nothing fetched from elsewhere
    png = (tmp_path / "report.png").read_bytes()
    assert parsed.sources[0] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert '<td class="number">+0.0700 [-0.1845, +0.3245]</td>' in page
    assert "hflip | ce" not in page.split("<h2>Arms</h2>")[0]  # the header lists the recipe, not arms
    assert "none \\| ce" not in page  # markdown escaping stays out of html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="a real browser: apt-get install chromium")
def test_report_html_renders_in_a_real_headless_browser(tmp_path: Path) -> None:
    write_report_files(build_report(ablation([BASELINE, HFLIP, GRID], [0, 1]), two_seed_runs()), tmp_path)
    screenshot = tmp_path / "shot.png"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={screenshot}", "--window-size=1200,1600",
         (tmp_path / "report.html").as_uri()],
        capture_output=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.size == (1200, 1600)
        histogram = image.convert("L").histogram()
    inked = sum(histogram[:200]) / sum(histogram)
    assert inked > 0.02  # text, table rules and the embedded plot are drawn, not a blank page


NAN_NOTE = "finished without a usable mIoU (no validation pixel was scored), left out of the statistics"


@pytest.mark.parametrize(
    ("nan_arm", "expected_notes"),
    [
        # Counted as finished, a NaN run made the arm's mean NaN and its note blame "identical mIoU".
        pytest.param(HFLIP, [f"failed: hflip | ce seed 0: {NAN_NOTE}", f"failed: hflip | ce seed 1: {NAN_NOTE}"], id="an arm"),
        pytest.param(BASELINE, ["the baseline none | ce has no finished run, so no Δ, verdict or per-class Δ is shown",
                                f"failed: none | ce seed 0: {NAN_NOTE}", f"failed: none | ce seed 1: {NAN_NOTE}"], id="the baseline"),
    ],
)
def test_a_finished_run_with_a_nan_miou_is_left_out_and_counted_as_failed(nan_arm: ArmInfo, expected_notes: list[str]) -> None:
    runs = [finished(arm, seed, math.nan if arm == nan_arm else 0.5 + 0.02 * seed, [0.5] * 3) for arm in (BASELINE, HFLIP) for seed in (0, 1)]
    report = build_report(ablation([BASELINE, HFLIP], [0, 1]), runs)
    row = report.arm(nan_arm.name)
    assert (row.seeds_finished, row.seeds_failed, row.seeds_missing, row.miou_mean, row.per_class_iou) == (0, 2, 0, None, [None] * 3)
    assert (report.arms[1].delta, report.arms[1].verdict) == (None, None)
    assert (report.runs.finished, report.runs.failed, report.runs.missing, report.runs.planned) == (2, 2, 0, 4)
    assert report.notes == expected_notes
    assert ": NaN" not in render_report(report, "json")  # json.dumps writes a NaN mean as a bare NaN


@pytest.mark.parametrize(
    ("hflip_seeds", "stopped"),
    [
        ({0: 0.550, 1: 0.571, 2: 0.560}, "better with 3 seeds"),
        ({0: 0.550, 1: 0.571, 2: None}, "better with 2 of 3 seeds"),  # seed 2 failed: the verdict rests on two
    ],
)
def test_why_an_arm_stopped_counts_the_seeds_its_verdict_rests_on(hflip_seeds: dict, stopped: str) -> None:
    runs = [finished(BASELINE, seed, miou, [0.5] * 3) for seed, miou in ((0, 0.50), (1, 0.52), (2, 0.51))]
    runs += [finished(HFLIP, seed, miou, [0.5] * 3) if miou is not None else failed(HFLIP, seed, "CUDA out of memory")
             for seed, miou in hflip_seeds.items()]
    report = build_report(ablation([BASELINE, HFLIP], [0, 1, 2]), runs)
    assert (report.arms[1].verdict, report.arms[1].stopped) == ("better", stopped)
