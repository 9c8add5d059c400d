"""Segmentation datasets from a COCO instances json, image+mask folders, or the built-in demo data.

A :class:`SegmentationDataset` serves ``(image uint8 [3, H, W] RGB, mask int64 [H, W])``,
decoded from the files on each access. COCO masks are rasterized once per annotation file
and options, and kept on disk as one ``.npz`` under ``$AUGMENTLAB_CACHE`` (default
``~/.cache/augmentlab/masks``).

COCO image files are looked up as ``file_name`` under ``images``, its ``path`` there, then both
under the json's own folder; the bare file name only when none of those is a file (see
:mod:`augmentlab.data.coco.dataset`). The json's width and height must be the image's size
after EXIF orientation, or, for an image whose EXIF orientation turns it by 90°, its stored
size: the mask then turns with the image, and one rule holds for the whole json (see
:func:`augmentlab.data.images.mask_orientations`). A dataset with nothing but the background
(a json without categories, binary masks whose foreground is the ignore index) is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from augmentlab.data.coco.dataset import build_coco_dataset, read_coco_source
from augmentlab.data.colours import ColourMaskReader, read_mask_colours, select_classes
from augmentlab.data.dataset import Sample, SegmentationDataset, check_ignore_index
from augmentlab.data.folders import (
    FolderSource,
    folder_class_names,
    folder_classes,
    scan_folder_pairs,
)
from augmentlab.data.images import read_index_mask
from augmentlab.data.wording import plural
from augmentlab.errors import AugmentlabError, FieldError, Param

logger = logging.getLogger("augmentlab.data")
DEFAULT_VAL_SPLIT = 0.2  # the share of data held out for validation when no val split is given
_MASKS_WITHOUT_DATA = AugmentlabError(Param("masks"), " goes with ", Param("data"), " IMAGES_DIR; the demo data is a COCO dataset")
_IMAGES_WITHOUT_DATA = AugmentlabError(
    Param("images"), " is the folder of a COCO json's images: give it with ", Param("data"),
    " TRAIN.json (without ", Param("data"), ", the built-in demo data is used)",
)
_COLOURS_WITHOUT_MASKS = AugmentlabError(
    Param("mask_colours"), " is the colour table of a folder dataset's colour-coded masks: give it with ", Param("data"),
    " IMAGES_DIR and ", Param("masks"), " MASKS_DIR (a COCO json's classes are its categories)",
)


def load_dataset(
    data: str | Path | None,
    *,
    masks: str | Path | None = None,
    images: str | Path | None = None,
    size: int | tuple[int, int] | None = None,
    ignore_index: int = 255,
    classes: Sequence[str] | None = None,
    crowd: str = "ignore",
    order: str = "area",
    strict: bool = False,
    resize: str = "stretch",
    mask_colours: str | Path | None = None,
) -> SegmentationDataset:
    """A COCO json (``data``, with its images under ``images`` or beside it), an image folder
    (``data``) with a mask folder (``masks``), or the built-in demo training data (``data=None``).

    ``crowd``, ``order`` and ``ignore_index`` are :func:`~augmentlab.data.rasterize_coco_masks`'
    options; ``classes`` names a folder dataset's classes, index 0 first. ``mask_colours`` is the
    colour table (a CSV ``name,r,g,b``, one row per class, the background first: CamVid's
    ``class_dict.csv``) of a folder dataset whose masks are colour-coded RGB pictures; the class
    names are then its names, or ``classes`` chosen among them, in their order, with the rows
    left out void (``ignore_index``; see :mod:`augmentlab.data.colours`). ``strict=True``
    turns skipped problems (degenerate polygons, files without a partner) into errors.
    ``resize="fit"`` scales each image inside ``size`` keeping its aspect ratio and pads it
    (image 0, mask ``ignore_index``) instead of stretching it.

    Raises:
        AugmentlabError: bad input, in one line that says what to change.
    """
    size = _check_size(size)
    if data is None:
        if images is not None:
            raise _IMAGES_WITHOUT_DATA
        demo = _demo_paths(masks)
        data, images = demo.train_json, demo.images
    data = Path(data)
    if masks is not None:
        _check_folder_options(images)
        reader, classes = _folder_classes_option(classes, mask_colours, ignore_index)
        source = scan_folder_pairs(
            data, masks, ignore_index=ignore_index, num_classes=None if classes is None else len(classes), strict=strict,
            read_mask=_mask_reader(reader),
        )
        return _folder_dataset(source, folder_classes(classes, [source], ignore_index), size, ignore_index, reader).with_resize(resize)
    if mask_colours is not None:
        raise _COLOURS_WITHOUT_MASKS
    coco = read_coco_source(data, classes, strict)
    return build_coco_dataset(coco, images, size=size, ignore_index=ignore_index, crowd=crowd, order=order).with_resize(resize)


def load_splits(
    data: str | Path | None,
    *,
    val: str | Path | None = None,
    val_images: str | Path | None = None,
    val_masks: str | Path | None = None,
    val_split: float = DEFAULT_VAL_SPLIT,
    seed: int = 0,
    **options: Any,
) -> tuple[SegmentationDataset, SegmentationDataset]:
    """``(train, val)``: ``val`` as a separate source (a COCO json, or an image folder with
    ``val_masks``), or else a random ``val_split`` fraction of ``data``, the same for the same
    ``seed``. ``val_images`` is the folder of a val COCO json's images when they are not in
    ``images`` (COCO's ``train2017/`` and ``val2017/``, an export's per-split ``JPEGImages/``). With ``data=None`` the demo's own validation json is used. ``options`` are
    :func:`load_dataset`'s.

    Raises:
        AugmentlabError: bad input, train and val with different classes, or an empty split.
    """
    if not 0 < val_split < 1:
        raise FieldError("val_split", f"must be between 0 and 1 (exclusive), got {val_split}")
    if val is not None and val_split != DEFAULT_VAL_SPLIT:
        # Said rather than ignored: a user who asked for a 30% hold-out would otherwise score on another split unawares.
        raise AugmentlabError(
            Param("val_split"), f" {val_split:g} holds out a share of ", Param("data"), " when there is no ", Param("val"),
            "; with ", Param("val"), " given, leave ", Param("val_split"), " out",
        )
    train_set, val_set = _splits(data, val, val_images, val_masks, val_split, seed, **options)
    resize = options.get("resize", "stretch")
    return train_set.with_resize(resize), val_set.with_resize(resize)


def _splits(
    data: str | Path | None, val: str | Path | None, val_images: str | Path | None, val_masks: str | Path | None,
    val_split: float, seed: int, **options: Any,
) -> tuple[SegmentationDataset, SegmentationDataset]:
    masks = options.get("masks")
    if val_masks is not None and (val is None or masks is None):
        raise AugmentlabError(
            Param("val_masks"), " goes with a folder dataset: give ", Param("data"), " IMAGES_DIR, ",
            Param("masks"), " MASKS_DIR and ", Param("val"), " VAL_IMAGES_DIR",
        )
    if val_images is not None and (val is None or masks is not None):
        raise AugmentlabError(
            Param("val_images"), " is the folder of a val COCO json's images: give it with ", Param("val"), " VAL.json",
            *(() if masks is None else (" (a folder dataset's val images are ", Param("val"), " itself)",)),
        )
    if data is None and val is not None:
        raise AugmentlabError(Param("val"), " goes with ", Param("data"), ": give the train split too (without ", Param("data"), ", the built-in demo data is used, with its own val split)")
    if data is None and options.get("images") is not None:
        raise _IMAGES_WITHOUT_DATA
    if data is None and val_split != DEFAULT_VAL_SPLIT:
        raise AugmentlabError(
            Param("val_split"), f" {val_split:g} holds out a share of ", Param("data"), "; the built-in demo data (used without ",
            Param("data"), ") has its own val split, so leave ", Param("val_split"), " out or give ", Param("data"),
        )
    if data is None and val is None:
        demo = _demo_paths(masks)
        data, val, options = demo.train_json, demo.val_json, {**options, "images": demo.images}
    if val is None:
        return _random_split(load_dataset(data, **options), val_split, seed)
    if masks is not None:
        return _folder_splits(data, val, val_masks, **{key: value for key, value in options.items() if key != "resize"})
    train_set = load_dataset(data, **options)
    try:
        val_set = load_dataset(val, **(options if val_images is None else {**options, "images": val_images}))
    except AugmentlabError as error:
        # The val json's images are found through val_images, also when it was left out: that is the setting to give.
        raise _as_val_images(error) from None
    _check_same_classes(train_set, val_set, Path(data), Path(val), "export both splits with the same categories")
    return train_set, val_set


def _as_val_images(error: AugmentlabError) -> AugmentlabError:
    """The val split's error about its image folder, naming the setting that gave it (val_images, not images)."""
    if isinstance(error, FieldError) and error.field == "images" and error.source is None:
        return FieldError("val_images", error.problem)
    parts = tuple(Param("val_images") if isinstance(part, Param) and part.name == "images" else part for part in error.parts)
    return AugmentlabError(*parts)


