"""Composition: the augmentations of one spec built and applied one after another, above the family bases.

As kornia keeps its containers above its per-family bases, this module is the only one that
knows every family: consecutive geometric warps are grouped into fused stages here
(:mod:`augmentlab.augment.geometric.fusion`), so each transform stays a small class of its own.
"""

from __future__ import annotations

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
from augmentlab.registry.spec import AugmentationSet


class AugmentationPipeline(nn.Module):
    """The augmentations of one spec, applied one after another (an empty pipeline is ``none``).

    Args:
        transforms: the built augmentations, in spec order.
        spec: the canonical spec string, kept for reports.
    """

    def __init__(self, transforms: list[nn.Module], spec: str) -> None:
        super().__init__()
        self.transforms = nn.ModuleList(transforms)
        self.spec = spec
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
            images, masks = fused_warp(stage, images, masks, self.label_swap) if len(stage) > 1 else stage[0](images, masks)
        return images, masks

    def __repr__(self) -> str:
        inner = "".join(f"\n  {transform!r}" for transform in self.transforms)
        return f"AugmentationPipeline('{self.spec}'){inner}"


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
    transforms = []
    for term in parsed:
        info = available[term.name]
        extra = {"ignore_index": ignore_index} if info.accepts_ignore_index else {}
        try:
            transforms.append(info.factory(**extra, **term.kwargs))
        except (ValueError, TypeError) as error:
            raise rejected_value(error, parsed, term, term.position) from None
    return AugmentationPipeline(transforms, str(parsed))


def rejected_batch(error: ValueError, spec: str, where: str = "") -> AugmentlabError:
    """The one line for a set that rejected a batch with a ValueError, a parameter the images cannot hold
    (``grid_dropout``'s ``unit_size_range`` beyond the image): a SpecError of ``spec``, ``where`` appended;
    an AugmentlabError is already that line and comes back as it is."""
    if isinstance(error, AugmentlabError):
        return error
    return SpecError(f"{' '.join(str(error).split())}{where}", spec)
