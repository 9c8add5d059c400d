"""`augmentlab preview`: a PNG grid that shows what an augmentation set does to images and masks.

Each row is one sample: the original, then a few independent draws of the set. Every tile
carries its mask as a translucent overlay in a fixed palette (background untinted, ignore
pixels hatched black and white), and a legend names the classes. Drawing uses torch for the
pixels and Pillow for text, so no plotting library is needed.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from augmentlab.api import build_augmentation
from augmentlab.errors import AugmentlabError

IGNORE_INDEX = 255
SCENE_CLASS_NAMES = ("background", "bottle", "can", "carton", "bag")

OVERLAY_ALPHA = 0.45
IGNORE_ALPHA = 0.7
HATCH_PERIOD = 4

# Layout in pixels; preview_canvas_size() turns it into the exact PNG size.
MARGIN = 12
GAP = 6
TITLE_HEIGHT = 24
HEADER_HEIGHT = 18
LEGEND_GAP = 10
LEGEND_ROW_HEIGHT = 20
LEGEND_ENTRY_WIDTH = 140
SWATCH = 14
FONT_SIZE = 13
PAGE_COLOUR = (255, 255, 255)
TEXT_COLOUR = (30, 30, 30)


@dataclass(frozen=True)
class PreviewSamples:
    """The samples a preview shows.

    Attributes:
        images: uint8 [N,3,S,S].
        masks: int64 [N,S,S], class indices or ``ignore_index``.
        class_names: name of each class index; index 0 is background.
        ignore_index: mask value of unlabelled pixels.
        source: what the samples are, for the title (``generated scenes``, a dataset path).
    """

    images: torch.Tensor
    masks: torch.Tensor
    class_names: tuple[str, ...]
    ignore_index: int
    source: str


def synthetic_scene(index: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic litter scene: four labelled objects on a gridded, shaded background.

    The background grid makes warps visible (its lines bend), the objects' stripes make flips
    and rotations visible, and a square "sticker" labelled ignore shows how unlabelled pixels
    travel. The same ``index`` and ``size`` always give the same scene.

    Returns:
        image: uint8 [3,size,size]; mask: int64 [size,size] with labels 0..4 of
        :data:`SCENE_CLASS_NAMES` and :data:`IGNORE_INDEX`.
    """
    generator = torch.Generator().manual_seed(index)

    def uniform(low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=generator))

    centres = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    y, x = torch.meshgrid(centres, centres, indexing="ij")
    shade = torch.stack([0.62 + 0.2 * x, 0.6 + 0.1 * y, 0.5 + 0.15 * (1 - x)])
    grid_lines = ((x * 8) % 1 < 0.05) | ((y * 8) % 1 < 0.05)
    image = torch.where(grid_lines, shade * 0.6, shade)
    mask = torch.zeros(size, size, dtype=torch.int64)

    # (label, base colour): pale, muted colours, so that the overlay's hue reads true on top.
    objects = ((1, (0.62, 0.8, 0.7)), (2, (0.8, 0.8, 0.84)), (3, (0.82, 0.7, 0.55)), (4, (0.95, 0.95, 0.9)))
    for label, colour in objects:
        cx, cy, radius, angle = uniform(0.22, 0.78), uniform(0.22, 0.78), uniform(0.11, 0.2), uniform(0, math.pi)
        u = (x - cx) * math.cos(angle) + (y - cy) * math.sin(angle)
        v = -(x - cx) * math.sin(angle) + (y - cy) * math.cos(angle)
        if label == 1:  # bottle: a long ellipse
            inside = (u / radius) ** 2 + (v / (0.45 * radius)) ** 2 <= 1
        elif label == 2:  # can seen from above: a disc
            inside = u**2 + v**2 <= (0.7 * radius) ** 2
        elif label == 3:  # carton: a rectangle
            inside = (u.abs() <= radius) & (v.abs() <= 0.6 * radius)
        else:  # bag: a triangle
            inside = (v <= 0.5 * radius) & (v >= -radius + math.sqrt(3) * u.abs())
        stripes = 0.85 + 0.15 * torch.sign(torch.sin(u * (18 * math.pi / radius)))
        texture = torch.tensor(colour)[:, None, None] * stripes
        image = torch.where(inside, texture, image)
        mask = torch.where(inside, torch.full_like(mask, label), mask)

    side = max(1, round(0.12 * size))
    top, left = round(uniform(0.05, 0.8) * size), round(uniform(0.05, 0.8) * size)
    sticker = torch.rand(3, side, side, generator=generator) * 0.5 + 0.25
    image[:, top : top + side, left : left + side] = sticker[:, : size - top, : size - left]
    mask[top : top + side, left : left + side] = IGNORE_INDEX
    return (image.clamp(0, 1) * 255).round().to(torch.uint8), mask


