"""The one path every geometric warp takes: a sampling grid, then ``remap_images`` / ``remap_masks``.

A warp only says where each output pixel comes from. :class:`WarpAugmentation` does the rest,
so every warp gets the same fill rule and the same image–mask agreement: a pixel either has a
source, and gets its colour and label, or has none, and is black with label ``mask_fill``.

Coordinates follow kornia and OpenCV: the centre of pixel (row i, column j) is at x = j, y = i,
so an image of width W spans [-0.5, W - 0.5]. Grids are normalised for ``F.grid_sample`` with
``align_corners=False``, where that pixel centre sits at (2j + 1) / W - 1.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from augmentlab.augment.base import GeometricAugmentation, remap_images, remap_masks

# remap_masks' fill for samples without a source; no mask holds this label.
NO_SOURCE = torch.iinfo(torch.int64).min


def uniform(batch_size: int, low: float, high: float, device: torch.device) -> torch.Tensor:
    """float32 [B] drawn uniformly from [low, high), on ``device``."""
    return torch.rand(batch_size, device=device) * (high - low) + low


def projective_grid(matrix: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Sampling grid of a map from output pixels to source pixels.

    Args:
        matrix: float [B,2,3] (affine) or [B,3,3] (projective), taking the output pixel
            (x, y, 1) to its source pixel (homogeneous for [B,3,3]), in pixel coordinates.
        height, width: output size, also the source size.

    Returns:
        float32 [B,H,W,2].
    """
    projective = matrix.shape[-2] == 3
    matrix = matrix.float()
    if not projective:
        bottom = F.pad(torch.ones_like(matrix[:, :1, :1]), (2, 0))
        matrix = torch.cat([matrix, bottom], dim=1)
    # Fold the pixel -> normalised conversion, x' = (2x + 1) / W - 1, into the matrix rows so
    # that the per-pixel work is a few broadcast ops.
    rows = [
        matrix[:, 0] * (2.0 / width) + matrix[:, 2] * (1.0 / width - 1.0),
        matrix[:, 1] * (2.0 / height) + matrix[:, 2] * (1.0 / height - 1.0),
        matrix[:, 2],
    ]
    xs = torch.arange(width, device=matrix.device, dtype=torch.float32).view(1, 1, width)
    ys = torch.arange(height, device=matrix.device, dtype=torch.float32).view(1, height, 1)
    planes = [(row[:, 0, None, None] * xs + row[:, 2, None, None]) + row[:, 1, None, None] * ys for row in rows[: 3 if projective else 2]]
    if projective:
        planes = [planes[0] / planes[2], planes[1] / planes[2]]
    return torch.stack(planes, dim=-1)


def warp(images: torch.Tensor, masks: torch.Tensor, grid: torch.Tensor, fill: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample images bilinearly and masks exactly at ``grid``; sourceless pixels get black and ``fill``.

    The edge is hard: a pixel either has a source (by ``remap_masks``' rule) and gets its colour
    and label, or has none and is black with ``fill``. Zero-padded bilinear sampling alone would
    darken the pixels that sample between the outer pixel centres and the image edge by up to
    half, although they have a source and a label.

    Args:
        images: float [B,C,H,W] in [0,1], any float dtype.
        masks: int64 [B,H,W].
        grid: float32 [B,H,W,2], normalised as for ``F.grid_sample`` with ``align_corners=False``.
        fill: mask label of pixels whose source lies outside the image.

    Returns:
        (images of the input dtype, int64 masks), same shapes as the inputs.
    """
    gathered = remap_masks(masks, grid, NO_SOURCE)
    no_source = gathered == NO_SOURCE
    height, width = images.shape[-2:]
    # Clamped onto the outer pixel centres, no sample reaches the zero padding.
    bound = torch.stack([grid.new_full((), 1.0 - 1.0 / width), grid.new_full((), 1.0 - 1.0 / height)])
    # grid_sample wants the grid in the image dtype, and a bf16 grid is off by up to half a pixel
    # at 512 px while the mask is gathered at float32: half-precision images are warped in float32.
    warped = remap_images(images.float(), grid.clamp(-bound, bound)).masked_fill_(no_source[:, None], 0.0)
    return warped.to(images.dtype), gathered.masked_fill_(no_source, fill)


class WarpAugmentation(GeometricAugmentation):
    """A geometric transform given by where each output pixel comes from.

    Subclasses draw their parameters in :meth:`sample_params` and turn them into a sampling grid
    in :meth:`sampling_grid`; images are sampled bilinearly there, masks by exact nearest gather,
    and pixels with no source are black with label ``mask_fill``.
    """

    def sampling_grid(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        """float32 [B,H,W,2]: for each output pixel, its normalised source position."""
        raise NotImplementedError

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        batch_size, _, height, width = images.shape
        return warp(images, masks, self.sampling_grid(params, batch_size, height, width, images.device), self.mask_fill)


OUTSIDE = 4.0
"""A normalised position far outside every image, for composed positions that already lost their source."""


def fusable(transform: object) -> bool:
    """Whether ``transform`` is a warp that :func:`fused_warp` can merge with its neighbours."""
    return isinstance(transform, WarpAugmentation) and transform.p > 0 and type(transform).forward is WarpAugmentation.forward


def fused_warp(transforms: list[WarpAugmentation], images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Consecutive warps applied as one: their sampling grids are composed, then image and mask are sampled once.

    Each transform draws its per-sample choice and parameters exactly as its own ``forward``
    would, in the same order. Unchosen samples get the identity grid. Composing works back from
    the last warp: each output pixel's position in a warp's output frame is looked up in that
    warp's grid (bilinearly: the grids are smooth, and affine and dihedral ones are linear, so
    the lookup is exact for them), giving its position one frame earlier. A position that falls
    outside a frame has no source there, and stays outside.

    Compared with warping one transform at a time, the mask is rounded to a source pixel once
    instead of once per warp, and the image is interpolated once, so it is sharper; it costs one
    image and mask sampling instead of one per warp. The transforms must share ``mask_fill``.

    Args:
        transforms: warps with p > 0, in pipeline order.
        images: float [B,3,H,W] in [0,1].
        masks: int64 [B,H,W].
    """
    fills = {transform.mask_fill for transform in transforms}
    if len(fills) != 1:
        raise ValueError(f"fused warps must share their mask fill, got {sorted(fills)}")
    batch_size, _, height, width = images.shape
    device = images.device
    identity = projective_grid(torch.eye(2, 3, device=device)[None], height, width)
    grids = []
    for transform in transforms:
        params = transform.draw_params(batch_size, height, width, device)
        grid = transform.sampling_grid(params, batch_size, height, width, device)
        grids.append(grid if transform.p == 1.0 else torch.where(params["chosen"][:, None, None, None], grid, identity))
    composite = grids[-1]
    for grid in reversed(grids[:-1]):
        outside = (composite.abs() > 1.0).any(-1, keepdim=True)
        earlier = F.grid_sample(grid.permute(0, 3, 1, 2), composite, mode="bilinear", padding_mode="border", align_corners=False)
        composite = earlier.permute(0, 2, 3, 1).masked_fill(outside, OUTSIDE)
    return warp(images, masks, composite, fills.pop())
