"""Image+mask folder datasets (CamVid, Pascal VOC style): pair files by stem and check every mask.

Images are the files of the images folder in a format Pillow reads (``.jpg``, ``.png``, ``.webp``,
``.tif``, ``.bmp``, …: :func:`augmentlab.data.images.image_suffixes`, the formats a COCO json's
images may have); masks are the index ``.png`` files of the masks folder with the same stem, or,
when no stem is shared, with the same stem but for an ending every image or mask name has
(CamVid's ``_L``; a warning says so). Files
without a partner are skipped with a warning (an error with ``strict=True``), which points out
stems that differ only by letter case. Hidden files (names starting with ``.``: the ``._0001.jpg``
AppleDouble sidecars that macOS leaves on USB sticks, network shares and in zips, ``.DS_Store``)
are never data and are passed over. Each mask is read
once here, to check its size against its image and to find the largest label. A dataset whose
masks hold nothing but the background (and the ignore index) is refused: there is nothing to learn.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from augmentlab.data.images import (
    file_fingerprint,
    image_suffixes,
    mask_orientations,
    read_index_mask,
)
from augmentlab.data.wording import plural, verb
from augmentlab.errors import AugmentlabError, FieldError, Param

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
    """EXIF orientation to apply to the mask (1: none); see :func:`augmentlab.data.images.mask_orientations`."""


@dataclass(frozen=True)
class FolderSource:
    pairs: tuple[FolderPair, ...]
    """Sorted by name."""
    max_label: int
    """The largest mask value other than ``ignore_index`` (0 when there is none)."""
    holds_ignore_index: bool
    """Some mask has a pixel of ``ignore_index``."""
    masks_dir: Path
    fingerprint: str
    """sha256 hex over every pair's file names, sizes and modification times."""


def scan_folder_pairs(
    images_dir: str | Path,
    masks_dir: str | Path,
    *,
    ignore_index: int,
    num_classes: int | None = None,
    strict: bool = False,
    read_mask: Callable[[Path], torch.Tensor] = read_index_mask,
) -> FolderSource:
    """Pair the images of ``images_dir`` with the masks of ``masks_dir`` and check each mask.

    ``read_mask`` reads a mask file as class indices (colour-coded masks: a
    :class:`~augmentlab.data.colours.ColourMaskReader`).

    Raises:
        AugmentlabError: a missing folder, no pairs, two images with one stem, a mask whose size
            differs from its image, a label ≥ ``num_classes`` that is not ``ignore_index``, or
            (strict) files without a partner.
    """
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    masks = _files_by_stem(masks_dir, {MASK_SUFFIX}, "masks")
    one_folder = images_dir.resolve() == masks_dir.resolve()
    if not masks and masks_dir.is_dir():
        lossy = sorted(path.name for path in masks_dir.iterdir() if path.suffix.lower() in {".jpg", ".jpeg"} and not path.name.startswith("."))
        if lossy and not one_folder:
            raise AugmentlabError(
                f"masks in {masks_dir} are JPEG ({lossy[0]}{', …' if len(lossy) > 1 else ''}), and masks must be PNG: JPEG smooths "
                "label edges into values (or colours) of no class; export the masks as PNG"
            )
    if one_folder:
        # One folder for both (DeepGlobe's 100694_sat.jpg beside 100694_mask.png): a mask is no image of its own.
        images = _files_by_stem(images_dir, image_suffixes() - {MASK_SUFFIX}, "images")
        if not images:
            raise AugmentlabError(
                f"images and masks share the folder {images_dir} and every file is a .png, so none can be told for an image; "
                "keep the images in a folder of their own, or save them in another format (.jpg)"
            )
    else:
        images = _files_by_stem(images_dir, image_suffixes(), "images")
    if images and masks and not images.keys() & masks.keys():
        images, masks = _pair_by_name_endings(images, masks, masks_dir)
    unmatched_images = [images[s] for s in sorted(images.keys() - masks.keys())]
    unmatched_masks = [masks[s] for s in sorted(masks.keys() - images.keys())]
    _report_unmatched(unmatched_images, f"in {images_dir}", "mask", masks_dir, strict, unmatched_masks)
    _report_unmatched(unmatched_masks, f"in {masks_dir}", "image", images_dir, strict, [])
    stems = sorted(images.keys() & masks.keys())
    if not stems:
        raise AugmentlabError(
            f"no image in {images_dir} has a mask with the same file stem in {masks_dir}; "
            "name each mask like its image, e.g. 0001.jpg and 0001.png"
        )
    max_label = 0
    digest = hashlib.sha256()
    mask_sizes = []
    ignored_pixels = total_pixels = labelled_pixels = 0  # labelled: every label but 0 and the ignore index
    present_labels: set[int] = set()
    for stem in stems:
        image_path, mask_path = images[stem], masks[stem]
        mask = read_mask(mask_path)
        mask_sizes.append(tuple(mask.shape))
        ignored = mask == ignore_index
        labels = mask[~ignored]
        objects = labels[labels != 0]
        ignored_pixels, total_pixels, labelled_pixels = ignored_pixels + int(ignored.sum()), total_pixels + mask.numel(), labelled_pixels + objects.numel()
        present_labels.update(torch.unique(objects).tolist())
        if labels.numel():
            largest = int(labels.max())
            if num_classes is not None and largest >= num_classes:
                raise AugmentlabError(
                    f"mask {mask_path} has label {largest} but there {verb(num_classes, 'is', 'are')} {plural(num_classes, 'class')} (0..{num_classes - 1}); name every class in ",
                    Param("classes"), ", or set ", Param("ignore_index"), f" {largest} if it marks void pixels",
                )
            max_label = max(max_label, largest)
        for path in (image_path, mask_path):
            digest.update(file_fingerprint(path))
    orientations, warning = mask_orientations(
        [images[stem] for stem in stems], mask_sizes, [f"its mask {masks[stem]}" for stem in stems],
        "masks must have the size of their images", source=f"masks in {masks_dir}", size_name="mask size",
    )
    if warning:
        logger.warning("%s", warning)
    if num_classes is None:
        smoothed = _smoothed_binary_masks(len(present_labels), labelled_pixels, ignored_pixels, total_pixels, ignore_index, masks_dir)
        if smoothed:
            logger.warning("%s", smoothed)
    pairs = tuple(FolderPair(stem, images[stem], masks[stem], orientation) for stem, orientation in zip(stems, orientations))
    return FolderSource(pairs, max_label, ignored_pixels > 0, masks_dir, digest.hexdigest())


