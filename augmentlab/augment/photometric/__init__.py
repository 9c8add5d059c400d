"""Photometric augmentations: they change pixel values and never touch the mask."""

from augmentlab.registry import Augmentation

REGISTRATIONS: list[Augmentation] = []
