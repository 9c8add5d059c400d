"""Grid distortion: stretch and squeeze the columns and rows of a coarse grid, piecewise linearly."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment.geometric.warp import WarpAugmentation
from augmentlab.augment.params import uniform
from augmentlab.checks import check_flag, check_integer, check_limit
from augmentlab.tensors import built_once


class GridDistortion(WarpAugmentation):
    """Grid distortion: each cell of a coarse grid gets a random width (albumentations GridDistortion).

    Per sample and per cell, the source width of the cell is its regular width times
    ``1 + d`` with d drawn uniformly from ``distort_limit``, separately for columns and rows;
    between cell borders the map is linear. With ``normalized`` the widths are rescaled to add
    up to the image size, so the whole image stays in view, the corner pixels stay in place and
    nothing lacks a source; without it the far edge may pull from outside the image (black,
    label ``fill_mask``) or drop the image's last part.

    Defaults are albumentations' (``num_steps=5``, ``distort_limit=0.3``, ``normalized=True``
    as in 2.x; 1.x did not normalise and reflected the border). albumentations splits each axis
    into ``num_steps`` cells of ``size // num_steps`` pixels plus a short last cell; ours uses
    ``num_steps`` equal cells. Own code: kornia has no grid distortion.

    Args:
        num_steps: cells per axis, ≥ 1. Default: 5.
        distort_limit: range of d; a number x means [-x, x]; within (-1, 1]. Default: 0.3.
        normalized: rescale the cell widths to fill the image exactly. Default: true.
        fill_mask: label of pixels without a source (``normalized=false`` only): ``ignore``
            (``ignore_index``) or ``background`` (0). Default: ``ignore``.
        p: probability that a sample is transformed. Default: 0.5.
        ignore_index: the ignore label; the host passes the dataset's value.
    """

    def __init__(
        self,
        num_steps: int = 5,
        distort_limit: float | tuple[float, float] = 0.3,
        normalized: bool = True,
        fill_mask: str = "ignore",
        p: float = 0.5,
        ignore_index: int = 255,
    ) -> None:
        super().__init__(p, fill_mask, ignore_index)
        self.num_steps = check_integer("num_steps", num_steps, low=1)
        self.distort_limit = check_limit("distort_limit", distort_limit, bound=1.0, low_open=True)
        self.normalized = check_flag("normalized", normalized)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {"stretch": 1.0 + uniform(self.distort_limit, batch_size, 2, self.num_steps, device=device)}

    def sampling_grid(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        columns = piecewise_linear_axis(params["stretch"][:, 0], width, self.normalized)
        rows = piecewise_linear_axis(params["stretch"][:, 1], height, self.normalized)
        return torch.stack([columns[:, None, :].expand(-1, height, -1), rows[:, :, None].expand(-1, -1, width)], dim=-1)

    def extra_repr(self) -> str:
        return f"num_steps={self.num_steps}, distort_limit={self.distort_limit}, normalized={self.normalized}, {super().extra_repr()}"


def piecewise_linear_axis(stretch: torch.Tensor, size: int, normalized: bool) -> torch.Tensor:
    """Normalised source coordinate of each pixel along one axis.

    The axis runs from the first pixel centre to the last (as in albumentations), so with
    ``normalized`` the end pixels map onto themselves.

    Args:
        stretch: float [B,n], each cell's source length relative to its output length.
        size: pixels along the axis.
        normalized: rescale the source lengths to add up to the axis.

    Returns:
        float32 [B,size], as grid_sample's normalised coordinates (align_corners=False).
    """
    cells = stretch.shape[-1]
    span = max(size - 1, 1)
    lengths = stretch.float() * (span / cells)
    if normalized:
        lengths = lengths * (span / lengths.sum(-1, keepdim=True))
    starts = torch.cumsum(lengths, -1) - lengths
    cell, crossed = cell_positions(size, cells, stretch.device)
    index = cell.expand(stretch.shape[0], -1)
    source = starts.gather(1, index) + crossed * lengths.gather(1, index)
    return source * (2.0 / size) + (1.0 / size - 1.0)


@built_once
def cell_positions(size: int, cells: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The pixel centres of an axis in cell units: (int64 [size] the cell each falls in, float32 [size] the fraction of it crossed).

    They depend on the sizes only, so they are built once per size and device (shared, read-only).
    """
    position = torch.arange(size, device=device, dtype=torch.float32) * (cells / max(size - 1, 1))
    cell = position.floor().clamp(max=cells - 1)
    return cell.long(), position - cell
