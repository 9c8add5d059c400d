"""The TensorBoard sink: real event files, read back with TensorBoard's own event reader."""

from __future__ import annotations

import dataclasses
import json

import pytest
from runner_fixtures import ablate_args, invoke, tiny_config, tiny_demo

import augmentlab
from augmentlab.results.store import ResultStore
from augmentlab.tracking.base import AblationStart

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import metadata, plugin_data_pb2  # noqa: E402

from augmentlab.tracking.tensorboard import MARKER, TensorBoardSink, run_folder_name  # noqa: E402

RUNS = ["00-none-ce-seed0", "01-hflip-ce-seed0"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return tiny_demo(tmp_path_factory.mktemp("tiny-demo"))


@pytest.fixture(scope="module")
def tracked(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    report = augmentlab.run_ablation(tiny_config(demo, out, epochs=2, track=["tensorboard"]))
    folder = out / report.name
    with ResultStore.open_existing(folder) as store:
        results = {result.key: result for result in store.results()}
    return folder, report, results


def events(folder) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    accumulator.Reload()
    return accumulator


def hparams_of(accumulator: EventAccumulator) -> dict:
    content = accumulator.PluginTagToContent("hparams")[metadata.SESSION_START_INFO_TAG]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {key: value.string_value if value.HasField("string_value") else value.number_value for key, value in start.hparams.items()}


def test_each_run_has_its_own_directory_of_events(tracked):
    folder, _, _ = tracked
    assert sorted(path.name for path in (folder / "tensorboard").iterdir()) == RUNS
    for run in RUNS:
        assert len(list((folder / "tensorboard" / run).glob("events.out.tfevents.*"))) == 1


def test_scalars_per_epoch_are_the_stored_history(tracked):
    folder, report, results = tracked
    stored = results[("hflip | ce", 0)]
    accumulator = events(folder / "tensorboard" / RUNS[1])
    scalars = {tag: [(event.step, event.value) for event in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}
    for tag, field in [("val/miou", "val_miou"), ("train/loss", "train_loss"), ("val/pixel_accuracy", "val_pixel_accuracy"),
                       ("speed/images_per_second", "images_per_second")]:
        assert scalars[tag] == [(epoch.epoch + 1, pytest.approx(getattr(epoch, field), rel=1e-6)) for epoch in stored.history]
    assert scalars["train/loss/ce"] == [(epoch.epoch + 1, pytest.approx(epoch.loss_terms["ce"], rel=1e-6)) for epoch in stored.history]
    assert scalars["final/miou"] == [(2, pytest.approx(stored.miou, rel=1e-6))]
    assert {tag.removeprefix("per_class_iou/") for tag in scalars if tag.startswith("per_class_iou/")} == {
        name for name, iou in zip(report.class_names, stored.per_class_iou) if iou is not None
    }


def test_each_run_is_an_hparams_session_with_its_arm_and_seed(tracked):
    folder, _, _ = tracked
    assert hparams_of(events(folder / "tensorboard" / RUNS[0])) == {"arm": "none | ce", "arm_index": 0.0, "aug": "none", "loss": "ce", "seed": 0.0}
    assert hparams_of(events(folder / "tensorboard" / RUNS[1])) == {"arm": "hflip | ce", "arm_index": 1.0, "aug": "hflip", "loss": "ce", "seed": 0.0}
    # no experiment summary: TensorBoard builds one table from every session under its --logdir
    assert metadata.EXPERIMENT_TAG not in events(folder / "tensorboard" / RUNS[0]).PluginTagToContent("hparams")


def test_running_it_again_writes_no_event_twice(tracked, demo):
    folder, _, _ = tracked
    before = sorted(path.name for path in (folder / "tensorboard").rglob("events.out.tfevents.*"))
    augmentlab.run_ablation(tiny_config(demo, folder.parent, epochs=2, track=["tensorboard"]))
    assert sorted(path.name for path in (folder / "tensorboard").rglob("events.out.tfevents.*")) == before


def test_a_shared_logdir_gets_a_folder_per_ablation(demo, tmp_path):
    result = invoke(*ablate_args(demo, tmp_path / "runs", aug="vflip", loss="dice"), "--track", "tensorboard", "--track-opt", f"tensorboard.logdir={tmp_path / 'tb'}")
    assert result.exit_code == 0, result.output
    (ablation,) = (tmp_path / "tb").iterdir()
    assert f"tracking with tensorboard: events in {ablation} (to look: tensorboard --logdir {ablation})\n" in result.output
    assert (tmp_path / "runs" / ablation.name).is_dir()
    assert sorted(path.name for path in ablation.iterdir()) == ["00-none-ce-seed0", "01-none-dice-seed0", "02-vflip-ce-seed0", "03-vflip-dice-seed0"]


def test_a_failed_run_has_curves_but_no_session_and_is_replaced_when_it_finishes(tracked, tmp_path):
    folder, _, results = tracked
    finished = results[("hflip | ce", 0)]
    failed = dataclasses.replace(finished, status="failed", error="NaN loss", miou=None, per_class_iou=[], history=finished.history[:1])
    with ResultStore.open_existing(folder) as store:
        start = AblationStart(store.info(), folder, "x@y")
    sink = TensorBoardSink(logdir=str(tmp_path))
    sink.ablation_started(start)
    sink.run_ended(failed)
    run = tmp_path / folder.name / RUNS[1]
    accumulator = events(run)
    assert [event.step for event in accumulator.Scalars("val/miou")] == [1] and "final/miou" not in accumulator.Tags()["scalars"]
    with pytest.raises(KeyError):  # no HParams session at all
        accumulator.PluginTagToContent("hparams")
    assert json.loads((run / MARKER).read_text()) == {"arm": "hflip | ce", "seed": 0, "status": "failed"}
    sink.run_ended(finished)
    accumulator = events(run)
    assert [event.step for event in accumulator.Scalars("val/miou")] == [1, 2] and len(list(run.glob("events.out.tfevents.*"))) == 1
    assert hparams_of(accumulator)["arm"] == "hflip | ce"


@pytest.mark.parametrize(
    "index, arm, seed, name",
    [(0, "none | ce", 0, "00-none-ce-seed0"), (3, "elastic,grid | ce0.8+focal0.2", 2, "03-elastic-grid-ce0.8+focal0.2-seed2"),
     (12, "hflip(p=0.3) | focal(gamma=3)", 1, "12-hflip-p=0.3-focal-gamma=3-seed1")],
)
def test_run_folder_names_read_as_the_arm(index, arm, seed, name):
    assert run_folder_name(index, arm, seed) == name
