"""Batch augmentations that run on the training device and keep masks exact.

Plugin authors subclass one of the family bases: :class:`GeometricAugmentation` (moves pixels;
the mask moves with them), :class:`PhotometricAugmentation` (changes values; the mask is
untouched) or :class:`MixAugmentation` (combines samples or drops regions).
"""

from augmentlab.augment.base import (
    AugmentationPipeline,
    BatchAugmentation,
    GeometricAugmentation,
    MixAugmentation,
    PhotometricAugmentation,
    check_batch,
    remap_images,
    remap_masks,
)

__all__ = [
    "AugmentationPipeline",
    "BatchAugmentation",
    "GeometricAugmentation",
    "MixAugmentation",
    "PhotometricAugmentation",
    "check_batch",
    "remap_images",
    "remap_masks",
]
