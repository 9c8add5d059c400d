"""EXIF orientation decided once per json (or mask folder): generated JPEGs with orientation tags."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from augmentlab.data import load_dataset, rasterize_coco_masks, read_coco
from augmentlab.data.images import apply_orientation, mask_orientations

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

ORIENTATION = 0x0112
BLOCK = [0, 0, 20, 0, 20, 10, 0, 10]  # the top-left 20×10 of the pixels the json was drawn on


@pytest.fixture(autouse=True)
def _mask_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUGMENTLAB_CACHE", str(tmp_path / "cache"))


# What turns a displayed image into the stored pixels that EXIF orientation k turns back.
TO_STORED = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


def jpeg(path: Path, width: int, height: int, orientation: int, red_on: str = "stored") -> Path:
    """A grey JPEG of ``width``×``height`` stored pixels tagged with ``orientation``, red in the top-left 20×10
    of its ``stored`` pixels or of its ``shown`` (displayed) image."""
    turns = orientation in (5, 6, 7, 8)
    shape = (width, height) if red_on == "shown" and turns else (height, width)
    pixels = np.full((*shape, 3), 128, np.uint8)
    pixels[:10, :20] = (255, 0, 0)
    picture = Image.fromarray(pixels)
    if red_on == "shown" and TO_STORED[orientation] is not None:
        picture = picture.transpose(TO_STORED[orientation])
    assert picture.size == (width, height)
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, quality=98, exif=exif)
    return path


# name: (stored width, stored height, EXIF orientation)
IMAGES = {
    "turned": (60, 40, 6), "turned_left": (60, 40, 8), "upside": (60, 40, 3), "mirrored": (60, 40, 2),
    "flipped": (60, 40, 4), "square": (40, 40, 6), "plain": (60, 40, 1),
}


def write(tmp_path: Path, annotated: dict[str, str]) -> Path:
    """A json of ``annotated``'s images, each sized and drawn as annotated on its ``stored`` or its ``shown`` pixels:
    the block lies over the red block of the pixels it was drawn on."""
    entries, annotations = [], []
    for index, (name, frame) in enumerate(annotated.items(), start=1):
        width, height, orientation = IMAGES[name]
        jpeg(tmp_path / f"{name}.jpg", width, height, orientation, red_on=frame)
        turns = orientation in (5, 6, 7, 8) and frame == "shown"
        entries.append({"id": index, "file_name": f"{name}.jpg", "width": height if turns else width, "height": width if turns else height})
        annotations.append({"id": index, "image_id": index, "category_id": 1, "iscrowd": 0, "segmentation": [BLOCK]})
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"images": entries, "annotations": annotations, "categories": [{"id": 1, "name": "red"}]}))
    return path




@pytest.mark.parametrize(
    ("annotated", "turned_with_image", "warning"),
    [
        # an annotation tool that ignored EXIF: the turned photos show it, so the flipped and square ones turn too
        ({"turned": "stored", "upside": "stored", "square": "stored", "mirrored": "stored", "flipped": "stored", "plain": "stored"},
         {"turned", "upside", "square", "mirrored", "flipped"}, None),
        ({"turned_left": "stored", "upside": "stored"}, {"turned_left", "upside"}, None),
        # a tool that applied EXIF: all read as displayed
        ({"turned": "shown", "upside": "shown", "square": "shown"}, set(), None),
        # mixed evidence: each turned photo follows its size, the rest are read as displayed, and it is said
        ({"turned": "stored", "turned_left": "shown", "upside": "shown", "square": "shown"}, {"turned"},
         "{path}: the images turned by 90° by EXIF disagree: 1 has the json size of the stored pixels (annotated without "
         "EXIF), 1 that of the displayed image; each of those is read as its size says, and the 2 images whose sizes cannot "
         "tell (flipped, turned 180° or square) as displayed; check them with augmentlab preview"),
        ({"turned": "stored", "turned_left": "shown"}, {"turned"},
         "{path}: the images turned by 90° by EXIF disagree: 1 has the json size of the stored pixels (annotated without "
         "EXIF), 1 that of the displayed image; each of those is read as its size says; check them with augmentlab preview"),
        # no evidence: read as displayed, counted once
        ({"upside": "shown", "square": "shown", "mirrored": "shown", "plain": "shown"}, set(),
         "{path}: 3 images have an EXIF orientation that the json size cannot confirm (flipped, turned 180° or square: the "
         "stored and displayed sizes are equal), so they are read as annotated on the displayed image, EXIF applied; "
         "if the annotation tool ignored EXIF, remove their orientation tag"),
        ({"upside": "shown"}, set(),
         "{path}: 1 image has an EXIF orientation that the json size cannot confirm (flipped, turned 180° or square: the "
         "stored and displayed sizes are equal), so it is read as annotated on the displayed image, EXIF applied; "
         "if the annotation tool ignored EXIF, remove its orientation tag"),
        ({"plain": "shown"}, set(), None),
    ],
)
def test_one_rule_per_json(tmp_path: Path, caplog: pytest.LogCaptureFixture, annotated: dict, turned_with_image: set, warning: str | None) -> None:
    path = write(tmp_path, annotated)
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        dataset = load_dataset(path)
    assert caplog.messages == ([] if warning is None else [warning.format(path=path)])
    coco = read_coco(path)
    for index, name in enumerate(annotated):
        drawn = torch.from_numpy(rasterize_coco_masks(coco, index + 1).astype(np.int64))
        orientation = IMAGES[name][2] if name in turned_with_image else 1
        image, mask = dataset[index]
        assert torch.equal(mask, apply_orientation(drawn, orientation)), name
        if annotated[name] == "stored" and name in turned_with_image or annotated[name] == "shown" and name not in turned_with_image:
            # where the rule is right, the mask lies on the red block of the displayed image (JPEG blurs its edge)
            red = (image[0].int() > 200) & (image[1].int() < 60)
            assert int((red & (mask == 1)).sum()) >= 0.95 * int(red.sum()) > 0, name


def test_a_mask_folder_follows_the_same_rule(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Masks drawn on the stored pixels: the turned image shows it, so the upside-down one's mask turns too."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    masks.mkdir()
    for name in ("turned", "upside"):
        width, height, orientation = IMAGES[name]
        jpeg(images / f"{name}.jpg", width, height, orientation)
        mask = np.zeros((height, width), np.uint8)
        mask[:10, :20] = 1
        Image.fromarray(mask).save(masks / f"{name}.png")
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        dataset = load_dataset(images, masks=masks, classes=["background", "red"])
    assert caplog.messages == []
    for index in range(2):
        image, mask = dataset[index]
        red = (image[0].int() > 200) & (image[1].int() < 60)
        assert int((red & (mask == 1)).sum()) >= 0.95 * int(red.sum()) > 0, dataset.sample_name(index)

    (masks / "turned.png").unlink()
    (images / "turned.jpg").unlink()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        load_dataset(images, masks=masks, classes=["background", "red"])
    assert caplog.messages == [
        f"masks in {masks}: 1 image has an EXIF orientation that the mask size cannot confirm (flipped, turned 180° or square: "
        "the stored and displayed sizes are equal), so it is read as annotated on the displayed image, EXIF applied; "
        "if the annotation tool ignored EXIF, remove its orientation tag"
    ]


def test_a_json_with_the_stored_size_and_displayed_coordinates_warns_of_shapes_outside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The header's size recorded for a turned photo whose polygon was drawn on the displayed image: it falls outside."""
    jpeg(tmp_path / "p.jpg", 60, 40, 6)
    document = {
        "images": [{"id": 1, "file_name": "p.jpg", "width": 60, "height": 40}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": [[0, 45, 20, 45, 20, 60, 0, 60]]}],
        "categories": [{"id": 1, "name": "red"}],
    }
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(document))
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        load_dataset(path)
    assert caplog.messages == [
        f"{path}: 1 annotation reaching outside its image's width × height (wholly, drawing nothing), in annotation ids 1; "
        "the parts outside are cut off: check the images' width and height in the json (an export may swap them)"
    ]


def test_mask_orientations_keeps_the_size_error(tmp_path: Path) -> None:
    from augmentlab.errors import AugmentlabError

    path = jpeg(tmp_path / "t.jpg", 60, 40, 6)
    with pytest.raises(AugmentlabError) as error:
        mask_orientations([path], [(30, 30)], ["its size in x.json"], "fix it", source="x.json", size_name="json size")
    assert str(error.value) == f"image {path} is 40x60 (width x height, after EXIF orientation) but its size in x.json is 30x30; fix it"
