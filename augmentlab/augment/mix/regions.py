"""Batched region helpers of the mix and dropout transforms, public for plugins that drop or paste regions.

Every region here is made of axis-aligned rectangles, so it is built from per-sample row and
column memberships ([B,H] and [B,W], or [B,N,H] and [B,N,W] for N rectangles) instead of
per-rectangle full-size masks: one rectangle (or one grid) is their outer AND, and one batched
matrix product gives the union of N rectangles, with no loop over samples.
"""

from __future__ import annotations

import torch


def spans_to_membership(start: torch.Tensor, length: torch.Tensor, size: int) -> torch.Tensor:
    """bool [..., size]: position ``t`` lies in ``[start, start + length)``.

    Args:
        start, length: int64 [...], one span per element; a length of 0 gives an empty span.
        size: number of positions along the axis.
    """
    positions = torch.arange(size, device=start.device)
    return (positions >= start[..., None]) & (positions < (start + length)[..., None])


def union_of_rectangles(rows: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """bool [B,H,W]: the union over ``n`` of the rectangles ``rows[b, n] × columns[b, n]``.

    Args:
        rows: bool [B,N,H], the rows each rectangle covers.
        columns: bool [B,N,W], the columns each rectangle covers.
    """
    # Σ_n rows[b,n,h]·columns[b,n,w] counts the rectangles covering (h, w); counts stay far below
    # float32's exact integer range, and 0/1 inputs are exact in TF32 too.
    covered = torch.bmm(rows.transpose(1, 2).float(), columns.float())
    return covered > 0.5


def drop_region(images: torch.Tensor, masks: torch.Tensor, region: torch.Tensor, fill: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Black out ``region`` in the images and give it the label ``fill`` in the masks.

    Args:
        images: float [B,C,H,W]; masks: int64 [B,H,W]; region: bool [B,H,W].

    Returns:
        (images, masks) of the input shapes and dtypes.
    """
    # A product with 0/1 is exact for finite images and, on the CPU, faster than masked_fill or where.
    images = images * (~region[:, None]).to(images.dtype)
    masks = torch.where(region, fill, masks)
    return images, masks


def paste(
    images: torch.Tensor, masks: torch.Tensor, donor_images: torch.Tensor, donor_masks: torch.Tensor, region: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace ``region`` of each sample with the same pixels of its donor, image and mask alike.

    Args:
        images: float [B,C,H,W]; masks: int64 [B,H,W]; donor_images, donor_masks: the same shapes,
            sample ``i`` giving to sample ``i`` (``images[partners]``); region: bool [B,H,W].

    Returns:
        (images, masks) of the input shapes and dtypes; labels are copied, never interpolated.
    """
    # lerp with weights 0/1 returns start or end exactly, and vectorises better than where on the CPU.
    images = torch.lerp(images, donor_images, region[:, None].to(images.dtype))
    masks = torch.where(region, donor_masks, masks)
    return images, masks
