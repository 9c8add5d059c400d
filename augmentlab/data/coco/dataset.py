"""COCO datasets: a :class:`SegmentationDataset` from a COCO instances json, masks cached on disk.

Masks are rasterized once per annotation file and options, and kept on disk as one ``.npz``
under ``$AUGMENTLAB_CACHE`` (default ``~/.cache/augmentlab/masks``). Image files are looked up,
in order, as ``file_name`` under ``images``, the entry's ``path`` field under ``images``,
``file_name`` beside the json, then ``path`` beside the json; only when none of those exact
recorded paths is a file is the bare file name tried, in the same order. Recorded paths may use
Windows backslashes, and match a file whose name is the same text in another Unicode
normalisation (NFC or NFD). Two entries that find the same file are an error: one picture would
train with two masks. The json's width and height must be the image's size after EXIF
orientation, or, for an image whose EXIF orientation turns it by 90°, its stored size; one rule
holds for the whole json (see :func:`augmentlab.data.images.mask_orientations`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
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
from augmentlab.data.images import file_fingerprint, mask_orientations
from augmentlab.data.wording import plural, verb
from augmentlab.errors import AugmentlabError, FieldError, Param

CACHE_ENV = "AUGMENTLAB_CACHE"
_MASK_CACHE_VERSION = b"augmentlab-coco-masks-v1"
_SHOWN_PATHS = 3

logger = logging.getLogger("augmentlab.data")


def mask_cache_dir() -> Path:
    """``$AUGMENTLAB_CACHE``, or ``~/.cache/augmentlab/masks`` when it is unset."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "augmentlab" / "masks"


def coco_mask_cache_path(data_key: str, class_of_category: Mapping[int, int]) -> Path:
    """The ``.npz`` of rasterized masks for the annotation file and options of ``data_key`` (:func:`annotation_key`).

    The class of each category is part of the key, so masks cached before a change in how
    categories become classes are never read back with other classes.
    """
    digest = hashlib.sha256(data_key.encode())
    digest.update(f"\0{sorted(class_of_category.items())}".encode())
    return mask_cache_dir() / f"{digest.hexdigest()}.npz"


def annotation_key(annotation_bytes: bytes, *, crowd: str, order: str, ignore_index: int) -> str:
    """sha256 hex of an annotation file's bytes and the options it is rasterized with: the data's identity.

    Ablation folder names and resume checks rest on it, so it stays what it has been since 0.1
    (the mask cache's own key adds the classes, which may change with augmentlab's version).
    """
    digest = hashlib.sha256(_MASK_CACHE_VERSION + b"\0" + annotation_bytes)
    digest.update(f"\0{crowd}\0{order}\0{ignore_index}".encode())
    return digest.hexdigest()


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
    if not coco.images:
        raise AugmentlabError(f"{path} lists no images; export the split again with its images")
    if coco.num_classes < 2:
        raise _no_classes(coco)
    return coco


def _warn_about_annotations(coco: CocoAnnotations) -> None:
    """The counted problems of a json, logged once its dataset is built: an error stops the load
    on one line, without warnings about a json that is not used."""
    path = coco.path
    if coco.placeholder is not None:
        logger.warning(
            "%s: category %s %r is the supercategory of every other category and no annotation uses it "
            "(a Roboflow export's entry for the dataset itself), so it is not a class",
            path, coco.placeholder.id, coco.placeholder.name,
        )
    if coco.skipped:
        logger.warning("%s: skipped %s", path, coco.skipped.summary())
    if coco.outside:
        logger.warning(
            "%s: %s; the parts outside are cut off: check the images' width and height in the json (an export may swap them)",
            path, coco.outside.summary(),
        )
    unannotated = [image.file_name for image in coco.images if not coco.annotations_by_image[image.id]]
    if unannotated:
        # Not a problem to skip, nor an error under strict: a frame without objects is a
        # background image, and it is kept as one.
        count = len(unannotated)
        logger.warning(
            "%s: %s of %s %s no annotation (%s); %s treated as all background",
            path, count, plural(len(coco.images), "image"), verb(count, "has", "have"), _shown(unannotated),
            verb(count, "it is", "they are"),
        )


