"""Grid dropout: a regular grid of square-ish holes, shifted per sample (own batched code; kornia has none)."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment.base import MixAugmentation
from augmentlab.augment.mix.regions import drop_region
from augmentlab.augment.params import uniform_integers
from augmentlab.checks import check_flag, check_number, check_range


class GridDropout(MixAugmentation):
    """Drop a regular grid of rectangular holes: black in the image, ignore (or background) in the mask.

    The image is tiled by grid units of ``unit_h × unit_w`` pixels; each unit holds one hole of
    ``floor(ratio · unit)`` pixels per side (at least 1, at most ``unit - 1``), at the same place
    in every unit. The grid's offset is drawn per sample (uniformly in ``[0, unit - hole]`` along
    each axis), so each sample gets its own holes; the grid repeats up to the image border, where
    the last unit may be cut.

    Kornia has no grid dropout, so this is our own batched code: a hole is where the row's and
    the column's position within their unit both fall in the hole, a few comparisons per pixel.

    Relation to albumentations ``GridDropout`` (reference study): same ``ratio=0.5`` and
    ``p=0.5``; with ``unit_size_range=None`` the unit is ``max(2, side // 10)`` per axis, as
    there. albumentations draws the unit size from ``[low, high)`` and, since 2.0, one offset per
    hole; we draw from ``[low, high]`` inclusive and one offset per sample, which keeps the grid
    regular as in the GridMask paper. albumentations leaves the mask alone unless given
    ``fill_mask``; we label holes ``ignore_index`` so the model never learns black as background.

    Args:
        ratio: hole side over unit side, in (0, 1] [default: 0.5].
        unit_size_range: ``[low, high]`` side of the square grid unit in pixels, drawn per sample,
            ``2 ≤ low ≤ high ≤`` the image's shorter side; ``None`` uses ``max(2, side // 10)``
            per axis [default: None].
        random_offset: draw the grid offset per sample; ``False`` starts the grid at the top-left
            corner [default: True].
        fill_mask: label of the holes, ``ignore`` or ``background`` [default: ignore].
        p: probability that a sample is transformed [default: 0.5].
        ignore_index: the ignore label (passed by the host).

    Example:
        >>> drop = GridDropout(ratio=0.5, unit_size_range=(4, 4), random_offset=False, p=1.0)
        >>> images, masks = drop(torch.ones(1, 3, 4, 8), torch.ones(1, 4, 8, dtype=torch.long))
        >>> masks[0]
        tensor([[255, 255,   1,   1, 255, 255,   1,   1],
                [255, 255,   1,   1, 255, 255,   1,   1],
                [  1,   1,   1,   1,   1,   1,   1,   1],
                [  1,   1,   1,   1,   1,   1,   1,   1]])
    """

    selects_samples = True

    def __init__(
        self,
        ratio: float = 0.5,
        unit_size_range: tuple[int, int] | None = None,
        random_offset: bool = True,
        fill_mask: str = "ignore",
        p: float = 0.5,
        ignore_index: int = 255,
    ) -> None:
        super().__init__(p, fill_mask, ignore_index)
        self.ratio = check_number("ratio", ratio, low=0.0, high=1.0, low_open=True)
        self.unit_size_range = None if unit_size_range is None else check_range("unit_size_range", unit_size_range, low=2, integer=True)
        self.random_offset = check_flag("random_offset", random_offset)

    def _unit_sizes(self, batch_size: int, height: int, width: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """int64 [B] unit heights and widths."""
        if self.unit_size_range is None:
            return (torch.full((batch_size,), max(2, height // 10), device=device), torch.full((batch_size,), max(2, width // 10), device=device))
        low, high = self.unit_size_range
        if high > min(height, width):
            raise ValueError(f"unit_size_range {list(self.unit_size_range)} must not exceed the image's shorter side {min(height, width)}")
        size = uniform_integers(torch.full((batch_size,), low, device=device), torch.full((batch_size,), high, device=device))
        return size, size

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        unit = torch.stack(self._unit_sizes(batch_size, height, width, device), 1)  # [B, 2] as (y, x)
        hole = torch.minimum(torch.floor(unit * self.ratio).long().clamp_min(1), unit - 1)
        if self.random_offset:
            offset = uniform_integers(torch.zeros_like(unit), unit - hole)
        else:
            offset = torch.zeros_like(unit)
        return {"unit": unit, "hole": hole, "offset": offset}

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = masks.shape[1:]
        unit, hole, offset = params["unit"], params["hole"], params["offset"]
        # A pixel lies in a hole when its position inside its grid unit, along both axes, is below the hole size.
        rows = torch.remainder(torch.arange(height, device=unit.device) - offset[:, :1], unit[:, :1]) < hole[:, :1]
        rows &= params["chosen"][:, None]  # unchosen samples get no hole, so forward need not select
        columns = torch.remainder(torch.arange(width, device=unit.device) - offset[:, 1:], unit[:, 1:]) < hole[:, 1:]
        region = rows[:, :, None] & columns[:, None, :]
        return drop_region(images, masks, region, self.mask_fill)

    def extra_repr(self) -> str:
        return f"ratio={self.ratio:g}, unit_size_range={self.unit_size_range}, random_offset={self.random_offset}, {super().extra_repr()}"
