"""Random perspective: the image corners move inwards and the image is warped onto the new quadrilateral."""

from __future__ import annotations

from typing import Any

import torch
from kornia.geometry.transform import get_perspective_transform

from augmentlab.augment.geometric.warp import ProjectiveWarp
from augmentlab.augment.params import uniform
from augmentlab.checks import check_number


class RandomPerspective(ProjectiveWarp):
    """Random perspective: the corners move inwards by random amounts (kornia RandomPerspective).

    Parameters are drawn as kornia's ``PerspectiveGenerator`` (``sampling_method='basic'``)
    draws them: each corner moves towards the centre by up to ``distortion_scale`` times half
    the width and half the height, each coordinate uniformly. kornia's closed-form
    ``get_perspective_transform`` gives the homography; the warp itself takes our shared path,
    because kornia's ``warp_perspective`` fills the uncovered border of masks with background.
    The draw is ours (on the batch's device, under ``torch.manual_seed``) since kornia's
    generator draws on the CPU by default.

    The default is kornia's: a corner moves 0.125 of the size on average. albumentations
    Perspective does the opposite: it maps a jittered quadrilateral inside the image onto the
    whole output (a zoom, so nothing is uncovered), the jitter being ``|N(0, σ)|`` of the size
    with σ drawn from ``scale=(0.05, 0.1)``, about 0.06 of the size on average; its
    ``scale=(0.1, 0.2)`` moves corners about as far as ours.

    Args:
        distortion_scale: how far corners may move, in [0, 1) as a fraction of half the size.
            Default: 0.5.
        fill_mask: label of pixels without a source: ``ignore`` (``ignore_index``) or
            ``background`` (0). Default: ``ignore``.
        p: probability that a sample is transformed. Default: 0.5.
        ignore_index: the ignore label; the host passes the dataset's value.
    """

    def __init__(self, distortion_scale: float = 0.5, fill_mask: str = "ignore", p: float = 0.5, ignore_index: int = 255) -> None:
        super().__init__(p, fill_mask, ignore_index)
        # Below 1, each corner stays in its own quarter of the image and the quadrilateral stays convex.
        self.distortion_scale = check_number("distortion_scale", distortion_scale, low=0.0, high=1.0, high_open=True)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {"corner_moves": uniform((0.0, self.distortion_scale), batch_size, 4, 2, device=device)}

    projective = True

    def source_matrix(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        # Unit-square corners (0, 0), (1, 0), (1, 1), (0, 1): top-left, top-right, bottom-right, bottom-left.
        index = torch.arange(4, device=device)
        unit = torch.stack([(index + 1) // 2 % 2, index // 2], -1).float()
        corners = torch.stack([unit[:, 0] * (width - 1), unit[:, 1] * (height - 1)], -1).expand(batch_size, 4, 2)
        # Each coordinate moves inwards by its fraction of half the size.
        moves = params["corner_moves"] * (0.5 - unit)
        moved = corners + torch.stack([moves[..., 0] * width, moves[..., 1] * height], -1)
        # Output pixels sample the source through the map that takes the moved corners back home.
        return get_perspective_transform(moved, corners).float()

    def extra_repr(self) -> str:
        return f"distortion_scale={self.distortion_scale:g}, {super().extra_repr()}"
