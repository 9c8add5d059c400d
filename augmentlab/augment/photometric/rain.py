"""Rain: slanted streaks drawn over the image, softened, and a darker scene, for the whole batch at once."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from augmentlab.augment.base import PhotometricAugmentation
from augmentlab.augment.params import uniform, uniform_integers
from augmentlab.augment.photometric.ranges import colour_tensor
from augmentlab.checks import check_colour, check_integer, check_number, check_range


def drop_offsets(slope: torch.Tensor, length: int) -> torch.Tensor:
    """int64 [B,L]: the column of each row of a drop relative to its first, ``round(slope · row)``."""
    return torch.round(slope[:, None] * torch.arange(length, device=slope.device)).long()


def rain_streaks(top: torch.Tensor, left: torch.Tensor, used: torch.Tensor, offsets: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Rasterise straight drops, one pixel wide, for every sample at once.

    Row ``i`` of a drop is pixel (``top + i``, ``left + offsets[i]``); every drop must lie inside the
    image. All pixels of all drops are written with one indexed assignment: for rain, a few
    hundred thousand indices a batch, far fewer than its pixels.

    Args:
        top, left: int64 [B,N] first row and column of each drop.
        used: bool [B,N], False for the drops a sample does not draw.
        offsets: int64 [B,L] from :func:`drop_offsets`.
        height, width: image size.

    Returns:
        float32 [B,1,H,W], 1 on a drop and 0 elsewhere.
    """
    batch, length = offsets.shape
    device = top.device
    # Unused drops are drawn on a spare image after the batch, which is then cut off.
    image = torch.where(used, torch.arange(batch, device=device)[:, None], batch)
    start = (image * height + top) * width + left
    pattern = torch.arange(length, device=device) * width + offsets  # [B,L] pixel steps along a drop
    canvas = torch.zeros(batch + 1, 1, height, width, device=device)
    # Every write is a 1, so overlapping drops give the same result in any order. (index_fill_
    # takes the 1 as a scalar; `canvas[index] = 1.0` would copy it to the device and wait.)
    canvas.view(-1).index_fill_(0, (start[..., None] + pattern[:, None]).flatten(), 1.0)
    return canvas[:batch]


def box_blur_of_counts(layer: torch.Tensor, size: int) -> torch.Tensor:
    """Mean over a ``size`` × ``size`` window (zero outside), from running sums along each axis.

    The cost does not depend on ``size``; on the CPU a pooling or convolution of a 7×7 window is
    several times slower. ``layer`` holds counts (small integers), so the float32 running sums are exact.

    Args:
        layer: float [B,1,H,W] of small integers.
        size: odd window side.

    Returns:
        float32 [B,1,H,W].
    """
    half = size // 2
    for dim in (-1, -2):
        padding = (half + 1, half, 0, 0) if dim == -1 else (0, 0, half + 1, half)
        sums = F.pad(layer, padding).cumsum_(dim)
        layer = sums.narrow(dim, size, sums.shape[dim] - size) - sums.narrow(dim, 0, sums.shape[dim] - size)
    return layer.div_(size * size)


class Rain(PhotometricAugmentation):
    """Draw slanted rain streaks in a drop colour, blur them, and darken the scene, per sample.

    albumentations RandomRain (rain_type='default') draws height/3 drops of length height/8,
    1 px wide, colour (200, 200, 200), with a slant of ±10 px at the drop's end, blurs them with a
    7×7 box, adds them to the image and multiplies by brightness_coefficient=0.7. Ours has the same
    defaults, with the slant as an angle from vertical (±10°; 10 px over a 64 px drop is 8.9°) and
    sizes relative to the image height. Kornia's RandomRain paints drops of a fixed value without
    blur or darkening and builds their shapes on the host, sample by sample; ours draws all
    samples with one indexed write on the device.

    Args:
        drops_per_row: [low, high] number of drops as a multiple of the image height.
        drop_length: length of a drop as a fraction of the image height, in (0, 1].
        slant: [low, high] angle of the drops from vertical, degrees, in [-60, 60]; a drop too
            steep to fit across the image is straightened until it fits.
        drop_width: width of a drop in pixels, ≥ 1.
        drop_color: RGB colour added along a drop, in [0, 1].
        blur: side of the box blur of the drops in pixels, odd (1 = no blur).
        brightness: factor the rainy image is multiplied by, in [0, 1].
        p: probability that a sample gets rain.
    """

    def __init__(
        self,
        drops_per_row: tuple[float, float] = (0.33, 0.33),
        drop_length: float = 0.125,
        slant: tuple[float, float] = (-10.0, 10.0),
        drop_width: int = 1,
        drop_color: tuple[float, float, float] = (0.78, 0.78, 0.78),
        blur: int = 7,
        brightness: float = 0.7,
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        self.drops_per_row = check_range("drops_per_row", drops_per_row, low=0.0)
        self.drop_length = check_number("drop_length", drop_length, low=0.0, high=1.0, low_open=True)
        self.slant = check_range("slant", slant, low=-60.0, high=60.0)
        self.drop_width = check_integer("drop_width", drop_width, low=1)
        self.drop_color = check_colour("drop_color", drop_color)
        self.blur = check_integer("blur", blur, low=1, odd=True)
        self.brightness = check_number("brightness", brightness, low=0.0, high=1.0)

    def _length(self, height: int) -> int:
        return max(1, round(self.drop_length * height))

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        length = self._length(height)
        most = math.ceil(self.drops_per_row[1] * height)
        count = (uniform(self.drops_per_row, batch_size, 1, device=device) * height).floor()
        # Steep enough to cross the whole width, a drop is straightened until it fits.
        steepest = (width - 1) / max(length - 1, 1)
        slope = torch.tan(torch.deg2rad(uniform(self.slant, batch_size, device=device))).clamp(-steepest, steepest)
        # Columns where a whole drop fits: it ends `reach` columns right (or left) of where it starts.
        reach = torch.round(slope * (length - 1))[:, None]
        first, last = (-reach).clamp(min=0), width - 1 - reach.clamp(min=0)
        left = uniform_integers(first.expand(batch_size, most), last.expand(batch_size, most))
        return {
            "top": torch.randint(0, max(height - length, 0) + 1, (batch_size, most), device=device),
            "left": left,
            "used": torch.arange(most, device=device) < count,
            "slope": slope,
        }

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        height, width = images.shape[-2:]
        offsets = drop_offsets(params["slope"], self._length(height))
        drops = rain_streaks(params["top"], params["left"], params["used"], offsets, height, width)
        if self.drop_width > 1:
            drops = F.max_pool2d(F.pad(drops, ((self.drop_width - 1) // 2, self.drop_width // 2)), (1, self.drop_width), stride=1)
        if self.blur > 1:
            drops = box_blur_of_counts(drops, self.blur)
        # As OpenCV's saturating add then multiply: the streaks saturate before the scene darkens.
        rainy = torch.addcmul(images.float(), drops, colour_tensor(self.drop_color, images.device))
        return rainy.clamp_(max=1.0).mul_(self.brightness).to(images.dtype)

    def extra_repr(self) -> str:
        return f"drops_per_row={self.drops_per_row}, drop_length={self.drop_length:g}, slant={self.slant}, {super().extra_repr()}"
