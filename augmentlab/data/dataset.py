"""Segmentation datasets from a COCO instances json, image+mask folders, or the built-in demo data.

A :class:`SegmentationDataset` serves ``(image uint8 [3, H, W] RGB, mask int64 [H, W])``,
decoded from the files on each access. COCO masks are rasterized once per annotation file
and options, and kept on disk as one ``.npz`` under ``$AUGMENTLAB_CACHE`` (default
``~/.cache/augmentlab/masks``).

COCO image files are looked up as ``file_name`` under ``images``, then under the json's own
folder; in each, the bare file name is tried when the recorded path has folders. The json's
width and height must be the image's size after EXIF orientation, or, for an image whose
EXIF orientation turns it by 90°, its stored size: the mask then turns with the image (see
:func:`augmentlab.data.images.mask_orientation`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from augmentlab.data.coco import CocoAnnotations, read_coco
from augmentlab.data.coco_masks import rasterize_coco_masks
from augmentlab.data.stats import ClassStats, class_stats_from_masks
from augmentlab.data.folders import FolderSource, folder_class_names, scan_folder_pairs
from augmentlab.data.images import (
    apply_orientation,
    mask_orientation,
    read_image,
    read_index_mask,
    resize_image,
    resize_mask,
)
from augmentlab.errors import AugmentlabError

CACHE_ENV = "AUGMENTLAB_CACHE"
_MASK_CACHE_VERSION = b"augmentlab-coco-masks-v1"
_SHOWN_PATHS = 3

logger = logging.getLogger("augmentlab.data")


@dataclass(frozen=True)
class Sample:
    name: str
    image_path: Path
    mask_ref: str
    """What the dataset's mask reader takes: an image id (COCO) or a mask path (folders)."""
    mask_orientation: int
    """EXIF orientation the mask turns by to line up with its image (1: none)."""


class SegmentationDataset:
    """Images and their semantic masks; ``ds[i]`` is ``(image uint8 [3, H, W] RGB, mask int64 [H, W])``.

    ``size=(H, W)`` resizes every sample (images bilinear with antialiasing, masks nearest);
    ``size=None`` keeps each sample's own size.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        *,
        class_names: Sequence[str],
        ignore_index: int,
        size: tuple[int, int] | None,
        read_mask: Callable[[str], torch.Tensor],
        source_key: str,
        count_instances: Callable[[Sequence[str]], np.ndarray] | None = None,
    ) -> None:
        self._samples = tuple(samples)
        self._count_instances = count_instances
        self.class_names = tuple(class_names)
        self.ignore_index = ignore_index
        self.size = size
        self._read_mask = read_mask
        self._source_key = source_key
        digest = hashlib.sha256(f"{source_key}\0{size}\0".encode())
        for sample in self._samples:
            digest.update(sample.name.encode() + b"\0")
        self.cache_key = digest.hexdigest()
        """sha256 hex over the source's content, the options, ``size`` and the selected samples."""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(image uint8 [3, H, W] RGB, mask int64 [H, W])`` of sample ``index``."""
        sample = self._samples[index]
        image = read_image(sample.image_path)
        mask = apply_orientation(self._read_mask(sample.mask_ref).long(), sample.mask_orientation)
        if tuple(mask.shape) != tuple(image.shape[-2:]):
            raise AugmentlabError(
                f"image {sample.image_path} changed size since the dataset was loaded; load the dataset again"
            )
        if self.size is not None:
            image, mask = resize_image(image, self.size), resize_mask(mask, self.size)
        return image, mask.contiguous()

    def mask(self, index: int) -> torch.Tensor:
        """int64 [H, W]: the mask of sample ``index`` at the sample's own size, without decoding its image."""
        sample = self._samples[index]
        return apply_orientation(self._read_mask(sample.mask_ref).long(), sample.mask_orientation)

    def class_stats(self) -> ClassStats:
        """Per-class pixels, images and (for COCO) annotations over the samples, at their own size."""
        stats = class_stats_from_masks((self.mask(i) for i in range(len(self))), self.class_names, self.ignore_index)
        if self._count_instances is None:
            return stats
        return replace(stats, instance_counts=self._count_instances([sample.mask_ref for sample in self._samples]))

    def sample_name(self, index: int) -> str:
        """The COCO ``file_name`` or the folder file stem of sample ``index``."""
        return self._samples[index].name

    def subset(self, indices: Sequence[int]) -> SegmentationDataset:
        """The samples at ``indices``, in that order, with the same classes and options."""
        return SegmentationDataset(
            [self._samples[i] for i in indices],
            class_names=self.class_names,
            ignore_index=self.ignore_index,
            size=self.size,
            read_mask=self._read_mask,
            source_key=self._source_key,
            count_instances=self._count_instances,
        )

    def __repr__(self) -> str:
        return f"SegmentationDataset({len(self)} samples, {self.num_classes} classes, size={self.size})"


