"""What the runner tests share: tiny demo data, a tiny recipe, and a plugin whose losses and augmentation fail on purpose."""

from __future__ import annotations

from pathlib import Path

from augmentlab.data.demo.generator import DemoPaths, generate_demo_dataset
from augmentlab.runner.recipe import Recipe

TRAIN_IMAGES, VAL_IMAGES = 16, 8
IMAGE_SIZE = 32
BATCH_SIZE = 4

TINY_RECIPE = Recipe(epochs=1, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, lr=1e-3, encoder="resnet18", encoder_weights="none")
"""The CLI's ``--epochs 1 --image-size 32 --batch-size 4`` on the demo preset."""


def tiny_demo(folder: Path) -> DemoPaths:
    """16 train and 8 val demo images of 64×64 in ``folder``: enough for four steps an epoch, in well under a second."""
    return generate_demo_dataset(folder, train_images=TRAIN_IMAGES, val_images=VAL_IMAGES, size=(64, 64))


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
