"""Softmax focal loss.

segmentation_models_pytorch's multiclass FocalLoss sums one-vs-rest sigmoid focal terms per
class, which is a different loss; this is the softmax form of Lin et al. (2017).
"""

from __future__ import annotations

from typing import Sequence

import torch

from augmentlab.checks import check_number
from augmentlab.losses import functional as LF
from augmentlab.losses.base import SegmentationLoss
from augmentlab.losses.class_weights import class_weight_buffer, format_class_weights


class FocalLoss(SegmentationLoss):
    """Softmax focal loss -α_t·(1-p_t)^gamma·log(p_t), averaged over labelled pixels.

    With per-class α the mean is ``Σ α[t]·FL / Σ α[t]``, the weighting of ``ce``, so
    ``focal(gamma=0, alpha=w)`` equals ``ce(weight=w)``. α is a buffer: move the module with
    ``.to(device)``.

    Args:
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        gamma: focusing exponent, ≥ 0; 0 gives cross-entropy.
        alpha: none; ``auto`` for median-frequency weights of ``class_frequencies``; or one
            number ≥ 0 per class.
        class_frequencies: pixel count of each class in the training set (the host passes it);
            used by ``alpha=auto`` only.
    """

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = 255,
        gamma: float = 2.0,
        alpha: str | Sequence[float] | None = None,
        class_frequencies: Sequence[float] | None = None,
    ) -> None:
        super().__init__(num_classes, ignore_index)
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.register_buffer("class_weights", class_weight_buffer("alpha", alpha, num_classes, class_frequencies), persistent=False)

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return LF.softmax_focal(logits, target, self.ignore_index, self.gamma, self.class_weights)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gamma={self.gamma:g}, alpha={format_class_weights(self.class_weights)}"
