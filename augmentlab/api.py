"""The public Python API: what is available, and building modules from spec strings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

from augmentlab.errors import SpecError
from augmentlab.plugin_manager import current_registry
from augmentlab.registry import AugmentationInfo, LossInfo
from augmentlab.spec import (
    AugmentationSet,
    LossSpec,
    check_augmentation_set,
    check_loss_spec,
    parse_augmentation_set,
    parse_loss_spec,
)

if TYPE_CHECKING:
    from torch import nn

    from augmentlab.augment.base import AugmentationPipeline
    from augmentlab.losses.combo import WeightedLossSum


def available_augmentations() -> Mapping[str, AugmentationInfo]:
    """Every augmentation the loaded plugins provide, by spec name."""
    return current_registry().augmentations


def available_losses() -> Mapping[str, LossInfo]:
    """Every loss the loaded plugins provide, by spec name."""
    return current_registry().losses


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


def _bad_value(error: Exception, spec_text: str, term: object, position: int) -> SpecError:
    return SpecError(f"{term}: {error}", spec_text, position)


def build_augmentation(spec: str | AugmentationSet, ignore_index: int = 255) -> AugmentationPipeline:
    """Build the augmentation pipeline of a spec such as ``elastic(alpha=2),hflip`` or ``none``.

    The pipeline maps (images float [B,3,H,W] in [0,1], masks int64 [B,H,W]) to the same, on
    the device of its inputs. Mask pixels that lose their source get ``ignore_index`` (unless a
    transform is built with ``fill_mask=background``).

    Raises:
        SpecError: malformed spec, unknown name or parameter, or a parameter value the
            augmentation rejects.
    """
    from augmentlab.augment.base import AugmentationPipeline

    parsed = resolve_augmentation_set(spec)
    available = available_augmentations()
    transforms = []
    for term in parsed:
        info = available[term.name]
        extra = {"ignore_index": ignore_index} if info.accepts_ignore_index else {}
        try:
            transforms.append(info.factory(**extra, **term.kwargs))
        except (ValueError, TypeError) as error:
            raise _bad_value(error, parsed.text, term, term.position) from None
    return AugmentationPipeline(transforms, str(parsed))


def build_loss(
    spec: str | LossSpec,
    num_classes: int,
    ignore_index: int = 255,
    class_frequencies: Sequence[float] | None = None,
) -> WeightedLossSum:
    """Build the loss of a spec such as ``ce0.8+focal(gamma=2)0.2``.

    The module maps (logits float [B,C,H,W], target int64 [B,H,W]) to a float32 scalar and keeps
    each term's last value in ``last_terms``.

    Args:
        spec: the loss spec.
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        class_frequencies: pixel count (or share) of each class in the training set, passed to
            the losses that accept it (``ce(weight=auto)``, ``focal(alpha=auto)``). Move the
            returned module to the logits' device: class weights are buffers.

    Raises:
        SpecError: malformed spec, unknown name or parameter, or a parameter value the loss rejects.
    """
    from augmentlab.losses.combo import WeightedLossSum

    parsed = resolve_loss_spec(spec)
    available = available_losses()
    terms: list[tuple[str, float, nn.Module]] = []
    for term in parsed:
        info = available[term.name]
        extra = {"class_frequencies": class_frequencies} if info.accepts_class_frequencies else {}
        try:
            module = info.factory(num_classes=num_classes, ignore_index=ignore_index, **extra, **term.kwargs)
        except (ValueError, TypeError) as error:
            raise _bad_value(error, parsed.text, term.label, term.position) from None
        terms.append((term.label, term.weight, module))
    return WeightedLossSum(terms, str(parsed))
