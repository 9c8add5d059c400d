"""What loading refuses or warns about: datasets with nothing but background, unannotated images,
annotations outside their image, file names that are not UTF-8, and the wording of the data messages."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from augmentlab.checks import free_ignore_index
from augmentlab.cli.app import app
from augmentlab.data import load_dataset, load_splits, stats_warnings
from augmentlab.data.cache import epoch_batches
from augmentlab.data.dataset import check_ignore_index
from augmentlab.data.stats import class_stats_from_masks, describe_images
from augmentlab.data.stream import Placement
from augmentlab.errors import AugmentlabError

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.fixture(autouse=True)
def _mask_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUGMENTLAB_CACHE", str(tmp_path / "cache"))


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def folder(root: Path, masks: dict[str, np.ndarray], suffix: str = ".png") -> tuple[Path, Path]:
    """An image folder and a mask folder: one 4×6 image per mask, named by its stem."""
    images, mask_dir = root / "images", root / "masks"
    images.mkdir(parents=True)
    mask_dir.mkdir(parents=True)
    for stem, mask in masks.items():
        Image.fromarray(np.full((*mask.shape, 3), 90, np.uint8)).save(images / f"{stem}{suffix}")
        Image.fromarray(mask.astype(np.uint8)).save(mask_dir / f"{stem}.png")
    return images, mask_dir


def binary(foreground: int) -> np.ndarray:
    mask = np.zeros((4, 6), np.uint8)
    mask[1:3, 2:5] = foreground
    return mask


def coco(path: Path, images: list[dict], annotations: list[dict], categories: list[dict]) -> Path:
    """A COCO json beside its images: each image entry gets a 6×4 PNG of its file_name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for entry in images:
        Image.fromarray(np.full((entry["height"], entry["width"], 3), 60, np.uint8)).save(path.parent / entry["file_name"])
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def image(image_id: int, name: str) -> dict:
    return {"id": image_id, "file_name": name, "width": 6, "height": 4}


def polygon(annotation_id: int, image_id: int, points: list[float]) -> dict:
    return {"id": annotation_id, "image_id": image_id, "category_id": 1, "iscrowd": 0, "segmentation": [points]}


SQUARE = [1, 1, 3, 1, 3, 3, 1, 3]
CAR = [{"id": 1, "name": "car"}]


# ---------------------------------------------------------------- nothing but background


@pytest.mark.parametrize(
    ("masks", "options", "message"),
    [
        ({"a": binary(255), "b": binary(255)}, {},
         "masks in {masks} hold only 0 and the ignore index 255, so there is nothing to learn; if 255 is the foreground, "
         "remap it to 1 in the masks (mask[mask == 255] = 1), which gives the classes background and class_1"),
        ({"a": binary(255)}, {"classes": ["background", "lesion"]},
         "masks in {masks} hold only 0 and the ignore index 255, so there is nothing to learn; if 255 is the foreground, "
         "remap it to 1 in the masks (mask[mask == 255] = 1), which gives the classes background and class_1"),
        ({"a": binary(200)}, {"ignore_index": 200},
         "masks in {masks} hold only 0 and the ignore index 200, so there is nothing to learn; if 200 is the foreground, "
         "remap it to 1 in the masks (mask[mask == 200] = 1), which gives the classes background and class_1"),
        ({"a": binary(1)}, {"ignore_index": 1},
         "masks in {masks} hold only 0 and the ignore index 1, so there is nothing to learn; if 1 is the foreground, "
         "set ignore_index to the value of the void pixels (255 by default)"),
        ({"a": binary(0)}, {},
         "masks in {masks} hold only 0, the background, so there is nothing to learn; "
         "export masks with one class index per pixel, 1 and up for the objects"),
        ({"a": binary(1)}, {"classes": ["background"]},
         "classes lists only 'background'; list the background (index 0) and at least one more class"),
    ],
)
def test_a_folder_dataset_of_nothing_but_background_is_refused(tmp_path: Path, masks: dict, options: dict, message: str) -> None:
    images, mask_dir = folder(tmp_path, masks)
    with pytest.raises(AugmentlabError) as error:
        load_dataset(images, masks=mask_dir, **options)
    assert str(error.value) == message.format(masks=mask_dir)


