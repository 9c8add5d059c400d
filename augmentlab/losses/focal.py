"""Softmax focal loss.

segmentation_models_pytorch's multiclass FocalLoss sums one-vs-rest sigmoid focal terms per
class, which is a different loss; this is the softmax form of Lin et al. (2017).
"""

from __future__ import annotations

import torch

from augmentlab.losses import _functional as LF
from augmentlab.losses.base import SegmentationLoss, check_number


class FocalLoss(SegmentationLoss):
    """Softmax focal loss -(1-p_t)^gamma·log(p_t), averaged over labelled pixels.

    Args:
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        gamma: focusing exponent, ≥ 0; 0 gives cross-entropy.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, gamma: float = 2.0) -> None:
        super().__init__(num_classes, ignore_index)
        self.gamma = check_number("gamma", gamma, low=0.0)

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return LF.softmax_focal(logits, target, self.ignore_index, self.gamma)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gamma={self.gamma:g}"
