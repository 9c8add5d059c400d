"""Poly-1 loss (Leng et al., "PolyLoss", ICLR 2022): cross-entropy plus epsilon·(1 - p_t)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from augmentlab.checks import check_number
from augmentlab.losses import SegmentationLoss
from augmentlab.losses.functional import label_or_zero, masked_mean, valid_pixels


class PolyLoss(SegmentationLoss):
    """Poly-1: CE + epsilon·(1-p_t) per pixel, averaged over labelled pixels.

    Args:
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        epsilon: weight of the first polynomial term; 0 gives cross-entropy, must be ≥ -1.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, epsilon: float = 1.0) -> None:
        super().__init__(num_classes, ignore_index)
        self.epsilon = check_number("epsilon", epsilon, low=-1.0)

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # The base class has checked shapes and gives float32 logits [B,C,H,W], int64 target [B,H,W].
        # The host's helpers leave ignored pixels out, and give 0 (not NaN) when every pixel is ignored.
        valid = valid_pixels(target, self.ignore_index)
        log_pt = F.log_softmax(logits, dim=1).gather(1, label_or_zero(target, valid).unsqueeze(1)).squeeze(1)
        per_pixel = -log_pt + self.epsilon * (1.0 - log_pt.exp())
        return masked_mean(per_pixel, valid)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, epsilon={self.epsilon:g}"
