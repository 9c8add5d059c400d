"""The one path every geometric warp takes: a sampling grid, then ``remap_images`` / ``remap_masks``.

A warp only says where each output pixel comes from. :class:`WarpAugmentation` does the rest,
so every warp gets the same fill rule and the same image–mask agreement: a pixel either has a
source, and gets its colour and label, or has none, and is black with label ``mask_fill``.

Coordinates follow kornia and OpenCV: the centre of pixel (row i, column j) is at x = j, y = i,
so an image of width W spans [-0.5, W - 0.5]. Grids are normalised for ``F.grid_sample`` with
``align_corners=False``, where that pixel centre sits at (2j + 1) / W - 1.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from augmentlab.augment.base import GeometricAugmentation, remap_images, sample_labels
from augmentlab.tensors import built_once, constant


def projective_grid(matrix: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Sampling grid of a map from output pixels to source pixels.

    Args:
        matrix: float [B,2,3] (affine) or [B,3,3] (projective), taking the output pixel
            (x, y, 1) to its source pixel (homogeneous for [B,3,3]), in pixel coordinates.
        height, width: output size, also the source size.

    Returns:
        float32 [B,H,W,2].
    """
    projective = matrix.shape[-2] == 3
    matrix = homogeneous(matrix)
    # Fold the pixel -> normalised conversion, x' = (2x + 1) / W - 1, into the matrix rows so
    # that the per-pixel work is a few broadcast ops.
    rows = torch.stack([
        matrix[:, 0] * (2.0 / width) + matrix[:, 2] * (1.0 / width - 1.0),
        matrix[:, 1] * (2.0 / height) + matrix[:, 2] * (1.0 / height - 1.0),
        matrix[:, 2],
    ], dim=1)
    xs = torch.arange(width, device=matrix.device, dtype=torch.float32).view(1, 1, width)
    ys = torch.arange(height, device=matrix.device, dtype=torch.float32).view(1, height, 1)
    return apply_rows(rows, xs, ys, projective)


def apply_rows(rows: torch.Tensor, x: torch.Tensor, y: torch.Tensor, projective: bool) -> torch.Tensor:
    """Positions ``(r·(x, y, 1))`` for the rows of ``rows`` [B,3,3], stacked as [..., 2]; divided by the third when ``projective``.

    ``x`` and ``y`` broadcast against [B,H,W]: pixel coordinates for a grid, or the two planes of
    points for :func:`map_through`.
    """
    planes = [(row[:, 0, None, None] * x + row[:, 2, None, None]) + row[:, 1, None, None] * y for row in rows.unbind(1)[: 3 if projective else 2]]
    if projective:
        planes = [planes[0] / planes[2], planes[1] / planes[2]]
    return torch.stack(planes, dim=-1)


