"""augmentlab's built-in augmentations, registered through the ``augmentlab`` entry-point group like any plugin."""

from __future__ import annotations

from augmentlab.augment.flips import HorizontalFlip, VerticalFlip
from augmentlab.hookspecs import hookimpl
from augmentlab.registry import Augmentation


@hookimpl
def augmentlab_register_augmentations() -> list[Augmentation]:
    return [
        Augmentation("hflip", HorizontalFlip, HorizontalFlip.kind),
        Augmentation("vflip", VerticalFlip, VerticalFlip.kind),
    ]
