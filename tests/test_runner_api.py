"""run_ablation and plan_ablation from Python: the same ablation as the command line, as a Report of plain values."""

from __future__ import annotations

import json

import pytest
from runner_fixtures import BATCH_SIZE, IMAGE_SIZE, tiny_demo

import augmentlab
import augmentlab.report
from augmentlab.errors import AugmentlabError
from augmentlab.runner import AblationListener, plan_ablation
from augmentlab.runner.ablation import PYTHON_COMMAND


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return tiny_demo(tmp_path_factory.mktemp("tiny-demo"))


class Recording(AblationListener):
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def notice(self, line):
        self.events.append(("notice", line))

    def planned(self, plan, folder):
        self.events.append(("planned", len(plan.runs), folder.name))

    def runs_started(self, total):
        self.events.append(("runs_started", total))

    def run_done(self, result):
        self.events.append(("run_done", result.arm, result.status))

    def runs_ended(self, first_run_at, trained, wall, workers):
        self.events.append(("runs_ended", len(trained), workers))


@pytest.fixture(scope="module")
def finished(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    config = augmentlab.AblationConfig(
        aug=["hflip"], seeds=1, epochs=1, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, device="cpu", out=out,
        data=demo.train_json, val=demo.val_json, images=demo.images,
    )
    listener = Recording()
    report = augmentlab.run_ablation(config, progress=listener)
    return config, report, listener


def test_the_report_gives_each_arm_its_miou_delta_interval_and_verdict(finished):
    _, report, _ = finished
    assert [arm.arm for arm in report.arms] == ["none | ce", "hflip | ce"]
    baseline, hflip = report.arms
    assert baseline.verdict == "baseline" and baseline.delta is None
    assert 0 <= hflip.miou_mean <= 1
    assert hflip.delta.low <= hflip.delta.estimate <= hflip.delta.high
    assert hflip.delta.estimate == pytest.approx(hflip.miou_mean - baseline.miou_mean)
    assert hflip.delta.method == "paired bootstrap over 8 val images (1 seed)"
    assert hflip.verdict in ("val-only +", "val-only −", "val-only ±")  # one seed: validation noise only, never "better"
    assert report.arm("hflip | ce") is hflip and report.arm(1) is hflip
    assert list(report.class_iou(1)) == report.class_names and list(report.class_iou(1).values()) == hflip.per_class_iou


def test_it_writes_the_same_folder_the_command_line_does(finished):
    config, report, _ = finished
    folder = config.out / report.name
    assert sorted(path.name for path in folder.iterdir() if not path.name.startswith("results.sqlite")) == [
        ".lock", "command.txt", "config.toml", "report.csv", "report.html", "report.json", "report.md", "report.png",
    ]
    assert json.loads((folder / "report.json").read_text())["arms"][1]["verdict"] == report.arms[1].verdict
    assert (folder / "command.txt").read_text().endswith(f"  {PYTHON_COMMAND}\n")


def test_the_listener_hears_the_plan_each_run_and_the_end(finished):
    _, report, listener = finished
    kinds = [event[0] for event in listener.events]
    assert kinds == ["notice", "notice", "notice", "notice", "planned", "runs_started", "run_done", "run_done", "runs_ended"]
    assert listener.events[2:4] == [("notice", "train split: 16 images decode to 64 KiB: decoded once into host memory, the CPU's own"),
                                    ("notice", "val split: 8 images decode to 32 KiB: decoded once into host memory, the CPU's own")]
    assert listener.events[4] == ("planned", 2, report.name)
    assert listener.events[6:] == [("run_done", "none | ce", "finished"), ("run_done", "hflip | ce", "finished"), ("runs_ended", 2, 1)]


def test_running_the_same_config_again_trains_nothing_and_reports_the_same(finished):
    config, report, _ = finished
    listener = Recording()
    again = augmentlab.run_ablation(config, progress=listener)
    assert again == report
    assert ("notice", f"resuming {config.out / report.name}: 2 of 2 runs already finished, 0 to run") in listener.events
    assert "runs_started" not in [event[0] for event in listener.events]


def test_plan_ablation_checks_and_loads_but_trains_and_writes_nothing(demo, tmp_path):
    config = augmentlab.AblationConfig(aug=["hflip,vflip"], each=True, seeds=2, device="cpu", out=tmp_path / "out",
                                       data=demo.train_json, val=demo.val_json, images=demo.images, batch_size=BATCH_SIZE)
    prepared = plan_ablation(config)
    assert [arm.name for arm in prepared.plan.arms] == ["none | ce", "hflip | ce", "vflip | ce", "hflip,vflip | ce"]
    assert (len(prepared.plan.runs), len(prepared.train), len(prepared.val)) == (8, 16, 8)
    assert not (tmp_path / "out").exists()


def test_a_bad_setting_stops_before_anything_is_written(tmp_path):
    with pytest.raises(AugmentlabError, match=r"^epochs must be a whole number ≥ 1, got 0$"):
        augmentlab.run_ablation(augmentlab.AblationConfig(epochs=0, device="cpu", out=tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_read_report_gives_the_report_run_ablation_returned(finished):
    config, report, _ = finished
    assert augmentlab.report.read_report(config.out / report.name) == report
