"""Mix and dropout augmentations: they combine samples of the batch or drop regions."""

from augmentlab.registry import Augmentation

REGISTRATIONS: list[Augmentation] = []
