"""Mix and dropout augmentations: they combine samples of the batch or drop regions.

Besides the registrations, two tables name the closest stock transform of kornia and of
albumentations for each built-in that has one, for the throughput bench (``augmentlab bench``).
Each entry is a zero-argument factory with ``p=1``. kornia's call conventions differ from ours:
``RandomErasing`` and ``RandomCutMixV2`` take the images only (neither carries a segmentation
mask), ``RandomTransplantation`` takes ``(images, masks)``. albumentations transforms take
``image=`` (uint8 or float32 HWC numpy) and ``mask=``.
"""

from __future__ import annotations

from typing import Callable

import torch

from augmentlab.augment.mix.copy_paste import CopyPaste
from augmentlab.augment.mix.cutmix import CutMix
from augmentlab.augment.mix.cutout import Cutout
from augmentlab.augment.mix.grid_dropout import GridDropout
from augmentlab.registry import Augmentation

REGISTRATIONS: list[Augmentation] = [
    Augmentation("grid_dropout", GridDropout),
    Augmentation("cutout", Cutout),
    Augmentation("cutmix", CutMix),
    Augmentation("copy_paste", CopyPaste),
]


def _kornia_erasing() -> torch.nn.Module:
    from kornia.augmentation import RandomErasing

    return RandomErasing(p=1.0)


def _kornia_cutmix() -> torch.nn.Module:
    from kornia.augmentation import RandomCutMixV2

    # A speed reference only: it mixes images and class weights, not segmentation masks.
    return RandomCutMixV2(p=1.0, use_correct_lambda=True)


def _kornia_transplantation() -> torch.nn.Module:
    from kornia.augmentation import RandomTransplantation

    return RandomTransplantation(excluded_labels=[0, 255], p=1.0)


KORNIA_EQUIVALENTS: dict[str, Callable[[], torch.nn.Module]] = {
    "cutout": _kornia_erasing,
    "cutmix": _kornia_cutmix,
    "copy_paste": _kornia_transplantation,
}


def _albumentations_grid_dropout() -> object:
    import albumentations

    return albumentations.GridDropout(p=1.0, fill_mask=255)


def _albumentations_coarse_dropout() -> object:
    import albumentations

    return albumentations.CoarseDropout(p=1.0, fill_mask=255)


ALBUMENTATIONS_EQUIVALENTS: dict[str, Callable[[], object]] = {
    "grid_dropout": _albumentations_grid_dropout,
    "cutout": _albumentations_coarse_dropout,
}
