"""Segmentation losses: functional math in ``_functional``, one module per loss."""

from augmentlab.losses.base import SegmentationLoss
from augmentlab.losses.combo import WeightedLossSum

__all__ = ["SegmentationLoss", "WeightedLossSum"]
