"""augmentlab: find out, fast and honestly, which augmentations and losses help a segmentation model.

Public API::

    augmentlab.hookimpl                      # marks a plugin's hook implementations
    augmentlab.available_augmentations()     # name -> AugmentationInfo
    augmentlab.available_losses()            # name -> LossInfo
    augmentlab.build_augmentation(spec)      # (images, masks) -> (images, masks)
    augmentlab.build_loss(spec, num_classes, ignore_index=255)
    augmentlab.load_plugins(strict=..., disable=..., autoload=...)
    augmentlab.load_dataset(data, masks=None, images=None, size=None)   # COCO json, image+mask folders, or the demo
"""

from augmentlab.api import (
    available_augmentations,
    available_losses,
    build_augmentation,
    build_loss,
    resolve_augmentation_set,
    resolve_loss_spec,
)
from augmentlab.errors import AugmentlabError, PluginError, SpecError
from augmentlab.hookspecs import hookimpl
from augmentlab.plugin_manager import load_plugins
from augmentlab.registry import Augmentation, AugmentationInfo, Loss, LossInfo, PluginInfo
from augmentlab.spec import parse_augmentation_set, parse_loss_spec

__version__ = "0.1.0"


def __getattr__(name: str):
    # Datasets pull in torch and Pillow; import them on first use so that `augmentlab --help` stays fast.
    if name == "load_dataset":
        from augmentlab.data import load_dataset

        return load_dataset
    raise AttributeError(f"module 'augmentlab' has no attribute {name!r}")

__all__ = [
    "Augmentation",
    "AugmentationInfo",
    "AugmentlabError",
    "Loss",
    "LossInfo",
    "PluginError",
    "PluginInfo",
    "SpecError",
    "available_augmentations",
    "available_losses",
    "build_augmentation",
    "build_loss",
    "hookimpl",
    "load_dataset",
    "load_plugins",
    "parse_augmentation_set",
    "parse_loss_spec",
    "resolve_augmentation_set",
    "resolve_loss_spec",
]
