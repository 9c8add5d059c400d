"""Additive Gaussian noise with a standard deviation drawn per sample."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment.base import PhotometricAugmentation
from augmentlab.augment.params import uniform
from augmentlab.checks import check_flag, check_range


class GaussNoise(PhotometricAugmentation):
    """Add zero-mean Gaussian noise, with a standard deviation drawn per sample.

    albumentations before 1.4 (the reference study's era) drew the variance from var_limit=(10, 50)
    on the 0–255 scale, a standard deviation of 0.012–0.028 on [0, 1]: ours has that default.
    albumentations 2.x draws std_range=(0.2, 0.44) of the maximum value, far stronger; pass
    ``std=[0.2, 0.44]`` for that. Kornia's RandomGaussianNoise has one fixed std for all samples.

    Args:
        std: [low, high] standard deviation on the [0, 1] scale, ≥ 0.
        per_channel: independent noise in each channel (True, as albumentations), or the same
            noise in all three, which leaves the hue alone.
        p: probability that a sample gets noise.
    """

    def __init__(self, std: tuple[float, float] = (0.012, 0.028), per_channel: bool = True, p: float = 0.5) -> None:
        super().__init__(p)
        self.std = check_range("std", std, low=0.0)
        self.per_channel = check_flag("per_channel", per_channel)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        channels = 3 if self.per_channel else 1
        return {
            "std": uniform(self.std, batch_size, 1, 1, 1, device=device),
            "noise": torch.randn(batch_size, channels, height, width, device=device),
        }

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return torch.addcmul(images.float(), params["noise"], params["std"]).to(images.dtype)

    def extra_repr(self) -> str:
        return f"std={self.std}, per_channel={self.per_channel}, {super().extra_repr()}"
