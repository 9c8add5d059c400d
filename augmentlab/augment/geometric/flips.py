"""Flips: exact pixel permutations, so masks move with images and nothing is padded."""

from __future__ import annotations

from typing import Any

import torch
from kornia.geometry.transform import hflip, vflip

from augmentlab.augment.base import BatchAugmentation


class HorizontalFlip(BatchAugmentation):
    """Mirror left-right (albumentations HorizontalFlip; same default p=0.5)."""

    kind = "geometric"

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return hflip(images), hflip(masks)


class VerticalFlip(BatchAugmentation):
    """Mirror top-bottom (albumentations VerticalFlip; same default p=0.5)."""

    kind = "geometric"

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return vflip(images), vflip(masks)
