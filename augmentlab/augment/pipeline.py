"""Composition: the augmentations of one spec built and applied one after another, above the family bases.

As kornia keeps its containers above its per-family bases, this module is the only one that
knows every family: consecutive geometric warps are grouped into fused stages here
(:mod:`augmentlab.augment.geometric.fusion`), so each transform stays a small class of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from augmentlab.augment.base import check_batch
from augmentlab.augment.geometric.fusion import fusable, fused_warp
from augmentlab.augment.geometric.warp import WarpAugmentation
from augmentlab.augment.mirror import check_label_swap
from augmentlab.errors import AugmentlabError, SpecError
from augmentlab.registry.api import (
    available_augmentations,
    rejected_value,
    resolve_augmentation_set,
)
from augmentlab.registry.loading import BUILTIN_DISTRIBUTION, current_registry
from augmentlab.registry.spec import AugmentationSet, parse_augmentation_set


class AugmentationPipeline(nn.Module):
    """The augmentations of one spec, applied one after another (an empty pipeline is ``none``).

    Args:
        transforms: the built augmentations, in spec order.
        spec: the canonical spec string, kept for reports.
    """

    def __init__(self, transforms: list[nn.Module], spec: str, names: Sequence[str] | None = None) -> None:
        super().__init__()
        self.transforms = nn.ModuleList(transforms)
        self.spec = spec
        if names is None:
            try:
                terms = [term.name for term in parse_augmentation_set(spec)]
            except SpecError:  # a label rather than a spec: the transforms are named by their classes
                terms = []
            names = [f"'{name}'" for name in terms] if len(terms) == len(transforms) else [type(t).__name__ for t in transforms]
        self._names = {id(transform): name for transform, name in zip(transforms, names)}
        """How an error names each transform: ``'float_mask' (plugin 'badaug')``."""
        self.stages = _fused_stages(transforms)
        """The transforms in order, consecutive warps of one mask fill grouped to run as one warp."""
        self.register_buffer("label_swap", None, persistent=False)

    def set_label_swap(self, table: torch.Tensor | None) -> None:
        """Swap mirror-paired labels wherever a transform mirrors a sample; None (the default) swaps nothing.

        Call it once after building, before ``.to(device)`` (or with ``table`` on the device):
        every transform that has ``set_label_swap`` (all built on the family bases) gets the
        table, and so do the fused warp stages. Which transforms mirror is each one's
        :meth:`~augmentlab.augment.base.BatchAugmentation.reflects`: flips and the transpose
        always, projective warps where their matrix's determinant is negative, others never.

        Args:
            table: int64 [L] from :func:`~augmentlab.augment.mirror.label_swap_table`
                (``table[a] = b`` for each pair, identity elsewhere), or None.
        """
        self.label_swap = check_label_swap(table)
        for transform in self.transforms:
            if hasattr(transform, "set_label_swap"):
                transform.set_label_swap(table)

    def forward(self, images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images: float [B,3,H,W] in [0,1]; masks: int64 [B,H,W]. Returns both, augmented.

        Consecutive geometric warps are composed into one sampling grid and applied as one
        (see :func:`augmentlab.augment.geometric.fusion.fused_warp`): one image and mask sampling
        instead of one per warp.
        """
        check_batch(images, masks)
        for stage in self.stages:
            if len(stage) > 1:
                images, masks = fused_warp(stage, images, masks, self.label_swap)
                continue
            output = stage[0](images, masks)
            # Tensor metadata only, no host read: a transform that breaks the contract is named
            # here, not the next one (or the loss) that trips over its output.
            problem = output_problem(images, masks, output)
            if problem:
                raise TransformOutputError(self._names.get(id(stage[0]), type(stage[0]).__name__), self.spec, problem)
            images, masks = output
        return images, masks

    def __repr__(self) -> str:
        inner = "".join(f"\n  {transform!r}" for transform in self.transforms)
        return f"AugmentationPipeline('{self.spec}'){inner}"


class TransformOutputError(AugmentlabError):
    """A transform of a pipeline returned something other than images and masks of its input's shapes and dtypes.

    Attributes:
        problem: what it returned, in words (the message names the transform too).
    """

    def __init__(self, transform: str, spec: str, problem: str) -> None:
        alone = transform.split(" ", 1)[0] == f"'{spec}'"
        super().__init__(f"augmentation {transform}{'' if alone else f' in {spec!r}'} {problem}")
        self.problem = problem


