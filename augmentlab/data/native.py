"""Validation masks at each image's own resolution, packed on the device, for native-resolution scoring.

Published numbers (MMSegmentation, Cityscapes, the competitions) score a prediction at each
image's own size: the logits are upsampled to it and compared with the mask as it was rasterized
or read, never resized. Scoring at the training size instead resizes thin objects (poles, signs,
mirrors) away or into blocks, and a split of many sizes is compared on squashed copies.

The masks of a split of mixed sizes cannot be one tensor, so they are packed: one flat tensor
of the smallest integer type that holds every label (uint8 for up to 255 classes with the usual
ignore index 255), with each image's offset and shape kept on the host. Getting an image's mask
is a view, with no copy and no host synchronisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from augmentlab.data.cache import mask_storage_dtype
from augmentlab.data.dataset import SegmentationDataset
from augmentlab.data.images import fitted_size


@dataclass(frozen=True)
class NativeMasks:
    """Every validation mask at its own size, and the part of the training-size input each image occupies.

    Attributes:
        flat: all masks, flattened and concatenated, on the device.
        offsets: where each image's mask starts in ``flat``.
        shapes: each image's (height, width).
        regions: each image's (height, width) inside the training-size input, from its top left: the
            whole input when images are stretched, the fitted part when they are fitted and padded.
    """

    flat: torch.Tensor
    offsets: tuple[int, ...]
    shapes: tuple[tuple[int, int], ...]
    regions: tuple[tuple[int, int], ...]

    @classmethod
    def build(cls, dataset: SegmentationDataset, device: str | torch.device) -> NativeMasks:
        """Read every mask of ``dataset`` at its own size (no image is decoded) and pack them on ``device``.

        Raises:
            ValueError: the dataset has no training size (its samples are not resized, so train size is native).
        """
        if dataset.size is None:
            raise ValueError("a dataset without a training size is scored at its own size already")
        # Each mask is narrowed as it is read: a split's masks as int64 would take eight times the
        # packed bytes (8 GB for Cityscapes' 500 validation images at 1024×2048).
        dtype = mask_storage_dtype(0, max(dataset.ignore_index, dataset.num_classes - 1))
        highest = torch.iinfo(dtype).max
        narrow, shapes, offsets, total = [], [], [], 0
        for index in range(len(dataset)):
            mask = dataset.mask(index)
            if mask.numel() and (int(mask.min()) < 0 or int(mask.max()) > highest):
                raise ValueError(f"{dataset.sample_name(index)}: mask labels {int(mask.min())}..{int(mask.max())} are neither classes "
                                 f"0..{dataset.num_classes - 1} nor the ignore index {dataset.ignore_index}")
            narrow.append(mask.flatten().to(dtype))
            shapes.append((int(mask.shape[0]), int(mask.shape[1])))
            offsets.append(total)
            total += mask.numel()
        flat = torch.cat(narrow) if narrow else torch.zeros(0, dtype=dtype)
        del narrow
        regions = tuple(fitted_size(h, w, dataset.size) if dataset.resize == "fit" else tuple(dataset.size) for h, w in shapes)
        return cls(flat.to(device), tuple(offsets), tuple(shapes), regions)

    def __len__(self) -> int:
        return len(self.shapes)

    def mask(self, index: int) -> torch.Tensor:
        """The mask of image ``index``, ``[H, W]`` in the packed dtype: a view of ``flat``."""
        height, width = self.shapes[index]
        start = self.offsets[index]
        return self.flat[start : start + height * width].view(height, width)

    @property
    def nbytes(self) -> int:
        return self.flat.numel() * self.flat.element_size()
