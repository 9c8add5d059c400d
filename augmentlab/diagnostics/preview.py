"""`augmentlab preview`: a PNG grid that shows what an augmentation set does to images and masks.

Each row is one sample of a dataset (the built-in demo data by default), chosen by a seed: the
original, then a few independent draws of the set. Every tile
carries its mask as a translucent overlay in a fixed palette (background untinted, ignore
pixels hatched black and white), and a legend names the classes. Drawing uses torch for the
pixels and Pillow for text, so no plotting library is needed.
"""

from __future__ import annotations

import colorsys
import math
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from augmentlab.augment.pipeline import (
    build_augmentation,
    plugin_transforms,
    rejected_batch,
)
from augmentlab.data import load_dataset
from augmentlab.data.colours import read_mask_colours
from augmentlab.errors import AugmentlabError, FieldError, one_line

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
        images: uint8 [N,3,H,W].
        masks: int64 [N,H,W], class indices or ``ignore_index``.
        class_names: name of each class index; index 0 is background.
        ignore_index: mask value of unlabelled pixels.
        source: where the samples come from, for the title (``demo data``, a dataset path).
        palette: float [C,3] in [0,1], the dataset's own class colours (a colour table's), or
            None for :func:`class_palette`'s.
    """

    images: torch.Tensor
    masks: torch.Tensor
    class_names: tuple[str, ...]
    ignore_index: int
    source: str
    palette: torch.Tensor | None = None


def load_preview_samples(
    data: str | Path | None,
    *,
    images: str | Path | None = None,
    masks: str | Path | None = None,
    ignore_index: int = 255,
    classes: Sequence[str] | None = None,
    strict: bool = False,
    mask_colours: str | Path | None = None,
    n: int,
    size: int | tuple[int, int],
    seed: int,
) -> PreviewSamples:
    """``n`` samples of a dataset, resized to ``size`` (N for N×N, or (height, width)), chosen by ``seed``.

    ``data`` and the options are :func:`augmentlab.data.load_dataset`'s; ``data=None`` is the
    built-in demo data. The samples are a seeded choice without replacement, the same for the
    same ``seed``; a dataset of fewer than ``n`` samples gives all of them. Class names and the
    ignore index are the dataset's.

    Raises:
        AugmentlabError: the dataset cannot be loaded (the message says what to change).
    """
    dataset = load_dataset(
        data, images=images, masks=masks, size=tile_size(size), ignore_index=ignore_index, classes=classes, strict=strict,
        mask_colours=mask_colours,
    )
    chosen = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
    pairs = [dataset[index] for index in chosen.tolist()]
    return PreviewSamples(
        images=torch.stack([image for image, _ in pairs]),
        masks=torch.stack([mask for _, mask in pairs]),
        class_names=dataset.class_names,
        ignore_index=dataset.ignore_index,
        source="demo data" if data is None else str(data),
        palette=None if mask_colours is None else _table_palette(mask_colours, dataset.class_names),
    )


def _table_palette(mask_colours: str | Path, class_names: Sequence[str]) -> torch.Tensor:
    """The colour table's colour of each class: colour-coded data is previewed in the colours its users know."""
    table = read_mask_colours(mask_colours)
    by_name = dict(zip(table.names, table.colours))
    return torch.tensor([by_name[name] for name in class_names], dtype=torch.float32) / 255


# Kelly's colours of maximum contrast (minus white, black and greys): the first classes, which most
# datasets stop within, get hues no one confuses; later classes step through hues by the golden ratio.
DISTINCT_COLOURS = (
    (0.90, 0.10, 0.10), (0.10, 0.45, 0.95), (1.00, 0.70, 0.00), (0.15, 0.70, 0.20), (0.60, 0.20, 0.80),
    (0.00, 0.85, 0.85), (1.00, 0.40, 0.70), (0.55, 0.35, 0.15), (0.75, 0.95, 0.10), (1.00, 0.45, 0.05),
    (0.10, 0.15, 0.55), (0.50, 0.75, 1.00),
)


def class_palette(num_classes: int) -> torch.Tensor:
    """Fixed overlay colours, float [num_classes,3] in [0,1]; row 0 (background) is never drawn.

    Labels 1..12 take :data:`DISTINCT_COLOURS`; later labels step through hues by the golden ratio.
    A class keeps its colour whatever the number of classes.
    """
    colours = [(0.0, 0.0, 0.0)]
    for label in range(1, num_classes):
        if label <= len(DISTINCT_COLOURS):
            colours.append(DISTINCT_COLOURS[label - 1])
        else:
            colours.append(colorsys.hsv_to_rgb((label * 0.618034) % 1.0, 0.85, 0.95))
    return torch.tensor(colours, dtype=torch.float32)[:num_classes]


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


