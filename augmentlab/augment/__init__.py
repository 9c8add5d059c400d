"""Batch augmentations that run on the training device and keep masks exact: the plugin author's toolkit.

Subclass a family base:

- :class:`PhotometricAugmentation`: changes values; the mask is never touched. Implement
  ``sample_params`` and ``apply_to_images``.
- :class:`WarpAugmentation`: a geometric transform given by where each output pixel comes from.
  Implement ``sample_params`` and ``sampling_grid``; or subclass :class:`ProjectiveWarp` and
  implement ``source_matrix`` (one 3×3 matrix per sample). Both sample through :func:`warp`,
  whose hard edge keeps every pixel that has a source at its own colour and label, and both join
  the fused warp stage of a pipeline.
- :class:`MixAugmentation`: combines samples or drops regions; the region helpers are in
  :mod:`augmentlab.augment.mix.regions`.

Per-sample random draws are in :mod:`augmentlab.augment.params`.

Mirror-paired classes (``left_arm``/``right_arm``): :func:`mirror_pairs` finds them,
:func:`label_swap_table` makes their table, and ``AugmentationPipeline.set_label_swap`` makes
every transform that mirrors a sample swap their labels. A transform says which samples it
mirrors in ``reflects``; :class:`PixelMap` (so :class:`ProjectiveWarp`) answers from its
matrices' determinants, so a plugin built on it needs nothing more.
"""

from augmentlab.augment.base import (
    BatchAugmentation,
    GeometricAugmentation,
    MixAugmentation,
    PhotometricAugmentation,
    check_batch,
    remap_images,
    remap_masks,
)
from augmentlab.augment.geometric.warp import (
    PixelMap,
    ProjectiveWarp,
    WarpAugmentation,
    warp,
)
from augmentlab.augment.mirror import label_swap_table, mirror_pairs
from augmentlab.augment.pipeline import AugmentationPipeline, build_augmentation

__all__ = [
    "AugmentationPipeline",
    "BatchAugmentation",
    "GeometricAugmentation",
    "MixAugmentation",
    "PhotometricAugmentation",
    "PixelMap",
    "ProjectiveWarp",
    "WarpAugmentation",
    "build_augmentation",
    "check_batch",
    "label_swap_table",
    "mirror_pairs",
    "remap_images",
    "remap_masks",
    "warp",
]