def warp(images: torch.Tensor, masks: torch.Tensor, grid: torch.Tensor, fill: int, lost: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample images bilinearly and masks exactly at ``grid``; sourceless pixels get black and ``fill``.

    The edge is hard: a pixel either has a source (by ``remap_masks``' rule) and gets its colour
    and label, or has none and is black with ``fill``. Zero-padded bilinear sampling alone would
    darken the pixels that sample between the outer pixel centres and the image edge by up to
    half, although they have a source and a label; border padding reads the outer pixels there.

    Args:
        images: float [B,C,H,W] in [0,1], any float dtype.
        masks: int64 [B,H,W].
        grid: float32 [B,H,W,2], normalised as for ``F.grid_sample`` with ``align_corners=False``.
        fill: mask label of pixels whose source lies outside the image.
        lost: bool [B,H,W], pixels that have no source whatever ``grid`` says (a fused warp's
            positions that left an intermediate frame), or None.

    Returns:
        (images of the input dtype, int64 masks), same shapes as the inputs.
    """
    labels, no_source = sample_labels(masks, grid)
    if lost is not None:
        no_source.logical_or_(lost)
    # grid_sample wants the grid in the image dtype, and a bf16 grid is off by up to half a pixel
    # at 512 px while the mask is gathered at float32: half-precision images are warped in float32.
    warped = remap_images(images.float(), grid, padding_mode="border").masked_fill_(no_source[:, None], 0.0)
    return warped.to(images.dtype), labels.masked_fill_(no_source, fill)


class WarpAugmentation(GeometricAugmentation):
    """A geometric transform given by where each output pixel comes from.

    Subclasses draw their parameters in :meth:`sample_params` and turn them into a sampling grid
    in :meth:`sampling_grid`; images are sampled bilinearly there, masks by exact nearest gather,
    and pixels with no source are black with label ``mask_fill``.

    ``leaves_gaps`` says whether some output pixels can lack a source. A warp that never leaves
    one (a crop inside the image) sets it False: its ``mask_fill`` is never used, so it fuses with
    warps of any fill.
    """

    leaves_gaps: bool = True

    def sampling_grid(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        """float32 [B,H,W,2]: for each output pixel, its normalised source position."""
        raise NotImplementedError

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        batch_size, _, height, width = images.shape
        return warp(images, masks, self.sampling_grid(params, batch_size, height, width, images.device), self.mask_fill)

    def map_points(self, params: dict[str, Any], points: torch.Tensor | None, height: int, width: int) -> torch.Tensor:
        """Where ``points`` of this warp's output frame come from in its input frame; the fused path calls it.

        Samples that were not chosen keep their points. This default reads the full sampling grid
        at ``points`` bilinearly; warps with a cheaper closed form override it.

        Args:
            params: from :meth:`draw_params`.
            points: float32 [B,H,W,2] normalised positions, or None for every pixel centre.
            height, width: the image size.

        Returns:
            float32 [B,H,W,2].
        """
        chosen = params["chosen"]
        batch_size, device = chosen.shape[0], chosen.device
        grid = self.sampling_grid(params, batch_size, height, width, device)
        if points is None:
            return grid if self.p == 1.0 else torch.where(chosen[:, None, None, None], grid, identity_grid(height, width, device))
        looked = F.grid_sample(grid.permute(0, 3, 1, 2), points, mode="bilinear", padding_mode="border", align_corners=False)
        looked = looked.permute(0, 2, 3, 1)
        return looked if self.p == 1.0 else torch.where(chosen[:, None, None, None], looked, points)


def homogeneous(matrix: torch.Tensor) -> torch.Tensor:
    """float32 [B,3,3] from an affine [B,2,3] (or a [B,3,3] as it is)."""
    matrix = matrix.float()
    if matrix.shape[-2] == 3:
        return matrix
    return torch.cat([matrix, F.pad(torch.ones_like(matrix[:, :1, :1]), (2, 0))], dim=1)


class PixelMap:
    """A transform whose output-to-source map is one projective matrix per sample.

    Flips, quarter turns, shift-scale-rotate, crops and perspective are such maps. In a fused
    stage their matrices are multiplied together instead of each building and resampling a
    full-resolution grid, so they cost almost nothing there.
    """

    #: True when the matrices' last row is not (0, 0, 1), so mapped points are divided by w.
    projective: bool = False

    def source_matrix(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        """float32 [B,3,3] taking output pixel (x, y, 1) to its source pixel, homogeneous, for the chosen and unchosen samples alike."""
        raise NotImplementedError

    def maps_onto_itself(self, height: int, width: int) -> bool:
        """True when the map takes the image onto itself, so no point enters or leaves it (flips; turns of square images)."""
        return False

    def reflects(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor | bool:
        """bool [B]: the samples whose map reverses orientation (negative determinant), such as
        flips and the transpose; quarter turns, rotations, crops keep it. Subclasses whose answer
        is the same for every sample may return it as a Python bool, which costs nothing."""
        return reverses_orientation(self.source_matrix(params, batch_size, height, width, device))


def reverses_orientation(matrix: torch.Tensor) -> torch.Tensor:
    """bool [B]: whether each map (float [B,3,3], homogeneous) is a mirror image, i.e. its determinant is negative.

    For an affine map (last row 0, 0, 1) this is the determinant of its 2×2 linear part; for a
    projective one, the sign of its Jacobian wherever w > 0, i.e. across the image. An output to
    source map and its inverse, the forward map, have determinants of one sign. Written out
    elementwise rather than ``torch.linalg.det``, whose batched LU is far more work for 3×3.
    """
    (a, b, c), (d, e, f), (g, h, i) = (row.unbind(-1) for row in matrix.unbind(-2))
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g) < 0


class ProjectiveWarp(PixelMap, WarpAugmentation):
    """A warp given by :meth:`source_matrix`; its sampling grid follows from the matrix."""

    def sampling_grid(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        return projective_grid(self.source_matrix(params, batch_size, height, width, device), height, width)


@built_once
def identity_matrix(device: torch.device) -> torch.Tensor:
    """float32 [3,3], the identity map; shared, built once per device."""
    return torch.eye(3, device=device)


@built_once
def identity_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    """float32 [1,H,W,2]: every pixel centre's own normalised position; shared, built once per size and device."""
    return projective_grid(torch.eye(2, 3, device=device)[None], height, width)


def compose(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """``first @ second`` for [B,3,3] (or broadcastable) float32 matrices, summed elementwise: a
    matmul may run in TF32, which rounds a rotation enough to move a 512 px image's corner by a pixel."""
    return (first[..., :, :, None] * second[..., None, :, :]).sum(-2)


def map_through(matrix: torch.Tensor, points: torch.Tensor | None, height: int, width: int, projective: bool) -> torch.Tensor:
    """Normalised points [B,H,W,2] (None: every pixel centre) mapped by pixel-coordinate matrices [B,3,3].

    Elementwise rather than a batched matmul, which TF32 would round by up to a pixel at 512 px.
    """
    if points is None:
        return projective_grid(matrix if projective else matrix[:, :2], height, width)
    # N = D M D⁻¹, with D taking pixel coordinates to normalised ones: n = (2x + 1) / W - 1.
    to_normalised = constant([[2.0 / width, 0.0, 1.0 / width - 1.0], [0.0, 2.0 / height, 1.0 / height - 1.0], [0.0, 0.0, 1.0]], matrix.device)
    to_pixels = constant([[width / 2.0, 0.0, (width - 1) / 2.0], [0.0, height / 2.0, (height - 1) / 2.0], [0.0, 0.0, 1.0]], matrix.device)
    normalised = compose(compose(to_normalised, matrix), to_pixels)
    return apply_rows(normalised, points[..., 0], points[..., 1], projective)
