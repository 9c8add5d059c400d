"""Photometric augmentations: they change pixel values and never touch the mask.

The stock transforms closest to each, for the benches, are in :mod:`augmentlab.diagnostics.equivalents`.
"""

from __future__ import annotations

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
from augmentlab.registry.registrations import Augmentation

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