def _folder_dataset(
    source: FolderSource, class_names: tuple[str, ...], size: tuple[int, int] | None, ignore_index: int,
    reader: ColourMaskReader | None = None,
) -> SegmentationDataset:
    check_ignore_index(ignore_index, len(class_names))
    samples = [Sample(p.name, p.image_path, str(p.mask_path), p.mask_orientation) for p in source.pairs]
    # The colours are part of what the masks mean: another table over the same files is other data.
    colours = "" if reader is None else f"\0colours\0{reader.table.key}\0{reader.labels}"
    return SegmentationDataset(
        samples,
        class_names=class_names,
        ignore_index=ignore_index,
        size=size,
        read_mask=_mask_reader(reader),
        source_key=f"folders\0{source.fingerprint}\0{class_names}\0{ignore_index}{colours}",
    )


def _folder_classes_option(
    classes: Sequence[str] | None, mask_colours: str | Path | None, ignore_index: int
) -> tuple[ColourMaskReader | None, Sequence[str] | None]:
    """``(colour mask reader, class names)`` of a folder dataset: with ``mask_colours``, the table's
    names, or ``classes`` chosen among them (the rows left out are void)."""
    _check_classes(classes)
    if mask_colours is None:
        return None, classes
    table = read_mask_colours(mask_colours)
    if classes is None:
        return ColourMaskReader(table), table.names
    check_ignore_index(ignore_index, len(classes))  # before the rows left out are said to become it
    labels = select_classes(table, classes, ignore_index)
    void = [name for name, label in zip(table.names, labels) if label == ignore_index]
    if void:
        logger.warning(
            "%s", f"{plural(len(void), 'row')} of {table.source} not among the classes, so void (ignore index {ignore_index}): {', '.join(void)}"
        )
    # The rows in their own order are the table as it is: the same data, the same key.
    return ColourMaskReader(table, None if labels == tuple(range(len(labels))) else labels), tuple(classes)