def _no_classes(coco: CocoAnnotations) -> AugmentlabError:
    if not coco.categories:
        return AugmentlabError(
            f"{coco.path} has no categories, so every pixel would be background and there is nothing to learn; "
            "export it again with its categories, or list the classes to segment in its 'categories'"
        )
    names = ", ".join(repr(category.name) for category in coco.categories)
    return AugmentlabError(
        f"{coco.path} has only background categories ({names}), so every pixel would be background and there is nothing "
        "to learn; export it again with the categories of the objects to segment"
    )


def build_coco_dataset(
    coco: CocoAnnotations, images: str | Path | None, *, size: tuple[int, int] | None, ignore_index: int, crowd: str, order: str
) -> SegmentationDataset:
    if crowd not in ("ignore", "class"):
        raise AugmentlabError(f"crowd must be 'ignore' or 'class', got '{crowd}'")
    if order not in ("area", "file"):
        raise AugmentlabError(f"order must be 'area' or 'file', got '{order}'")
    check_ignore_index(ignore_index, coco.num_classes)
    paths = _resolve_image_paths(coco, images)
    orientations, warning = mask_orientations(
        paths,
        [(image.height, image.width) for image in coco.images],
        [f"its size in {coco.path}"] * len(paths),
        "fix its width and height in the json, or use the image that was annotated",
        source=str(coco.path),
        size_name="json size",
    )
    samples = []
    digest = hashlib.sha256()
    for image, path, orientation in zip(coco.images, paths, orientations):
        samples.append(Sample(image.file_name, path, str(image.id), orientation))
        digest.update(file_fingerprint(path))
    data_key = annotation_key(coco.path.read_bytes(), crowd=crowd, order=order, ignore_index=ignore_index)
    cache_path = coco_mask_cache_path(data_key, coco.class_of_category)
    if cache_path.is_file():
        logger.debug("masks of %s read from the cache %s", coco.path, cache_path)
    else:
        masks = (
            (str(image.id), rasterize_coco_masks(coco, image.id, crowd=crowd, order=order, ignore_index=ignore_index))
            for image in coco.images
        )
        _write_npz_atomically(cache_path, masks)
    source_key = f"coco\0{data_key}\0{digest.hexdigest()}"
    _warn_about_annotations(coco)
    if warning:
        logger.warning("%s", warning)
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
    finder = _Finder()
    resolved, by_bare_name, missing = [], [], []
    with_path = sum(image.path is not None for image in coco.images)
    for image in coco.images:
        found, bare = finder.first(_candidates(image, roots))
        if found is None:
            missing.append(image.file_name)
        resolved.append(found)
        by_bare_name.append(bare)
    if missing:
        shown = _shown(missing)
        looked_in = " and ".join(str(root) for root in roots)
        fields = "file_name and path" if with_path else "file_name"
        raise AugmentlabError(
            f"{len(missing)} of {plural(len(coco.images), 'image')} listed in {coco.path} cannot be found ({shown}): looked for each"
            f" {fields}, and its bare file name, under {looked_in}; give the folder that holds them as ", Param("images"),
        )
    _reject_shared_files(coco, resolved, by_bare_name)
    return resolved


