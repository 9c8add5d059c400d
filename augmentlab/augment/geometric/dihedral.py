"""Quarter turns and the transpose: pixel permutations about the image centre.

On square images both are exact permutations: every output pixel centre lands on a source pixel
centre, so the bilinear image sampling reads one pixel and the mask gather is exact. A batch
must keep its [H, W] shape, so on non-square images the turn (or the reflection in the diagonal)
is made about the centre inside the same canvas: what leaves the canvas is cut off, and the
strips left uncovered are black with label ``fill_mask``. When H + W is odd the centre is moved
by half a pixel (rounded down) so that pixels still land on pixels.

Own code rather than kornia's ``RandomRotation90``: kornia warps masks through ``warp_affine``
and fills uncovered pixels with 0, i.e. background; here every warp shares the exact mask gather.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from augmentlab.augment.geometric.warp import ProjectiveWarp
from augmentlab.tensors import constant


def about_centre(linear: list[list[int]], height: int, width: int) -> list[list[float]]:
    """The homogeneous 3×3 map ``c + L (p - c)`` of the linear part L (2×2, entries -1, 0 or 1) about the image centre c.

    The translation is rounded down to whole pixels, which only moves it when it is a half.
    Plain numbers: the few matrices a dihedral transform needs are built on the host, and a
    batch picks its own by indexing (one op, where building them per sample took dozens).
    """
    cx, cy = (width - 1) / 2, (height - 1) / 2
    (a, b), (c, d) = linear
    return [[a, b, math.floor(cx - a * cx - b * cy)], [c, d, math.floor(cy - c * cx - d * cy)], [0, 0, 1]]


QUARTER_TURNS = [[[1, 0], [0, 1]], [[0, -1], [1, 0]], [[-1, 0], [0, -1]], [[0, 1], [-1, 0]]]
"""R = [[cos, -sin], [sin, cos]] for k = 0..3 quarter turns: output pixel p samples c + R (p - c)."""


class RandomRotate90(ProjectiveWarp):
    """Rotate by a random multiple of 90° (k = 0..3 per sample), counter-clockwise like torch.rot90.

    The number of quarter turns k is drawn uniformly from {0, 1, 2, 3} per sample, as in
    albumentations RandomRotate90 (so a sample that is picked keeps its orientation one time in
    four). Square images are permuted exactly. Non-square images are turned about their centre
    inside the same canvas (see the module docstring); half turns never leave a gap.

    albumentations 2.x defaults to p=1; ours is 0.5 like the other built-ins.

    Args:
        fill_mask: label of the strips a quarter turn uncovers on non-square images:
            ``ignore`` (``ignore_index``) or ``background`` (0). Default: ``ignore``.
        p: probability that a sample is transformed. Default: 0.5.
        ignore_index: the ignore label; the host passes the dataset's value.

    Example:
        >>> import torch
        >>> from augmentlab.augment.geometric.dihedral import RandomRotate90
        >>> image = torch.arange(4.0).view(1, 1, 2, 2).expand(1, 3, 2, 2)
        >>> mask = torch.tensor([[[0, 1], [2, 3]]])
        >>> params = {"quarter_turns": torch.tensor([1])}
        >>> RandomRotate90(p=1).apply_transform(image, mask, params)[1]
        tensor([[[1, 3],
                 [0, 2]]])
    """

    def __init__(self, fill_mask: str = "ignore", p: float = 0.5, ignore_index: int = 255) -> None:
        super().__init__(p, fill_mask, ignore_index)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {"quarter_turns": torch.randint(0, 4, (batch_size,), device=device)}

    def source_matrix(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        matrices = constant([about_centre(turn, height, width) for turn in QUARTER_TURNS], device)
        return matrices[params["quarter_turns"]]

    def maps_onto_itself(self, height: int, width: int) -> bool:
        return height == width


class Transpose(ProjectiveWarp):
    """Swap rows and columns, i.e. reflect in the main diagonal (albumentations Transpose).

    Square images are permuted exactly. Non-square images are reflected in the diagonal through
    their centre inside the same canvas (see the module docstring). Its matrix has determinant
    -1, so it mirrors (:meth:`~augmentlab.augment.geometric.warp.PixelMap.reflects`) and a label
    swap table swaps paired labels; quarter turns have determinant +1 and swap none.

    Args:
        fill_mask: label of the strips uncovered on non-square images: ``ignore``
            (``ignore_index``) or ``background`` (0). Default: ``ignore``.
        p: probability that a sample is transposed (albumentations: 0.5 too). Default: 0.5.
        ignore_index: the ignore label; the host passes the dataset's value.
    """

    def __init__(self, fill_mask: str = "ignore", p: float = 0.5, ignore_index: int = 255) -> None:
        super().__init__(p, fill_mask, ignore_index)

    def source_matrix(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        return constant(about_centre([[0, 1], [1, 0]], height, width), device).expand(batch_size, 3, 3)

    def maps_onto_itself(self, height: int, width: int) -> bool:
        return height == width
