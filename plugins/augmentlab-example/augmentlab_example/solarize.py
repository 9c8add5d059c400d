"""Solarize: invert the pixels brighter than a threshold, on the whole batch at once."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment import PhotometricAugmentation
from augmentlab.checks import check_range


class Solarize(PhotometricAugmentation):
    """Invert every pixel value above a per-sample threshold.

    The photometric base class leaves the mask untouched and keeps images in [0, 1].

    Args:
        threshold: (low, high) range of the threshold, drawn uniformly per sample, in [0, 1].
        p: probability that a sample is solarized.
    """

    def __init__(self, threshold: tuple[float, float] = (0.5, 1.0), p: float = 0.5) -> None:
        super().__init__(p)
        # The host's checks give users the same messages for every plugin: one line, what is allowed.
        self.threshold = check_range("threshold", threshold, low=0.0, high=1.0)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        low, high = self.threshold
        return {"threshold": torch.empty(batch_size, 1, 1, 1, device=device).uniform_(low, high)}

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        threshold = params["threshold"].to(images.dtype)
        return torch.where(images >= threshold, 1.0 - images, images)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, {super().extra_repr()}"

