"""`augmentlab bench augment`: cases, timing, equivalents, the table, --json and bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from kornia.constants import DataKey
from typer.testing import CliRunner

from augmentlab.cli.app import app
from augmentlab.diagnostics import bench_augment as bench
from augmentlab.diagnostics import equivalents as stock
from augmentlab.diagnostics.bench_augment import (
    BenchCase,
    BenchRow,
    bench_cases,
    builtin_augmentation_names,
    implementation_call,
    make_bench_inputs,
    measure_case,
    median_seconds,
)
from augmentlab.errors import AugmentlabError
from augmentlab.registry.spec import AugmentationTerm

pytestmark = pytest.mark.usefixtures("example_plugin")  # solarize and poly, installed or not

runner = CliRunner()
TABLE_COLUMNS = ("augmentation", "kind", "ours", "kornia", "albumentations", "ours ÷ kornia", "ours ÷ albumentations")
ROW_KEYS = {"name", "kind", "ours", "kornia", "albumentations", "ours_vs_kornia", "ours_vs_albumentations"}


def run_cli(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "240"})


class RecordingKornia(torch.nn.Module):
    """Stands in for a stock kornia augmentation: records what it is called with."""

    def __init__(self, with_mask: bool = False) -> None:
        super().__init__()
        self.p = 1.0
        self.data_keys = [DataKey.INPUT, DataKey.MASK] if with_mask else [DataKey.INPUT]
        self.calls: list[tuple[torch.Tensor, ...]] = []

    def forward(self, *inputs: torch.Tensor):
        self.calls.append(inputs)
        return inputs if len(inputs) > 1 else inputs[0]


class RecordingAlbumentations:
    """Stands in for an albumentations transform: records each image and mask."""

    def __init__(self) -> None:
        self.p = 1.0
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []

    def __call__(self, *, image: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        self.calls.append((image, mask))
        return {"image": image, "mask": mask}


@pytest.fixture
def fake_equivalents(monkeypatch):
    """solarize (from the example plugin, with no real equivalents) gets recording ones."""
    made: dict[str, list] = {"kornia": [], "albumentations": []}

    def kornia_factory():
        made["kornia"].append(RecordingKornia())
        return made["kornia"][-1]

    def albumentations_factory():
        made["albumentations"].append(RecordingAlbumentations())
        return made["albumentations"][-1]

    monkeypatch.setitem(stock.KORNIA_EQUIVALENTS, "solarize", kornia_factory)
    monkeypatch.setitem(stock.ALBUMENTATIONS_EQUIVALENTS, "solarize", albumentations_factory)
    return made


def test_default_cases_are_the_builtins_each_at_p_1_without_a_set_row():
    cases = bench_cases(None)
    names = builtin_augmentation_names()
    assert {"hflip", "vflip"} <= set(names) and "solarize" not in names  # solarize comes from the example plugin
    assert [case.label for case in cases] == names
    assert all(case.terms == (AugmentationTerm(case.label, (("p", 1.0),)),) for case in cases if case.label in ("hflip", "vflip"))


@pytest.mark.parametrize(
    ("spec", "labels", "kinds", "probabilities"),
    [
        ("hflip", ["hflip"], ["geometric"], [[1.0]]),
        ("hflip,solarize(p=0.3)", ["hflip", "solarize(p=0.3)", "hflip,solarize(p=0.3)"], ["geometric", "photometric", "set"], [[1.0], [0.3], [1.0, 0.3]]),
    ],
)
def test_given_cases_keep_their_p_and_add_the_whole_set(spec, labels, kinds, probabilities):
    cases = bench_cases(spec)
    assert [case.label for case in cases] == labels
    assert [case.kind for case in cases] == kinds
    assert [[term.kwargs["p"] for term in case.terms] for case in cases] == probabilities


def test_nothing_to_measure_is_an_error():
    with pytest.raises(AugmentlabError, match="^aug none: there is nothing to measure; name the augmentations to time, e.g. aug hflip,vflip$"):
        bench_cases("none")


@pytest.mark.parametrize(
    ("row", "versus_kornia", "versus_albumentations"),
    [
        (BenchRow("a", "geometric", 300.0, 100.0, 600.0), 3.0, 0.5),
        (BenchRow("b", "mix", 50.0, None, 25.0), None, 2.0),
        (BenchRow("c", "set", 10.0, 40.0, None), 0.25, None),
    ],
)
def test_ratios_are_ours_over_theirs(row, versus_kornia, versus_albumentations):
    assert row.ours_vs_kornia == versus_kornia
    assert row.ours_vs_albumentations == versus_albumentations
    assert row.as_json()["ours_vs_kornia"] == versus_kornia and set(row.as_json()) == ROW_KEYS


def test_median_seconds_times_only_the_repeats(monkeypatch):
    clock = iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])  # three timed calls of 3 s, 1 s and 2 s
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(clock))
    calls = []
    assert median_seconds(lambda: calls.append(1), repeats=3, warmup=2) == 2.0
    assert len(calls) == 5


def test_bench_inputs_match_in_every_form(device):
    inputs = make_bench_inputs(3, 40, device)
    again = make_bench_inputs(3, 40, device)
    assert inputs.images.shape == (3, 3, 40, 40) and inputs.images.dtype == torch.float32 and inputs.images.device.type == device.type
    assert inputs.masks.shape == (3, 40, 40) and inputs.masks.dtype == torch.int64
    assert torch.equal(inputs.images, again.images) and torch.equal(inputs.masks, again.masks)
    assert set(inputs.masks.unique().tolist()) <= set(range(bench.MASK_CLASSES))
    image, mask = inputs.arrays[1]
    assert image.dtype == np.uint8 and image.shape == (40, 40, 3) and mask.dtype == np.uint8
    assert np.array_equal(image, (inputs.images[1].cpu() * 255).round().byte().permute(1, 2, 0).numpy())
    assert np.array_equal(mask, inputs.masks[1].cpu().numpy())


def test_ours_runs_the_terms_on_the_batch(device):
    inputs = make_bench_inputs(2, 32, device)
    call = implementation_call("ours", (AugmentationTerm("hflip", (("p", 1.0),)),), inputs)
    assert call is not None
    call()


def test_no_equivalent_gives_no_call():
    inputs = make_bench_inputs(2, 32, torch.device("cpu"))
    terms = (AugmentationTerm("solarize", (("p", 1.0),)),)
    assert implementation_call("kornia", terms, inputs) is None
    assert implementation_call("albumentations", terms, inputs) is None
    with pytest.raises(ValueError, match="implementation must be one of ours, kornia, albumentations, got 'opencv'"):
        implementation_call("opencv", terms, inputs)


def test_equivalents_get_our_probability_and_the_whole_batch(fake_equivalents, device):
    inputs = make_bench_inputs(3, 32, device)
    terms = (AugmentationTerm("solarize", (("p", 0.25),)),)
    implementation_call("kornia", terms, inputs)()
    implementation_call("albumentations", terms, inputs)()
    kornia_transform = fake_equivalents["kornia"][0]
    assert kornia_transform.p == 0.25
    assert len(kornia_transform.calls) == 1 and kornia_transform.calls[0][0] is inputs.images
    albumentations_transform = fake_equivalents["albumentations"][0]
    assert albumentations_transform.p == 0.25
    assert [image for image, _ in albumentations_transform.calls] == [image for image, _ in inputs.arrays]


def test_a_kornia_transform_that_needs_the_mask_gets_it(monkeypatch, device):
    transform = RecordingKornia(with_mask=True)
    monkeypatch.setitem(stock.KORNIA_EQUIVALENTS, "solarize", lambda: transform)
    inputs = make_bench_inputs(2, 32, device)
    implementation_call("kornia", (AugmentationTerm("solarize"),), inputs)()
    assert len(transform.calls[0]) == 2 and transform.calls[0][1] is inputs.masks


def test_a_set_needs_an_equivalent_for_every_term(fake_equivalents):
    inputs = make_bench_inputs(2, 32, torch.device("cpu"))
    assert implementation_call("kornia", (AugmentationTerm("solarize"), AugmentationTerm("no_such_transform")), inputs) is None
    assert implementation_call("kornia", (AugmentationTerm("solarize"),), inputs) is not None


def test_measure_case_fills_each_implementation(fake_equivalents):
    inputs = make_bench_inputs(2, 32, torch.device("cpu"))
    row = measure_case(bench_cases("solarize")[0], inputs, repeats=1, warmup=0)
    assert row.label == "solarize" and row.kind == "photometric"
    assert row.ours > 0 and row.kornia > 0 and row.albumentations > 0
    assert len(fake_equivalents["kornia"][0].calls) == 1 and len(fake_equivalents["albumentations"][0].calls) == 2


def test_a_failing_equivalent_is_a_warning_and_left_out(monkeypatch, caplog):
    def broken():
        raise TypeError("unexpected keyword 'sigma_limit'")

    monkeypatch.setitem(stock.KORNIA_EQUIVALENTS, "solarize", broken)
    inputs = make_bench_inputs(2, 32, torch.device("cpu"))
    with caplog.at_level(logging.WARNING, logger="augmentlab.diagnostics.bench_augment"):
        row = measure_case(BenchCase("solarize", "photometric", (AugmentationTerm("solarize"),)), inputs, repeats=1, warmup=0)
    assert row.kornia is None and row.ours > 0
    assert "kornia's equivalent of 'solarize' failed and is left out: TypeError: unexpected keyword 'sigma_limit'" in caplog.text


@pytest.mark.parametrize(
    ("name", "expected"),
    [("cpu", "cpu"), ("auto", "cuda" if torch.cuda.is_available() else "cpu")],
)
def test_device_names(name, expected):
    assert bench.resolve_bench_device(name).type == expected


def test_cli_prints_a_row_per_builtin_and_writes_json(tmp_path: Path):
    out = tmp_path / "bench.json"
    result = run_cli("bench", "augment", "--device", "cpu", "--size", "64", "--batch", "2", "--repeats", "1", "--json", str(out))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Images per second at 64×64, batch 2, on cpu (")
    header = next(line for line in lines if "augmentation" in line)
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == list(TABLE_COLUMNS)
    names = builtin_augmentation_names()
    table_names = [line.strip("│").split("│")[0].strip() for line in lines if line.startswith("│")]
    assert table_names == names

    document = json.loads(out.read_text())
    assert document["settings"] == {"aug": None, "size": 64, "batch": 2, "repeats": 1}
    assert document["environment"]["device"] == "cpu"
    assert set(document["environment"]["versions"]) == {"augmentlab", "torch", "kornia", "albumentations"}
    assert [row["name"] for row in document["rows"]] == names
    for row in document["rows"]:
        assert set(row) == ROW_KEYS and row["ours"] > 0
        if row["kornia"] is not None:
            assert row["ours_vs_kornia"] == pytest.approx(row["ours"] / row["kornia"])


def test_cli_given_set_has_a_pipeline_row(tmp_path: Path):
    out = tmp_path / "bench.json"
    result = run_cli("bench", "augment", "--aug", "hflip,solarize", "--device", "cpu", "--size", "32", "--batch", "2", "--repeats", "1", "--json", str(out))
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["rows"]
    assert [(row["name"], row["kind"]) for row in rows] == [("hflip", "geometric"), ("solarize", "photometric"), ("hflip,solarize", "set")]
    assert rows[1]["kornia"] is None and rows[1]["albumentations"] is None and rows[1]["ours_vs_kornia"] is None
    assert "│ hflip,solarize │ set" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "tpu"], "error: --device 'tpu' is not a device the bench knows; use auto, cpu, cuda"),
        (["--aug", "hflp"], "error: --aug in spec 'hflp' (at column 1): unknown augmentation 'hflp' — did you mean 'hflip'"),
        (["--aug", "none"], "error: --aug none: there is nothing to measure"),
        (["--batch", "0"], "error: Invalid value for '--batch': "),
        (["--json", "."], "error: --json . is a folder; give a file path"),
        (["--aug", "hflip(p=2)"], "error: --aug in spec 'hflip(p=2)' (at column 1): hflip(p=2): p must be a number in [0, 1], got 2\n"),
        (["--size", "8000", "--batch", "100000"], "error: --batch 100000 at --size 8000 does not fit in cpu memory (the batch alone is 119209.3 GiB); lower --batch or --size\n"),
        (["--size", "9000"], "error: Invalid value for '--size': Input should be less than or equal to 8192"),
        (["--json", "missing/bench.json"], "error: --json missing/bench.json: the folder missing does not exist"),
        # A parameter the bench's images do not fit is a bad --aug, not a traceback.
        (
            ["--aug", "hflip,grid_dropout(unit_size_range=[2,40])"],
            "error: --aug grid_dropout(unit_size_range=[2, 40]): unit_size_range [2, 40] must not exceed the image's shorter side 32, "
            "on the bench's 32×32 images (--size)\n",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = run_cli("bench", "augment", "--size", "32", "--batch", "2", "--repeats", "1", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is visible")
def test_cuda_without_a_gpu_is_exit_2():
    result = run_cli("bench", "augment", "--device", "cuda")
    assert result.exit_code == 2
    assert result.stderr == "error: --device is cuda, but no CUDA device is visible; use cpu\n"


def test_cli_runs_on_the_test_device(device, tmp_path: Path):
    out = tmp_path / "bench.json"
    result = run_cli("bench", "augment", "--aug", "hflip,vflip", "--device", device.type, "--size", "32", "--batch", "2", "--repeats", "2", "--json", str(out))
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["environment"]["device"] == device.type
    assert [row["name"] for row in document["rows"]] == ["hflip", "vflip", "hflip,vflip"]
