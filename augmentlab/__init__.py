"""augmentlab: find out, fast and honestly, which augmentations and losses help a segmentation model.

Public API::

    augmentlab.hookimpl                      # marks a plugin's hook implementations
    augmentlab.available_augmentations()     # name -> AugmentationInfo
    augmentlab.available_losses()            # name -> LossInfo
    augmentlab.build_augmentation(spec)      # (images, masks) -> (images, masks)
    augmentlab.build_loss(spec, num_classes, ignore_index=255, class_frequencies=None)
    augmentlab.load_plugins(strict=..., disable=..., autoload=...)
    augmentlab.load_dataset(data, *, masks=None, images=None, size=None, ...)   # COCO json, image+mask folders, or the demo
    augmentlab.AblationConfig(aug=["elastic,grid"], loss=["ce0.8+focal0.2"], seeds=3)
    augmentlab.run_ablation(config) -> augmentlab.Report

The names that need torch (building modules, data, the runner) are imported on first use, so
that ``import augmentlab`` and ``augmentlab --help`` stay fast and a plugin's test imports only
what it uses.
"""

from importlib import import_module

from augmentlab.errors import AugmentlabError, PluginError, SpecError
from augmentlab.hookspecs import hookimpl
from augmentlab.registry import (
    Augmentation,
    AugmentationInfo,
    Loss,
    LossInfo,
    PluginInfo,
    ResultSink,
    SinkInfo,
    available_augmentations,
    available_losses,
    available_sinks,
    load_plugins,
    parse_augmentation_set,
    parse_loss_spec,
    resolve_augmentation_set,
    resolve_loss_spec,
)

__version__ = "0.1.0"

_LAZY = {
    "build_augmentation": "augmentlab.augment.pipeline",
    "build_loss": "augmentlab.losses.combo",
    "load_dataset": "augmentlab.data",
    "AblationConfig": "augmentlab.runner.config",
    "run_ablation": "augmentlab.runner.ablation",
    "Report": "augmentlab.report.summary",
}


SUBPACKAGES = ("augment", "data", "diagnostics", "losses", "registry", "report", "results", "runner", "testing", "tracking")
"""Imported on first use, so that ``augmentlab.runner.plan_ablation`` works after a plain ``import augmentlab``."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in SUBPACKAGES:
        return import_module(f"augmentlab.{name}")  # the import sets the attribute itself
    raise AttributeError(f"module 'augmentlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, *SUBPACKAGES})


__all__ = [
    "AblationConfig",
    "Augmentation",
    "AugmentationInfo",
    "AugmentlabError",
    "Loss",
    "LossInfo",
    "PluginError",
    "PluginInfo",
    "ResultSink",
    "SinkInfo",
    "Report",
    "SpecError",
    "available_augmentations",
    "available_losses",
    "available_sinks",
    "build_augmentation",
    "build_loss",
    "hookimpl",
    "load_dataset",
    "load_plugins",
    "parse_augmentation_set",
    "parse_loss_spec",
    "resolve_augmentation_set",
    "resolve_loss_spec",
    "run_ablation",
]