def preview_columns(
    spec: str, samples: PreviewSamples, draws: int, seed: int, mirror_pairs: str = "auto"
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The original samples and ``draws`` independent draws of the augmentation set ``spec``.

    Reflections swap the labels of ``mirror_pairs`` (``auto``, ``none`` or ``A:B,C:D``, as the
    recipe's), so the masks are the ones a run with those pairs learns.

    The caller's random state is left as it was; ``seed`` alone decides the draws.

    Returns:
        ``draws + 1`` pairs (images float [N,3,H,W] in [0,1], masks int64 [N,H,W]), the original first.

    Raises:
        SpecError: ``spec`` is malformed or names an unknown augmentation or parameter, or a
            transform rejects the samples' size (a parameter they do not fit).
    """
    from augmentlab.augment.mirror import label_swap_table
    from augmentlab.augment.mirror import mirror_pairs as resolve_pairs

    augmentation = build_augmentation(spec, ignore_index=samples.ignore_index)
    # Reflections relabel left/right classes as training does, so the preview shows the labels a run learns.
    augmentation.set_label_swap(label_swap_table(resolve_pairs(samples.class_names, mirror_pairs), samples.ignore_index))
    images = samples.images.float() / 255
    columns = [(images, samples.masks)]
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        try:
            columns.extend(augmentation(images, samples.masks) for _ in range(draws))
        except ValueError as error:
            raise rejected_batch(error, spec) from None
        except AugmentlabError:  # a TransformOutputError names the transform already
            raise
        except Exception as error:
            plugins = plugin_transforms(spec)
            if not plugins:
                raise  # a built-in that crashes is a bug of ours: its traceback is the report
            # As a run names the culprit of a failure, so does the preview: one line, not a plugin's traceback.
            raise AugmentlabError(f"augmentation {spec!r} raised {one_line(error)}; its plugin transforms: {', '.join(plugins)}") from None
    return columns


def _legend_layout(canvas_width: int, entries: int) -> tuple[int, int]:
    """(entries per legend row, legend rows) for a canvas of this width."""
    per_row = max(1, (canvas_width - 2 * MARGIN) // LEGEND_ENTRY_WIDTH)
    return per_row, math.ceil(entries / per_row)


def size_text(size: int | tuple[int, int]) -> str:
    """``256`` or ``96x128``, as ``--size`` takes it."""
    height, width = tile_size(size)
    return str(height) if height == width else f"{height}x{width}"


TILE_SIDES = (32, 1024)
"""The smallest and largest side of a tile, in pixels."""


def check_tile_size(size: Any) -> None:
    """Raise FieldError unless ``size`` is N or (height, width) with every side in :data:`TILE_SIDES`."""
    sides = [size] if isinstance(size, int) else list(size) if isinstance(size, tuple) and len(size) == 2 else []
    low, high = TILE_SIDES
    if not sides or not all(isinstance(side, int) and not isinstance(side, bool) and low <= side <= high for side in sides):
        shown = "x".join(map(str, size)) if isinstance(size, tuple) else repr(size) if isinstance(size, str) else size
        raise FieldError("size", f"must be N or H×W (height first) with each side from {low} to {high} pixels, got {shown}")


def tile_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """(height, width) of a tile: ``size`` N is N×N."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def preview_canvas_size(n: int, size: int | tuple[int, int], draws: int, num_classes: int) -> tuple[int, int]:
    """(width, height) in pixels of the preview PNG of ``n`` samples with ``draws`` draws each, in tiles of ``size`` (N, or (height, width)).

    The legend lists every class but background, plus ignore.
    """
    tile_height, tile_width = tile_size(size)
    columns = draws + 1
    width = 2 * MARGIN + columns * tile_width + (columns - 1) * GAP
    _, legend_rows = _legend_layout(width, num_classes)
    height = MARGIN + TITLE_HEIGHT + HEADER_HEIGHT + n * tile_height + (n - 1) * GAP + LEGEND_GAP + legend_rows * LEGEND_ROW_HEIGHT + MARGIN
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


def render_preview(spec: str, samples: PreviewSamples, draws: int, seed: int, mirror_pairs: str = "auto") -> Image.Image:
    """Draw the preview grid: a row per sample, the original then ``draws`` draws, and a legend.

    The picture depends only on its arguments, so the same call gives the same pixels.
    """
    n, _, tile_height, tile_width = samples.images.shape
    width, height = preview_canvas_size(n, (tile_height, tile_width), draws, len(samples.class_names))
    palette = class_palette(len(samples.class_names)) if samples.palette is None else samples.palette
    canvas = Image.new("RGB", (width, height), PAGE_COLOUR)
    pen = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=FONT_SIZE)
    text_top = (TITLE_HEIGHT - FONT_SIZE) // 2

    title = f"{spec}  ·  seed {seed}  ·  {samples.source}"
    pen.text((MARGIN, MARGIN + text_top), _fit_text(title, font, width - 2 * MARGIN), fill=TEXT_COLOUR, font=font)
    grid_top = MARGIN + TITLE_HEIGHT + HEADER_HEIGHT
    for column, (images, masks) in enumerate(preview_columns(spec, samples, draws, seed, mirror_pairs)):
        left = MARGIN + column * (tile_width + GAP)
        heading = "original" if column == 0 else f"draw {column}"
        pen.text((left, MARGIN + TITLE_HEIGHT), _fit_text(heading, font, tile_width), fill=TEXT_COLOUR, font=font)
        tiles = overlay_masks(images, masks, palette, samples.ignore_index)
        for row, tile in enumerate(tiles):
            canvas.paste(_to_pil(tile), (left, grid_top + row * (tile_height + GAP)))

    _draw_legend(canvas, pen, font, samples, palette, top=grid_top + n * tile_height + (n - 1) * GAP + LEGEND_GAP)
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


def write_preview(
    spec: str,
    out: Path,
    *,
    data: str | Path | None = None,
    images: str | Path | None = None,
    masks: str | Path | None = None,
    ignore_index: int = 255,
    classes: Sequence[str] | None = None,
    strict: bool = False,
    mask_colours: str | Path | None = None,
    n: int = 8,
    seed: int = 0,
    size: int | tuple[int, int] = 256,
    draws: int = 3,
    mirror_pairs: str = "auto",
) -> tuple[int, int]:
    """Render the preview of ``spec`` on ``n`` samples of a dataset and save it as PNG at ``out``;
    returns its (width, height).

    ``data`` and the dataset options are :func:`augmentlab.data.load_dataset`'s (``data=None``:
    the built-in demo data); ``seed`` picks the samples and the draws; ``mirror_pairs`` are the
    class pairs reflections swap, as in the recipe. The PNG's text chunk
    ``augmentlab`` records the arguments that made it and where the samples come from.

    Raises:
        AugmentlabError: ``out`` is not a writable ``.png`` path, or the dataset cannot be loaded.
        SpecError: ``spec`` is malformed or names an unknown augmentation or parameter.
    """
    if out.suffix.lower() != ".png":
        raise FieldError("out", f"{out}: the preview is a PNG; give a path ending in .png")
    check_tile_size(size)
    samples = load_preview_samples(
        data, images=images, masks=masks, ignore_index=ignore_index, classes=classes, strict=strict, mask_colours=mask_colours,
        n=n, size=size, seed=seed,
    )
    picture = render_preview(spec, samples, draws, seed, mirror_pairs)
    dataset_args = _dataset_arguments(data, images, masks, ignore_index, classes, strict, mask_colours)
    record = PngImagePlugin.PngInfo()
    record.add_text(
        "augmentlab",
        f"preview --aug {shlex.quote(spec)}{dataset_args} --n {n} --seed {seed} --size {size_text(size)} --draws {draws}"
        f"{'' if mirror_pairs == 'auto' else ' --mirror-pairs ' + shlex.quote(mirror_pairs)} ({samples.source})",
    )
    try:
        picture.save(out, format="PNG", pnginfo=record)
    except OSError as error:
        raise FieldError("out", f"{out}: cannot write it: {error.strerror or error}") from None
    return picture.size


def _dataset_arguments(
    data: str | Path | None,
    images: str | Path | None,
    masks: str | Path | None,
    ignore_index: int,
    classes: Sequence[str] | None,
    strict: bool,
    mask_colours: str | Path | None,
) -> str:
    """The dataset options as ``augmentlab preview`` takes them, defaults left out: `` --data d --masks m``."""
    given = [("--data", data), ("--images", images), ("--masks", masks), ("--mask-colours", mask_colours)]
    given.append(("--ignore-index", None if ignore_index == 255 else ignore_index))
    given.append(("--classes", None if classes is None else ",".join(classes)))
    words = [f" {option} {shlex.quote(str(value))}" for option, value in given if value is not None]
    return "".join(words) + (" --strict" if strict else "")
