"""The built-in demo dataset: synthetic waste-sorting scenes, drawn procedurally and deterministically.

Each image is a pile of litter on a floor: 11 classes named like the waste-sorting classes, each
with its own shape family, colours and texture, and with the confusions of real photos (glass and
plastic bottles share a shape and differ in tint and sheen; paper, paper packs and styrofoam are
all light). Objects are drawn bottom to top and annotated by the part that stays visible, so an
object cut in two by another one becomes a multi-polygon annotation. Floors carry texture, lines
and pebbles; each image has its own lighting. Classes are uneven: batteries and clothing are rare.

The output is plain COCO (JPEGs, ``train.json``, ``val.json``), read by the same loader as user
data. The same seed gives the same bytes: every image draws from ``numpy.random.default_rng([seed,
split, index])``, and the JPEGs carry no metadata.

The defaults, 160 train and 40 val images of 256×256, take a few seconds to generate: enough
images of each class for a CPU run of a few minutes to learn something measurable, and objects
small enough next to the frame (batteries of 16–26 px) that geometric and photometric
augmentations have something to change.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from augmentlab.atomic import cannot_write
from augmentlab.checks import check_integer, check_integer_pair
from augmentlab.data.demo.outlines import mask_outlines
from augmentlab.errors import AugmentlabError

logger = logging.getLogger("augmentlab.data")

DEMO_VERSION = "demo-v1"
"""Folder name of the cached demo data; bump it whenever the generator's output changes."""
DATA_DIR_ENV = "AUGMENTLAB_DATA"
JPEG_QUALITY = 90
POLYGON_TOLERANCE = 0.75
"""Douglas–Peucker tolerance in pixels: polygons look hand-drawn and keep ≥ 97% of pixels exact."""

Array = np.ndarray


@dataclass(frozen=True)
class DemoPaths:
    """Where a generated demo dataset lies; ``file_name`` in both jsons is relative to ``images``."""

    train_json: Path
    val_json: Path
    images: Path


@dataclass(frozen=True)
class DemoObject:
    """The visible part of one object, as its COCO annotation stores it."""

    category_id: int
    polygons: tuple[tuple[int, ...], ...]
    """Flat ``x0, y0, x1, y1, ...`` on pixel corners; several when the object is cut apart."""
    area: int
    bbox: tuple[int, int, int, int]
    """``x, y, width, height`` of the visible pixels."""


@dataclass(frozen=True)
class DemoScene:
    image: Array
    """uint8 ``[H, W, 3]`` RGB."""
    label_map: Array
    """uint8 ``[H, W]``: 0 background, else the category id of the visible object (= class index)."""
    objects: tuple[DemoObject, ...]
    """Visible objects, bottom to top."""


@dataclass(frozen=True)
class _Pose:
    """Object-local coordinates of a crop: ``u`` along the object's length, ``v`` across, in px."""

    u: Array
    v: Array
    half_length: float
    half_width: float


Shape = Callable[[np.random.Generator, float], tuple[Array, float, float]]
Painter = Callable[[np.random.Generator, _Pose], tuple[Array, float]]


def _noise(rng: np.random.Generator, height: int, width: int, cell: float) -> Array:
    """Smooth noise float32 ``[height, width]`` in about [-1, 1], with features ``cell`` px wide."""
    grid = rng.uniform(-1, 1, (max(2, int(height / cell) + 2), max(2, int(width / cell) + 2))).astype(np.float32)
    return np.asarray(Image.fromarray(grid, mode="F").resize((width, height), Image.BICUBIC))


def _colour(rng: np.random.Generator, palette: list[tuple[float, float, float]], jitter: float = 0.04) -> Array:
    base = np.asarray(palette[rng.integers(len(palette))], dtype=np.float32)
    return np.clip(base + rng.uniform(-jitter, jitter, 3), 0, 1).astype(np.float32)


def _vivid(rng: np.random.Generator) -> Array:
    """A saturated colour: print, caps, fabric."""
    colour = rng.uniform(0.05, 0.35, 3)
    colour[rng.integers(3)] = rng.uniform(0.65, 0.95)
    return colour.astype(np.float32)