def _reject_shared_files(coco: CocoAnnotations, paths: Sequence[Path], by_bare_name: Sequence[bool]) -> None:
    """Two entries that found one file would train one picture with two masks (a duplicated entry,
    or ``cam1/0.jpg`` and ``cam2/0.jpg`` that both fell back to a bare ``0.jpg``)."""
    first_of: dict[tuple[int, int] | str, int] = {}
    pairs = []
    for index, path in enumerate(paths):
        stat = path.stat()
        # The file itself, however it was reached (symlinks, "..", a second root); a filesystem
        # without inode numbers reports 0, and then the resolved path stands for the file.
        key: tuple[int, int] | str = (stat.st_dev, stat.st_ino) if stat.st_ino else str(path.resolve())
        if key in first_of:
            pairs.append((first_of[key], index))
        else:
            first_of[key] = index
    if not pairs:
        return
    a, b = pairs[0]
    first, second = coco.images[a], coco.images[b]
    more = f", and {len(pairs) - 1} more {verb(len(pairs) - 1, 'entry shares', 'entries share')} a file with another" if len(pairs) > 1 else ""
    problem = (
        f"{coco.path}: images id {first.id} ({first.file_name}) and id {second.id} ({second.file_name}) are both the file "
        f"{paths[b]}{more}, so one picture would train with two masks; "
    )
    if by_bare_name[a] or by_bare_name[b]:
        parents = [_recorded(image.file_name).parent for image in (first, second)]
        folders = " and ".join(dict.fromkeys(f"{parent}/" for parent in parents if parent != Path(".")))
        raise AugmentlabError(
            problem, f"their recorded folders were not found, so both fell back to the bare file name: give the folder that holds {folders} as ",
            Param("images"),
        )
    if _same_name(first.file_name, second.file_name):
        raise AugmentlabError(problem + "remove the duplicate entry, moving its annotations to the other")
    raise AugmentlabError(problem + "give each entry its own image file")


def _recorded(name: str) -> Path:
    """A recorded file_name or path as a path here: Windows exports write ``imgs\\0.jpg``."""
    return Path(_slashed(name))


def _slashed(name: str) -> str:
    return name.replace("\\", "/")


def _same_name(a: str, b: str) -> bool:
    return unicodedata.normalize("NFC", _slashed(a)) == unicodedata.normalize("NFC", _slashed(b))


def _candidates(image: CocoImage, roots: Sequence[Path]) -> list[tuple[Path, bool]]:
    """Where an image may be, in the documented order, each with whether it is a bare-name fallback:
    under each root its ``file_name`` then its ``path``; then, only after every exact recorded path,
    their bare file names in the same order (an export whose recorded folders are not kept)."""
    recorded = [_recorded(image.file_name)] + ([_recorded(image.path)] if image.path is not None else [])
    exact = [root / name for root in roots for name in recorded]
    bare = [root / name.name for root in roots for name in recorded]
    candidates = dict.fromkeys(exact, False)
    for path in bare:
        candidates.setdefault(path, True)
    return list(candidates.items())


class _Finder:
    """Finds the first candidate that is a file, also where the recorded name and the name on disk
    are the same text in different Unicode normalisation (macOS writes names decomposed, NFD; most
    tools write them composed, NFC): each folder is then listed once, by NFC name."""

    def __init__(self) -> None:
        self._listings: dict[Path, dict[str, str]] = {}

    def first(self, candidates: Sequence[tuple[Path, bool]]) -> tuple[Path | None, bool]:
        # Each candidate as written, then in the other normalisation, before the next candidate: the
        # documented order holds for accented names too (a decomposed café.jpg under --images comes
        # before a composed copy beside the json, and any recorded path before a bare name).
        for path, bare in candidates:
            if path.is_file():
                return path, bare
            found = None if str(path).isascii() else self._by_normal_form(path)
            if found is not None:
                return found, bare
        return None, False

    def _by_normal_form(self, path: Path) -> Path | None:
        current = Path(path.anchor) if path.is_absolute() else Path()
        for part in path.parts[1:] if path.is_absolute() else path.parts:
            step = current / part
            if not step.exists():
                actual = self._listing(current).get(unicodedata.normalize("NFC", part))
                if actual is None:
                    return None
                step = current / actual
            current = step
        return current if current.is_file() else None

    def _listing(self, folder: Path) -> dict[str, str]:
        if folder not in self._listings:
            try:
                names = os.listdir(folder)
            except OSError:
                names = []
            self._listings[folder] = {unicodedata.normalize("NFC", name): name for name in names}
        return self._listings[folder]


def _write_npz_atomically(path: Path, arrays: Iterable[tuple[str, np.ndarray]]) -> None:
    """A compressed ``.npz`` written one array at a time, so only one mask is in memory at once."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(file: BinaryIO) -> None:
        with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays:
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    write_atomically(path, write, what="the mask cache", fsync=False)


def _shown(names: Sequence[str]) -> str:
    return ", ".join(names[:_SHOWN_PATHS]) + (", ..." if len(names) > _SHOWN_PATHS else "")
