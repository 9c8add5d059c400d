"""The stock transform closest to each built-in augmentation, for the benches (``augmentlab bench``).

Two tables per library: ``KORNIA_EQUIVALENTS`` (only where kornia has the transform) and
``ALBUMENTATIONS_EQUIVALENTS``. Each entry is a zero-argument factory of the transform with
``p=1`` and parameters matched to our defaults; sizes that a stock transform takes in pixels are
set for the reference study's 512×512 images. kornia transforms take the images only (geometric
ones move a mask through ``AugmentationSequential``); albumentations transforms take ``image=``
(HWC numpy) and ``mask=``, and get ``fill_mask=255`` where they fill. albumentations is a dev
dependency only, so it is imported inside the factories.

Crops need an output size up front: their equivalents resize to 512×512, so compare them at
``--size 512``. kornia's ``RandomErasing`` and ``RandomCutMixV2`` carry no segmentation mask,
and ``RandomTransplantation`` takes ``(images, masks)``: they are speed references only.
"""

from __future__ import annotations

from typing import Callable

import kornia.augmentation as K
import torch

# --- geometric ------------------------------------------------------------------------------

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


_KORNIA_GEOMETRIC: dict[str, Callable[[], torch.nn.Module]] = {
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


_ALBUMENTATIONS_GEOMETRIC: dict[str, Callable[[], object]] = {
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

# --- photometric ----------------------------------------------------------------------------

_KORNIA_PHOTOMETRIC: dict[str, Callable[[], torch.nn.Module]] = {
    "motion_blur": lambda: K.RandomMotionBlur(kernel_size=(3, 7), angle=180.0, direction=(-1.0, 1.0), border_type="reflect", p=1.0),
    "gaussian_blur": lambda: K.RandomGaussianBlur(kernel_size=19, sigma=(0.5, 3.0), p=1.0),
    "gauss_noise": lambda: K.RandomGaussianNoise(std=0.02, p=1.0),
    "clahe": lambda: K.RandomClahe(clip_limit=(1.0, 4.0), grid_size=(8, 8), p=1.0),
    "rgb_shift": lambda: K.RandomRGBShift(r_shift_limit=0.08, g_shift_limit=0.08, b_shift_limit=0.08, p=1.0),
    "hsv": lambda: K.ColorJiggle(brightness=0.08, saturation=0.12, hue=0.11, p=1.0),
    "channel_shuffle": lambda: K.RandomChannelShuffle(p=1.0),
    "brightness": lambda: K.RandomBrightness(brightness=(0.8, 1.2), p=1.0),
    "contrast": lambda: K.RandomContrast(contrast=(0.8, 1.2), p=1.0),
    "gamma": lambda: K.RandomGamma(gamma=(0.8, 1.2), p=1.0),
    # 512 / 3 drops of 512 / 8 rows, ending up to 10 px to either side, as albumentations' default rain.
    "rain": lambda: K.RandomRain(number_of_drops=(170, 170), drop_height=(64, 64), drop_width=(-10, 10), p=1.0),
    "snow": lambda: K.RandomSnow(snow_coefficient=(0.38, 0.48), brightness=(2.5, 2.5), p=1.0),
}


def _albumentations():
    import albumentations

    return albumentations


_ALBUMENTATIONS_PHOTOMETRIC: dict[str, Callable[[], object]] = {
    "motion_blur": lambda: _albumentations().MotionBlur(blur_limit=(3, 7), p=1.0),
    "gaussian_blur": lambda: _albumentations().GaussianBlur(sigma_limit=(0.5, 3.0), p=1.0),
    "gauss_noise": lambda: _albumentations().GaussNoise(std_range=(0.012, 0.028), p=1.0),
    "clahe": lambda: _albumentations().CLAHE(clip_limit=(1.0, 4.0), tile_grid_size=(8, 8), p=1.0),
    "rgb_shift": lambda: _albumentations().RGBShift(r_shift_limit=20, g_shift_limit=20, b_shift_limit=20, p=1.0),
    "hsv": lambda: _albumentations().HueSaturationValue(hue_shift_limit=20, sat_shift_limit=30, val_shift_limit=20, p=1.0),
    "channel_shuffle": lambda: _albumentations().ChannelShuffle(p=1.0),
    "brightness": lambda: _albumentations().RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.0, p=1.0),
    "contrast": lambda: _albumentations().RandomBrightnessContrast(brightness_limit=0.0, contrast_limit=0.2, p=1.0),
    "gamma": lambda: _albumentations().RandomGamma(gamma_limit=(80, 120), p=1.0),
    "rain": lambda: _albumentations().RandomRain(p=1.0),
    "snow": lambda: _albumentations().RandomSnow(snow_point_range=(0.1, 0.3), brightness_coeff=2.5, method="bleach", p=1.0),
    "fog": lambda: _albumentations().RandomFog(fog_coef_range=(0.3, 1.0), alpha_coef=0.08, p=1.0),
    "sun_flare": lambda: _albumentations().RandomSunFlare(p=1.0),
}

# --- mix ------------------------------------------------------------------------------------


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


_KORNIA_MIX: dict[str, Callable[[], torch.nn.Module]] = {
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


_ALBUMENTATIONS_MIX: dict[str, Callable[[], object]] = {
    "grid_dropout": _albumentations_grid_dropout,
    "cutout": _albumentations_coarse_dropout,
}


KORNIA_EQUIVALENTS: dict[str, Callable[[], torch.nn.Module]] = {**_KORNIA_GEOMETRIC, **_KORNIA_PHOTOMETRIC, **_KORNIA_MIX}
ALBUMENTATIONS_EQUIVALENTS: dict[str, Callable[[], object]] = {**_ALBUMENTATIONS_GEOMETRIC, **_ALBUMENTATIONS_PHOTOMETRIC, **_ALBUMENTATIONS_MIX}
