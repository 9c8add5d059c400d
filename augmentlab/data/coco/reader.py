"""COCO instances json: read it, check it, and map its categories to classes.

The reader is strict about structure and lenient about types: real exports write ``iscrowd:
false``, ids as strings or integral floats, and extra keys, and all of that is read as long as
it has one meaning. Anything else raises :class:`~augmentlab.errors.AugmentlabError` with one
line that names the file, what is wrong and how to fix it.

Class mapping: category ids, in ascending order, become classes ``1..K``; class 0 is the
background. Non-contiguous ids and categories that no annotation uses keep their class, so
the class count is the same for every split exported with the same categories. A category
that stands for the background itself (named ``background``, ``_background_`` or
``__background__``, any case) maps to class 0. So does a placeholder for the dataset itself: a
category that no annotation uses and that is the supercategory of every other one, as Roboflow
exports write (``{"id": 0, "name": "waste-xyz", "supercategory": "none"}`` above ``bottle`` and
``can`` of supercategory ``waste-xyz``); as a class it would never be learned, yet every stray
prediction of it would score an IoU of 0 and lower the mIoU.

:mod:`augmentlab.data.coco.masks` turns the result into semantic masks.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from augmentlab.data.wording import plural
from augmentlab.errors import AugmentlabError, Param

BACKGROUND_CATEGORY_NAMES = frozenset({"background", "_background_", "__background__"})
_SHOWN_IDS = 5  # ids named in an error message before "..."
OUTSIDE_TOLERANCE = 1.0
"""Pixels a polygon may reach past its image's border before it counts as outside: hand-drawn
polygons often end a click past the edge (TACO's reach exactly 1 px), which cuts off nothing of the image."""

Polygon = tuple[float, ...]
"""Flat ``x0, y0, x1, y1, ...`` pixel coordinates of one closed polygon, at least 3 points."""


@dataclass(frozen=True)
class CocoImage:
    id: int
    file_name: str
    width: int
    height: int
    path: str | None = None
    """The export's own relative path (COCO Annotator writes ``"path": "JPEGImages/car10.jpg"``); None when absent."""


@dataclass(frozen=True)
class CocoCategory:
    id: int
    name: str
    supercategory: str | None


@dataclass(frozen=True)
class CocoAnnotation:
    """One object. Its shape is either ``polygons`` (degenerate ones already dropped) or ``rle``."""

    id: int
    image_id: int
    category_id: int
    iscrowd: bool
    polygons: tuple[Polygon, ...] = ()
    rle: Mapping[str, Any] | None = None
    """``{"size": [h, w], "counts": str | list[int]}``: compressed or uncompressed RLE."""

    @property
    def is_empty(self) -> bool:
        return self.rle is None and not self.polygons


@dataclass(frozen=True)
class SkippedShapes:
    """Shapes the reader dropped because they cover no area, for the caller to warn about."""

    degenerate_polygons: int = 0
    """Polygons with fewer than 3 points or zero area."""
    empty_annotations: int = 0
    """Annotations left with no shape: all their polygons were degenerate, or there were none."""
    affected_annotations: int = 0
    """Annotations that lost a polygon or have no shape."""
    examples: tuple[int, ...] = ()
    """Ids of the first few affected annotations."""

    def __bool__(self) -> bool:
        return bool(self.degenerate_polygons or self.empty_annotations)

    def summary(self) -> str:
        """What was dropped, for a warning such as ``f"{path}: skipped {summary}"``.

        For example ``"1 degenerate polygon (fewer than 3 points or zero area), in annotation ids 4"``.
        """
        parts = []
        if self.degenerate_polygons:
            parts.append(plural(self.degenerate_polygons, "degenerate polygon") + " (fewer than 3 points or zero area)")
        if self.empty_annotations:
            parts.append(plural(self.empty_annotations, "annotation") + " with no shape left")
        ids = _id_list(self.examples, self.affected_annotations)
        return f"{' and '.join(parts)}, in annotation ids {ids}"


@dataclass(frozen=True)
class OutsideShapes:
    """Annotations whose polygons reach outside their image's json width × height, for the
    caller to warn about: the part outside is cut off, and a shape wholly outside draws nothing.
    Many of them usually mean the json's sizes are wrong (an export that swapped width and height)."""

    annotations: int = 0
    wholly: int = 0
    """Of ``annotations``, those whose every polygon lies outside the image."""
    examples: tuple[int, ...] = ()
    """Ids of the first few."""

    def __bool__(self) -> bool:
        return bool(self.annotations)

    def summary(self) -> str:
        """For example ``"2 annotations reaching outside their image's width × height (1 wholly, drawing nothing), in annotation ids 4, 7"``."""
        wholly = ""
        if self.wholly:
            wholly = " (wholly, drawing nothing)" if self.annotations == 1 else f" ({self.wholly} wholly, drawing nothing)"
        return (
            f"{plural(self.annotations, 'annotation')} reaching outside {'its' if self.annotations == 1 else 'their'} "
            f"image's width × height{wholly}, in annotation ids {_id_list(self.examples, self.annotations)}"
        )


@dataclass(frozen=True)
class CocoAnnotations:
    """A COCO instances file, read and checked.

    ``images`` and each image's annotations keep file order.
    """

    path: Path
    images: tuple[CocoImage, ...]
    annotations_by_image: Mapping[int, tuple[CocoAnnotation, ...]]
    """Image id -> its annotations; every image has an entry, possibly empty."""
    categories: tuple[CocoCategory, ...]
    class_of_category: Mapping[int, int]
    """Category id -> class index; background categories map to 0."""
    class_names: tuple[str, ...]
    """Index 0 is ``"background"``; the others are the category names."""
    skipped: SkippedShapes
    images_by_id: Mapping[int, CocoImage]
    outside: OutsideShapes = OutsideShapes()
    placeholder: CocoCategory | None = None
    """The dataset's own placeholder category (see the module docstring), left out of the classes; None when there is none."""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def image(self, image_id: int) -> CocoImage:
        if image_id not in self.images_by_id:
            raise KeyError(f"no image with id {image_id} in {self.path}")
        return self.images_by_id[image_id]


def read_coco(path: str | Path, *, strict: bool = False) -> CocoAnnotations:
    """Read a COCO instances json and check that every annotation can be drawn.

    Degenerate polygons (fewer than 3 points, or zero area) are dropped and counted in
    ``.skipped``; annotations reaching outside their image (by more than
    :data:`OUTSIDE_TOLERANCE`) are counted in ``.outside``; with ``strict=True`` either raises instead.

    Raises:
        AugmentlabError: missing file, invalid JSON, not COCO instances, a field that cannot be
            read, duplicate ids, annotations pointing at unknown image or category ids, an RLE
            whose size differs from its image, or (strict) degenerate polygons or annotations outside their image.
    """
    path = Path(path)
    document = _load_json(path)
    images = tuple(_read_image(path, i, entry) for i, entry in enumerate(_section(path, document, "images")))
    categories = tuple(_read_category(path, i, entry) for i, entry in enumerate(_section(path, document, "categories")))
    _reject_duplicates(path, "images", [image.id for image in images])
    _reject_duplicates(path, "categories", [category.id for category in categories])
    images_by_id = {image.id: image for image in images}
    category_ids = {category.id for category in categories}

    raw_annotations = _section(path, document, "annotations")
    fields = [_read_annotation_fields(path, i, entry) for i, entry in enumerate(raw_annotations)]
    _reject_unknown_ids(path, "image", [f[1] for f in fields], images_by_id.keys())
    _reject_unknown_ids(path, "category", [f[2] for f in fields], category_ids)

    annotations_by_image: dict[int, list[CocoAnnotation]] = {image.id: [] for image in images}
    degenerate_polygons = 0
    empty_annotations = 0
    affected_ids: list[int] = []
    outside_ids: list[int] = []
    wholly_outside = 0
    for index, (annotation_id, image_id, category_id, iscrowd, segmentation) in enumerate(fields):
        image = images_by_id[image_id]
        polygons, rle, dropped = _read_segmentation(path, index, annotation_id, segmentation, image)
        annotation = CocoAnnotation(annotation_id, image_id, category_id, iscrowd, polygons, rle)
        degenerate_polygons += dropped
        if annotation.is_empty:
            empty_annotations += 1
        if dropped or annotation.is_empty:
            affected_ids.append(annotation_id)
        reach = _reach_outside(polygons, image)
        if reach:
            outside_ids.append(annotation_id)
            wholly_outside += reach == "wholly"
        annotations_by_image[image_id].append(annotation)
    skipped = SkippedShapes(
        degenerate_polygons, empty_annotations, len(affected_ids), tuple(affected_ids[:_SHOWN_IDS])
    )
    outside = OutsideShapes(len(outside_ids), wholly_outside, tuple(outside_ids[:_SHOWN_IDS]))
    if strict and skipped:
        raise AugmentlabError(f"{path} has {skipped.summary()}; fix or delete them, or leave out ", Param("strict"), " to skip them")
    if strict and outside:
        raise AugmentlabError(
            f"{path} has {outside.summary()}; fix the coordinates or the images' width and height, or leave out ",
            Param("strict"), " to cut them off",
        )

    used = {annotation.category_id for annotations in annotations_by_image.values() for annotation in annotations}
    placeholder = _placeholder_category(categories, used)
    class_of_category, class_names = _class_mapping(categories, placeholder)
    return CocoAnnotations(
        path=path,
        images=images,
        annotations_by_image={image_id: tuple(anns) for image_id, anns in annotations_by_image.items()},
        categories=categories,
        class_of_category=class_of_category,
        class_names=class_names,
        skipped=skipped,
        images_by_id=images_by_id,
        outside=outside,
        placeholder=placeholder,
    )


def _reach_outside(polygons: tuple[Polygon, ...], image: CocoImage) -> str:
    """``"wholly"`` when every polygon lies outside the image, ``"partly"`` when one reaches outside it, else ``""``.

    Only the polygons are judged, being what is drawn: an RLE has its image's size (checked), and
    an annotation's ``bbox`` is not drawn, so nothing of it is cut off (TACO's bboxes reach 1.3 px
    past the border where their polygons keep within a pixel).
    """
    low, high_x, high_y = -OUTSIDE_TOLERANCE, image.width + OUTSIDE_TOLERANCE, image.height + OUTSIDE_TOLERANCE
    partly = False
    wholly = bool(polygons)
    for polygon in polygons:
        xs, ys = polygon[0::2], polygon[1::2]
        if min(xs) < low or max(xs) > high_x or min(ys) < low or max(ys) > high_y:
            partly = True
        # Wholly outside when its bounding box shares no area with the image.
        if not (max(xs) <= 0 or min(xs) >= image.width or max(ys) <= 0 or min(ys) >= image.height):
            wholly = False
    return "wholly" if wholly else "partly" if partly else ""


def _placeholder_category(categories: tuple[CocoCategory, ...], used: set[int]) -> CocoCategory | None:
    """The category no annotation uses that is the supercategory of every other one (Roboflow's dataset entry), if any."""
    for category in categories:
        others = [other for other in categories if other.id != category.id]
        if category.id not in used and others and all(other.supercategory == category.name for other in others):
            return category
    return None


def _class_mapping(categories: tuple[CocoCategory, ...], placeholder: CocoCategory | None = None) -> tuple[dict[int, int], tuple[str, ...]]:
    class_of_category: dict[int, int] = {}
    class_names = ["background"]
    for category in sorted(categories, key=lambda c: c.id):
        if category.name.strip().lower() in BACKGROUND_CATEGORY_NAMES or category == placeholder:
            class_of_category[category.id] = 0
        else:
            class_of_category[category.id] = len(class_names)
            class_names.append(category.name)
    return class_of_category, tuple(class_names)


def _load_json(path: Path) -> Any:
    if not path.is_file():
        reason = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise AugmentlabError(f"COCO annotation file {path} {reason}; pass the path of the instances json")
    try:
        with path.open("rb") as file:
            return json.load(file)
    except json.JSONDecodeError as error:
        raise AugmentlabError(
            f"{path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}; "
            "fix the file or export it again"
        ) from None
    except UnicodeDecodeError:
        raise AugmentlabError(f"{path} is not valid JSON: it is not UTF-8 text; export it again as JSON") from None


def _section(path: Path, document: Any, key: str) -> list[Any]:
    expected = "a COCO instances json has top-level lists 'images', 'annotations' and 'categories'"
    if not isinstance(document, dict):
        raise AugmentlabError(f"{path} is not a COCO instances file: its top level is not an object; {expected}")
    if key not in document:
        raise AugmentlabError(f"{path} is not a COCO instances file: key '{key}' is missing; {expected}")
    if not isinstance(document[key], list):
        raise AugmentlabError(f"{path} is not a COCO instances file: '{key}' is not a list; {expected}")
    return document[key]


def _entry_field(path: Path, section: str, index: int, entry: Any, key: str, required_keys: str) -> Any:
    if not isinstance(entry, dict):
        raise AugmentlabError(f"{path}: {section}[{index}] is not an object; each entry needs {required_keys}")
    if key not in entry:
        raise AugmentlabError(f"{path}: {section}[{index}] has no '{key}'; each entry needs {required_keys}")
    return entry[key]


def _read_image(path: Path, index: int, entry: Any) -> CocoImage:
    keys = "'id', 'file_name', 'width' and 'height'"

    def field(key: str) -> Any:
        return _entry_field(path, "images", index, entry, key, keys)

    where = f"images[{index}]"
    image = CocoImage(
        id=_as_int(path, where, "id", field("id")),
        file_name=_as_str(path, where, "file_name", field("file_name")),
        width=_as_int(path, where, "width", field("width")),
        height=_as_int(path, where, "height", field("height")),
        path=_optional_path(path, where, entry.get("path")),
    )
    if image.width <= 0 or image.height <= 0:
        raise AugmentlabError(
            f"{path}: {where} (id {image.id}) has size {image.width}x{image.height}; width and height must be > 0"
        )
    return image


def _read_category(path: Path, index: int, entry: Any) -> CocoCategory:
    keys = "'id' and 'name'"
    where = f"categories[{index}]"
    supercategory = entry.get("supercategory") if isinstance(entry, dict) else None
    return CocoCategory(
        id=_as_int(path, where, "id", _entry_field(path, "categories", index, entry, "id", keys)),
        name=_as_str(path, where, "name", _entry_field(path, "categories", index, entry, "name", keys)),
        supercategory=None if supercategory is None else str(supercategory),
    )


def _read_annotation_fields(path: Path, index: int, entry: Any) -> tuple[int, int, int, bool, Any]:
    keys = "'id', 'image_id', 'category_id' and 'segmentation'"

    def field(key: str) -> Any:
        return _entry_field(path, "annotations", index, entry, key, keys)

    where = f"annotations[{index}]"
    return (
        _as_int(path, where, "id", field("id")),
        _as_int(path, where, "image_id", field("image_id")),
        _as_int(path, where, "category_id", field("category_id")),
        _as_flag(path, where, "iscrowd", entry.get("iscrowd", 0)),
        field("segmentation"),
    )


def _read_segmentation(
    path: Path, index: int, annotation_id: int, segmentation: Any, image: CocoImage
) -> tuple[tuple[Polygon, ...], dict[str, Any] | None, int]:
    """(kept polygons, RLE, number of degenerate polygons dropped)."""
    where = f"annotations[{index}] (id {annotation_id})"
    if isinstance(segmentation, dict):
        return (), _read_rle(path, where, segmentation, image), 0
    if not isinstance(segmentation, list):
        raise AugmentlabError(
            f"{path}: {where} has a segmentation of type {type(segmentation).__name__}; "
            "it must be a list of polygons or an RLE object with 'size' and 'counts'"
        )
    if segmentation and all(_is_number(v) for v in segmentation):
        segmentation = [segmentation]  # one flat polygon without the outer list
    polygons = [_read_polygon(path, where, polygon) for polygon in segmentation]
    kept = tuple(p for p in polygons if not _is_degenerate(p))
    return kept, None, len(polygons) - len(kept)


def _read_polygon(path: Path, where: str, polygon: Any) -> Polygon:
    if not isinstance(polygon, list) or not all(_is_number(v) for v in polygon):
        raise AugmentlabError(
            f"{path}: {where} has a polygon that is not a flat list of numbers; write each polygon as [x0, y0, x1, y1, ...]"
        )
    if len(polygon) % 2:
        raise AugmentlabError(
            f"{path}: {where} has a polygon with an odd number of coordinates ({len(polygon)}); "
            "write each polygon as [x0, y0, x1, y1, ...]"
        )
    return tuple(float(v) for v in polygon)


def _is_degenerate(polygon: Polygon) -> bool:
    if len(polygon) < 6:
        return True
    x, y = np.asarray(polygon[0::2]), np.asarray(polygon[1::2])
    twice_area = np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))
    # Collinear float coordinates leave rounding residue far below any pixel; 1e-9 px² is "zero".
    return abs(twice_area) < 2e-9


