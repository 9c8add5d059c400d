"""Soft Tversky loss and its focal form; the base of the Dice and Jaccard losses."""

from __future__ import annotations

import torch

from augmentlab.checks import check_number
from augmentlab.losses import functional as LF
from augmentlab.losses.base import SegmentationLoss


class TverskyLoss(SegmentationLoss):
    """Soft Tversky loss: mean over present classes of (1 - TI_c)^gamma (focal Tversky for gamma ≠ 1).

    ``TI_c = (TP + smooth) / (TP + alpha·FP + beta·FN + smooth)`` from softmax probabilities over
    the labelled pixels of the whole batch. A class is present when some labelled pixel of the
    batch has it; absent classes are left out of the mean. Equals smp's multiclass
    ``TverskyLoss`` when every class is present and gamma = 1 (smp raises the class mean, not
    each class, to gamma).

    Args:
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        alpha: weight of false positives, ≥ 0.
        beta: weight of false negatives, ≥ 0; beta > alpha favours recall (Salehi et al., 2017).
        gamma: exponent, > 0; Abraham & Khan (2019) use 1/γ = 0.75.
        smooth: added to numerator and denominator, ≥ 0.
    """

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = 255,
        alpha: float = 0.3,
        beta: float = 0.7,
        gamma: float = 1.0,
        smooth: float = 0.0,
    ) -> None:
        super().__init__(num_classes, ignore_index)
        self.alpha = check_number("alpha", alpha, low=0.0)
        self.beta = check_number("beta", beta, low=0.0)
        if self.alpha == 0 and self.beta == 0:
            raise ValueError("alpha and beta cannot both be 0: the index would then ignore every error")
        self.gamma = check_number("gamma", gamma, low=0.0, low_open=True)
        self.smooth = check_number("smooth", smooth, low=0.0)

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return LF.soft_tversky(logits, target, self.ignore_index, self.alpha, self.beta, self.smooth, self.gamma)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, alpha={self.alpha:g}, beta={self.beta:g}, gamma={self.gamma:g}, smooth={self.smooth:g}"