_SEPARATORS = "_-."


def _pair_by_name_endings(images: dict[str, Path], masks: dict[str, Path], masks_dir: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """``images`` and ``masks`` keyed by the part of the stem they share, when every image or mask
    name ends the same way (``0001TP_006690.png`` and ``0001TP_006690_L.png`` in CamVid's
    release, ``100694_sat.jpg`` and ``100694_mask.png`` in DeepGlobe's); unchanged when no such
    ending pairs any file. The ending is a whole part of the name, starting at ``_``, ``-`` or ``.``.
    """
    best: tuple[int, str, str] = (0, "", "")
    for image_end in _shared_endings(images):
        for mask_end in _shared_endings(masks):
            if image_end or mask_end:
                shared = {stem[: len(stem) - len(image_end)] for stem in images} & {stem[: len(stem) - len(mask_end)] for stem in masks}
                best = max(best, (len(shared), image_end, mask_end))
    pairs, image_end, mask_end = best
    if not pairs:
        return images, masks
    example = next(stem for stem in sorted(images) if stem[: len(stem) - len(image_end)] + mask_end in masks)
    ending = f"{mask_end!r} for {image_end!r}" if image_end and mask_end else f"{mask_end!r} added" if mask_end else f"{image_end!r} left out"
    logger.warning(
        "%s",
        f"no mask in {masks_dir} has the stem of an image, but they are named like the images with {ending} at the end "
        f"({images[example].name} and {masks[example[: len(example) - len(image_end)] + mask_end].name}): paired by that",
    )

    def rekey(files: dict[str, Path], end: str) -> dict[str, Path]:
        return {stem[: len(stem) - len(end)]: path for stem, path in files.items()}

    return rekey(images, image_end), rekey(masks, mask_end)


def _shared_endings(files: dict[str, Path]) -> list[str]:
    """The endings every stem of ``files`` has that start at a separator, and the empty one; a stem no longer than an ending keeps it out.

    An ending with a digit is no label such as ``_L`` or ``_mask`` but part of a name (a frame number,
    a version): ``frame_1`` and ``frame_2`` are two frames, never an image and its mask. Without
    this rule a folder of one file would offer every tail of its name.
    """
    stems = list(files)
    common = stems[0]
    for stem in stems[1:]:
        while not stem.endswith(common):
            common = common[1:]
    endings = [""] + [common[i:] for i in range(len(common)) if common[i] in _SEPARATORS]
    return [end for end in endings if all(len(stem) > len(end) for stem in stems) and not any(c.isdigit() for c in end)]


def _smoothed_binary_masks(labels: int, labelled: int, ignored: int, total: int, ignore_index: int, masks_dir: Path) -> str | None:
    """A warning for binary masks whose foreground is the ignore index and whose edges were smoothed, else None:
    ``labels`` distinct labels besides 0 cover ``labelled`` of the ``total`` pixels, the ignore index ``ignored``.

    Resizing a 0/255 mask bilinearly, or saving it as JPEG, leaves edge values between 0 and 255:
    read as labels they make up to 254 classes, while the foreground itself, 255, is ignored. The
    sign: the ignore index covers more pixels than every other label but 0 together, where in
    datasets that mark void pixels (Pascal VOC's object outlines) the classes cover far more.
    """
    if not total or not labels or ignored < 0.05 * total or labelled >= ignored:
        return None
    return (
        f"masks in {masks_dir}: {ignored / total:.0%} of the pixels hold the ignore index {ignore_index}, more than all "
        f"{labels} labels besides 0 together ({labelled / total:.0%}): if these are binary masks whose foreground "
        f"is {ignore_index} and whose edges were smoothed (resized bilinearly, or saved as JPEG), remap them to 0 and 1 "
        "(mask > 127); otherwise list the class names, so that labels beyond them are refused"
    )


def folder_classes(classes: Sequence[str] | None, sources: Sequence[FolderSource], ignore_index: int) -> tuple[str, ...]:
    """The class names of folder splits read from ``sources``: :func:`folder_class_names` of their largest label.

    Raises:
        AugmentlabError: masks that hold nothing but the background and the ignore index (binary
            0/255 masks whose 255 is the foreground, read as void), or bad ``classes``.
    """
    max_label = max(source.max_label for source in sources)
    if max_label == 0:
        raise _only_background(sources, ignore_index)
    return folder_class_names(classes, max_label)


def _only_background(sources: Sequence[FolderSource], ignore_index: int) -> AugmentlabError:
    where = " and ".join(str(source.masks_dir) for source in sources)
    if ignore_index <= 0 or not any(source.holds_ignore_index for source in sources):
        return AugmentlabError(
            f"masks in {where} hold only 0, the background, so there is nothing to learn; "
            "export masks with one class index per pixel, 1 and up for the objects"
        )
    if ignore_index == 1:
        return AugmentlabError(
            f"masks in {where} hold only 0 and the ignore index 1, so there is nothing to learn; if 1 is the foreground, "
            "set ", Param("ignore_index"), " to the value of the void pixels (255 by default)",
        )
    return AugmentlabError(
        f"masks in {where} hold only 0 and the ignore index {ignore_index}, so there is nothing to learn; "
        f"if {ignore_index} is the foreground, remap it to 1 in the masks (mask[mask == {ignore_index}] = 1), "
        "which gives the classes background and class_1"
    )


def folder_class_names(classes: Sequence[str] | None, max_label: int) -> tuple[str, ...]:
    """``classes`` as given (index 0 is the background), or ``background, class_1..class_K`` with K = ``max_label``."""
    if classes is not None:
        names = tuple(str(name) for name in classes)
        if not names:
            raise FieldError("classes", "is empty; list every class name, the background (index 0) first")
        if len(names) == 1:
            raise FieldError("classes", f"lists only {names[0]!r}; list the background (index 0) and at least one more class")
        return names
    return ("background", *(f"class_{k}" for k in range(1, max_label + 1)))


def _files_by_stem(folder: Path, suffixes: set[str] | frozenset[str], role: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise AugmentlabError(f"{role} folder {folder} does not exist or is not a folder; check the path")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in suffixes or not path.is_file():
            continue
        if path.stem in files:
            raise AugmentlabError(
                f"{role} {files[path.stem].name} and {path.name} in {folder} share the stem '{path.stem}'; "
                "keep one file per stem"
            )
        files[path.stem] = path
    return files


def _report_unmatched(
    paths: list[Path], where: str, partner: str, other_dir: Path, strict: bool, other_unmatched: list[Path]
) -> None:
    """Warn (or, strict, raise) about ``paths`` that have no ``partner`` file of the same stem in ``other_dir``.

    ``other_unmatched`` are the partners' own unmatched files (given for one side only, so the
    hint appears once): a stem that equals one of theirs but for letter case (``IMG_0001.JPG`` and ``img_0001.png``, common after a copy from a
    case-insensitive disk) is named in the message, since pairing stays exact on purpose.
    """
    if not paths:
        return
    shown = ", ".join(p.name for p in paths[:_SHOWN_FILES]) + (", ..." if len(paths) > _SHOWN_FILES else "")
    role = "mask" if partner == "image" else "image"
    subject = f"1 {role} {where} has" if len(paths) == 1 else f"{len(paths)} {role}s {where} have"
    message = f"{subject} no {partner} with the same stem ({shown})"
    by_folded_stem = {path.stem.casefold(): path for path in other_unmatched}
    cased = [(path, by_folded_stem[path.stem.casefold()]) for path in paths if path.stem.casefold() in by_folded_stem]
    if len(cased) == 1:
        message += f"; {cased[0][0].name} and {cased[0][1].name} differ only by letter case, rename one to match"
    elif cased:
        message += (
            f"; {len(cased)} of them differ from {partner}s only by letter case (e.g. {cased[0][0].name} and "
            f"{cased[0][1].name}), rename them to match"
        )
    if strict:
        raise AugmentlabError(f"{message}; add the missing files in {other_dir} or remove these, or leave out ", Param("strict"))
    logger.warning("%s; skipped", message)