def test_folder_splits_are_judged_together(tmp_path: Path) -> None:
    images, masks = folder(tmp_path / "train", {"a": binary(255)})
    val_images, val_masks = folder(tmp_path / "val", {"b": binary(255)})
    with pytest.raises(AugmentlabError) as error:
        load_splits(images, masks=masks, val=val_images, val_masks=val_masks)
    assert str(error.value) == (
        f"masks in {masks} and {val_masks} hold only 0 and the ignore index 255, so there is nothing to learn; if 255 is the "
        "foreground, remap it to 1 in the masks (mask[mask == 255] = 1), which gives the classes background and class_1"
    )
    # a val split of background frames is fine when the training split has objects
    folder(tmp_path / "fine", {"a": binary(1)})
    train, val = load_splits(tmp_path / "fine" / "images", masks=tmp_path / "fine" / "masks", val=val_images, val_masks=val_masks)
    assert train.class_names == val.class_names == ("background", "class_1")


def test_binary_masks_read_as_one_class_fail_data_stats_in_one_line(tmp_path: Path) -> None:
    images, masks = folder(tmp_path, {"a": binary(255), "b": binary(255)})
    result = run("data", "stats", "--data", str(images), "--masks", str(masks))
    assert (result.exit_code, result.stderr) == (2, (
        f"error: masks in {masks} hold only 0 and the ignore index 255, so there is nothing to learn; if 255 is the foreground, "
        "remap it to 1 in the masks (mask[mask == 255] = 1), which gives the classes background and class_1\n"
    ))


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        ([], "{path} has no categories, so every pixel would be background and there is nothing to learn; "
             "export it again with its categories, or list the classes to segment in its 'categories'"),
        ([{"id": 0, "name": "_background_"}],
         "{path} has only background categories ('_background_'), so every pixel would be background and there is nothing "
         "to learn; export it again with the categories of the objects to segment"),
    ],
)
def test_a_coco_json_without_categories_is_refused(tmp_path: Path, categories: list, message: str) -> None:
    path = coco(tmp_path / "train.json", [image(1, "a.png")], [], categories)
    with pytest.raises(AugmentlabError) as error:
        load_dataset(path)
    assert str(error.value) == message.format(path=path)


# ---------------------------------------------------------------- counted problems: warnings


@pytest.mark.parametrize(
    ("annotated", "warning"),
    [
        ({1, 2, 3}, None),
        ({1, 2}, "{path}: 1 of 3 images has no annotation (c.png); it is treated as all background"),
        ({1}, "{path}: 2 of 3 images have no annotation (b.png, c.png); they are treated as all background"),
    ],
)
@pytest.mark.parametrize("strict", [False, True])
def test_unannotated_images_are_counted_and_kept_as_background(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, annotated: set, warning: str | None, strict: bool
) -> None:
    entries = [image(1, "a.png"), image(2, "b.png"), image(3, "c.png")]
    path = coco(tmp_path / "train.json", entries, [polygon(k, k, SQUARE) for k in sorted(annotated)], CAR)
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        dataset = load_dataset(path, strict=strict)  # background frames are legitimate: never an error
    assert caplog.messages == ([] if warning is None else [warning.format(path=path)])
    assert len(dataset) == 3
    for index in range(3):
        assert bool((dataset.mask(index) == 1).any()) == (index + 1 in annotated)


