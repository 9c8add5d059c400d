"""One training run on tiny data: what it records, that it is reproducible, and how it fails."""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest
import torch
from runner_fixtures import (
    BATCH_SIZE,
    IMAGE_SIZE,
    TINY_RECIPE,
    TRAIN_IMAGES,
    VAL_IMAGES,
    install_failing_plugin,
    tiny_demo,
)

from augmentlab.data import load_splits
from augmentlab.results.records import EpochRecord
from augmentlab.runner import train as train_module
from augmentlab.runner.train import (
    RunSpec,
    StepTimer,
    TrainingData,
    evaluate,
    train_run,
)
from augmentlab.runner.training_data import training_data

TWO_EPOCHS = dataclasses.replace(TINY_RECIPE, epochs=2)
STEPS = TRAIN_IMAGES // BATCH_SIZE


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> TrainingData:
    paths = tiny_demo(tmp_path_factory.mktemp("tiny-demo"))
    train, val = load_splits(paths.train_json, val=paths.val_json, images=paths.images, size=(IMAGE_SIZE, IMAGE_SIZE))
    return training_data(train, val, "cpu")


@pytest.fixture(scope="module")
def baseline(data):
    """``none | ce`` seed 0 over two epochs, trained once for the tests that only read it."""
    return train_run(RunSpec("none", "ce", 0, TWO_EPOCHS, "cpu"), data, versions={"torch": "x"})


def spec(augmentation: str = "none", loss: str = "ce", seed: int = 0, epochs: int = 1) -> RunSpec:
    return RunSpec(augmentation, loss, seed, dataclasses.replace(TINY_RECIPE, epochs=epochs), "cpu")


