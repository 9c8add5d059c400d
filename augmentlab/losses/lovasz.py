"""Lovász-softmax loss, a convex surrogate of the per-class Jaccard loss."""

from __future__ import annotations

import torch

from augmentlab.checks import check_flag
from augmentlab.losses import functional as LF
from augmentlab.losses.base import SegmentationLoss


class LovaszLoss(SegmentationLoss):
    """Lovász-softmax loss (Berman et al., 2018): Lovász extension of each present class's Jaccard loss, averaged.

    The errors of class c are ``|[t = c] - p_c|`` over labelled pixels; a class counts when some
    labelled pixel has it. Equals smp's multiclass ``LovaszLoss`` when some pixel is labelled
    (and, with ``per_image``, when every image has a labelled pixel).

    Args:
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        per_image: one loss per image, averaged over images with a labelled pixel, instead of
            one loss over the whole batch.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, per_image: bool = False) -> None:
        super().__init__(num_classes, ignore_index)
        self.per_image = check_flag("per_image", per_image)

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return LF.lovasz_softmax(logits, target, self.ignore_index, self.per_image)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, per_image={self.per_image}"