def load_preview_samples(data: Path | None, n: int, size: int) -> PreviewSamples:
    """The ``n`` samples to preview at ``size``×``size``: the one place that decides where they come from.

    This version cannot load datasets, so ``data`` must be None and the samples are
    :func:`synthetic_scene` 0..n-1; once ``augmentlab.load_dataset`` exists, this function is
    where it plugs in (its demo data for ``data=None``).

    Raises:
        AugmentlabError: ``data`` is given.
    """
    if data is not None:
        raise AugmentlabError(f"--data {data}: this version cannot load datasets yet; leave --data out to preview generated scenes")
    scenes = [synthetic_scene(index, size) for index in range(n)]
    images = torch.stack([image for image, _ in scenes])
    masks = torch.stack([mask for _, mask in scenes])
    return PreviewSamples(images, masks, SCENE_CLASS_NAMES, IGNORE_INDEX, "generated scenes")


def class_palette(num_classes: int) -> torch.Tensor:
    """Fixed overlay colours, float [num_classes,3] in [0,1]; row 0 (background) is never drawn.

    Hues step by the golden ratio, so any number of classes gets distinct, saturated colours and
    a class keeps its colour whatever the number of classes.
    """
    hues = [((label - 1) * 0.618034) % 1.0 for label in range(num_classes)]
    return torch.tensor([colorsys.hsv_to_rgb(hue, 0.85, 0.95) for hue in hues]).reshape(num_classes, 3)