def _fill(pose: _Pose, colour: Array) -> Array:
    return np.broadcast_to(colour, pose.u.shape + (3,)).copy()


def _cylinder(pose: _Pose, highlight: float) -> Array:
    """Shading of a cylinder lying along ``u``, with a specular stripe: float32 ``[h, w, 1]``."""
    across = np.clip(pose.v / pose.half_width, -1, 1)
    shade = 0.55 + 0.45 * np.sqrt(1 - across**2) + highlight * np.exp(-(((across + 0.35) / 0.14) ** 2))
    return shade[..., None]


# Shapes: polygon (N, 2) in local (u, v) px, centred, plus half length and half width.


def _rounded_rect(length: float, width: float, radius: float) -> Array:
    radius = min(radius, width / 2, length / 2)
    corners = [(length / 2 - radius, width / 2 - radius), (-length / 2 + radius, width / 2 - radius),
               (-length / 2 + radius, -width / 2 + radius), (length / 2 - radius, -width / 2 + radius)]
    points = []
    for k, (cu, cv) in enumerate(corners):
        angles = np.linspace(k * np.pi / 2, (k + 1) * np.pi / 2, 5)
        points.append(np.stack([cu + radius * np.cos(angles), cv + radius * np.sin(angles)], 1))
    return np.concatenate(points)


def _blob(rng: np.random.Generator, radius: float, roughness: float, elongation: float = 1.0) -> Array:
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    r = np.ones_like(angles)
    for k in range(2, 7):
        r += rng.uniform(0, roughness / k) * np.cos(k * angles + rng.uniform(0, 2 * np.pi))
    r = radius * np.maximum(r, 0.35)
    return np.stack([elongation * r * np.cos(angles), r * np.sin(angles)], 1)


def _bottle_shape(rng: np.random.Generator, scale: float, lengths: tuple[float, float]) -> tuple[Array, float, float]:
    length = rng.uniform(*lengths) * scale
    half_width = length * rng.uniform(0.13, 0.18)
    t = np.linspace(0, 1, 24)
    profile = np.minimum(1, np.sqrt(t / 0.05)) * np.where(t < 0.62, 1, 1 - 0.62 * np.clip((t - 0.62) / 0.16, 0, 1))
    u = (t - 0.5) * length
    outline = np.concatenate([np.stack([u, half_width * profile], 1), np.stack([u, -half_width * profile], 1)[::-1]])
    return outline, length / 2, half_width


def _sheet_shape(rng: np.random.Generator, scale: float) -> tuple[Array, float, float]:
    length = rng.uniform(50, 110) * scale
    width = length * rng.uniform(0.6, 0.85)
    corners = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * [length / 2, width / 2]
    return corners + rng.uniform(-0.08, 0.08, (4, 2)) * length, length / 2, width / 2


def _carton_shape(rng: np.random.Generator, scale: float) -> tuple[Array, float, float]:
    length = rng.uniform(34, 64) * scale
    w = length * rng.uniform(0.45, 0.7) / 2
    gable = length * rng.uniform(0.12, 0.2) if rng.random() < 0.6 else 0.0
    h = length / 2
    outline = np.array([[-h, -w], [h - gable, -w], [h, 0], [h - gable, w], [-h, w]])
    return outline, h, w


def _can_shape(rng: np.random.Generator, scale: float) -> tuple[Array, float, float]:
    length = rng.uniform(30, 52) * scale
    width = length * rng.uniform(0.5, 0.62)
    return _rounded_rect(length, width, width * 0.15), length / 2, width / 2


def _battery_shape(rng: np.random.Generator, scale: float) -> tuple[Array, float, float]:
    length = rng.uniform(16, 26) * scale
    width = length * rng.uniform(0.3, 0.4)
    return _rounded_rect(length, width, width * 0.2), length / 2, width / 2