def load_dataset(
    data: str | Path | None,
    *,
    masks: str | Path | None = None,
    images: str | Path | None = None,
    size: tuple[int, int] | None = None,
    ignore_index: int = 255,
    classes: Sequence[str] | None = None,
    crowd: str = "ignore",
    order: str = "area",
    strict: bool = False,
) -> SegmentationDataset:
    """A COCO json (``data``, with its images under ``images`` or beside it), an image folder
    (``data``) with a mask folder (``masks``), or the built-in demo training data (``data=None``).

    ``crowd``, ``order`` and ``ignore_index`` are :func:`~augmentlab.data.rasterize_coco_masks`'
    options; ``classes`` names a folder dataset's classes, index 0 first. ``strict=True``
    turns skipped problems (degenerate polygons, files without a partner) into errors.

    Raises:
        AugmentlabError: bad input, in one line that says what to change.
    """
    size = _check_size(size)
    if data is None:
        demo = _demo_paths(masks)
        data, images = demo.train_json, demo.images
    data = Path(data)
    if masks is not None:
        _check_folder_options(images)
        source = scan_folder_pairs(
            data, masks, ignore_index=ignore_index, num_classes=None if classes is None else len(classes), strict=strict
        )
        return _folder_dataset(source, folder_class_names(classes, source.max_label), size, ignore_index)
    coco = _read_coco_source(data, classes, strict)
    return _coco_dataset(coco, images, size=size, ignore_index=ignore_index, crowd=crowd, order=order)


def load_splits(
    data: str | Path | None,
    *,
    val: str | Path | None = None,
    val_masks: str | Path | None = None,
    val_split: float = 0.2,
    seed: int = 0,
    **options: Any,
) -> tuple[SegmentationDataset, SegmentationDataset]:
    """``(train, val)``: ``val`` as a separate source (a COCO json, or an image folder with
    ``val_masks``), or else a random ``val_split`` fraction of ``data``, the same for the same
    ``seed``. With ``data=None`` the demo's own validation json is used. ``options`` are
    :func:`load_dataset`'s.

    Raises:
        AugmentlabError: bad input, train and val with different classes, or an empty split.
    """
    if not 0 < val_split < 1:
        raise AugmentlabError(f"--val-split must be between 0 and 1 (exclusive), got {val_split}")
    masks = options.get("masks")
    if val_masks is not None and (val is None or masks is None):
        raise AugmentlabError(
            "--val-masks goes with a folder dataset: pass --data IMAGES_DIR --masks MASKS_DIR --val VAL_IMAGES_DIR"
        )
    if data is None and val is None:
        demo = _demo_paths(masks)
        data, val, options = demo.train_json, demo.val_json, {**options, "images": demo.images}
    if val is None:
        return _random_split(load_dataset(data, **options), val_split, seed)
    if masks is not None:
        return _folder_splits(data, val, val_masks, **options)
    train_set = load_dataset(data, **options)
    val_set = load_dataset(val, **options)
    _check_same_classes(train_set, val_set, Path(data), Path(val), "export both splits with the same categories")
    return train_set, val_set


