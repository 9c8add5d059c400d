"""Cross-entropy with online hard example mining (OHEM) over pixels."""

from __future__ import annotations

import torch

from augmentlab.checks import check_integer, check_number
from augmentlab.losses import functional as LF
from augmentlab.losses.base import SegmentationLoss


class OhemCrossEntropyLoss(SegmentationLoss):
    """Cross-entropy over the hard pixels only: true-class probability below thresh, plus at least min_kept per image.

    mmsegmentation's ``OHEMPixelSampler`` rule: a labelled pixel is kept when ``p_t < thresh``
    or when it is among the ``min_kept × L`` highest-loss pixels of the batch (L: images with a
    labelled pixel), and the loss is the mean cross-entropy of the kept pixels.

    Args:
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        thresh: probability threshold in (0, 1], or none to keep exactly the min_kept hardest.
        min_kept: hardest pixels kept per image at least, ≥ 0 (10000 is 15% of 256×256; mmseg
            configs use 100000 for 512×1024 crops).
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, thresh: float | None = 0.7, min_kept: int = 10000) -> None:
        super().__init__(num_classes, ignore_index)
        self.thresh = None if thresh is None else check_number("thresh", thresh, low=0.0, high=1.0, low_open=True)
        self.min_kept = check_integer("min_kept", min_kept, low=0)
        if self.thresh is None and self.min_kept == 0:
            raise ValueError("ohem keeps no pixel with thresh=none and min_kept=0; set thresh, min_kept > 0, or both")

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return LF.ohem_cross_entropy(logits, target, self.ignore_index, self.thresh, self.min_kept)

    def extra_repr(self) -> str:
        thresh = "none" if self.thresh is None else f"{self.thresh:g}"
        return f"{super().extra_repr()}, thresh={thresh}, min_kept={self.min_kept}"