def _chunk_shape(rng: np.random.Generator, scale: float) -> tuple[Array, float, float]:
    length = rng.uniform(30, 80) * scale
    width = length * rng.uniform(0.5, 0.9)
    outline = _rounded_rect(length, width, width * rng.uniform(0.05, 0.3))
    return outline + rng.uniform(-0.025, 0.025, outline.shape) * length, length / 2, width / 2


def _jagged_shape(rng: np.random.Generator, scale: float) -> tuple[Array, float, float]:
    radius = rng.uniform(14, 32) * scale
    count = rng.integers(7, 13)
    angles = np.sort(rng.uniform(0, 2 * np.pi, count))
    r = radius * rng.uniform(0.5, 1.0, count)
    return np.stack([r * np.cos(angles), r * np.sin(angles)], 1), radius, radius


def _blob_shape(radii: tuple[float, float], roughness: float, elongations: tuple[float, float]) -> Shape:
    def shape(rng: np.random.Generator, scale: float) -> tuple[Array, float, float]:
        radius = rng.uniform(*radii) * scale
        elongation = rng.uniform(*elongations)
        return _blob(rng, radius, roughness, elongation), radius * elongation, radius

    return shape


# Painters: colour float32 [h, w, 3] in [0, 1] over the crop, and opacity.


def _paint_paper(rng: np.random.Generator, pose: _Pose) -> tuple[Array, float]:
    rgb = _fill(pose, _colour(rng, [(0.94, 0.93, 0.89), (0.97, 0.97, 0.96), (0.88, 0.84, 0.72), (0.86, 0.89, 0.94)]))
    period = rng.uniform(4.5, 7.0)
    line = np.floor(pose.v / period)
    words = np.sin(pose.u * rng.uniform(0.3, 0.6) + line * 1.7) > -0.2
    text = (np.mod(pose.v, period) < 1.3) & words & (np.abs(pose.u) < 0.8 * pose.half_length)
    rgb *= np.where(text, 0.55, 1.0)[..., None] if rng.random() < 0.7 else 1.0
    return rgb * (1 + 0.06 * _noise(rng, *pose.u.shape, 12))[..., None], 1.0


def _paint_carton(rng: np.random.Generator, pose: _Pose) -> tuple[Array, float]:
    rgb = _fill(pose, _colour(rng, [(0.93, 0.93, 0.9), (0.85, 0.78, 0.62), (0.9, 0.9, 0.86)]))
    band_start = rng.uniform(-0.7, 0.1) * pose.half_length
    band = (pose.u > band_start) & (pose.u < band_start + rng.uniform(0.3, 0.8) * pose.half_length)
    rgb[band] = _vivid(rng)
    rgb[np.abs(pose.v - rng.uniform(-0.5, 0.5) * pose.half_width) < 1.5] = _vivid(rng)
    face = np.where(pose.v < 0, 0.85, 1.0)  # the box's side face, away from the light
    return rgb * face[..., None], 1.0


def _paint_can(rng: np.random.Generator, pose: _Pose) -> tuple[Array, float]:
    rgb = _fill(pose, _colour(rng, [(0.72, 0.73, 0.76), (0.62, 0.62, 0.6), (0.78, 0.7, 0.5)]))
    if rng.random() < 0.65:
        rgb[np.abs(pose.u) < 0.6 * pose.half_length] = _vivid(rng)
    rgb[np.abs(pose.u) > 0.86 * pose.half_length] *= 0.7
    return rgb * _cylinder(pose, 0.5), 1.0


def _bottle_painter(tints: list[tuple[float, float, float]], opacity: tuple[float, float], ridges: float,
                    vivid_caps: bool) -> Painter:
    """Glass and plastic bottles share this: tint, opacity, crinkle ridges and caps tell them apart."""

    def paint(rng: np.random.Generator, pose: _Pose) -> tuple[Array, float]:
        rgb = _fill(pose, _colour(rng, tints, 0.05))
        if rng.random() < 0.5:
            rgb[np.abs(pose.u) < 0.3 * pose.half_length] = _vivid(rng) if vivid_caps else _colour(rng, [(0.9, 0.88, 0.8)])
        if rng.random() < 0.8:
            rgb[pose.u > 0.88 * pose.half_length] = _vivid(rng) if vivid_caps else _colour(rng, [(0.7, 0.7, 0.7)])
        rgb *= (1 + ridges * np.sin(2 * np.pi * pose.u / rng.uniform(5, 9)))[..., None]
        return rgb * _cylinder(pose, 0.7), rng.uniform(*opacity)

    return paint