def mask_cache_dir() -> Path:
    """``$AUGMENTLAB_CACHE``, or ``~/.cache/augmentlab/masks`` when it is unset."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "augmentlab" / "masks"


def coco_mask_cache_path(annotation_bytes: bytes, *, crowd: str, order: str, ignore_index: int) -> Path:
    """The ``.npz`` of rasterized masks for an annotation file with these bytes and options."""
    digest = hashlib.sha256(_MASK_CACHE_VERSION + b"\0" + annotation_bytes)
    digest.update(f"\0{crowd}\0{order}\0{ignore_index}".encode())
    return mask_cache_dir() / f"{digest.hexdigest()}.npz"


@dataclass(frozen=True)
class _NpzMasks:
    """Masks stored under their image id in one ``.npz``: uint8 or int64 ``[H, W]``."""

    path: Path

    def __call__(self, image_id: str) -> torch.Tensor:
        with np.load(self.path) as masks:
            return torch.from_numpy(masks[image_id])


def _read_coco_source(path: Path, classes: Sequence[str] | None, strict: bool) -> CocoAnnotations:
    if path.is_dir():
        raise AugmentlabError(
            f"{path} is a folder; pass --masks MASKS_DIR with it for an image+mask folder dataset, "
            "or pass the path of a COCO instances json"
        )
    if classes is not None:
        raise AugmentlabError(
            "--classes names the classes of a folder dataset; a COCO dataset takes its class names from its categories"
        )
    coco = read_coco(path, strict=strict)
    if coco.skipped:
        logger.warning("%s: skipped %s", path, coco.skipped.summary())
    if not coco.images:
        raise AugmentlabError(f"{path} lists no images; export the split again with its images")
    return coco


def _coco_dataset(
    coco: CocoAnnotations, images: str | Path | None, *, size: tuple[int, int] | None, ignore_index: int, crowd: str, order: str
) -> SegmentationDataset:
    if crowd not in ("ignore", "class"):
        raise AugmentlabError(f"crowd must be 'ignore' or 'class', got '{crowd}'")
    if order not in ("area", "file"):
        raise AugmentlabError(f"order must be 'area' or 'file', got '{order}'")
    _check_ignore_index(ignore_index, coco.num_classes)
    paths = _resolve_image_paths(coco, images)
    samples = []
    digest = hashlib.sha256()
    for image, path in zip(coco.images, paths):
        orientation = mask_orientation(
            path,
            (image.height, image.width),
            f"its size in {coco.path}",
            "fix its width and height in the json, or use the image that was annotated",
        )
        samples.append(Sample(image.file_name, path, str(image.id), orientation))
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    annotation_bytes = coco.path.read_bytes()
    cache_path = coco_mask_cache_path(annotation_bytes, crowd=crowd, order=order, ignore_index=ignore_index)
    if cache_path.is_file():
        logger.debug("masks of %s read from the cache %s", coco.path, cache_path)
    else:
        masks = (
            (str(image.id), rasterize_coco_masks(coco, image.id, crowd=crowd, order=order, ignore_index=ignore_index))
            for image in coco.images
        )
        _write_npz_atomically(cache_path, masks)
    source_key = f"coco\0{cache_path.stem}\0{digest.hexdigest()}"
    return SegmentationDataset(
        samples,
        class_names=coco.class_names,
        ignore_index=ignore_index,
        size=size,
        read_mask=_NpzMasks(cache_path),
        source_key=source_key,
        count_instances=partial(_count_instances, coco, crowd),
    )


def _count_instances(coco: CocoAnnotations, crowd: str, image_ids: Sequence[str]) -> np.ndarray:
    """int64 [C]: annotations with a shape per class over ``image_ids`` (crowd regions only with ``crowd="class"``)."""
    counts = np.zeros(coco.num_classes, dtype=np.int64)
    for image_id in image_ids:
        for annotation in coco.annotations_by_image[int(image_id)]:
            if not annotation.is_empty and not (annotation.iscrowd and crowd == "ignore"):
                counts[coco.class_of_category[annotation.category_id]] += 1
    return counts


def _resolve_image_paths(coco: CocoAnnotations, images: str | Path | None) -> list[Path]:
    if images is not None and not Path(images).is_dir():
        raise AugmentlabError(f"images folder {images} does not exist or is not a folder; check --images")
    roots = ([Path(images)] if images is not None else []) + [coco.path.parent]
    resolved, missing = [], []
    for image in coco.images:
        recorded = Path(image.file_name)
        candidates = [root / name for root in roots for name in dict.fromkeys((recorded, Path(recorded.name)))]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            missing.append(candidates[0])
        resolved.append(found)
    if missing:
        shown = ", ".join(str(p) for p in missing[:_SHOWN_PATHS]) + (", ..." if len(missing) > _SHOWN_PATHS else "")
        looked_in = " and ".join(str(root) for root in roots)
        raise AugmentlabError(
            f"{len(missing)} of {len(coco.images)} images listed in {coco.path} cannot be found in {looked_in} "
            f"({shown}); pass --images with the folder that holds them"
        )
    return resolved


def _write_npz_atomically(path: Path, arrays: Iterable[tuple[str, np.ndarray]]) -> None:
    """A compressed ``.npz`` written one array at a time, so only one mask is in memory at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(handle, "wb") as file, zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays:
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _folder_dataset(
    source: FolderSource, class_names: tuple[str, ...], size: tuple[int, int] | None, ignore_index: int
) -> SegmentationDataset:
    _check_ignore_index(ignore_index, len(class_names))
    samples = [Sample(p.name, p.image_path, str(p.mask_path), p.mask_orientation) for p in source.pairs]
    return SegmentationDataset(
        samples,
        class_names=class_names,
        ignore_index=ignore_index,
        size=size,
        read_mask=read_index_mask,
        source_key=f"folders\0{source.fingerprint}\0{class_names}\0{ignore_index}",
    )


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
    **coco_options: Any,
) -> tuple[SegmentationDataset, SegmentationDataset]:
    """Both folder splits, class names from ``classes`` or from the largest label of either split."""
    if data is None:
        raise AugmentlabError("--masks goes with --data IMAGES_DIR; the demo data is a COCO dataset")
    if val_masks is None:
        raise AugmentlabError(f"--val {val} needs --val-masks VAL_MASKS_DIR with the masks of its images")
    _check_folder_options(images)
    size = _check_size(size)
    num_classes = None if classes is None else len(classes)
    train_source = scan_folder_pairs(data, masks, ignore_index=ignore_index, num_classes=num_classes, strict=strict)
    val_source = scan_folder_pairs(val, val_masks, ignore_index=ignore_index, num_classes=num_classes, strict=strict)
    names = folder_class_names(classes, max(train_source.max_label, val_source.max_label))
    return _folder_dataset(train_source, names, size, ignore_index), _folder_dataset(val_source, names, size, ignore_index)


