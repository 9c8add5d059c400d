"""Flips: exact pixel permutations, so masks move with images and nothing is padded; each is a mirror image."""

from __future__ import annotations

from typing import Any

import torch
from kornia.geometry.transform import hflip, vflip

from augmentlab.augment.base import BatchAugmentation
from augmentlab.augment.geometric.warp import PixelMap
from augmentlab.tensors import constant


class HorizontalFlip(PixelMap, BatchAugmentation):
    """Mirror left-right (albumentations HorizontalFlip; same default p=0.5).

    On its own it flips by indexing; beside warps it joins their fused stage as a matrix. It
    mirrors every sample it flips, so a label swap table swaps their paired labels.
    """

    kind = "geometric"

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return hflip(images), hflip(masks)

    def source_matrix(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        matrix = constant([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], device)
        return matrix.expand(batch_size, 3, 3)

    def maps_onto_itself(self, height: int, width: int) -> bool:
        return True

    def reflects(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> bool:
        return True


class VerticalFlip(PixelMap, BatchAugmentation):
    """Mirror top-bottom (albumentations VerticalFlip; same default p=0.5).

    On its own it flips by indexing; beside warps it joins their fused stage as a matrix. It
    mirrors every sample it flips, so a label swap table swaps their paired labels.
    """

    kind = "geometric"

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return vflip(images), vflip(masks)

    def source_matrix(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        matrix = constant([[1.0, 0.0, 0.0], [0.0, -1.0, height - 1.0], [0.0, 0.0, 1.0]], device)
        return matrix.expand(batch_size, 3, 3)

    def maps_onto_itself(self, height: int, width: int) -> bool:
        return True

    def reflects(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> bool:
        return True