def _paint_styrofoam(rng: np.random.Generator, pose: _Pose) -> tuple[Array, float]:
    rgb = _fill(pose, _colour(rng, [(0.95, 0.95, 0.94), (0.93, 0.92, 0.86)], 0.02))
    beads = 1 + 0.05 * rng.standard_normal(pose.u.shape) + 0.04 * _noise(rng, *pose.u.shape, 3)
    pits = np.where(rng.random(pose.u.shape) < 0.015, 0.75, 1.0)
    return rgb * (beads * pits)[..., None], 1.0


def _paint_bag(rng: np.random.Generator, pose: _Pose) -> tuple[Array, float]:
    palette = [(0.92, 0.92, 0.92), (0.12, 0.12, 0.13), (0.2, 0.35, 0.75), (0.8, 0.2, 0.2), (0.92, 0.85, 0.3)]
    rgb = _fill(pose, _colour(rng, palette))
    warp = 3 * _noise(rng, *pose.u.shape, 20)
    wrinkles = 1 + 0.18 * np.sin(pose.u * rng.uniform(0.3, 0.6) + warp) + 0.1 * _noise(rng, *pose.u.shape, 8)
    return np.clip(rgb * wrinkles[..., None] + 0.08 * (wrinkles[..., None] > 1.2), 0, 1), rng.uniform(0.7, 1.0)


def _paint_clothing(rng: np.random.Generator, pose: _Pose) -> tuple[Array, float]:
    first, second = _vivid(rng), _vivid(rng) * rng.uniform(0.4, 1.0)
    period = rng.uniform(6, 14)
    stripes = np.mod(pose.v, period) < period / 2
    pattern = [np.zeros_like(stripes), stripes, stripes ^ (np.mod(pose.u, period) < period / 2)][rng.integers(3)]
    rgb = np.where(pattern[..., None], second, first)
    weave = 1 + 0.05 * (np.mod(np.floor(pose.u) + np.floor(pose.v), 2) - 0.5)
    folds = 1 + 0.18 * _noise(rng, *pose.u.shape, 18)
    return rgb * (weave * folds)[..., None], 1.0


def _mottled(palette: list[tuple[float, float, float]], cell: float, speckle: float) -> Painter:
    """General trash and food waste: colours from ``palette`` mixed by smooth noise, with speckle."""

    def paint(rng: np.random.Generator, pose: _Pose) -> tuple[Array, float]:
        first, second = _colour(rng, palette, 0.08), _colour(rng, palette, 0.08)
        mix = np.clip(0.5 + 1.5 * _noise(rng, *pose.u.shape, cell), 0, 1)[..., None]
        grain = 1 + speckle * rng.standard_normal(pose.u.shape)
        return (first * mix + second * (1 - mix)) * grain[..., None], 1.0

    return paint


def _paint_battery(rng: np.random.Generator, pose: _Pose) -> tuple[Array, float]:
    rgb = _fill(pose, _colour(rng, [(0.1, 0.1, 0.1), (0.12, 0.2, 0.5), (0.15, 0.45, 0.2)]))
    rgb[pose.u > 0.45 * pose.half_length] = _colour(rng, [(0.75, 0.5, 0.15), (0.8, 0.8, 0.82), (0.85, 0.1, 0.1)])
    rgb[pose.u > 0.9 * pose.half_length] = (0.75, 0.75, 0.78)
    return rgb * _cylinder(pose, 0.6), 1.0


@dataclass(frozen=True)
class _WasteClass:
    name: str
    weight: float
    """Relative frequency of the class among objects."""
    shape: Shape
    paint: Painter