def _mask_reader(reader: ColourMaskReader | None) -> Callable[[Any], torch.Tensor]:
    return read_index_mask if reader is None else reader


def _folder_splits(
    data: str | Path | None,
    val: str | Path,
    val_masks: str | Path | None,
    *,
    masks: str | Path,
    images: str | Path | None = None,
    size: tuple[int, int] | None = None,
    ignore_index: int = 255,
    classes: Sequence[str] | None = None,
    strict: bool = False,
    mask_colours: str | Path | None = None,
    **coco_options: Any,
) -> tuple[SegmentationDataset, SegmentationDataset]:
    """Both folder splits, class names from ``classes``, the colour table, or the largest label of either split."""
    if data is None:
        raise _MASKS_WITHOUT_DATA
    if val_masks is None:
        raise AugmentlabError(Param("val"), f" {val} needs ", Param("val_masks"), " VAL_MASKS_DIR with the masks of its images")
    _check_folder_options(images)
    reader, classes = _folder_classes_option(classes, mask_colours, ignore_index)
    size = _check_size(size)
    num_classes = None if classes is None else len(classes)
    read_mask = _mask_reader(reader)
    train_source = scan_folder_pairs(data, masks, ignore_index=ignore_index, num_classes=num_classes, strict=strict, read_mask=read_mask)
    val_source = scan_folder_pairs(val, val_masks, ignore_index=ignore_index, num_classes=num_classes, strict=strict, read_mask=read_mask)
    names = folder_classes(classes, [train_source, val_source], ignore_index)
    return _folder_dataset(train_source, names, size, ignore_index, reader), _folder_dataset(val_source, names, size, ignore_index, reader)


