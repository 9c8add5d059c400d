"""Semantic masks from COCO annotations, rasterized with pycocotools, and per-class counts over them.

Overlap rule: with ``order="area"`` objects are drawn from the largest to the smallest pixel
area (ties by annotation id), so a small object lying on a large one stays visible; with
``order="file"`` they are drawn in file order, the last one on top.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any, Literal

import numpy as np
from pycocotools import mask as mask_utils

from augmentlab.data.coco.reader import CocoAnnotation, CocoAnnotations, CocoImage
from augmentlab.data.stats import ClassStats, class_stats_from_masks


def rasterize_coco_masks(
    coco: CocoAnnotations,
    image_id: int,
    *,
    crowd: Literal["ignore", "class"] = "ignore",
    order: Literal["area", "file"] = "area",
    ignore_index: int = 255,
) -> np.ndarray:
    """The semantic mask of one image at its own size: uint8 ``[H, W]``, int64 when a value exceeds 255.

    Pixels of no annotation are background (0). ``crowd="ignore"`` draws ``iscrowd`` regions as
    ``ignore_index``; ``crowd="class"`` draws them as their class. Overlaps follow ``order``
    (see the module docstring); a crowd region takes part in the order like any object.

    Raises:
        ValueError: an unknown ``crowd`` or ``order``, or an ``ignore_index`` that is a class index.
        KeyError: ``image_id`` is not in ``coco``.
    """
    mask, _ = _rasterize(coco, image_id, crowd=crowd, order=order, ignore_index=ignore_index)
    return mask


def coco_class_stats(
    coco: CocoAnnotations,
    image_ids: Iterable[int] | None = None,
    *,
    crowd: Literal["ignore", "class"] = "ignore",
    order: Literal["area", "file"] = "area",
    ignore_index: int = 255,
) -> ClassStats:
    """Count, per class, pixels, drawn instances and images over ``image_ids`` (all images when None).

    Counts come from the masks :func:`rasterize_coco_masks` gives with the same options, so an
    object hidden under another one contributes the pixels that remain visible.
    """
    ids = [image.id for image in coco.images] if image_ids is None else list(image_ids)
    instance_counts = np.zeros(coco.num_classes, dtype=np.int64)

    def masks() -> Iterator[np.ndarray]:
        for image_id in ids:
            mask, drawn_classes = _rasterize(coco, image_id, crowd=crowd, order=order, ignore_index=ignore_index)
            instance_counts[:] += np.bincount(np.asarray(drawn_classes, dtype=np.int64), minlength=coco.num_classes)
            yield mask

    stats = class_stats_from_masks(masks(), coco.class_names, ignore_index)
    return replace(stats, instance_counts=instance_counts)


def _rasterize(
    coco: CocoAnnotations, image_id: int, *, crowd: str, order: str, ignore_index: int
) -> tuple[np.ndarray, list[int]]:
    """The mask, and the class of each annotation drawn with a non-empty shape (crowd-ignored ones excluded)."""
    if crowd not in ("ignore", "class"):
        raise ValueError(f"crowd must be 'ignore' or 'class', got {crowd!r}")
    if order not in ("area", "file"):
        raise ValueError(f"order must be 'area' or 'file', got {order!r}")
    if 0 <= ignore_index < coco.num_classes:
        raise ValueError(
            f"ignore_index {ignore_index} is a class index (classes are 0..{coco.num_classes - 1}); pick another value"
        )
    image = coco.image(image_id)
    dtype = np.uint8 if 0 <= ignore_index <= 255 and coco.num_classes <= 256 else np.int64
    mask = np.zeros((image.height, image.width), dtype=dtype)
    shapes = [(a, _annotation_rle(a, image)) for a in coco.annotations_by_image[image_id] if not a.is_empty]
    if order == "area":
        areas = mask_utils.area([rle for _, rle in shapes]) if shapes else []
        ranked = sorted(zip(shapes, areas), key=lambda item: (-int(item[1]), item[0][0].id))
        shapes = [shape for shape, _ in ranked]
    drawn_classes = []
    for annotation, rle in shapes:
        x, y, width, height = (int(v) for v in mask_utils.toBbox(rle))
        window = (slice(y, y + height), slice(x, x + width))
        region = mask_utils.decode(rle)[window].view(bool)  # decode gives 0/1 uint8
        crowd_ignored = annotation.iscrowd and crowd == "ignore"
        value = ignore_index if crowd_ignored else coco.class_of_category[annotation.category_id]
        np.copyto(mask[window], value, where=region)
        if not crowd_ignored and region.any():
            drawn_classes.append(value)
    return mask, drawn_classes


def _annotation_rle(annotation: CocoAnnotation, image: CocoImage) -> dict[str, Any]:
    """One compressed RLE for the annotation's whole shape (several polygons merged)."""
    if annotation.polygons:
        parts = mask_utils.frPyObjects([list(p) for p in annotation.polygons], image.height, image.width)
        return mask_utils.merge(parts)
    rle = annotation.rle
    if isinstance(rle["counts"], list):
        return mask_utils.frPyObjects(dict(rle), image.height, image.width)
    return {"size": list(rle["size"]), "counts": rle["counts"].encode("ascii")}