_CLASSES = (
    _WasteClass("General trash", 14, _jagged_shape,
                _mottled([(0.45, 0.4, 0.35), (0.3, 0.32, 0.3), (0.6, 0.55, 0.45), (0.5, 0.3, 0.3)], 6, 0.12)),
    _WasteClass("Paper", 18, _sheet_shape, _paint_paper),
    _WasteClass("Paper pack", 7, _carton_shape, _paint_carton),
    _WasteClass("Metal", 6, _can_shape, _paint_can),
    _WasteClass("Glass", 5, lambda rng, scale: _bottle_shape(rng, scale, (50, 90)),
                _bottle_painter([(0.2, 0.45, 0.22), (0.42, 0.25, 0.08), (0.72, 0.8, 0.74)], (0.85, 0.95), 0.0, False)),
    _WasteClass("Plastic", 12, lambda rng, scale: _bottle_shape(rng, scale, (50, 100)),
                _bottle_painter([(0.82, 0.88, 0.92), (0.68, 0.82, 0.95), (0.74, 0.9, 0.8)], (0.5, 0.75), 0.08, True)),
    _WasteClass("Styrofoam", 9, _chunk_shape, _paint_styrofoam),
    _WasteClass("Plastic bag", 16, _blob_shape((26, 52), 0.5, (1.0, 1.5)), _paint_bag),
    _WasteClass("Battery", 1.2, _battery_shape, _paint_battery),
    _WasteClass("Clothing", 1.8, _blob_shape((40, 70), 0.7, (1.2, 1.8)), _paint_clothing),
    _WasteClass("Food waste", 4, _blob_shape((9, 20), 1.2, (1.0, 1.6)),
                _mottled([(0.45, 0.28, 0.12), (0.8, 0.5, 0.15), (0.35, 0.5, 0.15), (0.6, 0.15, 0.1)], 3, 0.15)),
)
CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in _CLASSES)
"""The 11 category names; category id ``i + 1`` is ``CLASS_NAMES[i]`` (class 0 is the background)."""


def _floor(rng: np.random.Generator, height: int, width: int) -> Array:
    """Background: concrete, asphalt, wood or tiles, with lines and pebbles. float32 ``[H, W, 3]``."""
    kind = rng.integers(4)
    base = _colour(rng, [(0.55, 0.55, 0.53), (0.25, 0.25, 0.26), (0.5, 0.36, 0.22), (0.78, 0.76, 0.7)][kind:kind + 1], 0.06)
    shade = 1 + 0.15 * _noise(rng, height, width, 40) + 0.08 * rng.standard_normal((height, width))
    if kind == 2:  # wood grain
        shade += 0.08 * np.sin(np.arange(height)[:, None] * 0.5 + 4 * _noise(rng, height, width, 30))
    floor = Image.fromarray((np.clip(base * shade[..., None], 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(floor)
    if kind >= 2:  # planks or tile grout
        step = int(rng.integers(30, 60))
        for offset in range(int(rng.integers(step)), max(height, width), step):
            draw.line([(0, offset), (width, offset)], fill=(60, 50, 40) if kind == 2 else (150, 150, 145), width=2)
            if kind == 3:
                draw.line([(offset, 0), (offset, height)], fill=(150, 150, 145), width=2)
    for _ in range(rng.integers(2, 6)):  # cracks, strings, tyre marks
        points = np.cumsum(rng.normal(0, 25, (6, 2)), 0) + rng.uniform(0, 1, 2) * (width, height)
        draw.line([tuple(p) for p in points], fill=tuple(int(c) for c in rng.integers(20, 200, 3)), width=int(rng.integers(1, 3)))
    for _ in range(rng.integers(10, 40)):  # pebbles and leaves: background that looks like small objects
        x, y = rng.uniform(0, 1, 2) * (width, height)
        rx, ry = rng.uniform(1, 5, 2)
        draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=tuple(int(c) for c in rng.integers(40, 200, 3)))
    return np.asarray(floor, dtype=np.float32) / 255


def _polygon_mask(points: Array, height: int, width: int) -> Array:
    canvas = Image.new("L", (width, height))
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in points], fill=1)
    return np.asarray(canvas, dtype=bool)


