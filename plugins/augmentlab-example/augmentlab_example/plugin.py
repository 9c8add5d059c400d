"""The module that the entry point names: it tells augmentlab what this plugin provides."""

from __future__ import annotations

import augmentlab
from augmentlab_example.poly import PolyLoss
from augmentlab_example.solarize import Solarize


@augmentlab.hookimpl
def augmentlab_register_augmentations() -> list[augmentlab.Augmentation]:
    return [augmentlab.Augmentation("solarize", Solarize)]


@augmentlab.hookimpl
def augmentlab_register_losses() -> list[augmentlab.Loss]:
    return [augmentlab.Loss("poly", PolyLoss)]