@pytest.mark.parametrize(
    ("annotations", "warning"),
    [
        # a point a pixel past the border cuts off nothing of the image: hand-drawn polygons do that
        ([polygon(1, 1, [-1, -1, 7, -1, 7, 5, -1, 5])], None),
        ([polygon(1, 1, [4, 2, 8, 2, 8, 3, 4, 3])],
         "{path}: 1 annotation reaching outside its image's width × height, in annotation ids 1; "
         "the parts outside are cut off: check the images' width and height in the json (an export may swap them)"),
        ([polygon(1, 1, [6, 0, 9, 0, 9, 3, 6, 3])],
         "{path}: 1 annotation reaching outside its image's width × height (wholly, drawing nothing), in annotation ids 1; "
         "the parts outside are cut off: check the images' width and height in the json (an export may swap them)"),
        ([polygon(1, 1, SQUARE), polygon(2, 1, [0, 2, 3, 2, 3, 7, 0, 7]), polygon(3, 1, [0, 5, 3, 5, 3, 8, 0, 8])],
         "{path}: 2 annotations reaching outside their image's width × height (1 wholly, drawing nothing), in annotation ids 2, 3; "
         "the parts outside are cut off: check the images' width and height in the json (an export may swap them)"),
    ],
)
def test_annotations_outside_their_image_are_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture, annotations: list, warning: str | None) -> None:
    path = coco(tmp_path / "train.json", [image(1, "a.png")], annotations, CAR)
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        load_dataset(path)
    assert caplog.messages == ([] if warning is None else [warning.format(path=path)])


def test_annotations_outside_their_image_fail_when_strict(tmp_path: Path) -> None:
    path = coco(tmp_path / "train.json", [image(1, "a.png")], [polygon(7, 1, [4, 2, 8, 2, 8, 3, 4, 3])], CAR)
    with pytest.raises(AugmentlabError) as error:
        load_dataset(path, strict=True)
    assert str(error.value) == (
        f"{path} has 1 annotation reaching outside its image's width × height, in annotation ids 7; "
        "fix the coordinates or the images' width and height, or leave out strict to cut them off"
    )


def test_data_stats_shows_the_counted_problems_as_warnings_and_an_error_alone(tmp_path: Path) -> None:
    entries = [image(1, "a.png"), image(2, "b.png")]
    path = coco(tmp_path / "train.json", entries, [polygon(1, 1, [4, 2, 8, 2, 8, 3, 4, 3])], CAR)
    result = run("data", "stats", "--data", str(path), "--val", str(path))
    assert result.exit_code == 0, result.output
    warnings = [
        f"warning: {path}: 1 annotation reaching outside its image's width × height, in annotation ids 1; "
        "the parts outside are cut off: check the images' width and height in the json (an export may swap them)",
        f"warning: {path}: 1 of 2 images has no annotation (b.png); it is treated as all background",
    ]
    assert result.stderr.splitlines() == warnings * 2  # the train json, then the same json as val
    (tmp_path / "b.png").unlink()
    missing = run("data", "stats", "--data", str(path))
    assert (missing.exit_code, missing.stderr.count("\n")) == (2, 1), missing.stderr  # the error alone, no warning about an unused json
    assert missing.stderr.startswith(f"error: 1 of 2 images listed in {path} cannot be found (b.png)")


# ---------------------------------------------------------------- file names that are not UTF-8


def test_file_names_that_are_not_utf8_load(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9")  # a Latin-1 zip's café: the byte 0xe9 is no UTF-8, Python keeps it as a surrogate
    try:
        images, masks = folder(tmp_path, {name: binary(1), "plain": binary(1)})
    except (OSError, UnicodeEncodeError):
        pytest.skip("this filesystem refuses file names that are not UTF-8")
    dataset = load_dataset(images, masks=masks)
    assert [dataset.sample_name(i) for i in range(2)] == [name, "plain"]
    assert torch.equal(dataset[0][1], torch.from_numpy(binary(1)).long())
    assert dataset.cache_key == load_dataset(images, masks=masks).cache_key
    assert dataset.subset([1]).cache_key != dataset.subset([0]).cache_key
    result = run("data", "stats", "--data", str(images), "--masks", str(masks), "--val-split", "0.5")
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("ignore_index", "num_classes", "message"),
    [
        (255, 301, "ignore_index 255 is a class index (classes are 0..300); use a value outside them, such as 65535"),
        (0, 301, "ignore_index 0 is a class index (classes are 0..300); use a value outside them, such as 65535"),
        (0, 151, "ignore_index 0 is a class index (classes are 0..150); use a value outside them, such as 255"),
        (65535, 70000, "ignore_index 65535 is a class index (classes are 0..69999); use a value outside them, such as 70000"),
    ],
)
def test_the_suggested_ignore_index_is_no_class(ignore_index: int, num_classes: int, message: str) -> None:
    with pytest.raises(AugmentlabError) as error:
        check_ignore_index(ignore_index, num_classes)
    assert str(error.value) == message
    check_ignore_index(free_ignore_index(num_classes), num_classes)