class RecordingProgress:
    """A RunProgress that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None:
        self.calls.append(("epoch_started", epoch, epochs, steps))

    def step_done(self, step: int, loss: torch.Tensor) -> None:
        assert loss.dim() == 0
        self.calls.append(("step_done", step))

    def epoch_done(self, record: EpochRecord) -> None:
        self.calls.append(("epoch_done", record.epoch))


def test_the_tiny_data_is_what_the_tests_assume(data):
    assert (len(data.train), len(data.val), len(data.class_names), data.ignore_index) == (TRAIN_IMAGES, VAL_IMAGES, 12, 255)


def test_a_finished_run_records_its_best_epoch_and_every_epoch(data, baseline):
    result = baseline
    assert (result.status, result.error, result.arm, result.seed) == ("finished", None, "none | ce", 0)
    assert len(result.history) == 2
    assert [record.epoch for record in result.history] == [0, 1]
    for record in result.history:
        assert math.isfinite(record.train_loss) and record.train_loss > 0
        assert record.loss_terms.keys() == {"ce"}
        assert record.loss_terms["ce"] == pytest.approx(record.train_loss, rel=1e-5)
        assert 0 <= record.val_miou <= 1 and 0 <= record.val_pixel_accuracy <= 1 and 0 <= record.val_per_image_miou <= 1
        assert record.seconds > 0 and record.images_per_second > 0
        assert record.data_ms_per_step >= 0 and record.model_ms_per_step > 0
    mious = [record.val_miou for record in result.history]
    assert result.best_epoch == mious.index(max(mious))
    best = result.history[result.best_epoch]
    assert (result.miou, result.pixel_accuracy, result.per_image_miou) == (best.val_miou, best.val_pixel_accuracy, best.val_per_image_miou)
    assert len(result.per_class_iou) == len(data.class_names)
    assert len(result.image_intersections) == len(result.image_unions) == VAL_IMAGES
    assert all(len(row) == len(data.class_names) for row in result.image_intersections + result.image_unions)
    assert result.train_seconds > sum(record.seconds for record in result.history)
    assert result.peak_memory_bytes is None
    assert result.versions == {"torch": "x"}
    assert result.config["recipe"] == dataclasses.asdict(TWO_EPOCHS)
    assert (result.config["train_images"], result.config["val_images"], result.config["classes"]) == (TRAIN_IMAGES, VAL_IMAGES, list(data.class_names))


def test_the_stored_per_image_counts_add_up_to_the_stored_per_class_iou_and_miou(data, baseline):
    """What the paired bootstrap resamples reproduces the reported numbers exactly."""
    intersections = torch.tensor(baseline.image_intersections).sum(0)
    unions = torch.tensor(baseline.image_unions).sum(0)
    per_class = [float(i / u) if u > 0 else None for i, u in zip(intersections.double(), unions.double())]
    assert baseline.per_class_iou == per_class
    scored = [value for value in per_class if value is not None]
    assert baseline.miou == pytest.approx(sum(scored) / len(scored), rel=1e-12)


def test_the_same_run_again_after_other_runs_even_a_failed_one_gives_identical_metrics_and_losses(data, baseline, install_distribution):
    """CPU training is deterministic, and nothing of one run (global RNG, NaN weights, optimiser) leaks into the next."""
    install_failing_plugin(install_distribution)
    torch.manual_seed(12345)
    torch.rand(100)
    assert train_run(spec("none", "nan_loss"), data).status == "failed"
    again = train_run(RunSpec("none", "ce", 0, TWO_EPOCHS, "cpu"), data)
    assert again.miou == baseline.miou
    assert again.per_class_iou == baseline.per_class_iou
    assert again.image_intersections == baseline.image_intersections
    assert [record.train_loss for record in again.history] == [record.train_loss for record in baseline.history]
    assert [record.loss_terms for record in again.history] == [record.loss_terms for record in baseline.history]
    assert [record.val_miou for record in again.history] == [record.val_miou for record in baseline.history]


def test_loss_terms_are_the_spec_term_labels_and_add_up_to_the_weighted_total(data):
    progress = RecordingProgress()
    result = train_run(spec("hflip", "ce0.8+focal0.2"), data, progress)
    assert result.status == "finished", result.error
    (record,) = result.history
    assert record.loss_terms.keys() == {"ce", "focal"}
    assert all(math.isfinite(value) for value in record.loss_terms.values())
    assert 0.8 * record.loss_terms["ce"] + 0.2 * record.loss_terms["focal"] == pytest.approx(record.train_loss, rel=1e-5)
    assert progress.calls == [("epoch_started", 0, 1, STEPS), *[("step_done", step) for step in range(STEPS)], ("epoch_done", 0)]


def test_every_arm_of_a_seed_starts_from_the_same_model_and_sees_the_same_batches(data, monkeypatch):
    initial_states: list[dict[str, torch.Tensor]] = []
    batches: list[list[list[int]]] = []
    real_build, real_order = train_module.build_model, type(data.train).epoch_order

    def recording_build(*args, **kwargs):
        model = real_build(*args, **kwargs)
        initial_states.append({key: value.clone() for key, value in model.state_dict().items()})
        if len(initial_states) == 3:
            raise RuntimeError("the initial model is all this run is for")
        return model

    def recording_order(cache, *args, **kwargs):
        order = real_order(cache, *args, **kwargs)
        if cache is data.train:
            batches.append([indices.tolist() for indices in order])
        return order

    monkeypatch.setattr(train_module, "build_model", recording_build)
    monkeypatch.setattr(type(data.train), "epoch_order", recording_order)
    results = [train_run(spec(augmentation, loss, seed), data) for augmentation, loss, seed in [("none", "ce", 0), ("hflip", "dice", 0), ("none", "ce", 1)]]
    assert [result.status for result in results] == ["finished", "finished", "failed"]
    assert results[2].error == "RuntimeError: the initial model is all this run is for"
    first, other_arm, other_seed = initial_states
    assert first.keys() == other_arm.keys()
    assert all(torch.equal(first[key], other_arm[key]) for key in first)
    assert not all(torch.equal(first[key], other_seed[key]) for key in first if first[key].is_floating_point())
    assert len(batches) == 2 and batches[0] == batches[1]
    assert batches[0] != [indices.tolist() for indices in real_order(data.train, 0, 1, BATCH_SIZE)]
    assert sorted(index for batch in batches[0] for index in batch) == list(range(TRAIN_IMAGES))


@pytest.mark.parametrize(
    ("augmentation", "loss", "error"),
    [
        ("none", "nan_loss", "the loss became nan in epoch 1; lower the learning rate, or check the loss and augmentations"),
        ("none", "ce+nan_loss", "the loss became nan in epoch 1; lower the learning rate, or check the loss and augmentations"),
        ("none", "boom", "loss 'boom' raised RuntimeError: kaboom"),
        ("hflip,explode", "ce", "augmentation 'hflip,explode' raised ValueError: cannot explode this batch"),
        ("none", "oom", "CUDA out of memory: CUDA out of memory. Tried to allocate 2.00 GiB; lower the batch size or the image size"),
    ],
)
def test_a_run_that_fails_for_its_own_reason_is_returned_failed_with_one_line(data, install_distribution, augmentation, loss, error):
    install_failing_plugin(install_distribution)
    result = train_run(spec(augmentation, loss, epochs=2), data)
    assert (result.status, result.error) == ("failed", error)
    assert (result.arm, result.seed) == (f"{augmentation} | {loss}", 0)
    assert result.history == []
    assert (result.miou, result.best_epoch, result.per_class_iou) == (None, None, [])
    assert result.train_seconds > 0


@pytest.mark.parametrize(
    ("augmentation", "loss", "traceback_ends"),
    [
        # the plugin's own frame and exception, then the one-line failure it caused
        ("none", "boom", ('raise RuntimeError("kaboom\\nsecond line of the message")', "RuntimeError: kaboom\nsecond line of the message",
                          "augmentlab.runner.train.RunFailure: loss 'boom' raised RuntimeError: kaboom")),
        ("hflip,explode", "ce", ('raise ValueError("cannot explode this batch")', "ValueError: cannot explode this batch",
                                 "augmentlab.runner.train.RunFailure: augmentation 'hflip,explode' raised ValueError: cannot explode this batch")),
        ("none", "oom", ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\nmore lines",)),
    ],
)
def test_a_failed_run_keeps_its_full_traceback(data, install_distribution, augmentation, loss, traceback_ends):
    install_failing_plugin(install_distribution)
    result = train_run(spec(augmentation, loss), data)
    assert result.traceback.startswith("Traceback (most recent call last):\n")
    assert 'failing_plugin.py", line' in result.traceback
    positions = [result.traceback.index(fragment) for fragment in traceback_ends]
    assert positions == sorted(positions)
    assert result.traceback.rstrip().endswith(traceback_ends[-1])


def test_a_nan_loss_has_no_traceback_to_keep(data, install_distribution):
    install_failing_plugin(install_distribution)
    result = train_run(spec("none", "nan_loss"), data)
    assert (result.status, result.traceback) == ("failed", None)


def test_augmentlab_debug_raises_the_plugins_exception_instead_of_recording_it(data, install_distribution, monkeypatch):
    install_failing_plugin(install_distribution)
    monkeypatch.setenv("AUGMENTLAB_DEBUG", "1")
    with pytest.raises(RuntimeError, match="^kaboom\nsecond line of the message$") as raised:
        train_run(spec("none", "boom"), data)
    assert raised.type is RuntimeError  # the plugin's own exception, not the run's one-line failure
    assert raised.traceback[-1].name == "forward"


def test_keyboard_interrupt_passes_through(data, install_distribution):
    install_failing_plugin(install_distribution)
    with pytest.raises(KeyboardInterrupt):
        train_run(spec("none", "ctrl_c"), data)


def test_evaluate_scores_every_validation_image_in_order_and_leaves_the_model_training(data):
    torch.manual_seed(0)
    model = train_module.build_model("resnet18", "none", len(data.class_names))
    model.train()
    metrics = evaluate(model, data.val, len(data.class_names), data.ignore_index, batch_size=3)
    assert model.training
    assert len(metrics.image_unions) == VAL_IMAGES
    in_one_batch = evaluate(model, data.val, len(data.class_names), data.ignore_index, batch_size=VAL_IMAGES)
    assert in_one_batch.image_intersections == metrics.image_intersections
    assert in_one_batch.image_unions == metrics.image_unions
    # over all classes, an image's unions count each labelled pixel twice (truth and prediction), less the hits
    _, masks = data.val.batch(torch.arange(VAL_IMAGES))
    labelled = ((masks >= 0) & (masks < len(data.class_names))).sum((1, 2)).tolist()
    assert [sum(row) for row in metrics.image_unions] == [2 * count - sum(hits) for count, hits in zip(labelled, metrics.image_intersections)]


def test_step_timer_on_the_cpu_sums_data_and_model_time(monkeypatch):
    clock = iter([1.0, 1.5, 3.5, 10.0, 10.25, 11.0])
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: next(clock))
    timer = StepTimer(torch.device("cpu"))
    for _ in range(2):
        timer.start()
        timer.split()
        timer.stop()
    assert timer.milliseconds() == (pytest.approx(500 + 250), pytest.approx(2000 + 750))


def test_warm_up_tunes_cuda_once_per_process_and_keeps_nothing(device):
    # On the CPU there is nothing to tune: it returns at once. On CUDA it trains one throwaway
    # step of the recipe's shapes, leaves no memory behind, and does it once per process and setting.
    recipe = dataclasses.replace(TINY_RECIPE, batch_size=3)  # shapes no other test warms up
    if device.type != "cuda":
        assert train_module.warm_up(recipe, 3, device) == 0.0
        return
    assert train_module.warm_up(recipe, 3, device) > 0.0
    assert torch.backends.cudnn.benchmark
    # The first warm-up may leave the normalisation's constants, built once per device (see
    # augmentlab.tensors.built_once); a later one leaves nothing.
    before = torch.cuda.memory_allocated(device)
    assert train_module.warm_up(recipe, 3, device) == 0.0
    assert train_module.warm_up(recipe, 4, device) > 0.0  # another head is another shape
    assert torch.cuda.memory_allocated(device) == before
    assert train_module.warm_up(recipe, 4, device, cudnn_benchmark=False) > 0.0  # and another setting another warm-up
    assert not torch.backends.cudnn.benchmark


def test_a_run_leaves_the_callers_random_streams_as_they_were(data):
    # A notebook seeds its own code; a run that reseeds torch and leaves it so changes what that code draws next.
    def draws() -> tuple:
        return torch.rand(3).tolist(), random.random(), np.random.rand()

    torch.manual_seed(123), random.seed(123), np.random.seed(123)
    expected = draws()
    torch.manual_seed(123), random.seed(123), np.random.seed(123)
    assert train_run(RunSpec("hflip", "ce", 1, TINY_RECIPE, "cpu"), data).status == "finished"
    assert draws() == expected
