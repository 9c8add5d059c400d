"""`augmentlab bench train`: the reference pipeline, its albumentations mapping, the timings, the table, --json and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

albumentations = pytest.importorskip("albumentations", reason="the reference pipeline runs albumentations: pip install -e '.[dev]'")

from augmentlab.cli.app import app
from augmentlab.data import load_splits
from augmentlab.data.demo.generator import generate_demo_dataset
from augmentlab.diagnostics import bench_train
from augmentlab.diagnostics.bench_train import (
    REFERENCE_AUGMENTATIONS,
    PipelineTiming,
    ReferenceSamples,
    reference_transform,
    speedup_text,
    time_reference_epochs,
)
from augmentlab.errors import AugmentlabError
from augmentlab.runner.model import IMAGENET_MEAN, IMAGENET_STD
from augmentlab.runner.recipe import Recipe

SIZE = 32
# mobilenet_v2: the lightest of the encoders DeepLabV3+ can dilate, so that a step takes milliseconds on a CPU.
ENCODER = "mobilenet_v2"
RECIPE = Recipe(epochs=2, image_size=SIZE, batch_size=4, lr=1e-3, encoder=ENCODER, encoder_weights="none")
TABLE_COLUMNS = ("pipeline", "how", "epoch time", "images/s", "data share", "data ms/step", "model ms/step")
PIPELINE_KEYS = {"pipeline", "description", "epoch_seconds", "images_per_second", "data_share", "data_ms_per_step", "model_ms_per_step", "setup_seconds", "warmup_epochs", "per_epoch"}
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """8 train and 4 val demo images of 64×64."""
    return generate_demo_dataset(tmp_path_factory.mktemp("demo") / "data", train_images=8, val_images=4, size=(64, 64))


@pytest.fixture(scope="module")
def splits(demo):
    return load_splits(demo.train_json, val=demo.val_json, images=demo.images, size=(SIZE, SIZE))


def data_args(demo) -> list[str]:
    return ["--data", str(demo.train_json), "--val", str(demo.val_json), "--images", str(demo.images)]


def run_cli(*args: str):
    return runner.invoke(app, ["bench", "train", *args], env={"COLUMNS": "240"})


def test_reference_transform_maps_each_term_to_its_albumentations_equivalent_at_the_same_p() -> None:
    compose = reference_transform("hflip,vflip(p=0.3),rot90,affine,elastic(alpha=10),grid,brightness,contrast(p=1)", SIZE, ignore_index=250)
    transforms = list(compose.transforms)
    assert [(type(t).__name__, t.p) for t in transforms] == [
        ("HorizontalFlip", 0.5), ("VerticalFlip", 0.3), ("RandomRotate90", 0.5), ("Affine", 0.5), ("ElasticTransform", 0.5),
        ("GridDistortion", 0.5), ("RandomBrightnessContrast", 0.5), ("RandomBrightnessContrast", 1.0), ("Normalize", 1.0), ("ToTensorV2", 1.0),
    ]
    assert [t.fill_mask for t in transforms if hasattr(t, "fill_mask")] == [250, 250, 250]
    assert tuple(transforms[-2].mean) == IMAGENET_MEAN and tuple(transforms[-2].std) == IMAGENET_STD


def test_reference_transform_crops_to_the_training_size() -> None:
    (crop, _, _) = reference_transform("crop", SIZE).transforms
    assert isinstance(crop, albumentations.RandomResizedCrop) and crop.size == (SIZE, SIZE)


@pytest.mark.parametrize(("image_size", "crop_size"), [(SIZE, (SIZE, SIZE)), ((32, 48), (32, 48)), ((48, 32), (48, 32))])
def test_reference_transform_crops_to_a_recipe_size_of_height_by_width(image_size, crop_size) -> None:
    (crop, _, _) = reference_transform("crop", image_size).transforms
    assert crop.size == crop_size


def test_the_reference_loop_checks_an_h_by_w_recipe_against_the_samples(splits) -> None:
    train, _ = splits
    with pytest.raises(AugmentlabError, match="needs samples of 32×48, got 32×32"):
        time_reference_epochs(train, "hflip", "ce", Recipe(1, (32, 48), 4, 1e-3, ENCODER, "none"), "cpu", 0)


def test_reference_transform_of_none_only_normalises() -> None:
    assert [type(t).__name__ for t in reference_transform("none", SIZE).transforms] == ["Normalize", "ToTensorV2"]


def test_an_augmentation_without_an_albumentations_equivalent_is_named() -> None:
    with pytest.raises(AugmentlabError, match=r"augmentation 'cutmix' has no albumentations equivalent, so the reference pipeline cannot run it; leave it out of aug"):
        reference_transform("hflip,cutmix", SIZE)


def test_a_parameter_away_from_the_default_cannot_be_matched() -> None:
    with pytest.raises(AugmentlabError, match=r"'elastic\(alpha=2\)' sets alpha, but the albumentations equivalent of 'elastic' matches augmentlab's defaults only"):
        reference_transform("elastic(alpha=2)", SIZE)


def test_reference_samples_are_normalised_chw_tensors_with_uint8_masks(splits) -> None:
    train, _ = splits
    image, mask = ReferenceSamples(train, reference_transform(REFERENCE_AUGMENTATIONS, SIZE, train.ignore_index))[0]
    assert image.dtype == torch.float32 and image.shape == (3, SIZE, SIZE) and image.min() < 0
    assert mask.dtype == torch.uint8 and mask.shape == (SIZE, SIZE)
    assert set(np.unique(mask.numpy())) <= {*range(train.num_classes), train.ignore_index}


@pytest.mark.parametrize("workers", [0, 1])
def test_the_reference_loop_trains_and_times_each_epoch(splits, workers: int) -> None:
    train, _ = splits
    timing = time_reference_epochs(train, REFERENCE_AUGMENTATIONS, "ce0.8+focal0.2", RECIPE, "cpu", workers)
    assert timing.pipeline == "reference" and f"{workers} worker" in timing.description
    assert timing.images_per_epoch == 8 and timing.warmup_epochs == 1
    assert len(timing.epoch_seconds) == len(timing.data_ms_per_step) == len(timing.model_ms_per_step) == 2
    assert all(seconds > 0 for seconds in timing.epoch_seconds)
    assert all(math.isfinite(loss) and loss > 0 for loss in timing.train_loss)
    assert 0 < timing.data_share < 1 and timing.images_per_second == pytest.approx(8 / timing.epoch_seconds[1])


def test_the_reference_loop_needs_samples_at_the_training_size(splits) -> None:
    train, _ = splits
    with pytest.raises(AugmentlabError, match="needs samples of 64×64, got 32×32"):
        time_reference_epochs(train, "hflip", "ce", Recipe(1, 64, 4, 1e-3, ENCODER, "none"), "cpu", 0)


def test_pipeline_timing_leaves_the_warm_up_epoch_out_and_takes_medians() -> None:
    timing = PipelineTiming("reference", "", 12, (10.0, 2.0, 4.0, 30.0), (99.0, 1.0, 3.0, 9.0), (99.0, 3.0, 5.0, 7.0), (1.0, 0.9, 0.8, 0.7))
    assert (timing.warmup_epochs, timing.epoch_time, timing.images_per_second) == (1, 4.0, 3.0)
    assert (timing.data_ms, timing.model_ms, timing.data_share) == (3.0, 5.0, 3 / 8)
    single = PipelineTiming("reference", "", 12, (6.0,), (1.0,), (3.0,), (1.0,))
    assert (single.warmup_epochs, single.epoch_time, single.data_share) == (0, 6.0, 0.25)


@pytest.mark.parametrize(("ratio", "text"), [(3.24, "augmentlab is 3.2× faster per epoch"), (0.8, "augmentlab: 0.80× (slower) per epoch")])
def test_speedup_text_says_which_way_it_went(ratio: float, text: str) -> None:
    assert speedup_text(ratio).startswith(text)


def test_cli_prints_the_table_and_writes_json(demo, tmp_path: Path) -> None:
    out = tmp_path / "train.json"
    result = run_cli(
        "--device", "cpu", "--epochs", "2", "--workers", "0", "--image-size", str(SIZE), "--batch-size", "4", "--encoder", ENCODER,
        "--aug", "hflip,vflip", "--json", str(out), *data_args(demo),
    )
    assert result.exit_code == 0, result.output
    for column in TABLE_COLUMNS:
        assert column in result.output
    assert "epoch 1 is warm-up and left out" in result.output
    assert "× faster per epoch" in result.output or "× (slower) per epoch" in result.output
    written = json.loads(out.read_text())
    assert set(written) == {"settings", "environment", "pipelines", "speedup"}
    assert written["settings"]["aug"] == "hflip,vflip" and written["settings"]["workers"] == 0 and written["settings"]["train_images"] == 8
    ours, reference = written["pipelines"]
    assert (ours["pipeline"], reference["pipeline"]) == ("augmentlab", "reference")
    assert set(ours) == set(reference) == PIPELINE_KEYS
    assert ours["warmup_epochs"] == 1 and len(ours["per_epoch"]["seconds"]) == 2 and ours["setup_seconds"] > 0
    assert 0 < ours["data_share"] < 1 and 0 < reference["data_share"] < 1
    assert written["speedup"] == pytest.approx(reference["epoch_seconds"] / ours["epoch_seconds"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aug", "hflip,cutmix"], "error: augmentation 'cutmix' has no albumentations equivalent"),
        (["--aug", "elastc"], "error: --aug in spec 'elastc'"),
        (["--loss", "cee"], "error: --loss in spec 'cee'"),
        (["--image-size", "40"], "error: --image-size must be N or H×W with each a multiple of 16"),
        (["--batch-size", "16"], "error: --batch-size 16 is larger than the 8 training images"),
        (["--device", "tpu"], "error: --device 'tpu' is not a device"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(demo, args: list[str], message: str) -> None:
    result = run_cli("--device", "cpu", "--image-size", str(SIZE), *data_args(demo), *args)
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith(message) and len(result.output.strip().splitlines()) == 1


def test_cli_exits_1_when_augmentlab_run_fails(demo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_train, "train_run", lambda run, data: SimpleNamespace(status="failed", error="the loss became nan in epoch 1"))
    result = run_cli("--device", "cpu", "--epochs", "1", "--workers", "0", "--image-size", str(SIZE), "--batch-size", "4", "--encoder", ENCODER, *data_args(demo))
    assert result.exit_code == 1
    assert "error: augmentlab's training run failed: the loss became nan in epoch 1" in result.output
