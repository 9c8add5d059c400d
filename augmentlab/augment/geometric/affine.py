"""Shift, scale and rotate: a random similarity transform about the image centre."""

from __future__ import annotations

import math
from typing import Any

import torch

from augmentlab.augment.geometric.warp import ProjectiveWarp, homogeneous
from augmentlab.augment.params import uniform_rows
from augmentlab.checks import check_limit


class ShiftScaleRotate(ProjectiveWarp):
    """Random shift, scale and rotation about the centre (albumentations ShiftScaleRotate).

    Per sample, an angle, a scale factor ``1 + s`` and a shift (as fractions of the width and the
    height) are drawn uniformly from their limits. The image is rotated counter-clockwise by the
    angle and scaled about its centre, then shifted. Pixels that come from outside the image are
    black with label ``fill_mask``.

    The limits and their defaults are those of albumentations ShiftScaleRotate (0.0625, 0.1, 45):
    a number x means [-x, x], a pair [low, high] is used as given. albumentations 1.x reflects the
    border (``BORDER_REFLECT_101``), which mirrors objects into the corners and labels them;
    ours leaves the corners without a source, as does albumentations 2.x (``BORDER_CONSTANT``),
    but with the ignore label rather than background. Own code rather than kornia's
    ``RandomAffine``, whose mask warp fills uncovered pixels with background.

    Args:
        shift_limit: shift as a fraction of the size, in [-1, 1]. Default: 0.0625 (±32 px at 512).
        scale_limit: the scale factor is ``1 + s`` with s in this range, > -1. Default: 0.1.
        rotate_limit: angle in degrees, in [-360, 360]. Default: 45.
        fill_mask: label of pixels without a source: ``ignore`` (``ignore_index``) or
            ``background`` (0). Default: ``ignore``.
        p: probability that a sample is transformed. Default: 0.5.
        ignore_index: the ignore label; the host passes the dataset's value.
    """

    def __init__(
        self,
        shift_limit: float | tuple[float, float] = 0.0625,
        scale_limit: float | tuple[float, float] = 0.1,
        rotate_limit: float | tuple[float, float] = 45.0,
        fill_mask: str = "ignore",
        p: float = 0.5,
        ignore_index: int = 255,
    ) -> None:
        super().__init__(p, fill_mask, ignore_index)
        self.shift_limit = check_limit("shift_limit", shift_limit, bound=1.0)
        self.scale_limit = check_limit("scale_limit", scale_limit, bound=1.0, low_open=True)
        self.rotate_limit = check_limit("rotate_limit", rotate_limit, bound=360.0)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        angle, scale, shift_x, shift_y = uniform_rows([self.rotate_limit, self.scale_limit, self.shift_limit, self.shift_limit], batch_size, device).unbind()
        return {"angle": angle, "scale": 1.0 + scale, "shift": torch.stack([shift_x * width, shift_y * height], -1)}

    def source_matrix(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        return homogeneous(similarity_inverse(params["angle"], params["scale"], params["shift"], height, width))

    def extra_repr(self) -> str:
        return f"shift_limit={self.shift_limit}, scale_limit={self.scale_limit}, rotate_limit={self.rotate_limit}, {super().extra_repr()}"


def similarity_inverse(angle: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """float [B,2,3] taking output pixels to source pixels for the forward map ``c + s R (p - c) + t``.

    Args:
        angle: float [B], degrees, counter-clockwise as displayed (y points down).
        scale: float [B], > 0.
        shift: float [B,2], (x, y) in pixels.
        height, width: the image size; c is its centre.
    """
    radians = angle * (math.pi / 180)
    cos, sin = torch.cos(radians) / scale, torch.sin(radians) / scale
    # Inverse of s R with R = [[cos, sin], [-sin, cos]] (counter-clockwise for y down).
    linear = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    # p_src = c + L (p - c - t), so the translation is c - L a with a = c + t.
    anchor = shift + torch.stack([torch.full_like(cos, centre_x), torch.full_like(cos, centre_y)], -1)
    translation = torch.stack([centre_x - (linear[:, 0] * anchor).sum(-1), centre_y - (linear[:, 1] * anchor).sum(-1)], -1)
    return torch.cat([linear, translation[..., None]], dim=-1)
