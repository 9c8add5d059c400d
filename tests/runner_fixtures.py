"""What the runner tests share: tiny demo data, a tiny recipe, the ablate command and its output read back, and a plugin whose losses and augmentation fail on purpose."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from typer.testing import CliRunner

from augmentlab.cli.app import app
from augmentlab.data.demo.generator import DemoPaths, generate_demo_dataset
from augmentlab.runner.config import AblationConfig
from augmentlab.runner.recipe import Recipe

TRAIN_IMAGES, VAL_IMAGES = 16, 8
IMAGE_SIZE = 32
BATCH_SIZE = 4

TINY_RECIPE = Recipe(epochs=1, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, lr=1e-3, encoder="resnet18", encoder_weights="none")
"""The CLI's ``--epochs 1 --image-size 32 --batch-size 4`` on the demo preset."""


def tiny_demo(folder: Path) -> DemoPaths:
    """16 train and 8 val demo images of 64×64 in ``folder``: enough for four steps an epoch, in well under a second."""
    return generate_demo_dataset(folder, train_images=TRAIN_IMAGES, val_images=VAL_IMAGES, size=(64, 64))


def tiny_config(paths: DemoPaths, out: Path, **values) -> AblationConfig:
    """From Python, a one-seed ablation of hflip against the baseline on ``paths``, with ``values`` on top."""
    settings = {"aug": ["hflip"], "seeds": 1, "epochs": 1, "image_size": IMAGE_SIZE, "batch_size": BATCH_SIZE, "device": "cpu", **values}
    return AblationConfig(out=out, data=paths.train_json, val=paths.val_json, images=paths.images, **settings)


def data_options(paths: DemoPaths) -> list[str]:
    """The ``augmentlab ablate`` options that train on ``paths``."""
    return ["--data", str(paths.train_json), "--val", str(paths.val_json), "--images", str(paths.images)]


FAILING_PLUGIN = '''
    """Losses and an augmentation that fail the way a buggy plugin does."""

    import torch
    from torch import nn

    import augmentlab


    class NanLoss(nn.Module):
        """A loss whose value is always NaN."""

        def __init__(self, num_classes, ignore_index=255):
            super().__init__()

        def forward(self, logits, target):
            return logits.float().mean() * float("nan")


    class RaisingLoss(nn.Module):
        """A loss that raises on its first call."""

        def __init__(self, num_classes, ignore_index=255):
            super().__init__()

        def forward(self, logits, target):
            raise RuntimeError("kaboom\\nsecond line of the message")


    class OutOfMemoryLoss(nn.Module):
        """A loss that runs out of device memory."""

        def __init__(self, num_classes, ignore_index=255):
            super().__init__()

        def forward(self, logits, target):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\\nmore lines")


    class InterruptingLoss(nn.Module):
        """A loss interrupted by Ctrl-C."""

        def __init__(self, num_classes, ignore_index=255):
            super().__init__()

        def forward(self, logits, target):
            raise KeyboardInterrupt


    class DyingLoss(nn.Module):
        """A loss that kills its process, as a crash in native code does."""

        def __init__(self, num_classes, ignore_index=255):
            super().__init__()

        def forward(self, logits, target):
            import os

            os._exit(3)


    class Explode(nn.Module):
        """An augmentation that raises on every batch."""

        def __init__(self, p=0.5):
            super().__init__()

        def forward(self, images, masks):
            raise ValueError("cannot explode this batch")


    @augmentlab.hookimpl
    def augmentlab_register_losses():
        return [
            augmentlab.Loss("nan_loss", NanLoss),
            augmentlab.Loss("boom", RaisingLoss),
            augmentlab.Loss("oom", OutOfMemoryLoss),
            augmentlab.Loss("ctrl_c", InterruptingLoss),
            augmentlab.Loss("die", DyingLoss),
        ]


    @augmentlab.hookimpl
    def augmentlab_register_augmentations():
        return [augmentlab.Augmentation("explode", Explode, "photometric")]
'''


def install_failing_plugin(install_distribution) -> None:
    """Install ``augmentlab-failing`` through the conftest fixture: losses nan_loss, boom, oom, ctrl_c, die and augmentation explode."""
    install_distribution("augmentlab-failing", {"failing_plugin": FAILING_PLUGIN}, {"failing": "failing_plugin"})


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def ablate_args(paths, out: Path, *, aug: str | None = "hflip", loss: str = "dice") -> list[str]:
    """One seed of a 4-run ablation (none/hflip × ce/loss); a later --seeds overrides it."""
    recipe = ["--seeds", "1", "--epochs", "1", "--image-size", str(IMAGE_SIZE), "--batch-size", str(BATCH_SIZE), "--device", "cpu", "--quiet"]
    return ["ablate", *(["--aug", aug] if aug else []), "--loss", loss, *recipe, "--out", str(out), *data_options(paths)]


def rows(folder: Path, columns: str = "arm, seed, status") -> list[tuple]:
    with closing(sqlite3.connect(folder / "results.sqlite")) as connection:
        return sorted(connection.execute(f"SELECT {columns} FROM runs").fetchall())


def execute_sql(folder: Path, statement: str) -> None:
    with closing(sqlite3.connect(folder / "results.sqlite")) as connection, connection:
        connection.execute(statement)


def plan_folder(stdout: str) -> Path:
    """The folder named by the plan line ``4 arms × 1 seed = 4 runs → FOLDER``."""
    (line,) = [line for line in stdout.splitlines() if " × " in line and " → " in line]
    return Path(line.split(" → ")[1])


def plan_lines(stdout: str) -> list[str]:
    """The arms and the recipe as the plan prints them."""
    return [line for line in stdout.splitlines() if line.startswith("arm ") or (line.startswith("recipe: ") and ", Adam lr " in line)]


def started_runs(stdout: str) -> list[str]:
    return [line.removesuffix(": started") for line in stdout.splitlines() if line.endswith(": started")]


def report_part(stdout: str) -> str:
    """What the report prints, from its title line to the list of written files."""
    lines = stdout.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("ablation ablation-"))
    return "\n".join(lines[start:])
