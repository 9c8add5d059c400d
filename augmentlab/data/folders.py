"""Image+mask folder datasets (CamVid, Pascal VOC style): pair files by stem and check every mask.

Images are ``.jpg``, ``.jpeg``, ``.png``, ``.bmp``, ``.tif`` or ``.tiff`` files of the images
folder; masks are the index ``.png`` files of the masks folder with the same stem. Files
without a partner are skipped with a warning (an error with ``strict=True``). Each mask is read
once here, to check its size against its image and to find the largest label.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from augmentlab.data.images import mask_orientation, read_index_mask
from augmentlab.errors import AugmentlabError, FieldError, Param

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})
MASK_SUFFIX = ".png"
_SHOWN_FILES = 3  # file names given in a message before "..."

logger = logging.getLogger("augmentlab.data")


@dataclass(frozen=True)
class FolderPair:
    name: str
    """The shared file stem."""
    image_path: Path
    mask_path: Path
    mask_orientation: int
    """EXIF orientation to apply to the mask (1: none); see :func:`augmentlab.data.images.mask_orientation`."""


@dataclass(frozen=True)
class FolderSource:
    pairs: tuple[FolderPair, ...]
    """Sorted by name."""
    max_label: int
    """The largest mask value other than ``ignore_index`` (0 when there is none)."""
    fingerprint: str
    """sha256 hex over every pair's file names, sizes and modification times."""


def scan_folder_pairs(
    images_dir: str | Path,
    masks_dir: str | Path,
    *,
    ignore_index: int,
    num_classes: int | None = None,
    strict: bool = False,
) -> FolderSource:
    """Pair the images of ``images_dir`` with the masks of ``masks_dir`` and check each mask.

    Raises:
        AugmentlabError: a missing folder, no pairs, two images with one stem, a mask whose size
            differs from its image, a label ≥ ``num_classes`` that is not ``ignore_index``, or
            (strict) files without a partner.
    """
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    images = _files_by_stem(images_dir, IMAGE_SUFFIXES, "images")
    masks = _files_by_stem(masks_dir, {MASK_SUFFIX}, "masks")
    _report_unmatched(
        [images[s] for s in sorted(images.keys() - masks.keys())], f"in {images_dir}", "mask", masks_dir, strict
    )
    _report_unmatched(
        [masks[s] for s in sorted(masks.keys() - images.keys())], f"in {masks_dir}", "image", images_dir, strict
    )
    stems = sorted(images.keys() & masks.keys())
    if not stems:
        raise AugmentlabError(
            f"no image in {images_dir} has a mask with the same file stem in {masks_dir}; "
            "name each mask like its image, e.g. 0001.jpg and 0001.png"
        )
    pairs = []
    max_label = 0
    digest = hashlib.sha256()
    for stem in stems:
        image_path, mask_path = images[stem], masks[stem]
        mask = read_index_mask(mask_path)
        orientation = mask_orientation(
            image_path, tuple(mask.shape), f"its mask {mask_path}", "masks must have the size of their images"
        )
        labels = mask[mask != ignore_index]
        if labels.numel():
            largest = int(labels.max())
            if num_classes is not None and largest >= num_classes:
                raise AugmentlabError(
                    f"mask {mask_path} has label {largest} but there are {num_classes} classes (0..{num_classes - 1}); name every class in ",
                    Param("classes"), ", or set ", Param("ignore_index"), f" {largest} if it marks void pixels",
                )
            max_label = max(max_label, largest)
        pairs.append(FolderPair(stem, image_path, mask_path, orientation))
        for path in (image_path, mask_path):
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return FolderSource(tuple(pairs), max_label, digest.hexdigest())


def folder_class_names(classes: Sequence[str] | None, max_label: int) -> tuple[str, ...]:
    """``classes`` as given (index 0 is the background), or ``background, class_1..class_K`` with K = ``max_label``."""
    if classes is not None:
        names = tuple(str(name) for name in classes)
        if not names:
            raise FieldError("classes", "is empty; list every class name, the background (index 0) first")
        return names
    return ("background", *(f"class_{k}" for k in range(1, max_label + 1)))


def _files_by_stem(folder: Path, suffixes: set[str] | frozenset[str], role: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise AugmentlabError(f"{role} folder {folder} does not exist or is not a folder; check the path")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in suffixes or not path.is_file():
            continue
        if path.stem in files:
            raise AugmentlabError(
                f"{role} {files[path.stem].name} and {path.name} in {folder} share the stem '{path.stem}'; "
                "keep one file per stem"
            )
        files[path.stem] = path
    return files


def _report_unmatched(paths: list[Path], where: str, partner: str, other_dir: Path, strict: bool) -> None:
    """Warn (or, strict, raise) about ``paths`` that have no ``partner`` file of the same stem in ``other_dir``."""
    if not paths:
        return
    shown = ", ".join(p.name for p in paths[:_SHOWN_FILES]) + (", ..." if len(paths) > _SHOWN_FILES else "")
    role = "mask" if partner == "image" else "image"
    subject = f"1 {role} {where} has" if len(paths) == 1 else f"{len(paths)} {role}s {where} have"
    message = f"{subject} no {partner} with the same stem ({shown})"
    if strict:
        raise AugmentlabError(f"{message}; add the missing files in {other_dir} or remove these, or leave out ", Param("strict"))
    logger.warning("%s; skipped", message)
