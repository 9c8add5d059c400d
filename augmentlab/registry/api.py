"""What the loaded plugins make available, and specs checked against it.

Building modules from specs is the job of the layers that own them: :func:`augmentlab.augment.pipeline.build_augmentation`
and :func:`augmentlab.losses.combo.build_loss`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Mapping

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
    parsed = parse_augmentation_set(spec) if isinstance(spec, str) else _parsed(spec, AugmentationSet, "an augmentation set", "'elastic(alpha=2),hflip'", ",")
    registry = current_registry()
    with _naming_disabled_plugins(registry):
        check_augmentation_set(parsed, registry.augmentations, registry.losses)
    return parsed


def resolve_loss_spec(spec: str | LossSpec) -> LossSpec:
    """Parse ``spec`` if needed and check it against the available losses.

    Raises:
        SpecError: malformed spec, unknown name or unknown parameter.
    """
    parsed = parse_loss_spec(spec) if isinstance(spec, str) else _parsed(spec, LossSpec, "a loss spec", "'ce0.8+focal0.2'", "+")
    registry = current_registry()
    with _naming_disabled_plugins(registry):
        check_loss_spec(parsed, registry.losses, registry.augmentations)
    return parsed


@contextlib.contextmanager
def _naming_disabled_plugins(registry: Any) -> Iterator[None]:
    """An unknown name, where plugins are disabled, says which: `-D augmentlab.losses` makes even ``ce`` unknown."""
    try:
        yield
    except SpecError as error:
        disabled = [plugin.name for plugin in registry.plugins if plugin.status == "disabled"]
        if not disabled or not error.reason.startswith("unknown "):
            raise
        raise SpecError(
            f"{error.reason}; disabled here: {', '.join(disabled)} (AUGMENTLAB_DISABLE_PLUGINS or -D), which may provide it", error.spec, error.position
        ) from None


def _parsed(spec: object, kind: type, what: str, example: str, joiner: str) -> Any:
    """``spec`` when it is already parsed; else a TypeError that says what to pass (a list of terms gets the joined string)."""
    if isinstance(spec, kind):
        return spec
    hint = f"; join a list of terms into one: {joiner.join(map(str, spec))!r}" if isinstance(spec, list | tuple) and all(isinstance(t, str) for t in spec) else ""
    raise TypeError(f"{what} is a string such as {example}, got {type(spec).__name__} {spec!r}{hint}")


def rejected_value(error: Exception, spec: AugmentationSet | LossSpec, label: object, position: int) -> SpecError:
    """The SpecError for a parameter value a factory rejected (``ValueError``/``TypeError``), pointing at its term."""
    return SpecError(f"{label}: {error}", spec.text, position)
