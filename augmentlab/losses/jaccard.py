"""Soft Jaccard (IoU) loss: the Tversky loss with alpha = beta = 1."""

from __future__ import annotations

from augmentlab.losses.tversky import TverskyLoss


class JaccardLoss(TverskyLoss):
    """Soft Jaccard (IoU) loss: mean over present classes of 1 - (TP + smooth) / (TP + FP + FN + smooth).

    TP + FP + FN is the soft union |P ∪ G|; computed from softmax probabilities over the
    labelled pixels of the whole batch; absent classes are left out (see :class:`TverskyLoss`).
    Equals smp's multiclass ``JaccardLoss`` when every class is present.

    Args:
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        smooth: added to numerator and denominator, ≥ 0.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, smooth: float = 0.0) -> None:
        super().__init__(num_classes, ignore_index, alpha=1.0, beta=1.0, gamma=1.0, smooth=smooth)
