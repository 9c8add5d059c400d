"""Class copy-paste: paste every pixel of one, preferably rare, class from another sample (own batched code)."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment.base import MixAugmentation
from augmentlab.augment.mix.regions import paste
from augmentlab.augment.params import random_partners
from augmentlab.checks import check_integer


class CopyPaste(MixAugmentation):
    """Paste the pixels of one class from another sample of the batch, favouring rare classes.

    Each sample picks a partner among the other samples (uniformly, never itself), then one
    class present in the partner's mask, and takes the partner's pixels of that class, image and
    label, at the same place. Pasted pixels cover whatever was there, so a pasted object can hide
    part of an object of the receiving sample.

    Class rule: the candidates are the labels ``1..max_label`` present in the partner's mask
    (background 0 and ``ignore_index`` are never pasted). Candidate ``c`` is chosen with
    probability proportional to ``1 / n_c``, where ``n_c`` is the number of pixels of class
    ``c`` in the whole batch, so a class that covers few pixels of the batch is pasted more
    often than a common one. A sample whose partner has no candidate is left unchanged; so is
    the only sample of a batch of one, which has no partner.

    kornia's ``RandomTransplantation`` does the same kind of paste, but with a Python loop over
    samples, a ``unique`` per donor (a host sync each) and a uniform draw over labels. Ours
    counts the labels of every sample in one ``scatter_add`` into ``max_label + 1`` bins and
    draws the class with an exponential race (``argmax(weight / Exp(1))``), all on the device.

    albumentations has no class copy-paste. Unlike the Simple Copy-Paste paper (Ghiasi et al.,
    2021), the class is pasted without scale jitter, so it keeps its size and place.

    Args:
        max_label: largest class label that can be pasted, ≥ 1 [default: 255]; labels above it
            are never chosen. Counting uses ``max_label + 1`` bins per sample.
        p: probability that a sample receives a paste [default: 0.5].
        ignore_index: the ignore label, never pasted (passed by the host).
    """

    def __init__(self, max_label: int = 255, p: float = 0.5, ignore_index: int = 255) -> None:
        super().__init__(p, "ignore", ignore_index)
        self.ignore_index = ignore_index
        self.max_label = check_integer("max_label", max_label, low=1)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        # The class draw depends on the masks; its randomness is drawn here: one Exp(1) per class bin.
        # Clamped away from 0 so that the race below never divides by zero.
        race = torch.empty(batch_size, self.max_label + 1, device=device).exponential_().clamp_min(1e-30)
        return {"partner": random_partners(batch_size, device), "race": race}

    def class_counts(self, masks: torch.Tensor) -> torch.Tensor:
        """int64 [B, max_label + 1]: pixels of each pastable class per sample (bin 0, background, stays 0).

        Args:
            masks: int64 [B,H,W].
        """
        # One clamp and one scatter over the masks; labels that cannot be pasted land in bins that
        # are cleared afterwards on the small counts tensor: below 1 in bin 0, above max_label in
        # an overflow bin, ignore_index in its own bin.
        bins = masks.clamp(0, self.max_label + 1).flatten(1)
        counts = torch.zeros(masks.shape[0], self.max_label + 2, dtype=torch.long, device=masks.device)
        counts.scatter_add_(1, bins, torch.ones((), dtype=torch.long, device=masks.device).expand_as(bins))
        label = torch.arange(self.max_label + 1, device=masks.device)
        return counts[:, :-1] * ((label >= 1) & (label != self.ignore_index))

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        partner = params["partner"]
        counts = self.class_counts(masks)
        present = counts[partner] > 0  # [B, bins]: classes the partner can give
        weight = torch.where(present, 1.0 / counts.sum(0).clamp_min(1), torch.zeros((), device=masks.device))
        # Exponential race: argmax(w_c / E_c) with E_c ~ Exp(1) picks class c with probability w_c / Σ w.
        chosen = torch.argmax(weight / params["race"], dim=1)
        donor_masks = masks[partner]
        region = (donor_masks == chosen[:, None, None]) & present.any(1)[:, None, None]
        return paste(images, masks, images[partner], donor_masks, region)

    def extra_repr(self) -> str:
        return f"max_label={self.max_label}, p={self.p:g}"
