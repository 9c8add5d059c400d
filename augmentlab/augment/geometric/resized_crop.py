"""Random resized crop: cut a random box out of each sample and stretch it back to the input size."""

from __future__ import annotations

import math
from typing import Any

import torch

from augmentlab.augment.geometric.warp import ProjectiveWarp, homogeneous
from augmentlab.augment.params import uniform
from augmentlab.checks import check_range

ATTEMPTS = 10


class RandomResizedCrop(ProjectiveWarp):
    """Random resized crop: a box of random area and aspect ratio, resized to the input size.

    The box is drawn as torchvision, albumentations and kornia draw it (same defaults): an area
    fraction from ``scale`` and a width/height ratio log-uniformly from ``ratio``; of ten such
    draws the first that fits inside the image is used, else the whole image cropped to the
    nearest allowed ratio, centred. All ten draws are made at once for the whole batch. Unlike
    those, the box is not rounded to whole pixels. The image is resampled bilinearly and the mask
    by nearest neighbour, exactly; the box lies inside the image, so no pixel lacks a source and
    there is no ``fill_mask``.

    albumentations RandomResizedCrop defaults to p=1 and takes the output ``size``; ours keeps
    the input size, so a batch keeps its shape, and has p=0.5 like the other built-ins. Own
    code rather than kornia's RandomResizedCrop: kornia draws its parameters on the CPU, and
    its crop is a warp of its own.

    Args:
        scale: range of the box area as a fraction of the image area, within (0, 1].
            Default: [0.08, 1.0].
        ratio: range of the box width/height ratio, > 0. Default: [3/4, 4/3].
        p: probability that a sample is cropped. Default: 0.5.
    """

    leaves_gaps = False  # the box lies inside the image

    def __init__(self, scale: tuple[float, float] = (0.08, 1.0), ratio: tuple[float, float] = (3 / 4, 4 / 3), p: float = 0.5) -> None:
        super().__init__(p)
        self.scale = check_range("scale", scale, low=0.0, high=1.0, low_open=True)
        self.ratio = check_range("ratio", ratio, low=0.0, low_open=True)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        area = uniform(self.scale, batch_size, ATTEMPTS, device=device) * (height * width)
        ratio = torch.exp(uniform((math.log(self.ratio[0]), math.log(self.ratio[1])), batch_size, ATTEMPTS, device=device))
        box_width, box_height = torch.sqrt(area * ratio), torch.sqrt(area / ratio)
        fits = (box_width <= width) & (box_height <= height)
        # The first attempt that fits: argmax returns the first maximum.
        first = fits.int().argmax(dim=1, keepdim=True)
        any_fits = fits.any(dim=1)
        # Fallback: the whole image, cut down to the nearest allowed aspect ratio.
        fallback_ratio = min(max(width / height, self.ratio[0]), self.ratio[1])
        fallback_width, fallback_height = min(width, height * fallback_ratio), min(height, width / fallback_ratio)
        box_width = torch.where(any_fits, box_width.gather(1, first)[:, 0], fallback_width)
        box_height = torch.where(any_fits, box_height.gather(1, first)[:, 0], fallback_height)
        corner_rand = torch.rand(batch_size, 2, device=device)
        # A fallback box is centred; others are placed uniformly.
        corner_rand = torch.where(any_fits[:, None], corner_rand, 0.5)
        left = corner_rand[:, 0] * (width - box_width)
        top = corner_rand[:, 1] * (height - box_height)
        return {"box": torch.stack([left, top, box_width, box_height], -1)}

    def source_matrix(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        left, top, box_width, box_height = params["box"].unbind(-1)
        # Output pixel edges [0, W] map onto the box edges [left, left + w] (in edge
        # coordinates, where pixel centres sit at x + 0.5), as an ordinary resize does.
        sx, sy = box_width / width, box_height / height
        zeros = torch.zeros_like(sx)
        matrix = torch.stack(
            [torch.stack([sx, zeros, left + 0.5 * sx - 0.5], -1), torch.stack([zeros, sy, top + 0.5 * sy - 0.5], -1)], -2
        )
        return homogeneous(matrix)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, ratio={self.ratio}, p={self.p:g}"
