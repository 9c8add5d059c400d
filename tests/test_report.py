"""The ablation report from hand-made runs: exact numbers in json, the same cells in md, csv and print."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from rich.console import Console

from augmentlab.report import (
    build_report,
    print_report,
    render_report,
    write_report_files,
)
from augmentlab.results.records import AblationInfo, ArmInfo, RunResult

T_975_1 = 12.706204736174694  # Student t 97.5% quantile, 1 degree of freedom
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
    assert report_json["runs"] == {"planned": 6, "finished": 4, "failed": 1, "missing": 1}


@pytest.mark.parametrize(
    ("arm", "expected"),
    [
        (
            0,
            {
                "arm": "none | ce", "seeds_planned": 2, "seeds_finished": 2, "seeds_failed": 0, "seeds_missing": 0, "failures": [],
                "miou_mean": 0.52, "miou_std": math.sqrt(2) * 0.02, "per_image_miou_mean": 0.46, "pixel_accuracy_mean": 0.82,
                "delta": None, "verdict": "baseline", "train_seconds_mean": 11.0, "images_per_second_mean": 100.0,
                "data_ms_per_step_mean": 2.0, "model_ms_per_step_mean": 8.0, "peak_memory_bytes": 2 * GIB,
                "per_class_iou": [0.81, 0.42, 0.33], "per_class_delta": [0.0, 0.0, 0.0], "largest_gain_class": None, "largest_loss_class": None,
            },
        ),
        (
            1,
            {
                "arm": "hflip | ce", "seeds_planned": 2, "seeds_finished": 2, "seeds_failed": 0, "seeds_missing": 0, "failures": [],
                "miou_mean": 0.59, "miou_std": math.sqrt(2) * 0.03, "per_image_miou_mean": 0.53, "pixel_accuracy_mean": 0.8,
                # Δ per seed 0.06 and 0.08: mean 0.07, std 0.01·√2, half-width t·0.01.
                "delta": {"estimate": 0.07, "low": 0.07 - T_975_1 * 0.01, "high": 0.07 + T_975_1 * 0.01, "method": "paired t over 2 seeds", "n": 2},
                "verdict": "within noise", "train_seconds_mean": 10.0, "images_per_second_mean": 100.0,
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
                "delta": None, "verdict": None, "train_seconds_mean": None, "images_per_second_mean": None,
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
    assert report_json["notes"] == ["failed: grid | ce seed 0: NaN loss at epoch 2, step 5", "missing: grid | ce seed 1 (not run, or interrupted)"]
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
    assert (row["miou_mean"], row["miou_std"], row["verdict"]) == (0.75, None, "better")
    assert row["delta"] == {"estimate": 0.25, "low": 0.25, "high": 0.25, "method": "paired bootstrap over 4 val images (1 seed)", "n": 4}
    markdown = render_report(report, "md")
    assert "| hflip | ce | 1/1 | 0.7500 ± — | — | — | +0.2500 [+0.2500, +0.2500] | better |" in markdown
    assert "95% CI by paired bootstrap over 4 val images (1 seed)." in markdown


def test_factorial_effects_with_intervals() -> None:
    focal, both = ArmInfo("none | focal", "none", "focal"), ArmInfo("hflip | focal", "hflip", "focal")
    mious = [(BASELINE, 0.50, 0.54), (focal, 0.52, 0.57), (HFLIP, 0.56, 0.62), (both, 0.60, 0.65)]
    runs = [finished(arm, seed, values[seed], [values[seed]] * 3) for arm, *values in mious for seed in (0, 1)]
    effects = json.loads(render_report(build_report(ablation([BASELINE, focal, HFLIP, both], [0, 1]), runs), "json"))["effects"]
    # Per seed: hflip ((0.56−0.50)+(0.60−0.52))/2 = 0.07 and 0.08; focal 0.03 and 0.03;
    # interaction 0.60−0.56−0.52+0.50 = 0.02 and 0.65−0.62−0.57+0.54 = 0.
    expected = [
        ("augmentation", "hflip", 0.075, T_975_1 * 0.005, "better"),
        ("loss", "focal", 0.03, 0.0, "better"),
        ("interaction", "hflip × focal", 0.01, T_975_1 * 0.01, "within noise"),
    ]
    assert len(effects) == len(expected)
    for effect, (kind, level, estimate, half_width, verdict) in zip(effects, expected):
        interval = effect["interval"]
        assert (effect["kind"], effect["level"], effect["verdict"], interval["method"]) == (kind, level, verdict, "paired t over 2 seeds")
        assert (interval["estimate"], interval["low"], interval["high"]) == pytest.approx((estimate, estimate - half_width, estimate + half_width), abs=1e-12)
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
        "- recipe: DeepLabV3+ resnet18 (weights none), 4 epochs, 128px, batch 8, lr 0.001, preset demo, device cpu",
        "- runs: 4 finished, 1 failed, 1 missing of 6 planned",
        "| # | augmentation | loss | seeds | mIoU ± std | img mIoU | pixel acc | Δ mIoU [CI] | verdict |",
        "| #0 | none | ce | 2/2 | 0.5200 ± 0.0283 | 0.4600 | 0.8200 | — | baseline |",
        "| #1 | hflip | ce | 2/2 | 0.5900 ± 0.0424 | 0.5300 | 0.8000 | +0.0700 [-0.0571, +0.1971] | within noise |",
        "| #2 | grid | ce | 0/2 (1 failed) | failed | — | — | — | — |",
        "*Δ mIoU: arm − baseline (none | ce). 95% CI by paired t over 2 seeds. seeds: finished/planned. img mIoU: mean of per-image mIoU.*",
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
        "miou_mean", "miou_std", "per_image_miou_mean", "pixel_accuracy_mean", "verdict",
        "train_seconds_mean", "images_per_second_mean", "data_ms_per_step_mean", "model_ms_per_step_mean", "peak_memory_bytes",
        "largest_gain_class", "largest_loss_class",
        "delta_estimate", "delta_low", "delta_high", "delta_method", "delta_n",
        "iou_background", "iou_cat", "iou_dog",
    ]
    assert [row["arm"] for row in rows] == ["none | ce", "hflip | ce", "grid | ce"]
    hflip, grid = rows[1], rows[2]
    assert [float(hflip[key]) for key in ("miou_mean", "delta_estimate", "delta_low", "iou_background", "iou_dog")] == pytest.approx([0.59, 0.07, 0.07 - T_975_1 * 0.01, 0.79, 0.42])
    assert (hflip["verdict"], hflip["delta_method"], hflip["largest_gain_class"], hflip["peak_memory_bytes"]) == ("within noise", "paired t over 2 seeds", "cat", "")
    assert (grid["seeds_failed"], grid["miou_mean"], grid["delta_estimate"], grid["iou_cat"]) == ("1", "", "", "")


def test_print_report_quiet_prints_plain_lines() -> None:
    console = Console(record=True, width=200)
    print_report(build_report(ablation([BASELINE, HFLIP, GRID], [0, 1]), two_seed_runs()), console, quiet=True)
    lines = console.export_text().splitlines()
    for line in [
        "ablation tiny",
        "runs: 4 finished, 1 failed, 1 missing of 6 planned",
        "Arms:",
        "  #0 none | ce: seeds 2/2; mIoU ± std 0.5200 ± 0.0283; img mIoU 0.4600; pixel acc 0.8200; Δ mIoU [CI] —; verdict baseline",
        "  #1 hflip | ce: seeds 2/2; mIoU ± std 0.5900 ± 0.0424; img mIoU 0.5300; pixel acc 0.8000; Δ mIoU [CI] +0.0700 [-0.0571, +0.1971]; verdict within noise",
        "  #2 grid | ce: seeds 0/2 (1 failed); mIoU ± std failed; img mIoU —; pixel acc —; Δ mIoU [CI] —; verdict —",
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
    assert paths == [tmp_path / name for name in ("report.md", "report.csv", "report.json", "report.png")]
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
