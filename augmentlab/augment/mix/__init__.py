"""Mix and dropout augmentations: they combine samples of the batch or drop regions.

The stock transforms closest to each, for the benches, are in :mod:`augmentlab.diagnostics.equivalents`.
"""

from __future__ import annotations

from augmentlab.augment.mix.copy_paste import CopyPaste
from augmentlab.augment.mix.cutmix import CutMix
from augmentlab.augment.mix.cutout import Cutout
from augmentlab.augment.mix.grid_dropout import GridDropout
from augmentlab.registry.registrations import Augmentation

REGISTRATIONS: list[Augmentation] = [
    Augmentation("grid_dropout", GridDropout),
    Augmentation("cutout", Cutout),
    Augmentation("cutmix", CutMix),
    Augmentation("copy_paste", CopyPaste),
]
