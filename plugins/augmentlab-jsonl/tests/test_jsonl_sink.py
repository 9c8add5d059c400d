"""The jsonl sink through augmentlab itself: discovered by its entry point, told by a real ablation, read back line by line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import augmentlab
from augmentlab.cli.app import app
from augmentlab.data.demo.generator import generate_demo_dataset
from augmentlab.errors import FieldError

# Imported here, not with the others, so that without the distribution the module skips (see conftest.py) rather than failing to collect.
sink = pytest.importorskip("augmentlab_jsonl.sink", reason="augmentlab-jsonl is not installed: pip install -e plugins/augmentlab-jsonl")
FILE_NAME, read_lines = sink.FILE_NAME, sink.read_lines

TINY = ["--seeds", "1", "--epochs", "1", "--image-size", "32", "--batch-size", "4", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate_demo_dataset(tmp_path_factory.mktemp("demo"), train_images=16, val_images=8, size=(64, 64))


def ablate(demo, out, *options):
    data = ["--data", str(demo.train_json), "--val", str(demo.val_json), "--images", str(demo.images)]
    result = CliRunner().invoke(app, ["ablate", "--aug", "hflip", *TINY, "--out", str(out), *data, *options])
    assert result.exit_code == 0, result.output
    (folder,) = [path for path in out.iterdir() if path.is_dir()]
    return folder


def test_the_sink_is_found_through_its_entry_point():
    info = augmentlab.available_sinks()["jsonl"]
    assert (info.provider, dict(info.defaults)) == ("jsonl", {"path": "", "history": True})


def test_an_ablation_is_one_line_for_itself_one_per_run_and_one_for_its_report(demo, tmp_path):
    folder = ablate(demo, tmp_path, "--track", "jsonl")
    lines = list(read_lines(folder / FILE_NAME))
    assert [(line["event"], line.get("arm"), line.get("seed")) for line in lines] == [
        ("ablation", None, None), ("run", "none | ce", 0), ("run", "hflip | ce", 0), ("report", None, None),
    ]
    assert len({line["ablation_id"] for line in lines}) == 1 and lines[0]["ablation_id"].startswith(folder.name + "@")
    assert lines[0]["arms"] == ["none | ce", "hflip | ce"] and lines[0]["recipe"]["epochs"] == 1
    run = lines[2]
    assert run["status"] == "finished" and len(run["history"]) == 1 and "image_intersections" not in run
    report = json.loads((folder / "report.json").read_text())
    assert [arm["verdict"] for arm in lines[3]["arms"]] == [arm["verdict"] for arm in report["arms"]]
    assert lines[3]["arms"][1]["delta"]["estimate"] == report["arms"][1]["delta"]["estimate"]


def test_a_resumed_ablation_writes_only_what_the_file_lacks(demo, tmp_path):
    folder = ablate(demo, tmp_path, "--track", "jsonl")
    path = folder / FILE_NAME
    with open(path, "a", encoding="utf-8") as file:
        file.write('{"event": "run", "arm": "cut sh')  # a kill in the middle of a line
    ablate(demo, tmp_path, "--track", "jsonl")
    events = [line["event"] for line in read_lines(path)]
    assert events == ["ablation", "run", "run", "report", "report"]  # a new report each time it is built, no run twice


def test_options_come_from_the_command_line(demo, tmp_path):
    target = tmp_path / "shared" / "all.jsonl"
    ablate(demo, tmp_path / "runs", "--track", "jsonl", "--track-opt", f"jsonl.path={target}", "--track-opt", "jsonl.history=false")
    runs = [line for line in read_lines(target) if line["event"] == "run"]
    assert len(runs) == 2 and all("history" not in run for run in runs)


def test_a_folder_for_path_is_refused_before_any_work():
    with pytest.raises(FieldError) as error:
        augmentlab.AblationConfig(track={"jsonl": {"path": "logs/"}}).validate()
    assert str(error.value) == "track sink 'jsonl' (jsonl) refused its options: path must name a file, not a folder: 'logs/'"
