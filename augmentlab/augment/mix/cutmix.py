"""CutMix for segmentation: paste a box from another sample, image and mask together (own code; kornia's drops masks)."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment.base import MixAugmentation
from augmentlab.augment.mix.regions import paste, spans_to_membership
from augmentlab.augment.params import random_partners, uniform_integers
from augmentlab.checks import check_number


class CutMix(MixAugmentation):
    """Paste a random box from another sample of the batch, image and mask alike (CutMix).

    Each sample picks a partner among the other samples (uniformly, never itself) and takes the
    partner's pixels and labels inside one box, at the same place in both images. As in the
    CutMix paper (Yun et al., 2019), ``λ ~ Beta(alpha, alpha)`` sets the box: its sides are
    ``sqrt(1 - λ)`` times the image's, its centre is uniform over the image, and it is clipped to
    the image, so the pasted share is at most ``1 - λ``. Labels are copied, not mixed: every
    pixel keeps exactly one label, so no soft targets are needed.

    kornia's ``RandomCutMixV2`` mixes images and returns class-label mixing weights, but does
    not carry segmentation masks; this is our own batched version.

    A batch of one sample has no partner: that sample is left unchanged.

    albumentations has no CutMix (the reference study wanted it but could not get it working).
    ``alpha=1`` (λ uniform) is the paper's default.

    Args:
        alpha: concentration of the Beta distribution of λ, > 0 [default: 1.0]; smaller values
            favour very small or very large boxes.
        p: probability that a sample receives a box [default: 0.5].
        ignore_index: the ignore label (passed by the host); pasted pixels keep their own labels.
    """

    def __init__(self, alpha: float = 1.0, p: float = 0.5, ignore_index: int = 255) -> None:
        super().__init__(p, "ignore", ignore_index)
        self.alpha = check_number("alpha", alpha, low=0.0, low_open=True)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        concentration = torch.full((batch_size,), self.alpha, device=device)
        # validate_args=False: checking the concentration on the device would wait on the host.
        lam = torch.distributions.Beta(concentration, concentration, validate_args=False).sample()
        # Built on the device (torch.tensor from a list would be a blocking host-to-device copy).
        size = torch.where(torch.arange(2, device=device) == 0, height, width)  # (y, x)
        centre = uniform_integers(torch.zeros(batch_size, 2, dtype=torch.long, device=device), size - 1)
        half = torch.floor(torch.sqrt(1.0 - lam)[:, None] * size).long() // 2
        start = (centre - half).clamp_min(0)
        end = torch.minimum(centre + half, size)
        return {"partner": random_partners(batch_size, device), "start": start, "length": end - start}

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = masks.shape[1:]
        start, length = params["start"], params["length"]
        rows = spans_to_membership(start[:, 0], length[:, 0], height)
        columns = spans_to_membership(start[:, 1], length[:, 1], width)
        partner = params["partner"]
        return paste(images, masks, images[partner], masks[partner], rows[:, :, None] & columns[:, None, :])

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}, p={self.p:g}"