def _read_rle(path: Path, where: str, rle: dict[str, Any], image: CocoImage) -> dict[str, Any]:
    if "size" not in rle or "counts" not in rle:
        raise AugmentlabError(f"{path}: {where} has an RLE segmentation without 'size' and 'counts'; export it again")
    counts = rle["counts"]
    uncompressed = isinstance(counts, list) and all(isinstance(c, int) and c >= 0 for c in counts)
    if not ((isinstance(counts, str) and counts.isascii()) or uncompressed):
        raise AugmentlabError(
            f"{path}: {where} has RLE counts that are neither an ASCII string nor a list of integers ≥ 0; export it again"
        )
    size = [_as_int(path, where, "size", v) for v in rle["size"]] if isinstance(rle["size"], list) else None
    if size != [image.height, image.width]:
        raise AugmentlabError(
            f"{path}: {where} has an RLE of size {rle['size']} but image {image.id} is "
            f"[{image.height}, {image.width}] (height, width); the RLE size must match its image"
        )
    if uncompressed and sum(counts) != image.height * image.width:
        raise AugmentlabError(
            f"{path}: {where} has uncompressed RLE counts that sum to {sum(counts)}, not height × width = "
            f"{image.height * image.width}; export it again"
        )
    return {"size": size, "counts": counts}


