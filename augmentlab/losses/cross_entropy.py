"""Pixel-wise cross-entropy, the reference study's baseline loss."""

from __future__ import annotations

import torch

from augmentlab.losses import _functional as LF
from augmentlab.losses.base import SegmentationLoss, check_number


class CrossEntropyLoss(SegmentationLoss):
    """Cross-entropy averaged over labelled pixels (torch's F.cross_entropy).

    Args:
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        label_smoothing: share of the target mass spread uniformly over all classes, in [0, 1].
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, label_smoothing: float = 0.0) -> None:
        super().__init__(num_classes, ignore_index)
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return LF.cross_entropy(logits, target, self.ignore_index, self.label_smoothing)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, label_smoothing={self.label_smoothing:g}"
