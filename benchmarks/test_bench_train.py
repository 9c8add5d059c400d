"""Training epoch time of augmentlab's loop next to the classic pipeline (pytest-benchmark).

Not part of the default test run (pytest collects ``tests/`` only). Run it with::

    pytest benchmarks/test_bench_train.py --benchmark-only --benchmark-group-by=group

Both pipelines train the device's preset recipe (demo on the CPU, standard on CUDA, untrained
encoder) with the reference study's augmentation set, on demo data of 128×128 generated for the
session, on the CPU and on CUDA when a GPU is visible. pytest-benchmark times one call: building
the model, then every epoch. The per-epoch figures that ``augmentlab bench train`` prints (first
epoch left out as warm-up) are in ``extra_info``; the calls are the bench's own
(:mod:`augmentlab.diagnostics.bench_train`), so both report the same work.
"""

from __future__ import annotations

import pytest
import torch

from augmentlab.data import load_splits
from augmentlab.data.demo.generator import generate_demo_dataset
from augmentlab.diagnostics.bench_train import (
    REFERENCE_AUGMENTATIONS,
    default_workers,
    time_augmentlab_epochs,
    time_reference_epochs,
)
from augmentlab.runner.recipe import build_recipe
from augmentlab.runner.training_data import training_data

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
PRESETS = {"cpu": "demo", "cuda": "standard"}
EPOCHS = 4
TRAIN_IMAGES = {"cpu": 32, "cuda": 160}
PIPELINES = ("augmentlab", "reference")


@pytest.fixture(scope="module", params=DEVICES)
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(device, recipe, train, val) with the mask cache in a temporary folder."""
    device = request.param
    recipe = build_recipe(PRESETS[device], {"epochs": EPOCHS, "encoder_weights": "none"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUGMENTLAB_CACHE", str(tmp_path_factory.mktemp("mask-cache")))
        demo = generate_demo_dataset(tmp_path_factory.mktemp("demo") / "data", train_images=TRAIN_IMAGES[device], val_images=8, size=(128, 128))
        train, val = load_splits(demo.train_json, val=demo.val_json, images=demo.images, size=(recipe.image_size, recipe.image_size))
        yield device, recipe, train, val


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_training_epoch_time(benchmark, setup, pipeline: str) -> None:
    device, recipe, train, val = setup
    if pipeline == "augmentlab":
        data = training_data(train, val, device)
        call = lambda: time_augmentlab_epochs(data, REFERENCE_AUGMENTATIONS, "ce", recipe, device)  # noqa: E731
    else:
        call = lambda: time_reference_epochs(train, REFERENCE_AUGMENTATIONS, "ce", recipe, device, default_workers())  # noqa: E731
    benchmark.group = f"train {device} {recipe.encoder} {recipe.image_size}x{recipe.image_size} batch {recipe.batch_size}"
    timing = benchmark.pedantic(call, rounds=1, iterations=1)
    benchmark.extra_info.update(
        epoch_seconds=timing.epoch_time, images_per_second=timing.images_per_second, data_share=timing.data_share, description=timing.description
    )
