"""Sun flare: a bright radial source and translucent flare circles along a line through it, per sample.

Kornia has no sun flare. albumentations draws circles one at a time with OpenCV; here every
circle of every sample is evaluated at once. The flare is smooth, so it is composited at a
quarter of the resolution and upsampled once, as a gain and an offset per pixel.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from augmentlab.augment.base import PhotometricAugmentation
from augmentlab.augment.params import uniform
from augmentlab.augment.photometric.ranges import colour_tensor
from augmentlab.checks import check_colour, check_range

RENDER_STRIDE = 4
# albumentations draws circle colours up to 20% of the brightest source channel below the source colour.
CIRCLE_TINT = 0.2


def flare_layers(params: dict[str, torch.Tensor], src_color: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The flare as ``out = images · gain + offset``, on a grid ``RENDER_STRIDE`` times coarser.

    Circles are composited in their order over the image, then the source over them, as
    albumentations does; with α_k a circle's opacity at a pixel, the circles leave the image
    weight Π(1 − α_k) and add Σ c_k α_k Π_{j>k}(1 − α_j).

    Returns:
        gain float32 [B,1,h,w] and offset float32 [B,3,h,w], h = ceil(H / RENDER_STRIDE), w likewise.
    """
    device = src_color.device
    coarse_h, coarse_w = math.ceil(height / RENDER_STRIDE), math.ceil(width / RENDER_STRIDE)
    # Centres of the coarse cells in full-resolution pixels, as bilinear upsampling places them.
    ys = (torch.arange(coarse_h, device=device) + 0.5) * (height / coarse_h)
    xs = (torch.arange(coarse_w, device=device) + 0.5) * (width / coarse_w)
    cell = height / coarse_h

    # Circles: soft discs, their edge one coarse cell wide.  [B,K,h,w]
    distance = torch.hypot(ys[None, None, :, None] - params["circle_y"][..., None, None], xs[None, None, None, :] - params["circle_x"][..., None, None])
    coverage = ((params["circle_radius"][..., None, None] - distance) / cell + 0.5).clamp_(0.0, 1.0)
    alpha = coverage.mul_(params["circle_opacity"][..., None, None])
    clear = 1 - alpha
    # Transmittance of the circles drawn after each one: exclusive cumulative product from the end.
    after = torch.cat([clear.flip(1).cumprod(1).flip(1)[:, 1:], torch.ones_like(clear[:, :1])], dim=1)
    circles = torch.einsum("bkhw,bkc->bchw", alpha * after, params["circle_color"])
    circles_gain = clear.prod(1, keepdim=True)

    # Source: opacity 1 − (1 − peak)^((1 − r/R)⁴), the profile of albumentations' stacked rings.
    source_distance = torch.hypot(ys[None, :, None] - params["source_y"][:, None, None], xs[None, None, :] - params["source_x"][:, None, None])
    falloff = (1 - source_distance / params["source_radius"][:, None, None]).clamp_(min=0.0).pow_(4)
    source = 1 - (1 - params["source_opacity"][:, None, None]).pow(falloff)
    source = source.unsqueeze(1)
    gain = circles_gain * (1 - source)
    offset = circles * (1 - source) + source * src_color
    return gain, offset