def test_a_json_of_300_categories_suggests_an_ignore_index_outside_them(tmp_path: Path) -> None:
    path = coco(tmp_path / "train.json", [image(1, "a.png")], [], [{"id": k, "name": f"c{k}"} for k in range(1, 301)])
    result = run("data", "stats", "--data", str(path))
    assert (result.exit_code, result.stderr) == (
        2, "error: --ignore-index 255 is a class index (classes are 0..300); use a value outside them, such as 65535\n"
    )
    assert load_dataset(path, ignore_index=65535).num_classes == 301


def test_a_val_json_whose_images_are_elsewhere_names_val_images(tmp_path: Path) -> None:
    train = coco(tmp_path / "train" / "train.json", [image(1, "a.png")], [polygon(1, 1, SQUARE)], CAR)
    val = coco(tmp_path / "val" / "val.json", [image(1, "v.png")], [polygon(1, 1, SQUARE)], CAR)
    photos = tmp_path / "val_photos"
    photos.mkdir()
    (val.parent / "v.png").rename(photos / "v.png")
    with pytest.raises(AugmentlabError) as error:
        load_splits(train, val=val, images=train.parent)
    assert str(error.value) == (
        f"1 of 1 image listed in {val} cannot be found (v.png): looked for each file_name, and its bare file name, "
        f"under {train.parent} and {val.parent}; give the folder that holds them as val_images"
    )
    result = run("data", "stats", "--data", str(train), "--val", str(val))
    assert result.exit_code == 2 and result.stderr.endswith("; give the folder that holds them as --val-images\n"), result.stderr
    assert len(load_splits(train, val=val, val_images=photos)[1]) == 1


def test_one_sample_cannot_be_split(tmp_path: Path) -> None:
    images, masks = folder(tmp_path, {"only": binary(1)})
    with pytest.raises(AugmentlabError) as error:
        load_splits(images, masks=masks, val_split=0.5)
    assert str(error.value) == "val_split needs at least 2 samples to split, and the dataset has 1; add images, or give a separate val"
    result = run("data", "stats", "--data", str(images), "--masks", str(masks), "--val-split", "0.5")
    assert (result.exit_code, result.stderr) == (
        2, "error: --val-split needs at least 2 samples to split, and the dataset has 1; add images, or give a separate --val\n"
    )


def test_counts_of_one_are_singular() -> None:
    names = ("background", "car", "bus")
    train = class_stats_from_masks([torch.tensor([[0, 1]])], names, 255)
    val = class_stats_from_masks([torch.tensor([[0, 0]])], names, 255)
    assert describe_images(train) == "1 image: 1×2 (1); 0.00% of pixels ignored"
    assert stats_warnings(train, val) == [
        "1 class has no pixel in the training set: bus",
        "1 class is missing from the validation set, so its IoU cannot be measured: car",
    ]
    with pytest.raises(AugmentlabError) as error:
        epoch_batches(1, 0, 0, 4, True, torch.device("cpu"))
    assert str(error.value) == (
        "batch_size 4 is larger than the dataset's 1 sample, so an epoch has no full batch; lower it or use more images"
    )
    assert Placement("host", 1024, "fits").describe("val", 1) == "val split: 1 image decodes to 1 KiB: fits"
