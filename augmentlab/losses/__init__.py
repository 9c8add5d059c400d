"""Segmentation losses: functional math in ``_functional``, one module per loss."""

from augmentlab.losses.base import SegmentationLoss
from augmentlab.losses.combo import WeightedLossSum
from augmentlab.losses.cross_entropy import CrossEntropyLoss
from augmentlab.losses.dice import DiceLoss
from augmentlab.losses.focal import FocalLoss
from augmentlab.losses.jaccard import JaccardLoss
from augmentlab.losses.lovasz import LovaszLoss
from augmentlab.losses.ohem import OhemCrossEntropyLoss
from augmentlab.losses.tversky import TverskyLoss

__all__ = [
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "JaccardLoss",
    "LovaszLoss",
    "OhemCrossEntropyLoss",
    "SegmentationLoss",
    "TverskyLoss",
    "WeightedLossSum",
]
