"""COCO datasets: a :class:`SegmentationDataset` from a COCO instances json, masks cached on disk.

Masks are rasterized once per annotation file and options, and kept on disk as one ``.npz``
under ``$AUGMENTLAB_CACHE`` (default ``~/.cache/augmentlab/masks``). Image files are looked up,
in order, as ``file_name`` under ``images``, the entry's ``path`` field under ``images``,
``file_name`` beside the json, then ``path`` beside the json; for each of those recorded paths
with folders, its bare file name is tried next. The json's width and height must be the image's
size after EXIF orientation, or, for an image whose EXIF orientation turns it by 90°, its stored
size: the mask then turns with the image (see :func:`augmentlab.data.images.mask_orientation`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from augmentlab.atomic import write_atomically
from augmentlab.data.coco.masks import rasterize_coco_masks
from augmentlab.data.coco.reader import CocoAnnotations, CocoImage, read_coco
from augmentlab.data.dataset import Sample, SegmentationDataset, check_ignore_index
from augmentlab.data.images import mask_orientation
from augmentlab.errors import AugmentlabError, FieldError, Param

CACHE_ENV = "AUGMENTLAB_CACHE"
_MASK_CACHE_VERSION = b"augmentlab-coco-masks-v1"
_SHOWN_PATHS = 3

logger = logging.getLogger("augmentlab.data")


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


def read_coco_source(path: Path, classes: Sequence[str] | None, strict: bool) -> CocoAnnotations:
    if path.is_dir():
        raise AugmentlabError(
            f"{path} is a folder; give its masks' folder as ", Param("masks"), " for an image+mask folder dataset, "
            "or give the path of a COCO instances json",
        )
    if classes is not None:
        raise FieldError("classes", "names the classes of a folder dataset; a COCO dataset takes its class names from its categories")
    coco = read_coco(path, strict=strict)
    if coco.skipped:
        logger.warning("%s: skipped %s", path, coco.skipped.summary())
    if not coco.images:
        raise AugmentlabError(f"{path} lists no images; export the split again with its images")
    return coco


def build_coco_dataset(
    coco: CocoAnnotations, images: str | Path | None, *, size: tuple[int, int] | None, ignore_index: int, crowd: str, order: str
) -> SegmentationDataset:
    if crowd not in ("ignore", "class"):
        raise AugmentlabError(f"crowd must be 'ignore' or 'class', got '{crowd}'")
    if order not in ("area", "file"):
        raise AugmentlabError(f"order must be 'area' or 'file', got '{order}'")
    check_ignore_index(ignore_index, coco.num_classes)
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
        raise FieldError("images", f"{images} does not exist or is not a folder")
    roots = ([Path(images)] if images is not None else []) + [coco.path.parent]
    resolved, missing = [], []
    with_path = sum(image.path is not None for image in coco.images)
    for image in coco.images:
        candidates = list(dict.fromkeys(_candidates(image, roots)))
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            missing.append(image.file_name)
        resolved.append(found)
    if missing:
        shown = ", ".join(missing[:_SHOWN_PATHS]) + (", ..." if len(missing) > _SHOWN_PATHS else "")
        looked_in = " and ".join(str(root) for root in roots)
        fields = "file_name and path" if with_path else "file_name"
        raise AugmentlabError(
            f"{len(missing)} of {len(coco.images)} images listed in {coco.path} cannot be found ({shown}): looked for each"
            f" {fields}, and its bare file name, under {looked_in}; give the folder that holds them as ", Param("images"),
        )
    return resolved


def _candidates(image: CocoImage, roots: Sequence[Path]) -> Iterable[Path]:
    """Where an image may be, in the documented order: under each root, its ``file_name`` then its ``path``."""
    recorded = [Path(image.file_name)] + ([Path(image.path)] if image.path is not None else [])
    for root in roots:
        yield from (root / name for name in recorded)
        yield from (root / name.name for name in recorded)  # an export whose recorded folders are not kept


def _write_npz_atomically(path: Path, arrays: Iterable[tuple[str, np.ndarray]]) -> None:
    """A compressed ``.npz`` written one array at a time, so only one mask is in memory at once."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(file: BinaryIO) -> None:
        with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays:
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    write_atomically(path, write, what="the mask cache", fsync=False)