"""Fog: blend each sample towards a fog colour through a smooth, random haze of its own.

Kornia has no fog. albumentations draws hundreds of translucent circles one by one on the CPU;
here a coarse grid of random densities per sample is upsampled bicubically into a smooth haze
field, so one blend covers the whole batch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from augmentlab.augment.base import PhotometricAugmentation
from augmentlab.augment.params import uniform
from augmentlab.augment.photometric.ranges import colour_tensor
from augmentlab.checks import check_colour, check_number, check_range


def haze_cells(height: int, width: int, patch_size: float) -> tuple[int, int]:
    """Rows and columns of the coarse density grid: one cell per patch of ``patch_size`` × the shorter side."""
    side = patch_size * min(height, width)
    return max(2, round(height / side)), max(2, round(width / side))


class Fog(PhotometricAugmentation):
    """Blend towards a fog colour through a smooth random haze, its density drawn per sample.

    The fog's opacity at a pixel is ``intensity · opacity · (1 − texture + texture · haze)``, with
    the haze a smooth random field in [0, 1] whose patches are ``patch_size`` of the shorter side.
    albumentations RandomFog uses fog_coef_range=(0.3, 1) and alpha_coef=0.08: white circles
    heaped up, at 512×512 and full intensity, to an opacity of about 0.5 at the centre and 0.1 at
    the edges; ours has the same intensity range, white fog, and opacities between 0.24 and 0.6
    at full intensity, in patches of 1/5 of the image. albumentations also blurs the whole image;
    ours does not (add gaussian_blur for that).

    Args:
        intensity: [low, high] fog density in [0, 1], drawn per sample.
        opacity: opacity of the densest haze at intensity 1, in [0, 1].
        texture: how much the haze varies across the image, in [0, 1]: 0 is an even veil.
        patch_size: size of the haze patches as a fraction of the shorter image side, > 0.
        color: RGB fog colour in [0, 1].
        p: probability that a sample gets fog.
    """

    def __init__(
        self,
        intensity: tuple[float, float] = (0.3, 1.0),
        opacity: float = 0.6,
        texture: float = 0.6,
        patch_size: float = 0.2,
        color: tuple[float, float, float] = (1.0, 1.0, 1.0),
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        self.intensity = check_range("intensity", intensity, low=0.0, high=1.0)
        self.opacity = check_number("opacity", opacity, low=0.0, high=1.0)
        self.texture = check_number("texture", texture, low=0.0, high=1.0)
        self.patch_size = check_number("patch_size", patch_size, low=0.0, low_open=True)
        self.color = check_colour("color", color)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {
            "intensity": uniform(self.intensity, batch_size, 1, 1, 1, device=device),
            "density": torch.rand(batch_size, 1, *haze_cells(height, width, self.patch_size), device=device),
        }

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        haze = F.interpolate(params["density"], size=images.shape[-2:], mode="bicubic", align_corners=False).clamp_(0.0, 1.0)
        opacity = haze.mul_(self.texture).add_(1.0 - self.texture).mul_(params["intensity"] * self.opacity)
        return torch.lerp(images.float(), colour_tensor(self.color, images.device), opacity).to(images.dtype)

    def extra_repr(self) -> str:
        return f"intensity={self.intensity}, opacity={self.opacity:g}, texture={self.texture:g}, {super().extra_repr()}"
