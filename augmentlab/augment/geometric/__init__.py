"""Geometric augmentations: they move pixels, and the mask moves with them exactly."""

from augmentlab.augment.geometric.flips import HorizontalFlip, VerticalFlip
from augmentlab.registry import Augmentation

REGISTRATIONS: list[Augmentation] = [
    Augmentation("hflip", HorizontalFlip, "geometric"),
    Augmentation("vflip", VerticalFlip, "geometric"),
]
