"""Per-channel transforms: shift each of R, G and B, or shuffle the three."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment.base import PhotometricAugmentation
from augmentlab.augment.params import uniform
from augmentlab.checks import check_range


def _require_rgb(images: torch.Tensor, what: str) -> None:
    if images.shape[1] != 3:
        raise ValueError(f"{what} needs RGB images [B,3,H,W], got {images.shape[1]} channels")


class RGBShift(PhotometricAugmentation):
    """Add a random offset to each of R, G and B, drawn per sample and channel.

    albumentations RGBShift shifts each channel by up to ±20 on the 0–255 scale, ±0.078 on
    [0, 1]: ours defaults to ±0.08. It is one broadcast addition; kornia's shift_rgb would add
    the same offsets and clamp a second time.

    Args:
        r_shift: [low, high] offset of the red channel, on the [0, 1] scale.
        g_shift: [low, high] offset of the green channel.
        b_shift: [low, high] offset of the blue channel.
        p: probability that a sample is shifted.
    """

    def __init__(
        self,
        r_shift: tuple[float, float] = (-0.08, 0.08),
        g_shift: tuple[float, float] = (-0.08, 0.08),
        b_shift: tuple[float, float] = (-0.08, 0.08),
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        self.shifts = tuple(check_range(name, value, low=-1.0, high=1.0) for name, value in (("r_shift", r_shift), ("g_shift", g_shift), ("b_shift", b_shift)))

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {"shift": torch.cat([uniform(limits, batch_size, 1, 1, 1, device=device) for limits in self.shifts], dim=1)}

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _require_rgb(images, "rgb_shift")
        return images + params["shift"].to(images.dtype)

    def extra_repr(self) -> str:
        r_shift, g_shift, b_shift = self.shifts
        return f"r_shift={r_shift}, g_shift={g_shift}, b_shift={b_shift}, {super().extra_repr()}"


class ChannelShuffle(PhotometricAugmentation):
    """Reorder R, G and B with a random permutation per sample.

    albumentations ChannelShuffle has no parameter besides p=0.5, nor has ours. Kornia's
    RandomChannelShuffle gathers the same way, with permutations from sorting random keys, but
    has no functional op to feed our parameters into; the two lines are written out here.

    Args:
        p: probability that a sample's channels are shuffled (the drawn permutation may be the identity).
    """

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {"order": torch.rand(batch_size, 3, device=device).argsort(dim=1)}

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _require_rgb(images, "channel_shuffle")
        order = params["order"]
        return images[torch.arange(order.shape[0], device=order.device)[:, None], order]