def _reject_duplicates(path: Path, section: str, ids: list[int]) -> None:
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    if duplicates:
        raise AugmentlabError(
            f"{path}: {plural(len(duplicates), 'id')} {'appears' if len(duplicates) == 1 else 'appear'} more than once in '{section}' "
            f"({_id_list(duplicates, len(duplicates))}); each entry needs its own id"
        )


def _reject_unknown_ids(path: Path, kind: str, referenced: list[int], known: Iterable[int]) -> None:
    known = set(known)
    unknown = [i for i in referenced if i not in known]
    if unknown:
        distinct = sorted(set(unknown))
        section = "images" if kind == "image" else "categories"
        raise AugmentlabError(
            f"{path}: {plural(len(unknown), 'annotation')} {'points' if len(unknown) == 1 else 'point'} at "
            f"{plural(len(distinct), f'unknown {kind} id')} "
            f"({_id_list(distinct, len(distinct))}); every {kind}_id must be the id of an entry in '{section}'"
        )


def _as_int(path: Path, where: str, key: str, value: Any) -> int:
    """Integers, integral floats and decimal strings; not booleans, which are no id or size."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise AugmentlabError(f"{path}: {where} has {key} {json.dumps(value)}; it must be an integer")


def _as_flag(path: Path, where: str, key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise AugmentlabError(f"{path}: {where} has {key} {json.dumps(value)}; it must be 0, 1, true or false")


def _optional_path(path: Path, where: str, value: Any) -> str | None:
    """An image entry's ``path``: only a non-empty relative string is used; an absolute one or a URL is left to ``file_name``."""
    if value is None or value == "":
        return None
    text = _as_str(path, where, "path", value)
    return None if "://" in text or Path(text).is_absolute() else text


def _as_str(path: Path, where: str, key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise AugmentlabError(f"{path}: {where} has {key} {json.dumps(value)}; it must be a string")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _id_list(ids: list[int] | tuple[int, ...], total: int) -> str:
    shown = ", ".join(str(i) for i in ids[:_SHOWN_IDS])
    return shown + (", ..." if total > _SHOWN_IDS else "")
