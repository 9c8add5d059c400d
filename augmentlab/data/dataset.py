"""The segmentation dataset: samples served as ``(image uint8 [3, H, W] RGB, mask int64 [H, W])``.

The COCO and folder builders (:mod:`augmentlab.data.coco.dataset`, :mod:`augmentlab.data.loading`)
make a :class:`SegmentationDataset` from :class:`Sample` records and a mask reader.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from augmentlab.checks import free_ignore_index
from augmentlab.data.images import (
    apply_orientation,
    fit_image,
    fit_mask,
    read_image,
    resize_image,
    resize_mask,
)
from augmentlab.data.stats import ClassStats, class_stats_from_masks
from augmentlab.data.wording import plural
from augmentlab.errors import AugmentlabError, FieldError


@dataclass(frozen=True)
class Sample:
    name: str
    image_path: Path
    mask_ref: str
    """What the dataset's mask reader takes: an image id (COCO) or a mask path (folders)."""
    mask_orientation: int
    """EXIF orientation the mask turns by to line up with its image (1: none)."""


class SegmentationDataset:
    """Images and their semantic masks; ``ds[i]`` is ``(image uint8 [3, H, W] RGB, mask int64 [H, W])``.

    ``size=(H, W)`` resizes every sample (images bilinear with antialiasing, masks nearest);
    ``size=None`` keeps each sample's own size.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        *,
        class_names: Sequence[str],
        ignore_index: int,
        size: tuple[int, int] | None,
        read_mask: Callable[[str], torch.Tensor],
        source_key: str,
        count_instances: Callable[[Sequence[str]], np.ndarray] | None = None,
        resize: str = "stretch",
    ) -> None:
        self._samples = tuple(samples)
        self._count_instances = count_instances
        self.class_names = tuple(class_names)
        self.ignore_index = ignore_index
        self.size = size
        self.resize = resize
        """``stretch`` to ``size``, or ``fit`` inside it keeping the aspect ratio, padded with 0 and ``ignore_index``."""
        self._read_mask = read_mask
        self._source_key = source_key
        digest = hashlib.sha256(f"{source_key}\0{size}\0{'' if resize == 'stretch' else resize}".encode())
        for sample in self._samples:
            # surrogateescape: a folder file name that is not valid UTF-8 (a Latin-1 zip's café.jpg) keeps its bytes
            digest.update(sample.name.encode("utf-8", "surrogateescape") + b"\0")
        self.cache_key = digest.hexdigest()
        """sha256 hex over the source's content, the options, ``size`` and the selected samples."""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(image uint8 [3, H, W] RGB, mask int64 [H, W])`` of sample ``index``."""
        sample = self._samples[index]
        image = read_image(sample.image_path)
        mask = apply_orientation(self._read_mask(sample.mask_ref).long(), sample.mask_orientation)
        if tuple(mask.shape) != tuple(image.shape[-2:]):
            raise AugmentlabError(
                f"image {sample.image_path} changed size since the dataset was loaded; load the dataset again"
            )
        if self.size is not None and self.resize == "fit":
            image, mask = fit_image(image, self.size), fit_mask(mask, self.size, self.ignore_index)
        elif self.size is not None:
            image, mask = resize_image(image, self.size), resize_mask(mask, self.size)
        return image, mask.contiguous()

    def check_images(self, progress: Callable[[int], None] | None = None) -> None:
        """Decode every image once, as training will, so that a corrupt or truncated file is found now.

        Args:
            progress: called with the number of images checked so far, after each.

        Raises:
            AugmentlabError: the first image that cannot be decoded, named.
        """
        for index, sample in enumerate(self._samples):
            read_image(sample.image_path)
            if progress is not None:
                progress(index + 1)

    def mask(self, index: int) -> torch.Tensor:
        """int64 [H, W]: the mask of sample ``index`` at the sample's own size, without decoding its image."""
        sample = self._samples[index]
        return apply_orientation(self._read_mask(sample.mask_ref).long(), sample.mask_orientation)

    def class_stats(self) -> ClassStats:
        """Per-class pixels, images and (for COCO) annotations over the samples, at their own size."""
        stats = class_stats_from_masks((self.mask(i) for i in range(len(self))), self.class_names, self.ignore_index)
        if self._count_instances is None:
            return stats
        return replace(stats, instance_counts=self._count_instances([sample.mask_ref for sample in self._samples]))

    def image_paths(self) -> tuple[Path, ...]:
        """Each sample's image file, in sample order."""
        return tuple(sample.image_path for sample in self._samples)

    def sample_name(self, index: int) -> str:
        """The COCO ``file_name`` or the folder file stem of sample ``index``."""
        return self._samples[index].name

    def subset(self, indices: Sequence[int]) -> SegmentationDataset:
        """The samples at ``indices``, in that order, with the same classes and options."""
        return SegmentationDataset(
            [self._samples[i] for i in indices],
            class_names=self.class_names,
            ignore_index=self.ignore_index,
            size=self.size,
            read_mask=self._read_mask,
            source_key=self._source_key,
            count_instances=self._count_instances,
            resize=self.resize,
        )

    def with_resize(self, resize: str) -> SegmentationDataset:
        """The same samples reaching ``size`` by ``resize`` (``stretch`` or ``fit``)."""
        if resize not in ("stretch", "fit"):
            raise FieldError("resize", f"must be stretch or fit, got {resize!r}")
        if resize == self.resize:
            return self
        if resize == "fit" and self.size is None:
            raise FieldError("resize", "fit pads each image to size, and no size is given; give size (height, width) with it")
        return SegmentationDataset(
            self._samples, class_names=self.class_names, ignore_index=self.ignore_index, size=self.size, read_mask=self._read_mask,
            source_key=self._source_key, count_instances=self._count_instances, resize=resize,
        )

    def __repr__(self) -> str:
        return f"SegmentationDataset({plural(len(self), 'sample')}, {plural(self.num_classes, 'class')}, size={self.size})"


def check_ignore_index(ignore_index: int, num_classes: int) -> None:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise FieldError("ignore_index", f"must be an integer, got {ignore_index!r}")
    if ignore_index < 0:  # masks are images of labels 0 and up; native scoring packs them unsigned
        raise FieldError("ignore_index", f"must be ≥ 0, got {ignore_index}")
    if 0 <= ignore_index < num_classes:
        raise FieldError(
            "ignore_index",
            f"{ignore_index} is a class index (classes are 0..{num_classes - 1}); use a value outside them, such as {free_ignore_index(num_classes)}",
        )
