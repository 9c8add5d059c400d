"""Optical distortion: radial lens distortion (barrel or pincushion) about a randomly shifted centre."""

from __future__ import annotations

from typing import Any

import torch

from augmentlab.augment.geometric.warp import WarpAugmentation
from augmentlab.augment.params import uniform_rows
from augmentlab.checks import check_limit


class OpticalDistortion(WarpAugmentation):
    """Lens distortion, barrel or pincushion, about a shifted centre (albumentations OpticalDistortion).

    The model is albumentations' ``camera`` mode, i.e. OpenCV's ``initUndistortRectifyMap``
    with focal lengths (W, H) and coefficients k1 = k2 = k: output pixel (u, v) at normalised
    offset (x, y) = ((u - cx) / W, (v - cy) / H) from the centre samples the source at
    ``c + (W x, H y) (1 + k r² + k r⁴)``, r² = x² + y². k > 0 pulls from outside the image, whose
    corners then lack a source (black, label ``fill_mask``); k < 0 magnifies.

    Per sample, k is drawn from ``distort_limit`` and the centre is shifted from the image centre
    by a fraction of the size drawn from ``shift_limit``. ``distort_limit`` means what it means
    in albumentations (default 0.05 in both). albumentations 1.x drew its shift in pixels and
    rounded it, so its default ``shift_limit=0.05`` never moved the centre, and 2.x dropped the
    parameter; ours is a fraction of the size (0.05: up to ±26 px at 512) and moves the centre of
    distortion without translating the image. Own code: kornia has no random lens distortion.

    Args:
        distort_limit: range of k; a number x means [-x, x]; within [-1, 1]. Default: 0.05.
        shift_limit: range of the centre shift as a fraction of the size; a number x means
            [-x, x]; within [-1, 1]. Default: 0.05.
        fill_mask: label of pixels without a source: ``ignore`` (``ignore_index``) or
            ``background`` (0). Default: ``ignore``.
        p: probability that a sample is transformed. Default: 0.5.
        ignore_index: the ignore label; the host passes the dataset's value.
    """

    def __init__(
        self,
        distort_limit: float | tuple[float, float] = 0.05,
        shift_limit: float | tuple[float, float] = 0.05,
        fill_mask: str = "ignore",
        p: float = 0.5,
        ignore_index: int = 255,
    ) -> None:
        super().__init__(p, fill_mask, ignore_index)
        self.distort_limit = check_limit("distort_limit", distort_limit, bound=1.0)
        self.shift_limit = check_limit("shift_limit", shift_limit, bound=1.0)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        k, shift_x, shift_y = uniform_rows([self.distort_limit, self.shift_limit, self.shift_limit], batch_size, device).unbind()
        return {"k": k, "centre_shift": torch.stack([shift_x, shift_y], -1)}

    def sampling_grid(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        k = params["k"].view(-1, 1, 1)
        shift = params["centre_shift"]
        # Offsets from the distortion centre as fractions of the size: x [B,1,W], y [B,H,1].
        x = (torch.arange(width, device=device, dtype=torch.float32) - (width - 1) / 2) / width - shift[:, 0, None]
        y = (torch.arange(height, device=device, dtype=torch.float32) - (height - 1) / 2) / height - shift[:, 1, None]
        x, y = x[:, None, :], y[:, :, None]
        radius2 = x * x + y * y
        factor = 1.0 + k * radius2 * (1.0 + radius2)
        # Source pixel c + W x f, normalised (2 s + 1) / W - 1, is 2 (shift + x f) with the centre
        # at the image centre; f is all that varies per pixel.
        return torch.stack([2.0 * (shift[:, 0, None, None] + x * factor), 2.0 * (shift[:, 1, None, None] + y * factor)], dim=-1)

    def extra_repr(self) -> str:
        return f"distort_limit={self.distort_limit}, shift_limit={self.shift_limit}, {super().extra_repr()}"
