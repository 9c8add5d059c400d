"""CLAHE: contrast-limited adaptive histogram equalisation of the luma, with a clip limit per sample."""

from __future__ import annotations

from typing import Any

import torch

# Private, but it is what kornia's own RandomClahe calls: the public equalize_clahe takes one
# float clip limit for the whole batch, this one a tensor with a limit per image.
from kornia.enhance.equalization import _equalize_clahe

from augmentlab.augment.base import PhotometricAugmentation
from augmentlab.augment.params import uniform
from augmentlab.checks import check_integer_pair, check_range

# ITU-R BT.601 luma, the Y of kornia's rgb_to_ycbcr.
LUMA_RED, LUMA_GREEN, LUMA_BLUE = 0.299, 0.587, 0.114


def luma(images: torch.Tensor) -> torch.Tensor:
    """images float [B,3,H,W] -> BT.601 luma float [B,1,H,W] of the same dtype."""
    red, green, blue = images.unbind(1)
    return (LUMA_RED * red + LUMA_GREEN * green + LUMA_BLUE * blue).unsqueeze(1)


class Clahe(PhotometricAugmentation):
    """Contrast-limited adaptive histogram equalisation of the luma, clip limit drawn per sample.

    albumentations CLAHE uses clip_limit=(1, 4) and tile_grid_size=(8, 8) and equalises the L
    channel of LAB: ours has the same defaults (the clip limit means the same, OpenCV's multiple
    of the mean bin count) and equalises the BT.601 luma, then adds the luma change to R, G and B,
    which keeps the chroma (Cb, Cr) as it was. Kornia's RandomClahe equalises R, G and B
    separately, which shifts colours and costs three equalisations instead of one.

    Args:
        clip_limit: [low, high] contrast limit, ≥ 0 (0 disables clipping).
        grid_size: [rows, columns] of tiles; the image must be larger than the grid.
        p: probability that a sample is equalised.
    """

    def __init__(self, clip_limit: tuple[float, float] = (1.0, 4.0), grid_size: tuple[int, int] = (8, 8), p: float = 0.5) -> None:
        super().__init__(p)
        self.clip_limit = check_range("clip_limit", clip_limit, low=0.0)
        self.grid_size = check_integer_pair("grid_size", grid_size, low=1)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {"clip_limit": uniform(self.clip_limit, batch_size, device=device)}

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        # Clamped because kornia raises on values its 256-bin lookup cannot index.
        brightness = luma(images.float()).clamp(0.0, 1.0)
        equalized = _equalize_clahe(brightness, params["clip_limit"], self.grid_size, False)
        return (images + (equalized - brightness)).to(images.dtype)

    def extra_repr(self) -> str:
        return f"clip_limit={self.clip_limit}, grid_size={self.grid_size}, {super().extra_repr()}"
