"""`augmentlab ablate` and `augmentlab report` end to end on tiny data: the store, the files, resuming, failures."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from cli_assertions import assert_one_line_error
from PIL import Image
from runner_fixtures import (
    BATCH_SIZE,
    IMAGE_SIZE,
    ablate_args,
    execute_sql,
    install_failing_plugin,
    invoke,
    plan_folder,
    plan_lines,
    report_part,
    rows,
    started_runs,
    tiny_demo,
)

from augmentlab.runner import plan_ablation
from augmentlab.runner.ablation import write_resolved_config
from augmentlab.runner.config import AblationConfig

ARMS = ["none | ce", "none | dice", "hflip | ce", "hflip | dice"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return tiny_demo(tmp_path_factory.mktemp("tiny-demo"))


@pytest.fixture(scope="module")
def ablation(demo, tmp_path_factory):
    """``--aug hflip --loss dice`` trained once; tests that change the folder work on a copy (see ``copied``)."""
    out = tmp_path_factory.mktemp("ablation-out")
    result = invoke(*ablate_args(demo, out))
    assert result.exit_code == 0, result.output
    folder = plan_folder(result.stdout)
    return {"out": out, "folder": folder, "stdout": result.stdout, "report_json": json.loads((folder / "report.json").read_text())}


@pytest.fixture
def copied(ablation, tmp_path) -> dict:
    """A copy of the trained ablation under a new --out, resumable with the same options."""
    out = tmp_path / "out"
    folder = out / ablation["folder"].name
    shutil.copytree(ablation["folder"], folder)
    return {"out": out, "folder": folder}


def test_an_ablation_trains_every_arm_and_writes_its_store_and_files(ablation):
    folder, stdout = ablation["folder"], ablation["stdout"]
    assert folder.parent == ablation["out"] and folder.name.startswith("ablation-")
    assert "4 arms × 1 seed = 4 runs" in stdout
    assert [f"arm {index}: {arm}" + (" (baseline)" if index == 0 else "") for index, arm in enumerate(ARMS)] == [
        line for line in stdout.splitlines() if line.startswith("arm ")
    ]
    assert started_runs(stdout) == [f"run {index}/4 [{arm}] seed 0" for index, arm in enumerate(ARMS, 1)]
    assert re.search(r"^time: \d+\.\d s before the first run; 4 runs trained for \d+\.\d s in \d+\.\d s$", stdout, re.M)
    assert "runs: 4 finished, 0 failed, 0 missing of 4 planned" in stdout
    assert rows(folder, "arm, seed, status, error") == sorted((arm, 0, "finished", None) for arm in ARMS)
    assert sorted(path.name for path in folder.iterdir() if not path.name.startswith("results.sqlite")) == [
        ".lock", "command.txt", "config.toml", "report.csv", "report.html", "report.json", "report.md", "report.png",
    ]
    assert (folder / "report.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert (folder / "report.md").read_text().startswith(f"# ablation {folder.name}\n")
    assert "runs: 4 finished, 0 failed, 0 missing of 4 planned" in (folder / "report.md").read_text()
    stored = dict(rows(folder, "arm, miou"))
    assert {arm["arm"]: arm["miou_mean"] for arm in ablation["report_json"]["arms"]} == stored


def test_command_txt_records_the_invocation(ablation, demo):
    (line,) = (ablation["folder"] / "command.txt").read_text().splitlines()
    stamp, command = line.split("  ", 1)
    assert stamp.endswith("+00:00") and stamp[:4].isdigit()
    assert command == "augmentlab " + " ".join(ablate_args(demo, ablation["out"]))


def test_the_resolved_config_lists_the_recipe_and_the_arms(ablation, demo):
    text = (ablation["folder"] / "config.toml").read_text()
    assert text.startswith(f"# The resolved ablation in {ablation['folder']}; ")
    resolved = tomllib.loads(text)
    assert resolved["name"] == ablation["folder"].name
    assert resolved["data"] == str(demo.train_json)
    assert (resolved["ignore_index"], resolved["strict"]) == (255, False)
    assert "val_split" not in resolved  # the data came with --val
    assert resolved["recipe"] == {
        "epochs": 1, "image_size": 32, "batch_size": 4, "lr": 0.001, "encoder": "resnet18", "encoder_weights": "none",
        "weight_decay": 1e-6, "autocast": "none", "arch": "deeplabv3plus", "schedule": "constant", "warmup_epochs": 0, "eval_size": "native", "resize": "stretch",
        "mirror_pairs": "none",  # resolved for the demo's classes: none of them come in left/right pairs
    }
    assert [(arm["aug"], arm["loss"]) for arm in resolved["arms"]] == [tuple(arm.split(" | ")) for arm in ARMS]


def test_the_resolved_config_plans_the_same_arms_into_the_same_folder(ablation, demo):
    result = invoke("ablate", "--config", str(ablation["folder"] / "config.toml"), "--val", str(demo.val_json), "--images", str(demo.images),
                    "--out", str(ablation["out"]), "--quiet", "--dry-run")
    assert result.exit_code == 0, result.output
    assert plan_lines(result.stdout) == plan_lines(ablation["stdout"])
    assert plan_folder(result.stdout) == ablation["folder"]
    assert "preset: demo (the config file); device: cpu" in result.stdout


def test_the_resolved_config_alone_runs_the_ablation_again(ablation):
    result = invoke("ablate", "--config", str(ablation["folder"] / "config.toml"), "--out", str(ablation["out"]), "--quiet", "--dry-run")
    assert result.exit_code == 0, result.output
    assert plan_folder(result.stdout) == ablation["folder"]


def test_the_resolved_config_keeps_how_the_data_was_read(demo, tmp_path):
    # A held-out split and another ignore label change the data; the config must give them back,
    # or running it again finds "a different data" in the folder.
    first = invoke(
        "ablate", "--data", str(demo.train_json), "--images", str(demo.images), "--val-split", "0.25", "--ignore-index", "254",
        "--seeds", "1", "--epochs", "1", "--image-size", str(IMAGE_SIZE), "--batch-size", str(BATCH_SIZE), "--device", "cpu", "--quiet", "--out", str(tmp_path),
    )
    assert first.exit_code == 0, first.output
    folder = plan_folder(first.stdout)
    text = (folder / "config.toml").read_text()
    assert "val_split = 0.25\nignore_index = 254\nstrict = false\n" in text
    again = invoke("ablate", "--config", str(folder / "config.toml"), "--out", str(tmp_path), "--quiet")
    assert again.exit_code == 0, again.output
    assert f"resuming {folder}: 1 of 1 runs already finished, 0 to run\n" in again.stdout


def write_index_folders(root):
    """A folder dataset (4 train and 2 val images of 32×32 with index masks of classes 0..2) under ``root``."""
    paths = {}
    for split, count in (("train", 4), ("val", 2)):
        images, masks = root / split / "images", root / split / "masks"
        images.mkdir(parents=True)
        masks.mkdir()
        for index in range(count):
            Image.fromarray(np.full((32, 32, 3), 40 * index, dtype=np.uint8)).save(images / f"{index}.png")
            Image.fromarray(np.arange(32 * 32, dtype=np.uint8).reshape(32, 32) % 3).save(masks / f"{index}.png")
        paths[split] = (images, masks)
    (root / "colours.csv").write_text("name,r,g,b\nbackground,0,0,0\nroad,1,1,1\ncar,2,2,2\n")
    return paths


def test_every_data_setting_given_is_written_back_by_the_resolved_config(demo, tmp_path):
    # The same files read with another setting are other data: a setting the resolved config
    # drops makes `--config config.toml` plan another ablation. Every data setting is covered here.
    folders = write_index_folders(tmp_path / "folders")
    (train_images, train_masks), (val_images, val_masks) = folders["train"], folders["val"]
    common = {"aug": ["none"], "seeds": 1, "epochs": 1, "image_size": IMAGE_SIZE, "batch_size": 2, "device": "cpu"}
    configs = [
        AblationConfig(**common, data=demo.train_json, images=demo.images, val=demo.val_json, val_images=demo.images, ignore_index=254, strict=True),
        AblationConfig(**common, data=demo.train_json, images=demo.images, val_split=0.25),
        AblationConfig(**common, data=train_images, masks=train_masks, val=val_images, val_masks=val_masks, mask_colours=tmp_path / "folders" / "colours.csv"),
        AblationConfig(**common, data=train_images, masks=train_masks, val=val_images, val_masks=val_masks, classes=("background", "road", "car")),
    ]
    defaults = AblationConfig()
    covered = set()
    for number, config in enumerate(configs):
        prepared = plan_ablation(config)
        folder = tmp_path / f"resolved-{number}"
        folder.mkdir()
        resolved = AblationConfig.from_toml(write_resolved_config(folder, config, prepared.plan, prepared.request))
        for key, value in {"data": config.data, **config.split_arguments()}.items():
            if value != getattr(defaults, key, None):
                covered.add(key)
            given, written = getattr(config, key), getattr(resolved, key)
            assert written == (given.resolve() if hasattr(given, "resolve") else given), key
    assert covered == {"data", *defaults.split_arguments()}  # a new data setting needs a case above


@pytest.mark.parametrize(
    "settings",
    [
        {"aug": ["hflip,vflip,rot90"], "design": "screen", "foldover": True, "seeds": 1, "margin": 0.01, "correction": "bh", "pooling": "arm"},
        {"aug": ["hflip"], "loss": ["dice"], "seeds": 2, "max_seeds": 4, "margin": 0.02},
    ],
    ids=["screen", "sequential"],
)
def test_the_resolved_config_plans_the_same_folder_and_analysis_from_anywhere(demo, tmp_path, monkeypatch, settings):
    # A screen listed as its runs would be analysed as a factorial; a relative out would land elsewhere from another folder.
    monkeypatch.chdir(tmp_path)
    config = AblationConfig(**settings, epochs=1, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, device="cpu", out=Path("runs"),
                            data=demo.train_json, val=demo.val_json, images=demo.images)
    prepared = plan_ablation(config)
    prepared.folder.mkdir(parents=True)
    resolved = write_resolved_config(prepared.folder, config, prepared.plan, prepared.request).resolve()
    folder = prepared.folder.resolve()
    monkeypatch.chdir(tmp_path.parent)
    again = plan_ablation(AblationConfig.from_toml(resolved))
    assert (again.folder, again.plan.analysis, again.plan.arms) == (folder, prepared.plan.analysis, prepared.plan.arms)


def test_running_the_same_command_again_trains_nothing(demo, copied):
    finished_before = rows(copied["folder"], "arm, seed, started_at, finished_at, miou")
    result = invoke(*ablate_args(demo, copied["out"]))
    assert result.exit_code == 0, result.output
    assert f"resuming {copied['folder']}: 4 of 4 runs already finished, 0 to run\n" in result.stdout
    assert started_runs(result.stdout) == []
    assert rows(copied["folder"], "arm, seed, started_at, finished_at, miou") == finished_before
    assert len((copied["folder"] / "command.txt").read_text().splitlines()) == 2


@pytest.mark.parametrize(
    "how",
    [
        pytest.param("DELETE FROM runs WHERE arm = 'none | dice'", id="row deleted"),
        pytest.param("UPDATE runs SET status = 'running', finished_at = NULL WHERE arm = 'none | dice'", id="interrupted"),
        pytest.param("UPDATE runs SET status = 'failed', error = 'x' WHERE arm = 'none | dice'", id="failed"),
    ],
)
def test_resuming_trains_exactly_the_runs_that_did_not_finish(demo, copied, how):
    others = [row for row in rows(copied["folder"], "arm, started_at, finished_at, miou") if row[0] != "none | dice"]
    (original_miou,) = [miou for arm, miou in rows(copied["folder"], "arm, miou") if arm == "none | dice"]
    execute_sql(copied["folder"], how)
    result = invoke(*ablate_args(demo, copied["out"]))
    assert result.exit_code == 0, result.output
    assert f"resuming {copied['folder']}: 3 of 4 runs already finished, 1 to run\n" in result.stdout
    assert started_runs(result.stdout) == ["run 1/1 [none | dice] seed 0"]
    assert rows(copied["folder"], "arm, seed, status") == sorted((arm, 0, "finished") for arm in ARMS)
    assert [row for row in rows(copied["folder"], "arm, started_at, finished_at, miou") if row[0] != "none | dice"] == others
    # CPU training is deterministic: the retrained run reproduces the number it replaced
    assert [miou for arm, miou in rows(copied["folder"], "arm, miou") if arm == "none | dice"] == [original_miou]


def test_a_nan_loss_arm_is_recorded_failed_the_others_finish_and_the_exit_code_is_1(demo, ablation, tmp_path, install_distribution):
    install_failing_plugin(install_distribution)
    result = invoke(*ablate_args(demo, tmp_path, aug=None, loss="nan_loss"))
    assert result.exit_code == 1, result.output
    folder = plan_folder(result.stdout)
    error = "the loss became nan in epoch 1; lower the learning rate, or check the loss and augmentations"
    assert rows(folder, "arm, seed, status, error") == [("none | ce", 0, "finished", None), ("none | nan_loss", 0, "failed", error)]
    assert f"run 2/2 [none | nan_loss] seed 0: FAILED: {error}" in result.stdout
    assert (
        f"1 run(s) failed (see the notes in {folder / 'report.md'}, and `augmentlab report {folder} --run ARM:SEED` for one run's traceback); "
        "a retry would fail the same way: fix what the notes name (a plugin, the learning rate) before running the same command again"
    ) in result.stdout
    assert "runs: 1 finished, 1 failed, 0 missing of 2 planned" in result.stdout
    assert f"failed: none | nan_loss seed 0: {error}" in (folder / "report.md").read_text()
    # the baseline trained beside the failing arm is the baseline of the four-arm ablation
    assert dict(rows(folder, "arm, miou"))["none | ce"] == dict(rows(ablation["folder"], "arm, miou"))["none | ce"]

    again = invoke(*ablate_args(demo, tmp_path, aug=None, loss="nan_loss"))
    assert again.exit_code == 1, again.output
    assert f"resuming {folder}: 1 of 2 runs already finished, 1 to run\n" in again.stdout
    assert started_runs(again.stdout) == ["run 1/1 [none | nan_loss] seed 0"]


def test_report_run_prints_a_failed_runs_error_and_traceback(demo, tmp_path, install_distribution):
    install_failing_plugin(install_distribution)
    result = invoke(*ablate_args(demo, tmp_path, aug=None, loss="boom"))
    assert result.exit_code == 1, result.output
    folder = plan_folder(result.stdout)
    for selector in ("1:0", "#1:0", "none | boom:0"):
        shown = invoke("report", str(folder), "--run", selector)
        assert shown.exit_code == 0, shown.output
        header, error, blank, *trace = shown.stdout.splitlines()
        assert (header, error, blank) == ("run #1 [none | boom] seed 0: failed", "error: loss 'boom' raised RuntimeError: kaboom", "")
        assert trace[0] == "Traceback (most recent call last):" and trace[-1] == "augmentlab.runner.train.RunFailure: loss 'boom' raised RuntimeError: kaboom"
        assert "RuntimeError: kaboom" in trace
    baseline = invoke("report", str(folder), "--run", "0:0")
    assert baseline.stdout.startswith("run #0 [none | ce] seed 0: finished\nval mIoU 0.")
    # the store keeps the epoch's index; what users read counts epochs from 1, as the progress lines do
    [(best_epoch, miou)] = [row[2:] for row in rows(folder, "arm, seed, best_epoch, miou") if row[:2] == ("none | ce", 0)]
    assert f"val mIoU {miou:.4f} (best epoch {best_epoch + 1}), " in baseline.stdout
    assert f"run 1/2 [none | ce] seed 0: finished, val mIoU {miou:.4f} (best epoch {best_epoch + 1}), " in result.stdout
    for selector, message in [
        ("7:0", "error: --run '7:0': no arm '7'; write ARM:SEED with ARM one of 0 (none | ce), 1 (none | boom)"),
        ("1:x", "error: --run '1:x': the seed 'x' is not a number; write ARM:SEED, e.g. 1:0"),
        ("1:3", f"error: --run '1:3': arm 'none | boom' has no run of seed 3 in {folder.name}; its seeds: 0"),
    ]:
        refused = invoke("report", str(folder), "--run", selector)
        assert_one_line_error(refused)
        assert refused.stderr == message + "\n"
    # A row left 'running' by a process that died (SIGKILL, SIGTERM mid-run) is no run in progress.
    execute_sql(folder, "UPDATE runs SET status = 'running' WHERE arm = 'none | boom'")
    assert invoke("report", str(folder), "--run", "1:0").stdout.startswith(
        "run #1 [none | boom] seed 0: interrupted: the process that trained it ended first; run the ablation again to train it\n"
    )


SIGNAL_PLUGIN = """
    import os
    import signal

    import torch.nn.functional as F
    from torch import nn

    import augmentlab


    def signalling(number):
        class SignalLoss(nn.Module):
            \"\"\"Cross-entropy whose first call sends this process the signal, as Ctrl-C or `timeout` would during training.\"\"\"

            def __init__(self, num_classes, ignore_index=255):
                super().__init__()
                self.ignore_index = ignore_index

            def forward(self, logits, target):
                os.kill(os.getpid(), number)
                return F.cross_entropy(logits.float(), target, ignore_index=self.ignore_index)

        return SignalLoss


    @augmentlab.hookimpl
    def augmentlab_register_losses():
        return [augmentlab.Loss("sigint", signalling(signal.SIGINT)), augmentlab.Loss("sigterm", signalling(signal.SIGTERM))]
