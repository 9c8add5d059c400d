"""Cutout: erase one or more random rectangles per sample (own batched code; kornia's RandomErasing labels holes 0)."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment.base import MixAugmentation
from augmentlab.augment.mix.regions import (
    drop_region,
    spans_to_membership,
    union_of_rectangles,
)
from augmentlab.augment.params import uniform_integers
from augmentlab.checks import check_range


class Cutout(MixAugmentation):
    """Erase 1..N random rectangles per sample: black in the image, ignore (or background) in the mask.

    Each sample draws its number of holes from ``num_holes_range``; each hole draws its height
    and width as fractions of the image side, and a position that keeps it inside the image.
    Holes may overlap.

    kornia's ``RandomErasing`` erases one rectangle per sample, always labels the mask hole 0
    (background, which teaches the model that black is background) and draws its boxes on the
    CPU; this is our own batched version: all holes of the batch are drawn as [B,N] tensors on
    the batch's device and their union is one batched matrix product of row and column spans.

    Relation to albumentations ``CoarseDropout`` (its successor to Cutout and RandomErasing):
    the same defaults, ``num_holes_range=(1, 2)``, ``hole_height_range=(0.1, 0.2)`` and
    ``hole_width_range=(0.1, 0.2)`` as fractions of the image side, black fill and ``p=0.5``.
    albumentations leaves the mask alone unless given ``fill_mask``; we label holes
    ``ignore_index``.

    Args:
        num_holes_range: ``[low, high]`` number of holes per sample, integers ``1 ≤ low ≤ high``
            [default: (1, 2)].
        hole_height_range: ``[low, high]`` hole height as a fraction of the image height, in
            (0, 1] [default: (0.1, 0.2)]. A hole is at least one pixel.
        hole_width_range: ``[low, high]`` hole width as a fraction of the image width, in (0, 1]
            [default: (0.1, 0.2)].
        fill_mask: label of the holes, ``ignore`` or ``background`` [default: ignore].
        p: probability that a sample is transformed [default: 0.5].
        ignore_index: the ignore label (passed by the host).
    """

    selects_samples = True

    def __init__(
        self,
        num_holes_range: tuple[int, int] = (1, 2),
        hole_height_range: tuple[float, float] = (0.1, 0.2),
        hole_width_range: tuple[float, float] = (0.1, 0.2),
        fill_mask: str = "ignore",
        p: float = 0.5,
        ignore_index: int = 255,
    ) -> None:
        super().__init__(p, fill_mask, ignore_index)
        self.num_holes_range = check_range("num_holes_range", num_holes_range, low=1, integer=True)
        self.hole_height_range = check_range("hole_height_range", hole_height_range, low=0.0, high=1.0, low_open=True)
        self.hole_width_range = check_range("hole_width_range", hole_width_range, low=0.0, high=1.0, low_open=True)

    def _spans(self, fraction_range: tuple[float, float], size: int, active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """int64 [B,N] start and length of each hole along one axis; inactive holes have length 0."""
        low, high = fraction_range
        fraction = torch.empty(active.shape, device=active.device).uniform_(low, high)
        length = torch.floor(fraction * size).long().clamp(1, size)
        start = uniform_integers(torch.zeros_like(length), size - length)
        return start, length * active

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        low, high = self.num_holes_range
        count = uniform_integers(torch.full((batch_size, 1), low, device=device), torch.full((batch_size, 1), high, device=device))
        active = torch.arange(high, device=device) < count  # [B, N]: hole n exists in sample b
        top, height_px = self._spans(self.hole_height_range, height, active)
        left, width_px = self._spans(self.hole_width_range, width, active)
        return {"top": top, "height": height_px, "left": left, "width": width_px}

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = masks.shape[1:]
        rows = spans_to_membership(params["top"], params["height"], height)
        columns = spans_to_membership(params["left"], params["width"], width)
        region = union_of_rectangles(rows, columns) & params["chosen"][:, None, None]
        return drop_region(images, masks, region, self.mask_fill)

    def extra_repr(self) -> str:
        return (
            f"num_holes_range={self.num_holes_range}, hole_height_range={self.hole_height_range}, "
            f"hole_width_range={self.hole_width_range}, {super().extra_repr()}"
        )
