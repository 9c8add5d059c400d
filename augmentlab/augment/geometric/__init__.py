"""Geometric augmentations: they move pixels, and the mask moves with them exactly.

Every warp goes through one path (``_warp.py``): a sampling grid, then ``remap_images`` and
``remap_masks``, so pixels without a source are black with the ignore label everywhere.

Besides the registrations, two tables name the closest stock transform of kornia and of
albumentations for each built-in that has one, for the throughput bench (``augmentlab bench``).
Each entry is a zero-argument factory with ``p=1`` and parameters matched to our defaults.
kornia transforms take the images only; albumentations transforms take ``image=`` (HWC numpy)
and ``mask=``, and get ``fill_mask=255`` where they fill. Crops need an output size up front:
their equivalents resize to the reference study's 512×512, so compare them at ``--size 512``.
"""

from __future__ import annotations

from typing import Callable

import torch

from augmentlab.augment.geometric.affine import ShiftScaleRotate
from augmentlab.augment.geometric.dihedral import RandomRotate90, Transpose
from augmentlab.augment.geometric.elastic import ElasticTransform
from augmentlab.augment.geometric.flips import HorizontalFlip, VerticalFlip
from augmentlab.augment.geometric.grid_distortion import GridDistortion
from augmentlab.augment.geometric.optical_distortion import OpticalDistortion
from augmentlab.augment.geometric.perspective import RandomPerspective
from augmentlab.augment.geometric.resized_crop import RandomResizedCrop
from augmentlab.registry import Augmentation

REGISTRATIONS: list[Augmentation] = [
    Augmentation("hflip", HorizontalFlip),
    Augmentation("vflip", VerticalFlip),
    Augmentation("rot90", RandomRotate90),
    Augmentation("transpose", Transpose),
    Augmentation("affine", ShiftScaleRotate),
    Augmentation("elastic", ElasticTransform),
    Augmentation("grid", GridDistortion),
    Augmentation("optical", OpticalDistortion),
    Augmentation("perspective", RandomPerspective),
    Augmentation("crop", RandomResizedCrop),
]

REFERENCE_SIZE = (512, 512)

# kornia's elastic alpha is in normalised units on uniform noise: 6.69 gives our default 10 px
# RMS at 512 px with sigma 50; kernel 101 keeps kornia's own kernel/sigma proportion (63/32).
KORNIA_ELASTIC_ALPHA = 6.69
# albumentations 2.x: alpha_A = 2 √π · 5 · sigma · alpha (see ElasticTransform) for 10 px RMS at sigma 50.
ALBUMENTATIONS_ELASTIC_ALPHA = 8862.0


def _kornia_hflip() -> torch.nn.Module:
    from kornia.augmentation import RandomHorizontalFlip

    return RandomHorizontalFlip(p=1.0)


def _kornia_vflip() -> torch.nn.Module:
    from kornia.augmentation import RandomVerticalFlip

    return RandomVerticalFlip(p=1.0)


def _kornia_rot90() -> torch.nn.Module:
    from kornia.augmentation import RandomRotation90

    return RandomRotation90(times=(0, 3), p=1.0)


def _kornia_affine() -> torch.nn.Module:
    from kornia.augmentation import RandomAffine

    return RandomAffine(degrees=45.0, translate=(0.0625, 0.0625), scale=(0.9, 1.1), p=1.0)


def _kornia_elastic() -> torch.nn.Module:
    from kornia.augmentation import RandomElasticTransform

    alpha = KORNIA_ELASTIC_ALPHA
    return RandomElasticTransform(kernel_size=(101, 101), sigma=(50.0, 50.0), alpha=(alpha, alpha), p=1.0)


def _kornia_perspective() -> torch.nn.Module:
    from kornia.augmentation import RandomPerspective as KorniaRandomPerspective

    return KorniaRandomPerspective(distortion_scale=0.5, p=1.0)


def _kornia_crop() -> torch.nn.Module:
    from kornia.augmentation import RandomResizedCrop as KorniaRandomResizedCrop

    return KorniaRandomResizedCrop(size=REFERENCE_SIZE, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), p=1.0)


KORNIA_EQUIVALENTS: dict[str, Callable[[], torch.nn.Module]] = {
    "hflip": _kornia_hflip,
    "vflip": _kornia_vflip,
    "rot90": _kornia_rot90,
    "affine": _kornia_affine,
    "elastic": _kornia_elastic,
    "perspective": _kornia_perspective,
    "crop": _kornia_crop,
}


def _albumentations_hflip() -> object:
    import albumentations

    return albumentations.HorizontalFlip(p=1.0)


def _albumentations_vflip() -> object:
    import albumentations

    return albumentations.VerticalFlip(p=1.0)


def _albumentations_rot90() -> object:
    import albumentations

    return albumentations.RandomRotate90(p=1.0)


def _albumentations_transpose() -> object:
    import albumentations

    return albumentations.Transpose(p=1.0)


def _albumentations_affine() -> object:
    import albumentations

    # ShiftScaleRotate in albumentations 2.x is this Affine (and warns when built).
    return albumentations.Affine(translate_percent=(-0.0625, 0.0625), scale=(0.9, 1.1), rotate=(-45, 45), fill_mask=255, p=1.0)


def _albumentations_elastic() -> object:
    import albumentations

    return albumentations.ElasticTransform(alpha=ALBUMENTATIONS_ELASTIC_ALPHA, sigma=50.0, fill_mask=255, p=1.0)


def _albumentations_grid() -> object:
    import albumentations

    return albumentations.GridDistortion(num_steps=5, distort_limit=0.3, normalized=True, fill_mask=255, p=1.0)


def _albumentations_optical() -> object:
    import albumentations

    return albumentations.OpticalDistortion(distort_limit=0.05, fill_mask=255, p=1.0)


def _albumentations_perspective() -> object:
    import albumentations

    return albumentations.Perspective(scale=(0.1, 0.2), fill_mask=255, p=1.0)


def _albumentations_crop() -> object:
    import albumentations

    return albumentations.RandomResizedCrop(size=REFERENCE_SIZE, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), p=1.0)


ALBUMENTATIONS_EQUIVALENTS: dict[str, Callable[[], object]] = {
    "hflip": _albumentations_hflip,
    "vflip": _albumentations_vflip,
    "rot90": _albumentations_rot90,
    "transpose": _albumentations_transpose,
    "affine": _albumentations_affine,
    "elastic": _albumentations_elastic,
    "grid": _albumentations_grid,
    "optical": _albumentations_optical,
    "perspective": _albumentations_perspective,
    "crop": _albumentations_crop,
}
