"""Pixel-wise cross-entropy, the reference study's baseline loss."""

from __future__ import annotations

from typing import Sequence

import torch

from augmentlab.checks import check_number
from augmentlab.losses import functional as LF
from augmentlab.losses.base import SegmentationLoss
from augmentlab.losses.class_weights import class_weight_buffer, format_class_weights


class CrossEntropyLoss(SegmentationLoss):
    """Cross-entropy averaged over labelled pixels, optionally class-weighted and label-smoothed.

    With class weights w the mean is ``Σ w[t]·CE / Σ w[t]`` over labelled pixels, as in
    ``torch.nn.CrossEntropyLoss``. The weights are a buffer: move the module with ``.to(device)``.

    Args:
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        weight: none; ``auto`` for median-frequency weights of ``class_frequencies``; or one
            number ≥ 0 per class.
        label_smoothing: share of the target mass spread uniformly over all classes, in [0, 1].
        class_frequencies: pixel count of each class in the training set (the host passes it);
            used by ``weight=auto`` only.
    """

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = 255,
        weight: str | Sequence[float] | None = None,
        label_smoothing: float = 0.0,
        class_frequencies: Sequence[float] | None = None,
    ) -> None:
        super().__init__(num_classes, ignore_index)
        self.label_smoothing = check_number("label_smoothing", label_smoothing, low=0.0, high=1.0)
        self.register_buffer("class_weights", class_weight_buffer("weight", weight, num_classes, class_frequencies), persistent=False)

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return LF.cross_entropy(logits, target, self.ignore_index, self.label_smoothing, self.class_weights)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, weight={format_class_weights(self.class_weights)}, label_smoothing={self.label_smoothing:g}"
