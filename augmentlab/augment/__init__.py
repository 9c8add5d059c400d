"""Batch augmentations that run on the training device and keep masks exact."""

from augmentlab.augment.base import AugmentationPipeline, BatchAugmentation, check_batch

__all__ = ["AugmentationPipeline", "BatchAugmentation", "check_batch"]