def output_problem(images: torch.Tensor, masks: torch.Tensor, output: object) -> str | None:
    """What is wrong with ``output`` as a transform's result for ``(images, masks)``, in words, or None when nothing is.

    Reads tensor metadata only (type, dtype, shape, device), so it never waits for a GPU.
    """
    if not (isinstance(output, tuple | list) and len(output) == 2 and all(isinstance(item, torch.Tensor) for item in output)):
        return f"returned {type(output).__name__}, not a tuple of two tensors (images, masks)"
    out_images, out_masks = output
    if out_masks.dtype != torch.int64:
        return f"returned masks of {out_masks.dtype}; masks stay int64 class indices (never interpolate labels)"
    if out_masks.shape != masks.shape or out_images.shape != images.shape:
        return (
            f"returned images {tuple(out_images.shape)} and masks {tuple(out_masks.shape)} for a batch of "
            f"{tuple(images.shape)} and {tuple(masks.shape)}; keep the batch's shapes"
        )
    if out_images.dtype != images.dtype or out_images.device != images.device or out_masks.device != masks.device:
        return (
            f"returned images of {out_images.dtype} on {out_images.device} and masks on {out_masks.device} for images of "
            f"{images.dtype} on {images.device}; keep the input's dtype and device"
        )
    return None


def _fused_stages(transforms: list[nn.Module]) -> list[list[nn.Module]]:
    """Group runs of consecutive fusable transforms whose warps share a mask fill; every other transform stands alone.

    Flips, and warps that leave no pixel without a source (crops), have no fill of their own and
    join any run. A run without a warp (flips only) is split again: a flip by indexing is cheaper
    than one resampling.
    """
    def fill(transforms: list[nn.Module]) -> int | None:
        """The mask fill of the gap-leaving warps among ``transforms``, None when there is none."""
        return next((t.mask_fill for t in transforms if isinstance(t, WarpAugmentation) and t.leaves_gaps), None)

    runs: list[list[nn.Module]] = []
    for transform in transforms:
        fills = {fill(runs[-1]), fill([transform])} - {None} if runs else set()
        if runs and fusable(runs[-1][-1]) and fusable(transform) and len(fills) <= 1:
            runs[-1].append(transform)
        else:
            runs.append([transform])
    stages: list[list[nn.Module]] = []
    for run in runs:
        warped = any(isinstance(transform, WarpAugmentation) for transform in run)
        stages.extend([run] if warped and len(run) > 1 else [[transform] for transform in run])
    return stages


def build_augmentation(spec: str | AugmentationSet, ignore_index: int = 255) -> AugmentationPipeline:
    """Build the augmentation pipeline of a spec such as ``elastic(alpha=2),hflip`` or ``none``.

    The pipeline maps (images float [B,3,H,W] in [0,1], masks int64 [B,H,W]) to the same, on
    the device of its inputs. Mask pixels that lose their source get ``ignore_index`` (unless a
    transform is built with ``fill_mask=background``).

    Raises:
        SpecError: malformed spec, unknown name or parameter, or a parameter value the
            augmentation rejects.
    """
    parsed = resolve_augmentation_set(spec)
    available = available_augmentations()
    builtin = _builtin_providers()
    transforms, names = [], []
    for term in parsed:
        info = available[term.name]
        extra = {"ignore_index": ignore_index} if info.accepts_ignore_index else {}
        try:
            transforms.append(info.factory(**extra, **term.kwargs))
        except (ValueError, TypeError) as error:
            raise rejected_value(error, parsed, term, term.position) from None
        names.append(f"'{term.name}'" + ("" if info.provider in builtin else f" (plugin '{info.provider}')"))
    return AugmentationPipeline(transforms, str(parsed), names)


def plugin_transforms(spec: str) -> list[str]:
    """The transforms of an augmentation set that come from plugins other than augmentlab's built-ins, as ``name (plugin 'p')``."""
    registry, builtin = current_registry(), _builtin_providers()
    return [
        f"{term.name} (plugin '{registry.augmentations[term.name].provider}')"
        for term in resolve_augmentation_set(spec) if registry.augmentations[term.name].provider not in builtin
    ]


def _builtin_providers() -> set[str]:
    """The plugin names of augmentlab's own entry points: a transform of any other is a plugin's, and errors name it."""
    return {plugin.name for plugin in current_registry().plugins if plugin.distribution == BUILTIN_DISTRIBUTION}


def rejected_batch(error: ValueError, spec: str, where: str = "") -> AugmentlabError:
    """The one line for a set that rejected a batch with a ValueError, a parameter the images cannot hold
    (``grid_dropout``'s ``unit_size_range`` beyond the image): a SpecError of ``spec``, ``where`` appended;
    an AugmentlabError is already that line and comes back as it is."""
    if isinstance(error, AugmentlabError):
        return error
    return SpecError(f"{' '.join(str(error).split())}{where}", spec)
