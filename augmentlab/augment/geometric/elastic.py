"""Elastic deformation: a smooth random displacement field, drawn on a coarse grid and upsampled."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from augmentlab.augment.geometric.warp import WarpAugmentation
from augmentlab.checks import check_number
from augmentlab.tensors import built_once, constant

# Coarse-grid nodes per sigma. The smoothed field hardly varies over sigma / 2, so bilinear
# upsampling from that spacing is close to smoothing at full resolution, for a tiny fraction of the work.
NODES_PER_SIGMA = 2.0
KERNEL_RADIUS_IN_SIGMAS = 3.0


class ElasticTransform(WarpAugmentation):
    """Elastic deformation: a smooth random displacement field of alpha px RMS, smooth over sigma px.

    The field is white Gaussian noise smoothed by a Gaussian of ``sigma`` pixels and scaled so
    that each component has standard deviation ``alpha`` pixels. Smoothing full-resolution noise
    with a kernel of several sigma (albumentations, kornia) is the slow part of the classic
    transform. Here the noise is drawn and smoothed on a grid with nodes every ``sigma / 2``
    pixels and the field is upsampled bilinearly: a field smoothed at ``sigma`` hardly bends
    between such nodes, so its correlation at lags of 0.5, 1 and 2 sigma stays within 0.02 of the
    full-resolution field's and its gradient within 2%. The noise extends a kernel radius past
    the grid, so the field is as strong at the border as in the middle (albumentations
    replicates the border, which makes it stronger there). Pixels pulled from outside the image
    are black with label ``fill_mask``.

    Relation to albumentations: ``sigma`` is the same smoothing sigma in pixels, and
    albumentations' ``alpha_A`` relates to ours by ``alpha ≈ alpha_A / (2 √π · m · sigma)``, m ≈ 5
    being the largest |noise| by which 2.x divides its noise (1.x: uniform noise in [-1, 1],
    ``alpha ≈ 0.163 · alpha_A / sigma``). Its default ``alpha_A=1, sigma=50`` thus moves pixels
    by about 0.001 px, i.e. not at all (1.x's visible effect came from its ``alpha_affine``
    random affine, which here is ``affine``). Ours defaults to 10 px RMS at sigma 50, i.e.
    albumentations 2.x ``alpha≈8900, sigma=50``; U-Net's elastic augmentation used 10 px too.
    Own code rather than kornia's RandomElasticTransform: its full-resolution smoothing is the
    slow way, its ``alpha`` is in normalised units, and it warps masks like images.

    Args:
        alpha: standard deviation of each displacement component, in pixels, ≥ 0. Default: 10.
        sigma: smoothness of the field: the Gaussian's sigma, in pixels, > 0. Default: 50.
        fill_mask: label of pixels without a source: ``ignore`` (``ignore_index``) or
            ``background`` (0). Default: ``ignore``.
        p: probability that a sample is transformed. Default: 0.5.
        ignore_index: the ignore label; the host passes the dataset's value.
    """

    def __init__(self, alpha: float = 10.0, sigma: float = 50.0, fill_mask: str = "ignore", p: float = 0.5, ignore_index: int = 255) -> None:
        super().__init__(p, fill_mask, ignore_index)
        self.alpha = check_number("alpha", alpha, low=0.0)
        self.sigma = check_number("sigma", sigma, low=0.0, low_open=True)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        smooth_y, smooth_x = smoothing_matrix(height, self.sigma, device), smoothing_matrix(width, self.sigma, device)
        noise = torch.randn(batch_size, 2, smooth_y.shape[1], smooth_x.shape[1], device=device)
        # Tiny banded matmuls: far faster than conv2d at this size, and no padding: every node
        # sees a full kernel's worth of noise.
        return {"displacement": smooth_y @ noise @ smooth_x.T * self.alpha}

    def sampling_grid(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        displacement = params["displacement"]
        rows = displacement.shape[-2]
        # Upsample along x first, in normalised units, into [B, nodes_y, W, (x, y)].
        along_x = displacement @ bilinear_matrix(width, displacement.shape[-1], device).T
        along_x = torch.stack([along_x[:, 0] * (2.0 / width), along_x[:, 1] * (2.0 / height)], -1)
        # The identity grid is (x_w, y_h) = ((2w + 1) / W - 1, (2h + 1) / H - 1): two rank-one
        # terms, added as two extra rows (x_w, 0) and (0, 1) against columns of ones and y_h.
        x = (torch.arange(width, device=device, dtype=torch.float32) * 2 + 1) / width - 1
        zeros, ones = torch.zeros_like(x), torch.ones_like(x)
        identity_rows = torch.stack([torch.stack([x, zeros], -1), torch.stack([zeros, ones], -1)]).expand(batch_size, 2, width, 2)
        y = (torch.arange(height, device=device, dtype=torch.float32) * 2 + 1) / height - 1
        along_y = torch.cat([bilinear_matrix(height, rows, device), torch.ones_like(y)[:, None], y[:, None]], 1)
        # One batched matmul upsamples along y and adds the identity, straight into the
        # [B, H, W, 2] layout grid_sample reads.
        coarse = torch.cat([along_x, identity_rows], 1).reshape(batch_size, rows + 2, width * 2)
        return (along_y @ coarse).view(batch_size, height, width, 2)

    def map_points(self, params: dict[str, Any], points: torch.Tensor | None, height: int, width: int) -> torch.Tensor:
        # Unchosen samples get a zero field, which maps every point onto itself exactly.
        chosen = params["chosen"]
        displacement = params["displacement"] if self.p == 1.0 else params["displacement"] * chosen[:, None, None, None]
        if points is None:
            return self.sampling_grid({"displacement": displacement}, chosen.shape[0], height, width, chosen.device)
        # The field at arbitrary points: read the coarse field bilinearly, the same interpolation
        # sampling_grid does, instead of building and resampling the full-resolution grid. Its
        # end nodes sit on the end pixel centres, i.e. align_corners=True over those centres.
        device = points.device
        scale = constant([2.0 / width, 2.0 / height], device).view(1, 2, 1, 1)
        span = constant([width / max(width - 1, 1), height / max(height - 1, 1)], device)
        offset = constant([(width - 1) / max(width - 1, 1) - 1.0, (height - 1) / max(height - 1, 1) - 1.0], device)
        field = F.grid_sample(displacement * scale, torch.addcmul(offset, points, span), mode="bilinear", padding_mode="border", align_corners=True)
        return points + field.permute(0, 2, 3, 1)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}, sigma={self.sigma:g}, {super().extra_repr()}"


def coarse_nodes(size: int, sigma: float) -> int:
    """Nodes of the coarse grid along an axis of ``size`` pixels: about NODES_PER_SIGMA per sigma, at least 2, at most one per pixel."""
    return max(2, min(size, math.ceil(max(size - 1, 1) * NODES_PER_SIGMA / sigma) + 1))


@built_once
def smoothing_matrix(size: int, sigma: float, device: torch.device) -> torch.Tensor:
    """float32 [n, n + 2r]: row i holds the Gaussian (sigma in node units) centred on noise sample i + r.

    Each row has unit L2 norm, so smoothing unit-variance white noise keeps unit variance.
    Shared, built once per size, sigma and device (:func:`~augmentlab.tensors.built_once`).
    """
    nodes = coarse_nodes(size, sigma)
    sigma_in_nodes = sigma * (nodes - 1) / max(size - 1, 1)
    radius = math.ceil(KERNEL_RADIUS_IN_SIGMAS * sigma_in_nodes)
    offsets = torch.arange(nodes + 2 * radius, device=device, dtype=torch.float32) - radius
    distance = offsets[None, :] - torch.arange(nodes, device=device, dtype=torch.float32)[:, None]
    gaussian = torch.exp(-0.5 * (distance / sigma_in_nodes) ** 2) * (distance.abs() <= radius)
    return gaussian / gaussian.norm(dim=1, keepdim=True)


@built_once
def bilinear_matrix(size: int, nodes: int, device: torch.device) -> torch.Tensor:
    """float32 [size, nodes]: linear interpolation weights, end nodes on the end pixels (align_corners=True); shared, built once."""
    position = torch.arange(size, device=device, dtype=torch.float32) * ((nodes - 1) / max(size - 1, 1))
    return (1 - (position[:, None] - torch.arange(nodes, device=device, dtype=torch.float32)[None, :]).abs()).clamp(min=0)