def _random_split(
    dataset: SegmentationDataset, val_split: float, seed: int
) -> tuple[SegmentationDataset, SegmentationDataset]:
    total = len(dataset)
    if total < 2:
        # No fraction can split one sample into two non-empty splits.
        raise AugmentlabError(
            Param("val_split"), f" needs at least 2 samples to split, and the dataset has {total}; add images, or give a separate ",
            Param("val"),
        )
    num_val = round(total * val_split)
    if num_val == 0 or num_val == total:
        empty = "validation" if num_val == 0 else "training"
        change = "a larger" if num_val == 0 else "a smaller"
        raise AugmentlabError(
            Param("val_split"), f" {val_split} of {total} samples leaves {empty} empty; use {change} ",
            Param("val_split"), ", more data, or a separate ", Param("val"),
        )
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed)).tolist()
    return dataset.subset(sorted(order[num_val:])), dataset.subset(sorted(order[:num_val]))


def _check_same_classes(train: SegmentationDataset, val: SegmentationDataset, train_path: Path, val_path: Path, fix: str) -> None:
    if train.class_names == val.class_names:
        return
    if train.num_classes != val.num_classes:
        difference = f"{plural(train.num_classes, 'class')} against {val.num_classes}"
    else:
        index = next(i for i, (a, b) in enumerate(zip(train.class_names, val.class_names)) if a != b)
        difference = f"class {index} is '{train.class_names[index]}' against '{val.class_names[index]}'"
    raise AugmentlabError(f"{train_path} and {val_path} have different classes ({difference}); {fix}")


def _check_size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)  # N is N×N, as image_size reads it
    values = tuple(size) if isinstance(size, Sequence) and not isinstance(size, str) else ()
    if len(values) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise AugmentlabError(f"size must be N or (height, width), positive integers, got {size!r}")
    return values


def _check_classes(classes: Sequence[str] | None) -> None:
    """``classes`` checked before any mask is read, so that a list of one name is named as the problem."""
    if isinstance(classes, str):  # iterated, 'Sky,Road' would be the classes S, k, y, …
        raise FieldError("classes", f"is a list of names, got the string {classes!r}; pass {classes.split(',')!r}")
    if classes is not None:
        folder_class_names(classes, 0)


def _check_folder_options(images: str | Path | None) -> None:
    if images is not None:
        raise AugmentlabError(Param("images"), " is for COCO datasets; a folder dataset takes its images from ", Param("data"), " IMAGES_DIR")


def _demo_paths(masks: str | Path | None) -> Any:
    if masks is not None:
        raise _MASKS_WITHOUT_DATA
    from augmentlab.data.demo import (
        demo_dataset,  # the generator draws with numpy and Pillow: imported on use only
    )

    return demo_dataset()


def shared_images_warning(train: SegmentationDataset, val: SegmentationDataset) -> str | None:
    """A warning when validation images are training images too (one json or folder given as both), else None.

    The same file under two names (a symlink, ``./a`` and ``a``) counts as one: paths are compared resolved.
    """
    training = {path.resolve() for path in train.image_paths()}
    shared = [path for path in val.image_paths() if path.resolve() in training]
    if not shared:
        return None
    return (
        f"{len(shared)} of the {len(val)} val images are training images too (e.g. {shared[0]}): their scores measure "
        "memorisation, not how well a model generalises; give a val split with other images, or leave val out to hold out a share"
    )
