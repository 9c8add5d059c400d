"""What the loaded plugins make available, and specs checked against it.

Building modules from specs is the job of the layers that own them: :func:`augmentlab.augment.pipeline.build_augmentation`
and :func:`augmentlab.losses.combo.build_loss`.
"""

from __future__ import annotations

from typing import Mapping

from augmentlab.errors import SpecError
from augmentlab.registry.loading import current_registry
from augmentlab.registry.registrations import AugmentationInfo, LossInfo, SinkInfo
from augmentlab.registry.spec import (
    AugmentationSet,
    LossSpec,
    check_augmentation_set,
    check_loss_spec,
    parse_augmentation_set,
    parse_loss_spec,
)


def available_augmentations() -> Mapping[str, AugmentationInfo]:
    """Every augmentation the loaded plugins provide, by spec name."""
    return current_registry().augmentations


def available_losses() -> Mapping[str, LossInfo]:
    """Every loss the loaded plugins provide, by spec name."""
    return current_registry().losses


def available_sinks() -> Mapping[str, SinkInfo]:
    """Every result sink the loaded plugins provide, by the name ``--track`` takes."""
    return current_registry().sinks


def resolve_augmentation_set(spec: str | AugmentationSet) -> AugmentationSet:
    """Parse ``spec`` if needed and check it against the available augmentations.

    Raises:
        SpecError: malformed spec, unknown name or unknown parameter.
    """
    parsed = parse_augmentation_set(spec) if isinstance(spec, str) else spec
    registry = current_registry()
    check_augmentation_set(parsed, registry.augmentations, registry.losses)
    return parsed


def resolve_loss_spec(spec: str | LossSpec) -> LossSpec:
    """Parse ``spec`` if needed and check it against the available losses.

    Raises:
        SpecError: malformed spec, unknown name or unknown parameter.
    """
    parsed = parse_loss_spec(spec) if isinstance(spec, str) else spec
    registry = current_registry()
    check_loss_spec(parsed, registry.losses, registry.augmentations)
    return parsed


def rejected_value(error: Exception, spec: AugmentationSet | LossSpec, label: object, position: int) -> SpecError:
    """The SpecError for a parameter value a factory rejected (``ValueError``/``TypeError``), pointing at its term."""
    return SpecError(f"{label}: {error}", spec.text, position)