def demo_scene(seed: int, split: str, index: int, size: tuple[int, int] = (256, 256)) -> DemoScene:
    """Draw image ``index`` of ``split`` (``"train"`` or ``"val"``): the image, its label map and its objects."""
    height, width = size
    rng = np.random.default_rng([seed, ("train", "val").index(split), index])
    scale = min(height, width) / 256
    canvas = _floor(rng, height, width)
    weights = np.array([c.weight for c in _CLASSES])
    classes = rng.choice(len(_CLASSES), rng.integers(6, 15), p=weights / weights.sum()).tolist()
    if rng.random() < 0.35:  # a cluster: several of one class, as piles have
        classes += [classes[0]] * int(rng.integers(1, 4))
    placed = []
    for class_index in classes:
        outline, half_length, half_width = _CLASSES[class_index].shape(rng, scale)
        angle = rng.uniform(0, 2 * np.pi)
        centre = rng.uniform(0.05, 0.95, 2) * (width, height)
        rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        depth = -half_length * half_width * rng.lognormal(0, 0.6)  # large things tend to lie underneath
        placed.append((depth, class_index, outline @ rotation + centre, angle, centre, half_length, half_width))
    placed.sort(key=lambda item: item[0])

    owner = np.full((height, width), -1, dtype=np.int16)
    owner_class = []
    shadow_offset = rng.uniform(1.5, 4, 2)
    for _, class_index, polygon, angle, centre, half_length, half_width in placed:
        canvas[_polygon_mask(polygon + shadow_offset, height, width)] *= 0.7
        mask = _polygon_mask(polygon, height, width)
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        if rows.size == 0:
            continue
        window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        y, x = np.mgrid[window].astype(np.float32)
        dx, dy = x + 0.5 - centre[0], y + 0.5 - centre[1]
        pose = _Pose(dx * np.cos(angle) + dy * np.sin(angle), -dx * np.sin(angle) + dy * np.cos(angle), half_length, half_width)
        colour, opacity = _CLASSES[class_index].paint(rng, pose)
        region, inside = canvas[window], mask[window]
        region[inside] = opacity * np.clip(colour[inside], 0, 1) + (1 - opacity) * region[inside]
        owner[window][inside] = len(owner_class)
        owner_class.append(class_index + 1)

    image = _light(rng, canvas)
    lookup = np.array([0] + owner_class, dtype=np.uint8)
    label_map = lookup[owner + 1]
    objects = tuple(o for o in (_visible_object(owner == k, c) for k, c in enumerate(owner_class)) if o is not None)
    return DemoScene(image, label_map, objects)


