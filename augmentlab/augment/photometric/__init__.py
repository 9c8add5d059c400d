"""Photometric augmentations: they change pixel values and never touch the mask.

Besides the registrations, two tables name the closest stock transforms, for the throughput
bench: ``KORNIA_EQUIVALENTS`` (only where kornia has one) and ``ALBUMENTATIONS_EQUIVALENTS``.
Each entry is a zero-argument factory of the transform with ``p=1`` and parameters comparable
to our defaults; sizes that the stock transform takes in pixels are set for 512×512 images.
albumentations is a dev dependency only, so it is imported inside the factories.
"""

from __future__ import annotations

from typing import Callable

import kornia.augmentation as K
import torch

from augmentlab.augment.photometric.blur import GaussianBlur, MotionBlur
from augmentlab.augment.photometric.channels import ChannelShuffle, RGBShift
from augmentlab.augment.photometric.clahe import Clahe
from augmentlab.augment.photometric.fog import Fog
from augmentlab.augment.photometric.hsv import HueSaturationValue
from augmentlab.augment.photometric.noise import GaussNoise
from augmentlab.augment.photometric.rain import Rain
from augmentlab.augment.photometric.snow import Snow
from augmentlab.augment.photometric.sun_flare import SunFlare
from augmentlab.augment.photometric.tone import Brightness, Contrast, Gamma
from augmentlab.registry import Augmentation

REGISTRATIONS: list[Augmentation] = [
    Augmentation("motion_blur", MotionBlur),
    Augmentation("gaussian_blur", GaussianBlur),
    Augmentation("gauss_noise", GaussNoise),
    Augmentation("clahe", Clahe),
    Augmentation("rgb_shift", RGBShift),
    Augmentation("hsv", HueSaturationValue),
    Augmentation("channel_shuffle", ChannelShuffle),
    Augmentation("brightness", Brightness),
    Augmentation("contrast", Contrast),
    Augmentation("gamma", Gamma),
    Augmentation("rain", Rain),
    Augmentation("snow", Snow),
    Augmentation("fog", Fog),
    Augmentation("sun_flare", SunFlare),
]

KORNIA_EQUIVALENTS: dict[str, Callable[[], torch.nn.Module]] = {
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


ALBUMENTATIONS_EQUIVALENTS: dict[str, Callable[[], object]] = {
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
