"""Blurs with a kernel of their own for each sample: motion blur and Gaussian blur.

Both convolve the whole batch at once: the batch and channel axes are folded into the groups of
one depthwise convolution, so every sample gets its own kernel without a loop over samples.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from kornia.filters import get_gaussian_kernel1d

from augmentlab.augment.base import PhotometricAugmentation
from augmentlab.augment.params import uniform
from augmentlab.checks import check_range


def _pad_for_kernel(images: torch.Tensor, kernel_height: int, kernel_width: int) -> torch.Tensor:
    """Pad by half a kernel on each side: reflected (OpenCV's default border, as albumentations uses),
    or replicated where the image is too small to reflect."""
    pad_y, pad_x = kernel_height // 2, kernel_width // 2
    mode = "reflect" if images.shape[-2] > pad_y and images.shape[-1] > pad_x else "replicate"
    return F.pad(images, (pad_x, pad_x, pad_y, pad_y), mode=mode)


def _depthwise(padded: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Valid correlation of each sample of ``padded`` [B,C,H',W'] with its kernel [B,kh,kw], all channels alike."""
    batch, channels = padded.shape[:2]
    weight = kernels.to(padded.dtype)[:, None].expand(-1, channels, -1, -1).reshape(batch * channels, 1, *kernels.shape[1:])
    out = F.conv2d(padded.reshape(1, batch * channels, *padded.shape[2:]), weight, groups=batch * channels)
    return out.view(batch, channels, *out.shape[2:])


def convolve_per_sample(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Correlate each sample with its own odd-sized kernel; the output keeps the input size.

    Args:
        images: float [B,C,H,W].
        kernels: float [B,kh,kw], kh and kw odd.

    Returns:
        float [B,C,H,W] of the input dtype.
    """
    return _depthwise(_pad_for_kernel(images, *kernels.shape[1:]), kernels)


def convolve_separable_per_sample(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Correlate each sample with the outer product of its 1-D kernel with itself (rows, then columns).

    Args:
        images: float [B,C,H,W].
        kernels: float [B,k], k odd.

    Returns:
        float [B,C,H,W] of the input dtype.
    """
    size = kernels.shape[1]
    # One padding for both passes; kornia's filter2d_separable pads before each of them.
    padded = _pad_for_kernel(images, size, size)
    rows = _depthwise(padded, kernels[:, None, :])
    return _depthwise(rows, kernels[:, :, None])


def motion_kernels(size: torch.Tensor, angle: torch.Tensor, direction: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Line kernels of motion blur, one per sample, on a shared ``kernel_size`` × ``kernel_size`` grid.

    As in albumentations' ``create_motion_kernel``, sample ``i`` spreads ``size[i]`` equally weighted
    taps along a line through the kernel centre at ``angle[i]``: from ``-(size-1)/2`` to ``+(size-1)/2``
    for ``direction`` 0, only the forward half for 1, only the backward half for -1. Each tap is
    split bilinearly over its four nearest cells (albumentations rounds it to one), so a kernel
    changes smoothly with the angle.

    Args:
        size: int64 [B], odd line lengths ≤ ``kernel_size``.
        angle: float [B], degrees, counter-clockwise as displayed (0 points right).
        direction: float [B] in [-1, 1].
        kernel_size: odd side of the shared grid.

    Returns:
        float32 [B,kernel_size,kernel_size], each summing to 1.
    """
    half = (size.float() - 1) / 2
    start = -half * (1 - direction.clamp(min=0))
    end = half * (1 + direction.clamp(max=0))
    taps = torch.arange(kernel_size, device=size.device, dtype=torch.float32)
    fraction = taps / (size.float()[:, None] - 1)
    along = start[:, None] + (end - start)[:, None] * fraction  # [B,T] position of each tap on the line
    radians = torch.deg2rad(angle.float())[:, None]
    centre = kernel_size // 2
    x = centre + along * torch.cos(radians)
    y = centre - along * torch.sin(radians)  # rows grow downwards
    used = (taps[None] < size[:, None]).float()
    # Tent weights over the grid cells give the bilinear split of each tap.
    weight_x = (1 - (taps[None, None] - x[..., None]).abs()).clamp(min=0)  # [B,T,kernel_size]
    weight_y = (1 - (taps[None, None] - y[..., None]).abs()).clamp(min=0)
    kernels = torch.einsum("bt,bty,btx->byx", used, weight_y, weight_x)
    return kernels / kernels.sum((1, 2), keepdim=True)


class MotionBlur(PhotometricAugmentation):
    """Blur along a straight line of random length, angle and direction, per sample.

    albumentations MotionBlur uses blur_limit=(3, 7), angle_range=(0, 360), direction_range=(-1, 1):
    ours has the same defaults and the same line kernel, with taps split bilinearly instead of
    rounded. albumentations' allow_shifted=True also moves the kernel off-centre, which shifts the
    image up to a quarter of the kernel relative to its mask; ours keeps the line through the
    centre. A one-way line (``direction`` ±1) still has its weight on one side of the centre, as a
    streak does: it moves the image by up to (size − 1)/4 px along the line against its mask
    (1.5 px at size 7). ``direction=[0, 0]`` keeps the blur centred and the mask exactly aligned.

    Kornia's RandomMotionBlur draws one kernel size for the whole batch and builds kernels by
    rotating an image of the line; ours draws a size per sample and builds every kernel in one
    batched tensor expression.

    Args:
        kernel_size: [low, high] odd line lengths in pixels; each sample draws one of the odd sizes inside.
        angle: [low, high] line angle in degrees, counter-clockwise.
        direction: [low, high] in [-1, 1]; 0 blurs both ways, 1 forward only, -1 backward only.
        p: probability that a sample is blurred.
    """

    def __init__(
        self,
        kernel_size: tuple[int, int] = (3, 7),
        angle: tuple[float, float] = (0.0, 360.0),
        direction: tuple[float, float] = (-1.0, 1.0),
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        self.kernel_size = check_range("kernel_size", kernel_size, low=3, odd=True)
        self.angle = check_range("angle", angle)
        self.direction = check_range("direction", direction, low=-1.0, high=1.0)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        low, high = self.kernel_size
        steps = torch.randint(0, (high - low) // 2 + 1, (batch_size,), device=device)
        return {
            "size": low + 2 * steps,
            "angle": uniform(self.angle, batch_size, device=device),
            "direction": uniform(self.direction, batch_size, device=device),
        }

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        kernels = motion_kernels(params["size"], params["angle"], params["direction"], self.kernel_size[1])
        return convolve_per_sample(images, kernels)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, angle={self.angle}, direction={self.direction}, {super().extra_repr()}"


class GaussianBlur(PhotometricAugmentation):
    """Gaussian blur with a standard deviation drawn per sample.

    albumentations GaussianBlur uses sigma_limit=(0.5, 3.0) and, with its default blur_limit=0,
    a kernel that reaches about 3 sigma: ours has the same defaults, with one kernel of
    2·ceil(3·max sigma)+1 taps (19) for the batch and each sample's own sigma in it.

    Built from kornia's Gaussian kernels; the convolution is ours because kornia's
    gaussian_blur2d pads the batch before each of its two passes, and padding once for both is
    about a quarter faster on the CPU.

    Args:
        sigma: [low, high] standard deviation in pixels, > 0.
        p: probability that a sample is blurred.
    """

    def __init__(self, sigma: tuple[float, float] = (0.5, 3.0), p: float = 0.5) -> None:
        super().__init__(p)
        self.sigma = check_range("sigma", sigma, low=0.0, low_open=True)
        self.kernel_size = 2 * math.ceil(3 * self.sigma[1]) + 1

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        return {"sigma": uniform(self.sigma, batch_size, 1, device=device)}

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        kernels = get_gaussian_kernel1d(self.kernel_size, params["sigma"])
        return convolve_separable_per_sample(images, kernels)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}, {super().extra_repr()}"