def overlay_masks(images: torch.Tensor, masks: torch.Tensor, palette: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Tint labelled pixels with their class colour, outline each region in that colour, and
    hatch ignore pixels black and white.

    Args:
        images: float [B,3,H,W] in [0,1].
        masks: int64 [B,H,W].
        palette: float [C,3] from :func:`class_palette`; labels 1..C-1 are tinted, 0 is left as is.
        ignore_index: mask value drawn hatched.

    Returns:
        float32 [B,3,H,W] in [0,1].
    """
    images = images.float()
    height, width = masks.shape[-2:]
    colours = palette[masks.clamp(0, len(palette) - 1)].permute(0, 3, 1, 2)
    tinted = (masks > 0) & (masks < len(palette))
    rows = torch.arange(height)[:, None]
    columns = torch.arange(width)[None, :]
    hatch = (((rows + columns) // HATCH_PERIOD) % 2).float().expand(3, height, width)
    out = torch.where(tinted[:, None], (1 - OVERLAY_ALPHA) * images + OVERLAY_ALPHA * colours, images)
    labels = masks[:, None].float()
    edge = F.max_pool2d(labels, 3, stride=1, padding=1) != -F.max_pool2d(-labels, 3, stride=1, padding=1)
    out = torch.where(edge & tinted[:, None], colours, out)
    return torch.where((masks == ignore_index)[:, None], (1 - IGNORE_ALPHA) * images + IGNORE_ALPHA * hatch, out)


def preview_columns(spec: str, samples: PreviewSamples, draws: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The original samples and ``draws`` independent draws of the augmentation set ``spec``.

    The caller's random state is left as it was; ``seed`` alone decides the draws.

    Returns:
        ``draws + 1`` pairs (images float [N,3,S,S] in [0,1], masks int64 [N,S,S]), the original first.

    Raises:
        SpecError: ``spec`` is malformed or names an unknown augmentation or parameter.
    """
    augmentation = build_augmentation(spec, ignore_index=samples.ignore_index)
    images = samples.images.float() / 255
    columns = [(images, samples.masks)]
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        columns.extend(augmentation(images, samples.masks) for _ in range(draws))
    return columns


def _legend_layout(canvas_width: int, entries: int) -> tuple[int, int]:
    """(entries per legend row, legend rows) for a canvas of this width."""
    per_row = max(1, (canvas_width - 2 * MARGIN) // LEGEND_ENTRY_WIDTH)
    return per_row, math.ceil(entries / per_row)


def preview_canvas_size(n: int, size: int, draws: int, num_classes: int) -> tuple[int, int]:
    """(width, height) in pixels of the preview PNG of ``n`` samples with ``draws`` draws each.

    The legend lists every class but background, plus ignore.
    """
    columns = draws + 1
    width = 2 * MARGIN + columns * size + (columns - 1) * GAP
    _, legend_rows = _legend_layout(width, num_classes)
    height = MARGIN + TITLE_HEIGHT + HEADER_HEIGHT + n * size + (n - 1) * GAP + LEGEND_GAP + legend_rows * LEGEND_ROW_HEIGHT + MARGIN
    return width, height


def _fit_text(text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, width: int) -> str:
    """``text``, shortened with an ellipsis until it fits in ``width`` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _to_pil(image: torch.Tensor) -> Image.Image:
    """float [3,H,W] in [0,1] -> an RGB Pillow image."""
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous()
    return Image.fromarray(pixels.numpy())


def render_preview(spec: str, samples: PreviewSamples, draws: int, seed: int) -> Image.Image:
    """Draw the preview grid: a row per sample, the original then ``draws`` draws, and a legend.

    The picture depends only on its arguments, so the same call gives the same pixels.
    """
    n, _, size, _ = samples.images.shape
    width, height = preview_canvas_size(n, size, draws, len(samples.class_names))
    palette = class_palette(len(samples.class_names))
    canvas = Image.new("RGB", (width, height), PAGE_COLOUR)
    pen = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=FONT_SIZE)
    text_top = (TITLE_HEIGHT - FONT_SIZE) // 2

    title = f"{spec}  ·  seed {seed}  ·  {samples.source}"
    pen.text((MARGIN, MARGIN + text_top), _fit_text(title, font, width - 2 * MARGIN), fill=TEXT_COLOUR, font=font)
    grid_top = MARGIN + TITLE_HEIGHT + HEADER_HEIGHT
    for column, (images, masks) in enumerate(preview_columns(spec, samples, draws, seed)):
        left = MARGIN + column * (size + GAP)
        heading = "original" if column == 0 else f"draw {column}"
        pen.text((left, MARGIN + TITLE_HEIGHT), _fit_text(heading, font, size), fill=TEXT_COLOUR, font=font)
        tiles = overlay_masks(images, masks, palette, samples.ignore_index)
        for row, tile in enumerate(tiles):
            canvas.paste(_to_pil(tile), (left, grid_top + row * (size + GAP)))

    _draw_legend(canvas, pen, font, samples, palette, top=grid_top + n * size + (n - 1) * GAP + LEGEND_GAP)
    return canvas


def _draw_legend(canvas: Image.Image, pen: ImageDraw.ImageDraw, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, samples: PreviewSamples, palette: torch.Tensor, top: int) -> None:
    """A swatch and a name for every class but background, then the ignore hatch, in rows."""
    swatches = [(name, palette[label][:, None, None].expand(3, SWATCH, SWATCH)) for label, name in enumerate(samples.class_names) if label > 0]
    grey = torch.full((1, 3, SWATCH, SWATCH), 0.5)
    ignore = torch.full((1, SWATCH, SWATCH), samples.ignore_index)
    swatches.append((f"ignore ({samples.ignore_index})", overlay_masks(grey, ignore, palette, samples.ignore_index)[0]))
    width = canvas.width
    per_row, _ = _legend_layout(width, len(swatches))
    entry_width = min(LEGEND_ENTRY_WIDTH, width - 2 * MARGIN)
    for number, (name, swatch) in enumerate(swatches):
        left = MARGIN + (number % per_row) * entry_width
        row_top = top + (number // per_row) * LEGEND_ROW_HEIGHT
        canvas.paste(_to_pil(swatch), (left, row_top))
        pen.rectangle((left, row_top, left + SWATCH - 1, row_top + SWATCH - 1), outline=TEXT_COLOUR)
        pen.text((left + SWATCH + 6, row_top), _fit_text(name, font, entry_width - SWATCH - 12), fill=TEXT_COLOUR, font=font)


def write_preview(spec: str, out: Path, *, data: Path | None = None, n: int = 8, seed: int = 0, size: int = 256, draws: int = 3) -> tuple[int, int]:
    """Render the preview of ``spec`` and save it as PNG at ``out``; returns its (width, height).

    The PNG's text chunk ``augmentlab`` records the arguments that made it.

    Raises:
        AugmentlabError: ``out`` is not a writable ``.png`` path, or ``data`` cannot be loaded.
        SpecError: ``spec`` is malformed or names an unknown augmentation or parameter.
    """
    if out.suffix.lower() != ".png":
        raise AugmentlabError(f"--out {out}: the preview is a PNG; give a path ending in .png")
    samples = load_preview_samples(data, n, size)
    picture = render_preview(spec, samples, draws, seed)
    record = PngImagePlugin.PngInfo()
    record.add_text("augmentlab", f"preview --aug '{spec}' --n {n} --seed {seed} --size {size} --draws {draws} ({samples.source})")
    try:
        picture.save(out, format="PNG", pnginfo=record)
    except OSError as error:
        raise AugmentlabError(f"--out {out}: cannot write it: {error.strerror or error}") from None
    return picture.size
