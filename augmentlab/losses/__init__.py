"""Segmentation losses: functional math and the ignore-pixel helpers in ``functional``, one module per loss, and a spec's weighted sum in ``combo``."""

from augmentlab.losses.base import SegmentationLoss
from augmentlab.losses.combo import WeightedLossSum, build_loss
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
    "build_loss",
]