def _light(rng: np.random.Generator, canvas: Array) -> Array:
    """Per-image gain, a light gradient, a colour cast, a slight blur and sensor noise: uint8 ``[H, W, 3]``."""
    height, width, _ = canvas.shape
    direction = rng.normal(size=2)
    y, x = np.mgrid[0:height, 0:width] / max(height, width) - 0.5
    gradient = 1 + rng.uniform(0, 0.6) * (direction[0] * x + direction[1] * y) / np.linalg.norm(direction)
    lit = canvas * (rng.uniform(0.6, 1.25) * gradient)[..., None] * rng.uniform(0.92, 1.08, 3)
    blurred = Image.fromarray((np.clip(lit, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    noisy = np.asarray(blurred, dtype=np.float32) + rng.normal(0, rng.uniform(1, 6), lit.shape)
    return np.clip(noisy, 0, 255).round().astype(np.uint8)


def _visible_object(mask: Array, category_id: int) -> DemoObject | None:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return None
    top, left = int(rows[0]), int(cols[0])
    crop = mask[top:rows[-1] + 1, left:cols[-1] + 1]
    polygons = tuple(
        tuple(int(v) for v in (loop + (left, top)).ravel()) for loop in mask_outlines(crop, POLYGON_TOLERANCE)
    )
    bbox = (left, top, int(cols[-1]) + 1 - left, int(rows[-1]) + 1 - top)
    return DemoObject(category_id, polygons, int(mask.sum()), bbox)


def generate_demo_dataset(
    out_dir: str | Path,
    *,
    seed: int = 0,
    train_images: int = 160,
    val_images: int = 40,
    size: tuple[int, int] = (256, 256),
) -> DemoPaths:
    """Write the demo dataset into ``out_dir``: ``images/*.jpg``, ``train.json`` and ``val.json`` (COCO instances).

    ``size`` is ``(height, width)``. The same arguments give the same bytes in every file.

    Raises:
        AugmentlabError: ``out_dir`` is a file, a folder that is not empty, or cannot be made.
        ValueError: a count, the seed or the size is out of range.
    """
    seed = check_integer("seed", seed, low=0)
    counts = {"train": check_integer("train_images", train_images, low=1), "val": check_integer("val_images", val_images, low=1)}
    height, width = check_integer_pair("size", size, low=32)
    out_dir = Path(out_dir)
    if out_dir.exists() and not (out_dir.is_dir() and not any(out_dir.iterdir())):
        what = "is a file" if not out_dir.is_dir() else "is not empty"
        raise AugmentlabError(f"demo output folder {out_dir} {what}; give a new or empty folder")
    images_dir = out_dir / "images"
    try:
        images_dir.mkdir(parents=True)
    except OSError as error:  # a read-only place, /proc, a missing drive: one line, not a traceback
        raise cannot_write(out_dir, error, "the demo output folder") from None
    categories = [{"id": i + 1, "name": name, "supercategory": "waste"} for i, name in enumerate(CLASS_NAMES)]
    for split, count in counts.items():
        images, annotations = [], []
        for index in range(count):
            scene = demo_scene(seed, split, index, (height, width))
            file_name = f"{split}_{index:04d}.jpg"
            Image.fromarray(scene.image).save(images_dir / file_name, quality=JPEG_QUALITY)
            images.append({"id": index + 1, "file_name": file_name, "width": width, "height": height})
            for obj in scene.objects:
                annotations.append({
                    "id": len(annotations) + 1, "image_id": index + 1, "category_id": obj.category_id,
                    "segmentation": [list(p) for p in obj.polygons], "area": obj.area, "bbox": list(obj.bbox), "iscrowd": 0,
                })
        info = {"description": f"augmentlab {DEMO_VERSION}: synthetic waste-sorting scenes, not photos",
                "version": DEMO_VERSION, "seed": seed}
        document = {"info": info, "images": images, "annotations": annotations, "categories": categories}
        (out_dir / f"{split}.json").write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    return DemoPaths(out_dir / "train.json", out_dir / "val.json", images_dir)


def demo_data_dir() -> Path:
    """Where :func:`demo_dataset` keeps the demo data: ``$AUGMENTLAB_DATA/demo-v1``, else ``~/.cache/augmentlab/demo-v1``."""
    root = os.environ.get(DATA_DIR_ENV)
    return (Path(root) if root else Path.home() / ".cache" / "augmentlab") / DEMO_VERSION


def demo_dataset() -> DemoPaths:
    """The demo dataset at its default place (:func:`demo_data_dir`), generated there on first use.

    Generation writes into a temporary sibling folder and renames it into place, so a folder
    at the default place is always complete; an interrupted generation leaves no such folder.

    Raises:
        AugmentlabError: the folder exists but lacks the demo files, or it cannot be written.
    """
    target = demo_data_dir()
    if not target.exists():
        logger.info("generating the demo dataset in %s (once)", target)
        staging = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{DEMO_VERSION}-", dir=target.parent))
            generate_demo_dataset(staging)
            staging.rename(target)
        except OSError as error:
            if not target.exists():  # else a concurrent generation finished first, which is as good as ours
                raise AugmentlabError(
                    f"cannot write the demo data to {target}: {error.strerror or error}; set {DATA_DIR_ENV} to a writable folder"
                ) from None
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
    paths = DemoPaths(target / "train.json", target / "val.json", target / "images")
    if not (paths.train_json.is_file() and paths.val_json.is_file() and paths.images.is_dir()):
        raise AugmentlabError(f"demo data folder {target} is incomplete; delete it and it is generated again on next use")
    return paths
