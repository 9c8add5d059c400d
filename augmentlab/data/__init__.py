"""Datasets: reading annotations, images and masks, and serving (image, semantic mask) samples."""

from augmentlab.data.cache import (
    DEVICE_BUDGET_FRACTION,
    TensorCache,
    clear_tensor_caches,
    mask_storage_dtype,
)
from augmentlab.data.coco.masks import coco_class_stats, rasterize_coco_masks
from augmentlab.data.coco.reader import (
    CocoAnnotation,
    CocoAnnotations,
    CocoCategory,
    CocoImage,
    OutsideShapes,
    SkippedShapes,
    read_coco,
)
from augmentlab.data.colours import ColourMaskReader, MaskColours, read_mask_colours
from augmentlab.data.dataset import SegmentationDataset
from augmentlab.data.demo import CLASS_NAMES as DEMO_CLASS_NAMES
from augmentlab.data.demo import DemoPaths, demo_dataset, generate_demo_dataset
from augmentlab.data.images import (
    read_image,
    read_index_mask,
    resize_image,
    resize_mask,
)
from augmentlab.data.loading import load_dataset, load_splits
from augmentlab.data.stats import (
    ClassStats,
    class_stats_from_masks,
    stats_table,
    stats_warnings,
)

__all__ = [
    "DEMO_CLASS_NAMES",
    "DEVICE_BUDGET_FRACTION",
    "ClassStats",
    "ColourMaskReader",
    "CocoAnnotation",
    "CocoAnnotations",
    "CocoCategory",
    "CocoImage",
    "DemoPaths",
    "MaskColours",
    "OutsideShapes",
    "SegmentationDataset",
    "TensorCache",
    "class_stats_from_masks",
    "clear_tensor_caches",
    "SkippedShapes",
    "coco_class_stats",
    "demo_dataset",
    "generate_demo_dataset",
    "load_dataset",
    "load_splits",
    "mask_storage_dtype",
    "rasterize_coco_masks",
    "read_coco",
    "read_image",
    "read_index_mask",
    "read_mask_colours",
    "resize_image",
    "resize_mask",
    "stats_table",
    "stats_warnings",
]
