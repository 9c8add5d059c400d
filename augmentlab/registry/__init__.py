"""Installed plugins → names → built modules.

- :mod:`~augmentlab.registry.registrations`: what a plugin registers and what the host knows of it;
- :mod:`~augmentlab.registry.loading`: discovering plugins through entry points, checking their rules, indexing names;
- :mod:`~augmentlab.registry.spec`: the spec language (``elastic(alpha=2),hflip``, ``ce0.8+focal0.2``);
- :mod:`~augmentlab.registry.api`: what is available, and specs checked against it.
"""

from augmentlab.registry.api import (
    available_augmentations,
    available_losses,
    available_sinks,
    resolve_augmentation_set,
    resolve_loss_spec,
)
from augmentlab.registry.loading import (
    PluginRegistry,
    current_registry,
    load_plugins,
    reset_plugins,
)
from augmentlab.registry.registrations import (
    Augmentation,
    AugmentationInfo,
    Loss,
    LossInfo,
    PluginInfo,
    ResultSink,
    SinkInfo,
)
from augmentlab.registry.spec import (
    AugmentationSet,
    AugmentationTerm,
    LossSpec,
    LossTerm,
    parse_augmentation_set,
    parse_loss_spec,
)

__all__ = [
    "Augmentation",
    "AugmentationInfo",
    "AugmentationSet",
    "AugmentationTerm",
    "Loss",
    "LossInfo",
    "LossSpec",
    "LossTerm",
    "PluginInfo",
    "ResultSink",
    "SinkInfo",
    "PluginRegistry",
    "available_augmentations",
    "available_losses",
    "available_sinks",
    "current_registry",
    "load_plugins",
    "parse_augmentation_set",
    "parse_loss_spec",
    "reset_plugins",
    "resolve_augmentation_set",
    "resolve_loss_spec",
]
