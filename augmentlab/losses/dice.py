"""Soft Dice loss: the Tversky loss with alpha = beta = 0.5."""

from __future__ import annotations

from augmentlab.losses.tversky import TverskyLoss


class DiceLoss(TverskyLoss):
    """Soft multiclass Dice loss: mean over present classes of 1 - (TP + smooth) / (TP + (FP + FN)/2 + smooth).

    That is 1 - (2·TP + 2·smooth) / (|P| + |G| + 2·smooth) per class, from softmax probabilities
    over the labelled pixels of the whole batch; absent classes are left out (see
    :class:`TverskyLoss`). Equals smp's multiclass ``DiceLoss`` when every class is present.

    Args:
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        smooth: added to numerator and denominator, ≥ 0.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, smooth: float = 0.0) -> None:
        super().__init__(num_classes, ignore_index, alpha=0.5, beta=0.5, gamma=1.0, smooth=smooth)