def _random_split(
    dataset: SegmentationDataset, val_split: float, seed: int
) -> tuple[SegmentationDataset, SegmentationDataset]:
    total = len(dataset)
    num_val = round(total * val_split)
    if num_val == 0 or num_val == total:
        empty = "validation" if num_val == 0 else "training"
        change = "a larger" if num_val == 0 else "a smaller"
        raise AugmentlabError(
            f"--val-split {val_split} of {total} samples leaves {empty} empty; use {change} --val-split, "
            "more data, or a separate --val"
        )
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed)).tolist()
    return dataset.subset(sorted(order[num_val:])), dataset.subset(sorted(order[:num_val]))


def _check_same_classes(train: SegmentationDataset, val: SegmentationDataset, train_path: Path, val_path: Path, fix: str) -> None:
    if train.class_names == val.class_names:
        return
    if train.num_classes != val.num_classes:
        difference = f"{train.num_classes} classes against {val.num_classes}"
    else:
        index = next(i for i, (a, b) in enumerate(zip(train.class_names, val.class_names)) if a != b)
        difference = f"class {index} is '{train.class_names[index]}' against '{val.class_names[index]}'"
    raise AugmentlabError(f"{train_path} and {val_path} have different classes ({difference}); {fix}")


def _check_ignore_index(ignore_index: int, num_classes: int) -> None:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise AugmentlabError(f"--ignore-index must be an integer, got {ignore_index!r}")
    if 0 <= ignore_index < num_classes:
        raise AugmentlabError(
            f"--ignore-index {ignore_index} is a class index (classes are 0..{num_classes - 1}); "
            f"use a value outside them, such as 255"
        )


def _check_size(size: Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    values = tuple(size)
    if len(values) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise AugmentlabError(f"size must be two positive integers (height, width), got {size!r}")
    return values


def _check_folder_options(images: str | Path | None) -> None:
    if images is not None:
        raise AugmentlabError(
            "--images is for COCO datasets; a folder dataset takes its images from --data IMAGES_DIR"
        )


def _demo_paths(masks: str | Path | None) -> Any:
    if masks is not None:
        raise AugmentlabError("--masks goes with --data IMAGES_DIR; the demo data is a COCO dataset")
    from augmentlab.data.demo import demo_dataset  # engineer B's generator; imported on use only

    return demo_dataset()