class SunFlare(PhotometricAugmentation):
    """Add a bright sun with a radial glow and a few translucent flare circles, placed per sample.

    albumentations RandomSunFlare uses flare_roi=(0, 0, 1, 0.5), src_radius=400 px, white source,
    angle_range=(0, 1) of a turn, num_flare_circles_range=(6, 10), circle opacities 0.05–0.2 and
    radii up to 1/4 of the height (rad³ px, rad ≤ height/100), method='overlay'. Ours has the same
    defaults with sizes relative to the image: a source radius of 0.6–0.8 of the longer side
    (400 px is 0.78 of 512), circle radii 0.002–0.25 of the height drawn like rad³ (most small),
    and a peak source opacity of 0.75–0.95 (albumentations' is about 0.9 with its default circles).

    Args:
        flare_roi: [x_min, y_min, x_max, y_max] region of the sun's centre, fractions of width and height.
        src_radius: [low, high] radius of the sun's glow, fraction of the longer image side.
        src_opacity: [low, high] opacity of the glow at the sun's centre, in [0, 0.99].
        src_color: RGB colour of the sun, in [0, 1].
        angle: [low, high] direction of the line the circles lie on, degrees.
        num_circles: [low, high] number of flare circles.
        circle_radius: [low, high] circle radius, fraction of the image height.
        circle_opacity: [low, high] opacity of each blend step, in [0, 1]; as in albumentations, every
            circle is blended in again at each later step, so the first of n ends up near 1 − (1 − a)ⁿ.
        p: probability that a sample gets a flare.
    """

    def __init__(
        self,
        flare_roi: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 0.5),
        src_radius: tuple[float, float] = (0.6, 0.8),
        src_opacity: tuple[float, float] = (0.75, 0.95),
        src_color: tuple[float, float, float] = (1.0, 1.0, 1.0),
        angle: tuple[float, float] = (0.0, 360.0),
        num_circles: tuple[int, int] = (6, 10),
        circle_radius: tuple[float, float] = (0.002, 0.25),
        circle_opacity: tuple[float, float] = (0.05, 0.2),
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        if not isinstance(flare_roi, (tuple, list)) or len(flare_roi) != 4:
            raise ValueError(f"flare_roi must be [x_min, y_min, x_max, y_max], got {flare_roi!r}")
        x_range = check_range("flare_roi x range", (flare_roi[0], flare_roi[2]), low=0.0, high=1.0)
        y_range = check_range("flare_roi y range", (flare_roi[1], flare_roi[3]), low=0.0, high=1.0)
        self.flare_roi = (x_range[0], y_range[0], x_range[1], y_range[1])
        self.src_radius = check_range("src_radius", src_radius, low=0.0, low_open=True)
        # At 1 the falloff below would turn into a hard disc.
        self.src_opacity = check_range("src_opacity", src_opacity, low=0.0, high=0.99)
        self.src_color = check_colour("src_color", src_color)
        self.angle = check_range("angle", angle)
        self.num_circles = check_range("num_circles", num_circles, low=0, integer=True)
        self.circle_radius = check_range("circle_radius", circle_radius, low=0.0)
        self.circle_opacity = check_range("circle_opacity", circle_opacity, low=0.0, high=1.0)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        x_min, y_min, x_max, y_max = self.flare_roi
        source_x = uniform((x_min * width, x_max * width), batch_size, device=device)
        source_y = uniform((y_min * height, y_max * height), batch_size, device=device)
        circles = self.num_circles[1]
        count = torch.randint(self.num_circles[0], circles + 1, (batch_size, 1), device=device)
        # Circles sit on a line through the sun, at distances that span the image width.
        along = uniform((0.0, width), batch_size, circles, device=device) - source_x[:, None]
        direction = torch.deg2rad(uniform(self.angle, batch_size, 1, device=device))
        low, high = self.circle_radius
        steps = uniform(self.circle_opacity, batch_size, circles, device=device) * (torch.arange(circles, device=device) < count)
        # albumentations blends the canvas of all circles drawn so far at every step, so circle k is
        # blended in again at each later step: its opacity is 1 − Π_{j ≥ k} (1 − step_j).
        opacity = 1 - (1 - steps).flip(1).cumprod(1).flip(1)
        tint = uniform((0.0, CIRCLE_TINT * max(self.src_color)), batch_size, circles, 3, device=device)
        return {
            "source_x": source_x,
            "source_y": source_y,
            "source_radius": uniform(self.src_radius, batch_size, device=device) * max(height, width),
            "source_opacity": uniform(self.src_opacity, batch_size, device=device),
            "circle_x": source_x[:, None] + along * torch.cos(direction),
            "circle_y": source_y[:, None] + along * torch.sin(direction),
            "circle_radius": (low + (high - low) * torch.rand(batch_size, circles, device=device) ** 3) * height,
            "circle_opacity": opacity,
            "circle_color": (colour_tensor(self.src_color, device).view(1, 1, 3) - tint).clamp_(min=0.0),
        }

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        height, width = images.shape[-2:]
        gain, offset = flare_layers(params, colour_tensor(self.src_color, images.device).view(1, 3, 1, 1), height, width)
        layers = F.interpolate(torch.cat([gain, offset], dim=1), size=(height, width), mode="bilinear", align_corners=False)
        return torch.addcmul(layers[:, 1:], images.float(), layers[:, :1]).to(images.dtype)

    def extra_repr(self) -> str:
        return f"flare_roi={self.flare_roi}, src_radius={self.src_radius}, num_circles={self.num_circles}, {super().extra_repr()}"
