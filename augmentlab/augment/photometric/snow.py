"""Snow: bleach the darker pixels, as albumentations' RandomSnow (method 'bleach') and kornia's RandomSnow."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment.base import PhotometricAugmentation
from augmentlab.augment.params import uniform
from augmentlab.checks import check_number, check_range


def brighten_lightness(images: torch.Tensor, threshold: torch.Tensor, factor: float) -> torch.Tensor:
    """Multiply the HLS lightness of pixels darker than ``threshold`` by ``factor``, keeping hue and HLS saturation.

    Equal to an RGB → HLS → RGB round trip, in closed form: with L = (max + min) / 2 and chroma
    (max − min) = (1 − |2L − 1|)·S, a new lightness L' gives RGB' = L' + (RGB − L)·(1 − |2L' − 1|) / (1 − |2L − 1|).

    Args:
        images: float [B,3,H,W] RGB in [0, 1].
        threshold: float [B,1,1,1], lightness below which pixels are brightened.
        factor: ≥ 1; the new lightness is clamped to 1.

    Returns:
        float [B,3,H,W] of the input dtype.
    """
    rgb = images.float()
    lightness = (rgb.amax(dim=1, keepdim=True) + rgb.amin(dim=1, keepdim=True)).mul_(0.5)
    new_lightness = torch.where(lightness < threshold, (lightness * factor).clamp_(max=1.0), lightness)
    # Black and white pixels have no chroma (RGB − L = 0), so the clamped denominator never matters.
    chroma_scale = (1 - (2 * new_lightness - 1).abs_()).div_((1 - (2 * lightness - 1).abs_()).clamp_(min=1e-12))
    return torch.addcmul(new_lightness, rgb - lightness, chroma_scale).to(images.dtype)


class Snow(PhotometricAugmentation):
    """Bleach pixels darker than a lightness threshold drawn per sample, as snow cover does.

    albumentations RandomSnow (method='bleach') multiplies the HLS lightness below
    snow_point/2 + 1/3 by brightness_coeff=2.5, with snow_point_range=(0.1, 0.3): a lightness
    threshold of 0.38–0.48, which is our default, with the same factor 2.5. Kornia's RandomSnow
    does the same bleach through a full HLS round trip; ours computes its result in closed form.

    Args:
        threshold: [low, high] HLS lightness in [0, 1] below which pixels are brightened.
        brightness: factor the lightness of those pixels is multiplied by, ≥ 1.
        p: probability that a sample gets snow.
    """

    def __init__(self, threshold: tuple[float, float] = (0.38, 0.48), brightness: float = 2.5, p: float = 0.5) -> None:
        super().__init__(p)
        self.threshold = check_range("threshold", threshold, low=0.0, high=1.0)
        self.brightness = check_number("brightness", brightness, low=1.0)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {"threshold": uniform(self.threshold, batch_size, 1, 1, 1, device=device)}

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return brighten_lightness(images, params["threshold"], self.brightness)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, brightness={self.brightness:g}, {super().extra_repr()}"
