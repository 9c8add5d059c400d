"""Tone curves with one random number per sample: brightness, contrast and gamma.

albumentations' RandomBrightnessContrast computes ``image * alpha + beta`` on the [0, 1] scale
(contrast is a gain, not a stretch around the mean), and RandomGamma ``image ** gamma``; these
are the same formulas. Kornia's functional ops compute brightness and contrast exactly so and
are wrapped; the base class clamps the result to [0, 1].
"""

from __future__ import annotations

from typing import Any

import torch
from kornia.enhance import adjust_brightness, adjust_contrast

from augmentlab.augment.base import PhotometricAugmentation
from augmentlab.augment.params import uniform
from augmentlab.checks import check_range


class _OneFactorPerSample(PhotometricAugmentation):
    """Draws one factor per sample from ``self.factor_range``, shaped [B,1,1,1].

    A subclass whose ``neutral`` factor leaves a pixel exactly as it is (x + 0, x · 1) gives
    that factor to the samples not chosen, so they come out unchanged without a select over the
    batch (``selects_samples``): one pass fewer on the GPU. Gamma has none: ``pow(x, 1)`` is not
    exact everywhere.
    """

    factor_name: str
    factor_range: tuple[float, float]
    neutral: float | None = None

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {self.factor_name: uniform(self.factor_range, batch_size, 1, 1, 1, device=device)}

    def draw_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        params = super().draw_params(batch_size, height, width, device)
        if self.neutral is not None:
            factor = params[self.factor_name]
            params[self.factor_name] = torch.where(params["chosen"].view(-1, 1, 1, 1), factor, self.neutral)
        return params

    def extra_repr(self) -> str:
        return f"{self.factor_name}={self.factor_range}, {super().extra_repr()}"


class Brightness(_OneFactorPerSample):
    """Add a random offset to all channels, drawn per sample.

    albumentations RandomBrightness (RandomBrightnessContrast's brightness half, brightness_by_max=True)
    adds beta from brightness_limit=(-0.2, 0.2) times the maximum value: ours has the same default
    on the [0, 1] scale. Same formula as kornia's RandomBrightness(brightness=(0.8, 1.2)).

    Args:
        shift: [low, high] offset added to every pixel, on the [0, 1] scale.
        p: probability that a sample is changed.
    """

    factor_name = "shift"
    neutral = 0.0
    selects_samples = True

    def __init__(self, shift: tuple[float, float] = (-0.2, 0.2), p: float = 0.5) -> None:
        super().__init__(p)
        self.factor_range = check_range("shift", shift, low=-1.0, high=1.0)

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return adjust_brightness(images, params["shift"], clip_output=False)


class Contrast(_OneFactorPerSample):
    """Multiply all pixels by a random gain, drawn per sample.

    albumentations RandomContrast (RandomBrightnessContrast's contrast half) multiplies by alpha
    from 1 + contrast_limit, contrast_limit=(-0.2, 0.2): ours defaults to gains (0.8, 1.2). Same
    formula as kornia's RandomContrast(contrast=(0.8, 1.2)).

    Args:
        gain: [low, high] factor every pixel is multiplied by, ≥ 0.
        p: probability that a sample is changed.
    """

    factor_name = "gain"
    neutral = 1.0
    selects_samples = True

    def __init__(self, gain: tuple[float, float] = (0.8, 1.2), p: float = 0.5) -> None:
        super().__init__(p)
        self.factor_range = check_range("gain", gain, low=0.0)

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return adjust_contrast(images, params["gain"], clip_output=False)


class Gamma(_OneFactorPerSample):
    """Raise all pixels to a random power, drawn per sample.

    albumentations RandomGamma uses gamma_limit=(80, 120), i.e. gamma 0.8–1.2: ours has that
    default. Written here rather than with kornia's adjust_gamma, which also multiplies by a gain
    and clamps, two passes over the batch that the base class's clamp makes redundant.

    Args:
        gamma: [low, high] exponent, > 0; below 1 brightens, above 1 darkens.
        p: probability that a sample is changed.
    """

    factor_name = "gamma"

    def __init__(self, gamma: tuple[float, float] = (0.8, 1.2), p: float = 0.5) -> None:
        super().__init__(p)
        self.factor_range = check_range("gamma", gamma, low=0.0, low_open=True)

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return images.pow(params["gamma"].to(images.dtype))
