"""What a run records about its model, and the learning rate at each step against torch's own schedulers."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from runner_fixtures import TINY_RECIPE

from augmentlab.runner.recipe import ARCHITECTURES
from augmentlab.runner.train import RunSpec, TrainingData, _run_config, lr_factor


@pytest.mark.parametrize(
    ("arch", "model"),
    [
        ("deeplabv3plus", "segmentation_models_pytorch.DeepLabV3Plus"),
        ("deeplabv3", "segmentation_models_pytorch.DeepLabV3"),
        ("unet", "segmentation_models_pytorch.Unet"),
        ("unetplusplus", "segmentation_models_pytorch.UnetPlusPlus"),
        ("fpn", "segmentation_models_pytorch.FPN"),
        ("pspnet", "segmentation_models_pytorch.PSPNet"),
        ("linknet", "segmentation_models_pytorch.Linknet"),
        ("manet", "segmentation_models_pytorch.MAnet"),
        ("pan", "segmentation_models_pytorch.PAN"),
        ("upernet", "segmentation_models_pytorch.UPerNet"),
    ],
)
def test_a_runs_config_names_the_model_its_arch_builds(arch, model):
    data = TrainingData(train=[0] * 4, val=[0] * 2, class_names=("bg", "x"), ignore_index=255, class_frequencies=[1.0, 1.0])  # type: ignore[arg-type]
    run = RunSpec("none", "ce", 0, dataclasses.replace(TINY_RECIPE, arch=arch), "cpu")
    assert _run_config(run, data)["model"] == model


def test_every_architecture_is_named_as_smp_builds_it():
    import segmentation_models_pytorch as smp

    data = TrainingData(train=[0] * 4, val=[0] * 2, class_names=("bg", "x"), ignore_index=255, class_frequencies=[1.0, 1.0])  # type: ignore[arg-type]
    for arch in ARCHITECTURES:
        with torch.device("meta"):
            built = type(smp.create_model(arch, encoder_name="resnet18", encoder_weights=None, classes=2)).__name__
        assert _run_config(RunSpec("none", "ce", 0, dataclasses.replace(TINY_RECIPE, arch=arch), "cpu"), data)["model"] == f"segmentation_models_pytorch.{built}"


def _lrs(scheduler_of, steps: int) -> list[float]:
    """The learning rate each of ``steps`` optimizer steps uses, base lr 1, the scheduler stepped after each."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    scheduler = scheduler_of(optimizer)
    used = []
    for _ in range(steps):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return used


@pytest.mark.parametrize(
    ("schedule", "warmup", "expected"),
    [
        ("constant", 0, [1.0, 1.0, 1.0, 1.0]),
        ("constant", 2, [0.01, 0.505, 1.0, 1.0]),
        ("poly", 0, [1.0, 0.75 ** 0.9, 0.5 ** 0.9, 0.25 ** 0.9]),  # MMSegmentation's PolyLR: (1 - i/max_iters)^0.9
        ("cosine", 0, [1.0, 0.8535533905932737, 0.5, 0.14644660940672627]),
        ("poly", 2, [0.01, 0.505, 1.0, 0.5 ** 0.9]),  # the decay starts at 1 after the warm-up
        ("cosine", 2, [0.01, 0.505, 1.0, 0.5]),
    ],
)
def test_the_learning_rate_at_each_step(schedule, warmup, expected):
    assert _lrs(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lr_factor(schedule, 4, warmup)), 4) == pytest.approx(expected)


@pytest.mark.parametrize("schedule", ["poly", "cosine"])
def test_poly_and_cosine_match_torchs_schedulers_step_for_step(schedule):
    reference = {
        "poly": lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=10, power=0.9),
        "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10),
    }[schedule]
    assert _lrs(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lr_factor(schedule, 10)), 10) == pytest.approx(_lrs(reference, 10))
