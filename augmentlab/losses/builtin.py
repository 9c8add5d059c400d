"""augmentlab's built-in losses, registered through the ``augmentlab`` entry-point group like any plugin."""

from __future__ import annotations

from augmentlab.hookspecs import hookimpl
from augmentlab.losses.cross_entropy import CrossEntropyLoss
from augmentlab.losses.dice import DiceLoss
from augmentlab.losses.focal import FocalLoss
from augmentlab.losses.jaccard import JaccardLoss
from augmentlab.losses.lovasz import LovaszLoss
from augmentlab.losses.ohem import OhemCrossEntropyLoss
from augmentlab.losses.tversky import TverskyLoss
from augmentlab.registry.registrations import Loss


@hookimpl
def augmentlab_register_losses() -> list[Loss]:
    return [
        Loss("ce", CrossEntropyLoss),
        Loss("focal", FocalLoss),
        Loss("dice", DiceLoss),
        Loss("jaccard", JaccardLoss),
        Loss("lovasz", LovaszLoss),
        Loss("tversky", TverskyLoss),
        Loss("ohem", OhemCrossEntropyLoss),
    ]