"""


@pytest.mark.parametrize(
    ("loss", "exit_code", "closing"),
    [
        ("ctrl_c", 130, "interrupted: 1 finished run is saved in {folder}; resume with: {command}"),
        ("sigint", 130, "interrupted: 1 finished run is saved in {folder}; resume with: {command}"),
        ("sigterm", 143, "stopped by SIGTERM: 1 finished run is saved in {folder}; resume with: {command}"),
    ],
)
def test_an_interrupted_ablation_keeps_what_finished_and_says_how_to_resume(demo, tmp_path, install_distribution, loss, exit_code, closing):
    install_failing_plugin(install_distribution)
    install_distribution("augmentlab-signals", {"signal_plugin": SIGNAL_PLUGIN}, {"signals": "signal_plugin"})
    args = ablate_args(demo, tmp_path, aug=None, loss=loss)
    result = invoke(*args)
    assert result.exit_code == exit_code, result.output
    folder = plan_folder(result.stdout)
    assert rows(folder) == [("none | ce", 0, "finished"), (f"none | {loss}", 0, "running")]
    (seconds,) = [seconds for arm, seconds in rows(folder, "arm, train_seconds") if arm == "none | ce"]
    # the run that finished before the stop counts in the time line, and only that one
    *_, time, last = result.stdout.splitlines()
    assert re.fullmatch(rf"time: \d+\.\d s before the first run; 1 run trained for {seconds:.1f} s in \d+\.\d s", time), time
    assert last == closing.format(folder=folder, command=f"augmentlab {' '.join(args)}")
    assert not (folder / "report.md").exists()


def test_report_reproduces_the_tables_the_ablation_printed(ablation):
    result = invoke("report", str(ablation["folder"]), "--quiet")
    assert result.exit_code == 0, result.output
    assert report_part(result.stdout) == report_part(ablation["stdout"])


def test_report_as_json_has_the_numbers_the_ablation_wrote(ablation):
    result = invoke("report", str(ablation["folder"]), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ablation["report_json"]
    assert json.loads((ablation["folder"] / "report.json").read_text()) == ablation["report_json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "/nonexistent/ablation"), "error: there is no folder /nonexistent/ablation; give the folder `augmentlab ablate` wrote, e.g. runs/ablation-1a2b3c4d5e\n"),
        (("report", "."), "error: . holds no ablation results (no results.sqlite); give the folder `augmentlab ablate` wrote, e.g. runs/ablation-1a2b3c4d5e\n"),
        (("report", "/nonexistent", "--format", "html"), "error: --format 'html' is not one of md, csv, json\n"),
        (("report", "study.toml"), "error: study.toml is a file, not an ablation folder; give the folder `augmentlab ablate` wrote, e.g. runs/ablation-1a2b3c4d5e\n"),
    ],
)
def test_report_of_a_folder_without_results_is_one_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "study.toml").write_text("seeds = 2\n")  # a config file given where its ablation's folder belongs
    result = invoke(*args)
    assert_one_line_error(result)
    assert result.stderr == message


def test_an_encoder_without_dilation_is_refused_before_anything_is_trained_or_written(demo, tmp_path):
    out = tmp_path / "out"
    result = invoke(*ablate_args(demo, out), "--encoder", "xception")
    assert_one_line_error(result, "encoder 'xception' cannot be used by DeepLabV3+: Xception encoder does not support dilated mode",
                          "encoders that work: resnet18, resnet50")
    assert result.stdout == "" and not out.exists()


def test_the_same_command_into_two_folders_gives_identical_results(demo, ablation, tmp_path):
    result = invoke(*ablate_args(demo, tmp_path))
    assert result.exit_code == 0, result.output
    folder = plan_folder(result.stdout)
    assert folder.name == ablation["folder"].name
    columns = "arm, seed, status, best_epoch, miou, pixel_accuracy, per_image_miou, per_class_iou, image_intersections, image_unions"
    assert rows(folder, columns) == rows(ablation["folder"], columns)
    losses = "arm, json_extract(history, '$[0].train_loss'), json_extract(history, '$[0].loss_terms')"
    assert rows(folder, losses) == rows(ablation["folder"], losses)


def test_the_same_data_given_by_a_relative_path_resumes(demo, copied, monkeypatch):
    monkeypatch.chdir(demo.images.parent)
    args = ablate_args(demo, copied["out"])
    relative = [arg.removeprefix(f"{demo.images.parent}/") for arg in args]
    assert relative != args
    result = invoke(*relative)
    assert result.exit_code == 0, result.output
    assert f"resuming {copied['folder']}: 4 of 4 runs already finished, 0 to run" in result.stdout


class _Cycle:
    """An object that refers to itself, so only the garbage collector (not reference counting) frees it."""

    def __init__(self) -> None:
        self.me = self


def test_runs_leave_the_objects_alive_before_them_out_of_collections_but_collect_their_own():
    import gc
    import weakref

    from augmentlab.runner.ablation import startup_objects_frozen

    assert gc.get_freeze_count() == 0
    earlier = _Cycle()
    earlier_ref = weakref.ref(earlier)
    del earlier  # garbage already, but frozen with everything else alive when the block starts
    with startup_objects_frozen():
        assert gc.get_freeze_count() > 0
        during = _Cycle()
        during_ref = weakref.ref(during)
        del during
        gc.collect()
        assert during_ref() is None
        assert earlier_ref() is not None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert earlier_ref() is None


def test_objects_a_caller_froze_stay_frozen_after_the_runs():
    import gc

    from augmentlab.runner.ablation import startup_objects_frozen

    gc.freeze()
    try:
        count = gc.get_freeze_count()
        with startup_objects_frozen():
            assert gc.get_freeze_count() == count
        assert gc.get_freeze_count() == count
    finally:
        gc.unfreeze()


def test_cudnn_benchmark_is_recorded_per_run_and_changing_it_resumes_the_same_ablation(demo, ablation, copied):
    # The demo preset leaves it off; the flag turns it on for the one run left to train, and the
    # runs finished without it still count: it changes how fast a run trains, not what.
    assert {json.loads(config)["cudnn_benchmark"] for (config,) in rows(ablation["folder"], "config")} == {False}
    execute_sql(copied["folder"], "DELETE FROM runs WHERE arm = 'none | dice'")
    result = invoke(*ablate_args(demo, copied["out"]), "--cudnn-benchmark")
    assert result.exit_code == 0, result.output
    assert started_runs(result.stdout) == ["run 1/1 [none | dice] seed 0"]
    assert [(arm, json.loads(config)["cudnn_benchmark"]) for arm, config in rows(copied["folder"], "arm, config")] == [
        ("hflip | ce", False), ("hflip | dice", False), ("none | ce", False), ("none | dice", True),
    ]


@pytest.mark.parametrize(
    ("before", "trained", "wall", "workers", "expected"),
    [
        (4.94, [4.5, 4.4], 9.0, 1, "time: 4.9 s before the first run; 2 runs trained for 8.9 s in 9.0 s"),
        (10.9, [1.5] * 8, 6.3, 4, "time: 10.9 s before the first run; 8 runs trained for 12.0 s in 6.3 s on 4 workers (1.9× overlap)"),
        (0.0, [2.0], 2.0, 1, "time: 0.0 s before the first run; 1 run trained for 2.0 s in 2.0 s"),
        (3.0, [], 0.0, 2, "time: 3.0 s before the first run; 0 runs trained for 0.0 s in 0.0 s on 2 workers"),
    ],
)
def test_the_time_line_splits_start_up_from_the_runs(before, trained, wall, workers, expected):
    from augmentlab.runner.progress import time_line

    assert time_line(before, trained, wall, workers) == expected


def test_another_architecture_and_schedule_train_and_are_part_of_the_recipe(demo, tmp_path):
    result = invoke(*ablate_args(demo, tmp_path, aug=None), "--arch", "unet", "--schedule", "cosine", "--warmup-epochs", "0")
    assert result.exit_code == 0, result.output
    assert "recipe: U-Net resnet18 (weights none), cosine lr, scored at each image's own size, Adam lr" in result.stdout
    folder = plan_folder(result.stdout)
    assert 'arch = "unet"\nschedule = "cosine"\nwarmup_epochs = 0\n' in (folder / "config.toml").read_text()
    assert rows(folder) == [("none | ce", 0, "finished"), ("none | dice", 0, "finished")]
    deeplab = invoke(*ablate_args(demo, tmp_path, aug=None), "--dry-run")
    assert plan_folder(deeplab.stdout) != folder  # a different architecture is a different ablation


@pytest.mark.parametrize("resize", ["stretch", "fit"])
def test_a_non_square_size_trains_and_is_part_of_the_recipe(demo, tmp_path, resize):
    result = invoke(*ablate_args(demo, tmp_path, aug=None), "--image-size", "32x48", "--resize", resize)
    assert result.exit_code == 0, result.output
    assert ("images fitted and padded, " in result.stdout) == (resize == "fit")
    (header,) = [line for line in report_part(result.stdout).splitlines() if line.startswith("recipe: ")]
    assert header.endswith(", 1 epoch, 32×48px, batch 4, lr 0.001, preset demo, device cpu"), header
    folder = plan_folder(result.stdout)
    assert "image_size = [\n    32,\n    48,\n]\n" in (folder / "config.toml").read_text()  # height, width
    assert rows(folder) == [("none | ce", 0, "finished"), ("none | dice", 0, "finished")]
    again = invoke("ablate", "--config", str(folder / "config.toml"), "--out", str(tmp_path), "--quiet")
    assert again.exit_code == 0, again.output
    assert f"resuming {folder}: 2 of 2 runs already finished, 0 to run" in again.stdout
