"""What a dataset holds, per class: the numbers behind `augmentlab data stats` and ``ce(weight=auto)``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch
from rich.table import Table

from augmentlab.data.wording import plural, verb


@dataclass(frozen=True)
class ClassStats:
    """Per-class counts over a set of images, from their rasterized masks. Arrays are int64 ``[C]``."""

    class_names: tuple[str, ...]
    num_images: int
    pixel_counts: np.ndarray
    """Pixels labelled with each class (class 0 is the background)."""
    instance_counts: np.ndarray | None
    """Annotations drawn as each class (crowd regions only with ``crowd="class"``); None where the
    source has no instances (index masks)."""
    image_counts: np.ndarray
    """Images whose mask has at least one pixel of the class."""
    pixels_of_images_with_class: np.ndarray
    """Labelled pixels of the images that contain the class: the denominator of Eigen & Fergus' frequency."""
    ignored_pixels: int
    image_sizes: Mapping[tuple[int, int], int]
    """``(height, width)`` -> number of images of that size."""


# A labelled class with less than this share of the most frequent class's pixels is "rare".
IMBALANCE_RATIO = 100


def class_stats_from_masks(masks: Iterable[torch.Tensor | np.ndarray], class_names: tuple[str, ...], ignore_index: int) -> ClassStats:
    """Per-class pixel and image counts over index masks (int [H,W] each); index masks carry no instances."""
    num_classes = len(class_names)
    pixel_counts = np.zeros(num_classes, dtype=np.int64)
    image_counts = np.zeros(num_classes, dtype=np.int64)
    pixels_of_images_with_class = np.zeros(num_classes, dtype=np.int64)
    ignored_pixels, num_images = 0, 0
    image_sizes: Counter[tuple[int, int]] = Counter()
    for mask in masks:
        mask = np.asarray(mask)
        labelled = mask[mask != ignore_index].astype(np.int64, copy=False)
        counts = np.bincount(labelled, minlength=num_classes)[:num_classes]
        pixel_counts += counts
        image_counts += counts > 0
        pixels_of_images_with_class[counts > 0] += labelled.size
        ignored_pixels += mask.size - labelled.size
        image_sizes[tuple(mask.shape)] += 1
        num_images += 1
    return ClassStats(
        class_names=class_names,
        num_images=num_images,
        pixel_counts=pixel_counts,
        instance_counts=None,
        image_counts=image_counts,
        pixels_of_images_with_class=pixels_of_images_with_class,
        ignored_pixels=int(ignored_pixels),
        image_sizes=dict(image_sizes),
    )


def stats_warnings(train: ClassStats, val: ClassStats | None) -> list[str]:
    """One line per problem a user should know before training: absent, unvalidated and rare classes."""
    warnings = []
    names = train.class_names
    absent = [names[c] for c in range(1, len(names)) if train.pixel_counts[c] == 0]
    if absent:
        warnings.append(
            f"{plural(len(absent), 'class')} {verb(len(absent), 'has', 'have')} no pixel in the training set: "
            f"{', '.join(absent[:5])}{' …' if len(absent) > 5 else ''}"
        )
    if val is not None:
        unvalidated = [names[c] for c in range(1, len(names)) if train.pixel_counts[c] > 0 and val.pixel_counts[c] == 0]
        if unvalidated:
            warnings.append(
                f"{plural(len(unvalidated), 'class')} {verb(len(unvalidated), 'is', 'are')} missing from the validation set, "
                f"so {verb(len(unvalidated), 'its', 'their')} IoU cannot be measured: "
                f"{', '.join(unvalidated[:5])}{' …' if len(unvalidated) > 5 else ''}"
            )
    present = train.pixel_counts[1:][train.pixel_counts[1:] > 0]
    if present.size:
        rare = [names[c] for c in range(1, len(names)) if 0 < train.pixel_counts[c] * IMBALANCE_RATIO < present.max()]
        if rare:
            warnings.append(
                f"heavy imbalance: under 1/{IMBALANCE_RATIO} of the pixels of the most frequent class for "
                f"{', '.join(rare[:5])}{' …' if len(rare) > 5 else ''}; consider ce(weight=auto), focal or copy_paste"
            )
    return warnings


def _share(count: int, total: int) -> str:
    return "—" if total == 0 else f"{100 * count / total:.2f}%"


def stats_table(train: ClassStats, val: ClassStats | None = None, title: str = "Classes") -> Table:
    """Per class: pixel share, instances and images containing it, for train (and val)."""
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("class")
    splits = [("train", train)] + ([("val", val)] if val is not None else [])
    for split, _ in splits:
        table.add_column(f"{split} pixels", justify="right")
        table.add_column(f"{split} instances", justify="right")
        table.add_column(f"{split} images", justify="right")
    for index, name in enumerate(train.class_names):
        row = [str(index), name]
        for _, stats in splits:
            labelled = int(stats.pixel_counts.sum())
            instances = "—" if stats.instance_counts is None or index == 0 else f"{int(stats.instance_counts[index]):,}"
            row += [_share(int(stats.pixel_counts[index]), labelled), instances, f"{int(stats.image_counts[index]):,}"]
        table.add_row(*row)
    return table


def describe_images(stats: ClassStats) -> str:
    """One line: how many images, of which sizes, and how much is ignored."""
    sizes = sorted(stats.image_sizes.items(), key=lambda item: -item[1])
    shown = ", ".join(f"{h}×{w} ({n})" for (h, w), n in sizes[:3]) + (f", {len(sizes) - 3} more sizes" if len(sizes) > 3 else "")
    total = int(stats.pixel_counts.sum()) + stats.ignored_pixels
    return f"{plural(stats.num_images, 'image')}: {shown or 'none'}; {_share(stats.ignored_pixels, total)} of pixels ignored"
