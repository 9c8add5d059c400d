"""Hue, saturation and value shifts, drawn per sample, as albumentations' HueSaturationValue."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment.base import PhotometricAugmentation
from augmentlab.augment.params import uniform
from augmentlab.checks import check_range


def shift_hsv(images: torch.Tensor, hue_shift: torch.Tensor, saturation_shift: torch.Tensor, value_shift: torch.Tensor) -> torch.Tensor:
    """Rotate the hue and add to the saturation and value of HSV, without a round trip through kornia.color.

    Hue is measured in turns (1 = 360°). As in albumentations, grey pixels (saturation 0) stay grey,
    and saturation and value are clamped to [0, 1] after the shift.

    Args:
        images: float [B,3,H,W] RGB in [0, 1].
        hue_shift: float [B,1,1,1], turns.
        saturation_shift: float [B,1,1,1], added to the saturation.
        value_shift: float [B,1,1,1], added to the value.

    Returns:
        float [B,3,H,W] of the input dtype.
    """
    rgb = images.float()
    value, brightest = rgb.max(dim=1, keepdim=True)
    chroma = value - rgb.amin(dim=1, keepdim=True)
    # Hue in sixths of a turn: 2·(index of the largest channel) + (next channel − the one after) / chroma.
    following = rgb.roll(-1, dims=1).sub_(rgb.roll(-2, dims=1))
    sixths = following.gather(1, brightest).div_(chroma.clamp(min=1e-12)).add_(2 * brightest).add_(6 * hue_shift)
    saturation = chroma.div_(value.clamp(min=1e-12))
    new_saturation = (saturation + saturation_shift).clamp_(0.0, 1.0).mul_(saturation > 0)
    new_value = (value + value_shift).clamp_(0.0, 1.0)
    # HSV -> RGB: channel n = V − V·S·clamp(2 − |((n + 6h) mod 6) − 2|, 0, 1), n = 5, 3, 1 for R, G, B.
    offsets = torch.arange(5, 0, -2, device=images.device, dtype=torch.float32).view(1, 3, 1, 1)
    profile = (sixths + offsets).remainder_(6.0).sub_(2.0).abs_().neg_().add_(2.0).clamp_(0.0, 1.0)
    return torch.addcmul(new_value, new_value * new_saturation, profile, value=-1.0).to(images.dtype)


class HueSaturationValue(PhotometricAugmentation):
    """Shift hue, saturation and value by random amounts drawn per sample.

    albumentations HueSaturationValue shifts by hue ±20, saturation ±30 and value ±20 on OpenCV's
    uint8 HSV, where hue runs 0–180: that is ±20/180 = ±0.11 of a turn (±40°), ±30/255 = ±0.12 and
    ±20/255 = ±0.08 on [0, 1]. Ours has those defaults, with the same additive saturation and value
    shifts. Kornia's ColorJiggle scales the saturation instead, and converts to HSV and back once
    for each of hue and saturation; ours does one conversion in a few fused tensor ops.

    Args:
        hue_shift: [low, high] hue rotation in turns (1 = 360°).
        sat_shift: [low, high] added to the saturation in [0, 1].
        val_shift: [low, high] added to the value in [0, 1].
        p: probability that a sample is changed.
    """

    def __init__(
        self,
        hue_shift: tuple[float, float] = (-0.11, 0.11),
        sat_shift: tuple[float, float] = (-0.12, 0.12),
        val_shift: tuple[float, float] = (-0.08, 0.08),
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        self.hue_shift = check_range("hue_shift", hue_shift, low=-1.0, high=1.0)
        self.sat_shift = check_range("sat_shift", sat_shift, low=-1.0, high=1.0)
        self.val_shift = check_range("val_shift", val_shift, low=-1.0, high=1.0)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {
            name: uniform(limits, batch_size, 1, 1, 1, device=device)
            for name, limits in (("hue_shift", self.hue_shift), ("sat_shift", self.sat_shift), ("val_shift", self.val_shift))
        }

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        if images.shape[1] != 3:
            raise ValueError(f"hsv needs RGB images [B,3,H,W], got {images.shape[1]} channels")
        return shift_hsv(images, params["hue_shift"], params["sat_shift"], params["val_shift"])

    def extra_repr(self) -> str:
        return f"hue_shift={self.hue_shift}, sat_shift={self.sat_shift}, val_shift={self.val_shift}, {super().extra_repr()}"
