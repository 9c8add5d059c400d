"""Consecutive warps applied as one: maps composed, then image and mask sampled once.

Any subclass of :class:`~augmentlab.augment.geometric.warp.WarpAugmentation` or
:class:`~augmentlab.augment.geometric.warp.PixelMap` that keeps the shared ``forward`` takes part,
plugins' included: :class:`~augmentlab.augment.pipeline.AugmentationPipeline` groups them.
"""

from __future__ import annotations

import torch

from augmentlab.augment.base import BatchAugmentation
from augmentlab.augment.geometric.warp import (
    PixelMap,
    WarpAugmentation,
    compose,
    identity_matrix,
    map_through,
    warp,
)
from augmentlab.augment.mirror import swap_labels


def fusable(transform: object) -> bool:
    """Whether ``transform`` can join its neighbours in :func:`fused_warp`: a warp, or a pixel map, with p > 0, using the shared forward."""
    return (
        isinstance(transform, (WarpAugmentation, PixelMap))
        and transform.p > 0  # type: ignore[attr-defined]
        and type(transform).forward is WarpAugmentation.forward
    )


def fused_warp(
    transforms: list[BatchAugmentation], images: torch.Tensor, masks: torch.Tensor, label_swap: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Consecutive warps applied as one: their maps are composed, then image and mask are sampled once.

    Each transform draws its per-sample choice and parameters exactly as its own ``forward``
    would, in the same order. Composing works back from the last transform: each output pixel's
    position in a transform's output frame is mapped to its position one frame earlier.
    Projective maps (flips, turns, shift-scale-rotate, crops, perspective) are multiplied as
    3×3 matrices and applied to the positions only when a dense warp (elastic, grid, optical)
    needs them; a dense warp maps the positions through its own field (:meth:`WarpAugmentation.map_points`).
    A position that falls outside a frame has no source there, and stays without one; maps that
    take the image onto itself (flips, turns of square images) cannot move a position out, so
    the check waits until it is needed.

    Compared with warping one transform at a time, the mask is rounded to a source pixel once
    instead of once per warp, and the image is interpolated once, so it is sharper; it costs one
    image and mask sampling instead of one per warp. The warps that can leave a pixel without a
    source must share ``mask_fill``.

    A sample is mirrored when its composed map is, i.e. when an odd number of the transforms
    mirror it (determinants multiply): two flips cancel. With ``label_swap``, the mirror-paired
    labels of those samples are swapped.

    Args:
        transforms: fusable transforms (see :func:`fusable`), at least one a warp, in pipeline order.
        images: float [B,3,H,W] in [0,1].
        masks: int64 [B,H,W].
        label_swap: int64 [L] from :func:`~augmentlab.augment.mirror.label_swap_table`, or None.
    """
    warps = [transform for transform in transforms if isinstance(transform, WarpAugmentation)]
    fills = {warp.mask_fill for warp in warps if warp.leaves_gaps} or {warp.mask_fill for warp in warps[:1]}
    if len(fills) != 1:
        raise ValueError(f"fused warps must share one mask fill, got {sorted(fills)}")
    batch_size, _, height, width = images.shape
    device = images.device
    drawn = [transform.draw_params(batch_size, height, width, device) for transform in transforms]
    if label_swap is not None:
        masks = _swap_mirrored(transforms, drawn, masks, label_swap, height, width)
    points: torch.Tensor | None = None  # positions in the current frame; None: every pixel centre
    matrix: torch.Tensor | None = None  # a projective map still to apply to ``points``
    projective = False
    lost: torch.Tensor | None = None  # bool [B,H,W]: positions that left some earlier frame
    unchecked = False  # whether positions (after ``matrix``) may lie outside the current frame

    def settle() -> None:
        nonlocal points, matrix, lost, unchecked, projective
        if matrix is not None:
            points, matrix, projective = map_through(matrix, points, height, width, projective), None, False
        if unchecked:
            outside = (points.abs() > 1.0).any(-1)
            lost = outside if lost is None else lost.logical_or_(outside)
            unchecked = False

    for transform, params in reversed(list(zip(transforms, drawn))):
        if isinstance(transform, PixelMap):
            onto = transform.maps_onto_itself(height, width)
            if unchecked and not onto:
                settle()
            source = transform.source_matrix(params, batch_size, height, width, device)
            if transform.p < 1.0:
                source = torch.where(params["chosen"][:, None, None], source, identity_matrix(device))
            matrix = source if matrix is None else compose(source, matrix)
            projective = projective or transform.projective
            unchecked = unchecked or not onto
        else:
            settle()
            points = transform.map_points(params, points, height, width)
            unchecked = True
    if matrix is not None:
        points = map_through(matrix, points, height, width, projective)
    assert points is not None  # at least one transform
    return warp(images, masks, points, fills.pop(), lost)


def _swap_mirrored(
    transforms: list[BatchAugmentation], drawn: list[dict], masks: torch.Tensor, label_swap: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """``masks`` with the paired labels swapped in the samples that the composed map mirrors.

    Swapped before sampling, as in :meth:`BatchAugmentation.forward`: relabelling commutes with
    moving pixels, and pixels left without a source keep their fill label.
    """
    mirrored: torch.Tensor | None = None
    for transform, params in zip(transforms, drawn):
        flips = transform.mirrored_samples(params, height, width)
        if flips is not None:
            mirrored = flips if mirrored is None else mirrored ^ flips
    return masks if mirrored is None else swap_labels(masks, label_swap, mirrored)
