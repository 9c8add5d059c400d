"""Datasets: reading annotations and turning them into semantic masks (``int`` class index per pixel)."""

from augmentlab.data.coco import (
    CocoAnnotation,
    CocoAnnotations,
    CocoCategory,
    CocoImage,
    SkippedShapes,
    read_coco,
)
from augmentlab.data.coco_masks import ClassStats, coco_class_stats, rasterize_coco_masks

__all__ = [
    "ClassStats",
    "CocoAnnotation",
    "CocoAnnotations",
    "CocoCategory",
    "CocoImage",
    "SkippedShapes",
    "coco_class_stats",
    "rasterize_coco_masks",
    "read_coco",
]
