"""Datasets: image and mask files, COCO and folder loaders, the mask cache, splits and bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

import augmentlab.data.coco.dataset as dataset_module
from augmentlab.data import (
    load_dataset,
    load_splits,
    rasterize_coco_masks,
    read_coco,
    read_image,
    read_index_mask,
    resize_image,
    resize_mask,
)
from augmentlab.data.images import apply_orientation
from augmentlab.errors import AugmentlabError

# pycocotools' decode under numpy 2; harmless, and not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

ORIENTATION = 0x0112


@pytest.fixture(autouse=True)
def _mask_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test caches masks in its own folder, never in the user's home."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("AUGMENTLAB_CACHE", str(cache))
    return cache


def _save(path: Path, pixels: np.ndarray, mode: str | None = None, orientation: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels) if mode is None else Image.fromarray(pixels).convert(mode)
    if orientation is None:
        image.save(path)
    else:
        exif = Image.Exif()
        exif[ORIENTATION] = orientation
        image.save(path, exif=exif)
    return path


def _palette_mask(path: Path, indices: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    mask = Image.fromarray(indices.astype(np.uint8), mode="L").convert("P")
    mask.putpalette([0, 0, 0, 200, 10, 10, 10, 200, 10] + [255, 255, 255] * 253)
    mask.save(path)
    return path


def _rgb(height: int, width: int, base: int) -> np.ndarray:
    return (np.arange(height * width * 3, dtype=np.uint8).reshape(height, width, 3) + base).astype(np.uint8)


def _column_rle(height: int, width: int, column: int) -> dict:
    """Uncompressed RLE of one full column: counts run down the columns."""
    return {"size": [height, width], "counts": [height * column, height, height * (width - column - 1)]}


# ---------------------------------------------------------------- image and mask files


def test_read_image_modes(tmp_path: Path) -> None:
    rgb = _rgb(3, 4, 0)
    cases = [
        (_save(tmp_path / "rgb.png", rgb), rgb),
        (_save(tmp_path / "gray.png", np.array([[0, 50], [100, 255]], np.uint8)),
         np.repeat(np.array([[0, 50], [100, 255]], np.uint8)[:, :, None], 3, axis=2)),
        (_save(tmp_path / "rgba.png", np.dstack([rgb, np.full((3, 4), 7, np.uint8)])), rgb),
        (_save(tmp_path / "sixteen.png", np.array([[0, 65535, 25700]], np.uint16)),
         np.repeat(np.array([[0, 255, 100]], np.uint8)[:, :, None], 3, axis=2)),
    ]
    palette = Image.fromarray(np.array([[0, 1]], np.uint8), mode="L").convert("P")
    palette.putpalette([10, 20, 30, 40, 50, 60] + [0, 0, 0] * 254)
    palette.save(tmp_path / "palette.png")
    cases.append((tmp_path / "palette.png", np.array([[[10, 20, 30], [40, 50, 60]]], np.uint8)))
    for path, expected in cases:
        image = read_image(path)
        assert image.dtype == torch.uint8, path.name
        assert torch.equal(image, torch.from_numpy(expected).permute(2, 0, 1)), path.name


def test_read_image_applies_exif_orientation(tmp_path: Path) -> None:
    stored = np.zeros((4, 8, 3), np.uint8)
    stored[:, 4:] = 255  # left half black, right half white
    image = read_image(_save(tmp_path / "turned.jpg", stored, orientation=6))
    # orientation 6 turns the stored image clockwise: its left half becomes the top half
    expected = torch.zeros(3, 8, 4, dtype=torch.bool)
    expected[:, 4:] = True
    assert image.shape == (3, 8, 4)
    assert torch.equal(image > 127, expected)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_mask_orientation_matches_pillow(orientation: int) -> None:
    stored = np.arange(6, dtype=np.uint8).reshape(2, 3)
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[ORIENTATION] = orientation
    expected = np.array(ImageOps.exif_transpose(image))
    assert torch.equal(apply_orientation(torch.from_numpy(stored), orientation), torch.from_numpy(expected))


def test_read_index_mask_modes(tmp_path: Path) -> None:
    indices = np.array([[0, 1], [2, 255]], np.uint8)
    cases = [
        (_palette_mask(tmp_path / "p.png", indices), indices),
        (_save(tmp_path / "l.png", indices), indices),
        (_save(tmp_path / "i16.png", np.array([[0, 300]], np.uint16)), np.array([[0, 300]])),
    ]
    for path, expected in cases:
        mask = read_index_mask(path)
        assert mask.dtype == torch.int64, path.name
        assert torch.equal(mask, torch.from_numpy(expected.astype(np.int64))), path.name


def test_resize() -> None:
    mask = torch.tensor([[1, 2], [3, 4]])
    assert torch.equal(resize_mask(mask, (4, 4)), mask.repeat_interleave(2, 0).repeat_interleave(2, 1))
    assert torch.equal(resize_mask(torch.arange(16).reshape(4, 4), (2, 2)), torch.tensor([[5, 7], [13, 15]]))
    assert torch.equal(resize_mask(mask, (2, 2)), mask)
    image = torch.tensor([[[0, 255]]], dtype=torch.uint8).expand(3, 1, 2)
    assert torch.equal(resize_image(image, (1, 4))[0], torch.tensor([[0, 64, 191, 255]], dtype=torch.uint8))
    flat = torch.full((3, 5, 7), 90, dtype=torch.uint8)
    assert torch.equal(resize_image(flat, (3, 2)), torch.full((3, 3, 2), 90, dtype=torch.uint8))


# ---------------------------------------------------------------- COCO


def _coco_fixture(tmp_path: Path) -> tuple[Path, Path]:
    """Mixed sizes, images in their own folder, grayscale, RGBA and EXIF-turned images."""
    images = tmp_path / "photos"
    _save(images / "a.png", _rgb(3, 4, 0))
    _save(images / "b.jpg", np.full((2, 5), 80, np.uint8))
    _save(images / "c.png", np.dstack([_rgb(4, 2, 9), np.zeros((4, 2), np.uint8)]))
    _save(images / "turned_shown.png", _rgb(2, 3, 5), orientation=6)  # shown 2 wide, 3 high
    _save(images / "turned_stored.png", _rgb(2, 3, 5), orientation=6)
    document = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 4, "height": 3},
            {"id": 2, "file_name": "b.jpg", "width": 5, "height": 2},
            {"id": 3, "file_name": "c.png", "width": 2, "height": 4},
            {"id": 4, "file_name": "turned_shown.png", "width": 2, "height": 3},
            {"id": 5, "file_name": "turned_stored.png", "width": 3, "height": 2},
        ],
        "categories": [{"id": 1, "name": "paper"}, {"id": 2, "name": "glass"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 2, "iscrowd": 0, "segmentation": _column_rle(3, 4, 1)},
            {"id": 2, "image_id": 2, "category_id": 1, "iscrowd": False, "segmentation": _column_rle(2, 5, 4)},
            {"id": 3, "image_id": 3, "category_id": 1, "iscrowd": 1, "segmentation": _column_rle(4, 2, 0)},
            {"id": 4, "image_id": 4, "category_id": 2, "iscrowd": 0, "segmentation": _column_rle(3, 2, 0)},
            {"id": 5, "image_id": 5, "category_id": 2, "iscrowd": 0, "segmentation": _column_rle(2, 3, 0)},
        ],
    }
    return _write_json(tmp_path / "annotations" / "train.json", document), images


def _write_json(path: Path, document: dict | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_coco_dataset_samples(tmp_path: Path) -> None:
    train_json, images = _coco_fixture(tmp_path)
    dataset = load_dataset(train_json, images=images)
    assert dataset.class_names == ("background", "paper", "glass")
    assert (len(dataset), dataset.num_classes, dataset.ignore_index, dataset.size) == (5, 3, 255, None)
    assert [dataset.sample_name(i) for i in range(5)] == [
        "a.png", "b.jpg", "c.png", "turned_shown.png", "turned_stored.png"
    ]
    expected_masks = [
        [[0, 2, 0, 0]] * 3,
        [[0, 0, 0, 0, 1]] * 2,
        [[255, 0]] * 4,
        [[2, 0]] * 3,
        # drawn on the stored 3x2 pixels (left column), then turned clockwise with the image: top row
        [[2, 2], [0, 0], [0, 0]],
    ]
    for index, expected in enumerate(expected_masks):
        image, mask = dataset[index]
        assert image.dtype == torch.uint8 and mask.dtype == torch.int64
        assert torch.equal(mask, torch.tensor(expected)), dataset.sample_name(index)
        assert image.shape == (3, *mask.shape)
    assert torch.equal(dataset[0][0], torch.from_numpy(_rgb(3, 4, 0)).permute(2, 0, 1))
    assert torch.equal(dataset[2][0], torch.from_numpy(_rgb(4, 2, 9)).permute(2, 0, 1))
    gray = dataset[1][0]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])


def test_coco_masks_equal_the_rasterizer(tmp_path: Path) -> None:
    train_json, images = _coco_fixture(tmp_path)
    coco = read_coco(train_json)
    dataset = load_dataset(train_json, images=images, crowd="class")
    for index in range(3):
        reference = rasterize_coco_masks(coco, index + 1, crowd="class")
        assert torch.equal(dataset[index][1], torch.from_numpy(reference.astype(np.int64)))


def test_coco_resized_to_one_size(tmp_path: Path) -> None:
    train_json, images = _coco_fixture(tmp_path)
    dataset = load_dataset(train_json, images=images, size=(6, 8))
    for index in range(len(dataset)):
        image, mask = dataset[index]
        assert (image.shape, mask.shape) == ((3, 6, 8), (6, 8))
    assert torch.equal(dataset[0][1], torch.tensor([[0, 0, 2, 2, 0, 0, 0, 0]] * 6))


def test_coco_images_beside_the_json_and_by_bare_name(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", _rgb(3, 4, 0))
    _save(tmp_path / "photos" / "b.png", _rgb(3, 4, 1))
    document = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 4, "height": 3},
            {"id": 2, "file_name": "C:/export/batch_1/b.png", "width": 4, "height": 3},
        ],
        "categories": [{"id": 1, "name": "paper"}],
        "annotations": [],
    }
    dataset = load_dataset(_write_json(tmp_path / "train.json", document), images=tmp_path / "photos")
    assert torch.equal(dataset[0][0], torch.from_numpy(_rgb(3, 4, 0)).permute(2, 0, 1))
    assert torch.equal(dataset[1][0], torch.from_numpy(_rgb(3, 4, 1)).permute(2, 0, 1))
    assert torch.equal(dataset[1][1], torch.zeros(3, 4, dtype=torch.int64))


def test_mask_cache_hit_miss_and_invalidation(tmp_path: Path, _mask_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    train_json, images = _coco_fixture(tmp_path)
    calls: list[int] = []

    def counting(coco, image_id, **options):
        calls.append(image_id)
        return rasterize_coco_masks(coco, image_id, **options)

    monkeypatch.setattr(dataset_module, "rasterize_coco_masks", counting)
    first = load_dataset(train_json, images=images)
    assert (len(calls), len(list(_mask_cache.glob("*.npz")))) == (5, 1)
    second = load_dataset(train_json, images=images, size=(4, 4))
    assert (len(calls), len(list(_mask_cache.glob("*.npz")))) == (5, 1)
    assert torch.equal(second[0][1], resize_mask(first[0][1], (4, 4)))
    assert first.cache_key != second.cache_key

    load_dataset(train_json, images=images, crowd="class")
    assert (len(calls), len(list(_mask_cache.glob("*.npz")))) == (10, 2)

    document = json.loads(train_json.read_text())
    document["annotations"][0]["category_id"] = 1
    _write_json(train_json, document)
    changed = load_dataset(train_json, images=images)
    assert (len(calls), len(list(_mask_cache.glob("*.npz")))) == (15, 3)
    assert torch.equal(changed[0][1], torch.tensor([[0, 1, 0, 0]] * 3))
    assert changed.cache_key != first.cache_key


def test_cache_key_follows_the_selection(tmp_path: Path) -> None:
    train_json, images = _coco_fixture(tmp_path)
    dataset = load_dataset(train_json, images=images)
    again = load_dataset(train_json, images=images)
    assert dataset.cache_key == again.cache_key
    assert dataset.subset([0, 1]).cache_key != dataset.subset([0, 2]).cache_key
    assert dataset.subset(range(5)).cache_key == dataset.cache_key
    assert [dataset.subset([3, 0]).sample_name(i) for i in range(2)] == ["turned_shown.png", "a.png"]


def test_coco_splits(tmp_path: Path) -> None:
    train_json, images = _coco_fixture(tmp_path)
    document = json.loads(train_json.read_text())
    document["images"], document["annotations"] = document["images"][:1], document["annotations"][:1]
    val_json = _write_json(tmp_path / "annotations" / "val.json", document)
    train, val = load_splits(train_json, val=val_json, images=images)
    assert (len(train), len(val), val.class_names) == (5, 1, ("background", "paper", "glass"))


# ---------------------------------------------------------------- folders


def _folder_fixture(tmp_path: Path) -> tuple[Path, Path]:
    images, masks = tmp_path / "images", tmp_path / "masks"
    _save(images / "0001.png", _rgb(2, 3, 0))
    _save(images / "0002.jpg", np.full((2, 2), 40, np.uint8))
    _save(images / "0003.png", _rgb(2, 2, 0))  # no mask
    (images / "notes.txt").write_text("not an image")
    _palette_mask(masks / "0001.png", np.array([[0, 1, 255], [2, 2, 0]]))
    _save(masks / "0002.png", np.array([[3, 0], [0, 255]], np.uint8))
    _save(masks / "0004.png", np.zeros((2, 2), np.uint8))  # no image
    return images, masks


def test_folder_dataset(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    images, masks = _folder_fixture(tmp_path)
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        dataset = load_dataset(images, masks=masks)
    assert [r.getMessage() for r in caplog.records] == [
        f"1 image in {images} has no mask with the same stem (0003.png); skipped",
        f"1 mask in {masks} has no image with the same stem (0004.png); skipped",
    ]
    assert dataset.class_names == ("background", "class_1", "class_2", "class_3")
    assert [dataset.sample_name(i) for i in range(len(dataset))] == ["0001", "0002"]
    image, mask = dataset[0]
    assert torch.equal(mask, torch.tensor([[0, 1, 255], [2, 2, 0]]))
    assert torch.equal(image, torch.from_numpy(_rgb(2, 3, 0)).permute(2, 0, 1))
    assert torch.equal(dataset[1][1], torch.tensor([[3, 0], [0, 255]]))

    named = load_dataset(images, masks=masks, classes=["sky", "road", "car", "sign", "tree"], size=(4, 6))
    assert named.class_names == ("sky", "road", "car", "sign", "tree")
    assert named[0][1].shape == (4, 6)
    assert load_dataset(images, masks=masks, size=4)[0][1].shape == (4, 4)  # N is N×N, as image_size reads it


def test_folder_passes_over_hidden_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    _save(images / "0001.png", _rgb(2, 3, 0))
    _save(masks / "0001.png", np.array([[0, 1, 1], [0, 0, 0]], np.uint8))
    # What a copy from macOS leaves beside every file: AppleDouble sidecars that no image reader opens.
    for sidecar in (images / "._0001.png", masks / "._0001.png", images / ".DS_Store", masks / "._0002.png"):
        sidecar.write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(64))
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        dataset = load_dataset(images, masks=masks, strict=True)
    assert ([dataset.sample_name(i) for i in range(len(dataset))], caplog.records) == (["0001"], [])


@pytest.mark.parametrize(
    ("image_names", "mask_names", "warnings"),
    [
        (["IMG_1.JPG", "b.png"], ["img_1.png", "b.png"], [
            "1 image in {images} has no mask with the same stem (IMG_1.JPG); IMG_1.JPG and img_1.png differ only by "
            "letter case, rename one to match; skipped",
            "1 mask in {masks} has no image with the same stem (img_1.png); skipped",
        ]),
        (["A.png", "B.png", "c.png", "d.png"], ["a.png", "b.png", "d.png", "e.png"], [
            "3 images in {images} have no mask with the same stem (A.png, B.png, c.png); 2 of them differ from masks "
            "only by letter case (e.g. A.png and a.png), rename them to match; skipped",
            "3 masks in {masks} have no image with the same stem (a.png, b.png, e.png); skipped",
        ]),
        (["x.png", "y.png"], ["x.png", "z.png"], [
            "1 image in {images} has no mask with the same stem (y.png); skipped",
            "1 mask in {masks} has no image with the same stem (z.png); skipped",
        ]),
    ],
)
def test_folder_unmatched_stems_that_differ_only_by_case(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, image_names: list[str], mask_names: list[str], warnings: list[str]
) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    for name in image_names:
        _save(images / name, _rgb(2, 2, 0))
    for name in mask_names:
        _save(masks / name, np.array([[0, 1], [1, 0]], np.uint8))
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        load_dataset(images, masks=masks)
    assert [r.getMessage() for r in caplog.records] == [w.format(images=images, masks=masks) for w in warnings]


@pytest.mark.parametrize(
    ("image_names", "mask_names", "names", "warnings"),
    [
        # CamVid's release: 0001TP_006690.png and its label 0001TP_006690_L.png
        (["0001TP_006690.png", "0006R0_f00930.png"], ["0001TP_006690_L.png", "0006R0_f00930_L.png"], ["0001TP_006690", "0006R0_f00930"], [
            "no mask in {masks} has the stem of an image, but they are named like the images with '_L' added at the end "
            "(0001TP_006690.png and 0001TP_006690_L.png): paired by that",
        ]),
        # DeepGlobe's: 100694_sat.jpg and 100694_mask.png; one image without a mask is still named
        (["100694_sat.jpg", "102122_sat.jpg", "10452_sat.jpg"], ["100694_mask.png", "102122_mask.png"], ["100694", "102122"], [
            "no mask in {masks} has the stem of an image, but they are named like the images with '_mask' for '_sat' at the end "
            "(100694_sat.jpg and 100694_mask.png): paired by that",
            "1 image in {images} has no mask with the same stem (10452_sat.jpg); skipped",
        ]),
        (["a_img.png", "b_img.png"], ["a.png", "b.png"], ["a", "b"], [
            "no mask in {masks} has the stem of an image, but they are named like the images with '_img' left out at the end "
            "(a_img.png and a.png): paired by that",
        ]),
        # a frame or version number is part of a name, never an ending: other frames are not paired
        (["0016E5_006690.png"], ["0016E5_006750_L.png"], None, None),
        (["x_1.png", "y_1.png"], ["x_2.png", "y_2.png"], None, None),
        (["a_v2.png", "b_v2.png"], ["a_v1_L.png", "b_v1_L.png"], None, None),
        # one stem in common: pairing stays exact, and the rest are named as unmatched
        (["a.png", "b.png"], ["a.png", "b_L.png"], ["a"], [
            "1 image in {images} has no mask with the same stem (b.png); skipped",
            "1 mask in {masks} has no image with the same stem (b_L.png); skipped",
        ]),
    ],
)
def test_masks_named_like_their_images_with_another_ending_are_paired(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, image_names: list[str], mask_names: list[str], names: list[str], warnings: list[str]
) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    for name in image_names:
        _save(images / name, _rgb(2, 2, 0))
    for index, name in enumerate(mask_names):
        _save(masks / name, np.array([[0, 1], [index, 0]], np.uint8))
    if names is None:
        with pytest.raises(AugmentlabError, match="^no image in .* has a mask with the same file stem in "):
            load_dataset(images, masks=masks)
        return
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        dataset = load_dataset(images, masks=masks)
    assert [r.getMessage() for r in caplog.records] == [w.format(images=images, masks=masks) for w in warnings]
    assert [dataset.sample_name(i) for i in range(len(dataset))] == names
    assert [dataset[i][1][1, 0].item() for i in range(len(dataset))] == list(range(len(names)))  # each image with its own mask


def test_images_and_masks_in_one_folder_pair_the_photos_with_the_pngs(tmp_path: Path) -> None:
    # DeepGlobe keeps 100694_sat.jpg beside 100694_mask.png; the mask must never be taken for an image of its own.
    for index, stem in enumerate(("100694", "102122")):
        _save(tmp_path / f"{stem}_sat.jpg", _rgb(2, 2, 0))
        _save(tmp_path / f"{stem}_mask.png", np.array([[0, 1], [index, 0]], np.uint8))
    dataset = load_dataset(tmp_path, masks=tmp_path)
    assert [dataset.sample_name(i) for i in range(len(dataset))] == ["100694", "102122"]
    assert [dataset[i][1][1, 0].item() for i in range(2)] == [0, 1]
    only_png = tmp_path / "png"
    _save(only_png / "a.png", _rgb(2, 2, 0))
    with pytest.raises(AugmentlabError) as error:
        load_dataset(only_png, masks=only_png)
    assert str(error.value) == (
        f"images and masks share the folder {only_png} and every file is a .png, so none can be told for an image; "
        "keep the images in a folder of their own, or save them in another format (.jpg)"
    )


def test_names_that_share_no_ending_are_still_refused(tmp_path: Path) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    _save(images / "a_x.png", _rgb(2, 2, 0))
    _save(masks / "b_x.png", np.array([[0, 1], [1, 0]], np.uint8))
    with pytest.raises(AugmentlabError, match="^no image in .* has a mask with the same file stem in "):
        load_dataset(images, masks=masks)


@pytest.mark.parametrize("smoothed", [True, False])
def test_binary_masks_with_smoothed_edges_are_pointed_out(tmp_path: Path, caplog: pytest.LogCaptureFixture, smoothed: bool) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    for index in range(3):
        binary = np.zeros((32, 32), np.uint8)
        binary[8:24, 6 + index:22 + index] = 255
        mask = Image.fromarray(binary)
        if smoothed:  # what a bilinear resize does to a 0/255 mask: edge values in between
            mask = mask.resize((64, 64), Image.BILINEAR)
        else:
            mask = Image.fromarray(np.where(np.array(mask.resize((64, 64), Image.NEAREST)) > 0, 1, 0).astype(np.uint8))
        _save(images / f"{index}.png", _rgb(64, 64, 0))
        masks.mkdir(exist_ok=True)
        mask.save(masks / f"{index}.png")
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        dataset = load_dataset(images, masks=masks)
    warnings = [r.getMessage() for r in caplog.records]
    if smoothed:
        assert len(dataset.class_names) > 10 and len(warnings) == 1
        assert warnings[0] == (
            f"masks in {masks}: 22% of the pixels hold the ignore index 255, more than all 5 labels besides 0 together (6%): "
            "if these are binary masks whose foreground is 255 and whose edges were smoothed (resized bilinearly, or saved as "
            "JPEG), remap them to 0 and 1 (mask > 127); otherwise list the class names, so that labels beyond them are refused"
        )
    else:
        assert (dataset.class_names, warnings) == (("background", "class_1"), [])


def test_folder_void_label_other_than_255(tmp_path: Path) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    _save(images / "x.png", _rgb(1, 3, 0))
    _save(masks / "x.png", np.array([[0, 1, 9]], np.uint8))
    dataset = load_dataset(images, masks=masks, ignore_index=9)
    assert (dataset.class_names, dataset.ignore_index) == (("background", "class_1"), 9)


def test_folder_splits_share_class_names(tmp_path: Path) -> None:
    images, masks = _folder_fixture(tmp_path)
    _save(tmp_path / "val_images" / "v.png", _rgb(2, 2, 0))
    _save(tmp_path / "val_masks" / "v.png", np.array([[0, 5], [0, 0]], np.uint8))
    train, val = load_splits(images, masks=masks, val=tmp_path / "val_images", val_masks=tmp_path / "val_masks")
    assert train.class_names == val.class_names == ("background", *(f"class_{k}" for k in range(1, 6)))
    assert (len(train), len(val)) == (2, 1)


def test_random_split_is_seeded(tmp_path: Path) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    for k in range(10):
        _save(images / f"{k}.png", _rgb(2, 2, k))
        _save(masks / f"{k}.png", np.array([[0, 1], [0, 0]], np.uint8))

    def names(dataset) -> list[str]:
        return [dataset.sample_name(i) for i in range(len(dataset))]

    train, val = load_splits(images, masks=masks, val_split=0.3, seed=0)
    again_train, again_val = load_splits(images, masks=masks, val_split=0.3, seed=0)
    other_train, other_val = load_splits(images, masks=masks, val_split=0.3, seed=1)
    assert (names(train), names(val)) == (names(again_train), names(again_val))
    assert (len(train), len(val)) == (7, 3)
    assert sorted(names(train) + names(val)) == [str(k) for k in range(10)]
    assert names(val) != names(other_val)
    assert names(val) == ["1", "4", "7"]  # pinned: torch.randperm under seed 0


# ---------------------------------------------------------------- bad input


def _corrupt_png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(path, _rgb(16, 16, 0))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_errors_from_the_coco_reader_surface(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.json"
    invalid = _write_json(tmp_path / "invalid.json", "{")
    not_coco = _write_json(tmp_path / "list.json", "[]")
    base = {"images": [{"id": 1, "file_name": "a.png", "width": 4, "height": 3}], "categories": [{"id": 1, "name": "paper"}]}
    unknown_image = _write_json(tmp_path / "ui.json", {**base, "annotations": [
        {"id": 1, "image_id": 99, "category_id": 1, "segmentation": [[0, 0, 2, 0, 2, 2]]}]})
    unknown_category = _write_json(tmp_path / "uc.json", {**base, "annotations": [
        {"id": 1, "image_id": 1, "category_id": 42, "segmentation": [[0, 0, 2, 0, 2, 2]]}]})
    shape = "a COCO instances json has top-level lists 'images', 'annotations' and 'categories'"
    cases = [
        (missing, f"COCO annotation file {missing} does not exist; pass the path of the instances json"),
        (invalid, f"{invalid} is not valid JSON: Expecting property name enclosed in double quotes at line 1, "
                  "column 2; fix the file or export it again"),
        (not_coco, f"{not_coco} is not a COCO instances file: its top level is not an object; {shape}"),
        (unknown_image, f"{unknown_image}: 1 annotation points at 1 unknown image id (99); "
                        "every image_id must be the id of an entry in 'images'"),
        (unknown_category, f"{unknown_category}: 1 annotation points at 1 unknown category id (42); "
                           "every category_id must be the id of an entry in 'categories'"),
    ]
    for path, message in cases:
        with pytest.raises(AugmentlabError) as error:
            load_dataset(path)
        assert str(error.value) == message


def test_coco_bad_input(tmp_path: Path) -> None:
    train_json, images = _coco_fixture(tmp_path)
    document = json.loads(train_json.read_text())
    json_dir = train_json.parent

    missing_files = {**document, "images": document["images"] + [
        {"id": 10 + k, "file_name": f"gone{k}.png", "width": 2, "height": 2} for k in range(4)]}
    wrong_size = json.loads(json.dumps(document))
    wrong_size["images"][0]["width"] = 5
    wrong_size["annotations"][0]["segmentation"] = _column_rle(3, 5, 1)
    turned_wrong = json.loads(json.dumps(document))
    turned_wrong["images"][3].update(width=3, height=3)
    turned_wrong["annotations"][3]["segmentation"] = _column_rle(3, 3, 0)
    no_images = {"images": [], "annotations": [], "categories": document["categories"]}
    cases = [
        (missing_files, {"images": images},
         f"4 of 9 images listed in {json_dir / 'bad.json'} cannot be found (gone0.png, gone1.png, gone2.png, ...): looked for each"
         f" file_name, and its bare file name, under {images} and {json_dir}; give the folder that holds them as images"),
        (wrong_size, {"images": images},
         f"image {images / 'a.png'} is 4x3 (width x height, after EXIF orientation) but its size in "
         f"{json_dir / 'bad.json'} is 5x3; fix its width and height in the json, or use the image that was annotated"),
        (turned_wrong, {"images": images},
         f"image {images / 'turned_shown.png'} is 2x3 (width x height, after EXIF orientation) but "
         f"its size in {json_dir / 'bad.json'} is 3x3; fix its width and height in the json, or use the image that was annotated"),
        (no_images, {}, f"{json_dir / 'bad.json'} lists no images; export the split again with its images"),
        (document, {"images": tmp_path / "nowhere"},
         f"images {tmp_path / 'nowhere'} does not exist or is not a folder"),
        (document, {"images": images, "crowd": "keep"}, "crowd must be 'ignore' or 'class', got 'keep'"),
        (document, {"images": images, "order": "size"}, "order must be 'area' or 'file', got 'size'"),
        (document, {"images": images, "ignore_index": 2},
         "ignore_index 2 is a class index (classes are 0..2); use a value outside them, such as 255"),
        (document, {"images": images, "classes": ["a"]},
         "classes names the classes of a folder dataset; a COCO dataset takes its class names from its categories"),
        (document, {"images": images, "size": (0, 4)}, "size must be N or (height, width), positive integers, got (0, 4)"),
        (document, {"images": images, "size": "64"}, "size must be N or (height, width), positive integers, got '64'"),
        (document, {"images": images, "size": 32, "resize": "squash"}, "resize must be stretch or fit, got 'squash'"),
        (document, {"images": images, "resize": "fit"}, "resize fit pads each image to size, and no size is given; give size (height, width) with it"),
    ]
    for bad, options, message in cases:
        bad_json = _write_json(json_dir / "bad.json", bad)
        with pytest.raises(AugmentlabError) as error:
            load_dataset(bad_json, **options)
        assert str(error.value) == message, message


def test_unreadable_and_corrupt_images(tmp_path: Path) -> None:
    train_json, images = _coco_fixture(tmp_path)
    (images / "a.png").write_bytes(b"this is no picture")
    with pytest.raises(AugmentlabError) as error:
        load_dataset(train_json, images=images)
    assert str(error.value) == (
        f"cannot read image {images / 'a.png'}: not an image format Pillow recognises; replace or remove the file"
    )
    truncated = _corrupt_png(tmp_path / "truncated.png")
    with pytest.raises(AugmentlabError) as error:
        read_image(truncated)
    assert str(error.value) == (
        f"cannot read image {truncated}: image file is truncated; the file is corrupt, replace or remove it"
    )


def test_folder_bad_input(tmp_path: Path) -> None:
    images, masks = _folder_fixture(tmp_path)
    rgb_masks = tmp_path / "rgb_masks"
    _save(rgb_masks / "0001.png", _rgb(2, 3, 0))
    small_masks = tmp_path / "small_masks"
    _save(small_masks / "0001.png", np.zeros((2, 2), np.uint8))
    other_masks = tmp_path / "other_masks"
    cases = [
        ({"masks": masks, "strict": True},
         f"1 image in {images} has no mask with the same stem (0003.png); add the missing files in {masks} "
         "or remove these, or leave out strict"),
        ({"masks": rgb_masks},
         f"mask {rgb_masks / '0001.png'} is an RGB image, not an index mask; for colour-coded masks give their colour table "
         "(a CSV name,r,g,b such as CamVid's class_dict.csv) with mask_colours, or export masks as index PNGs "
         "(mode L or P, one class index per pixel)"),
        ({"masks": small_masks},
         f"image {images / '0001.png'} is 3x2 (width x height, after EXIF orientation) but its mask "
         f"{small_masks / '0001.png'} is 2x2; masks must have the size of their images"),
        ({"masks": masks, "classes": ["background", "road", "car"]},
         f"mask {masks / '0002.png'} has label 3 but there are 3 classes (0..2); name every class in classes, "
         "or set ignore_index 3 if it marks void pixels"),
        ({"masks": masks, "ignore_index": -100}, "ignore_index must be ≥ 0, got -100"),
        ({"masks": masks, "ignore_index": 1},
         "ignore_index 1 is a class index (classes are 0..255); use a value outside them, such as 65535"),
        ({"masks": other_masks},
         f"masks folder {other_masks} does not exist or is not a folder; check the path"),
        ({"masks": masks, "images": images},
         "images is for COCO datasets; a folder dataset takes its images from data IMAGES_DIR"),
        ({}, f"{images} is a folder; give its masks' folder as masks for an image+mask folder dataset, "
             "or give the path of a COCO instances json"),
    ]
    for options, message in cases:
        with pytest.raises(AugmentlabError) as error:
            load_dataset(images, **options)
        assert str(error.value) == message, message
    (tmp_path / "empty").mkdir()
    with pytest.raises(AugmentlabError) as error:
        load_dataset(tmp_path / "empty", masks=masks)
    assert str(error.value) == (
        f"no image in {tmp_path / 'empty'} has a mask with the same file stem in {masks}; "
        "name each mask like its image, e.g. 0001.jpg and 0001.png"
    )


def test_split_bad_input(tmp_path: Path) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    for k in range(3):
        _save(images / f"{k}.png", _rgb(2, 2, k))
        _save(masks / f"{k}.png", np.array([[0, 1], [0, 0]], np.uint8))
    train_json, coco_images = _coco_fixture(tmp_path)
    other = json.loads(train_json.read_text())
    other["categories"][1]["name"] = "metal"
    other_json = _write_json(tmp_path / "other.json", other)
    cases = [
        ((images,), {"masks": masks, "val_split": 0.1},
         "val_split 0.1 of 3 samples leaves validation empty; use a larger val_split, more data, or a separate val"),
        ((images,), {"masks": masks, "val_split": 0.9},
         "val_split 0.9 of 3 samples leaves training empty; use a smaller val_split, more data, or a separate val"),
        ((images,), {"masks": masks, "val_split": 1.0}, "val_split must be between 0 and 1 (exclusive), got 1.0"),
        ((images,), {"masks": masks, "val": images},
         f"val {images} needs val_masks VAL_MASKS_DIR with the masks of its images"),
        ((train_json,), {"val_masks": masks},
         "val_masks goes with a folder dataset: give data IMAGES_DIR, masks MASKS_DIR and val VAL_IMAGES_DIR"),
        ((train_json,), {"val": train_json, "val_split": 0.3},
         "val_split 0.3 holds out a share of data when there is no val; with val given, leave val_split out"),
        ((None,), {"images": coco_images},
         "images is the folder of a COCO json's images: give it with data TRAIN.json (without data, the built-in demo data is used)"),
        ((None,), {"val": train_json},
         "val goes with data: give the train split too (without data, the built-in demo data is used, with its own val split)"),
        ((train_json,), {"val": other_json, "images": coco_images},
         f"{train_json} and {other_json} have different classes (class 2 is 'glass' against 'metal'); "
         "export both splits with the same categories"),
    ]
    for args, options, message in cases:
        with pytest.raises(AugmentlabError) as error:
            load_splits(*args, **options)
        assert str(error.value) == message, message


def test_skipped_shapes_warn_or_fail_when_strict(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _save(tmp_path / "a.png", _rgb(3, 4, 0))
    document = {
        "images": [{"id": 1, "file_name": "a.png", "width": 4, "height": 3}],
        "categories": [{"id": 1, "name": "paper"}],
        "annotations": [{"id": 9, "image_id": 1, "category_id": 1,
                         "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2], [1, 1, 2, 2]]}],
    }
    path = _write_json(tmp_path / "train.json", document)
    summary = "1 degenerate polygon (fewer than 3 points or zero area), in annotation ids 9"
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        assert len(load_dataset(path)) == 1
    assert [r.getMessage() for r in caplog.records] == [f"{path}: skipped {summary}"]
    with pytest.raises(AugmentlabError) as error:
        load_dataset(path, strict=True)
    assert str(error.value) == f"{path} has {summary}; fix or delete them, or leave out strict to skip them"


def test_val_images_that_are_training_images_are_pointed_out(tmp_path: Path) -> None:
    from augmentlab.data.loading import shared_images_warning

    images, masks = tmp_path / "images", tmp_path / "masks"
    for name in ("a", "b", "c"):
        _save(images / f"{name}.png", _rgb(2, 2, 0))
        _save(masks / f"{name}.png", np.array([[0, 1], [1, 0]], np.uint8))
    (tmp_path / "alias").symlink_to(images)  # the same files under another name
    train, val = load_splits(images, masks=masks, val=tmp_path / "alias", val_masks=masks)
    assert shared_images_warning(train, val) == (
        f"3 of the 3 val images are training images too (e.g. {tmp_path / 'alias' / 'a.png'}): their scores measure memorisation, "
        "not how well a model generalises; give a val split with other images, or leave val out to hold out a share"
    )
    assert shared_images_warning(*load_splits(images, masks=masks, val_split=0.34)) is None  # a held-out share is other images


def test_jpeg_masks_are_refused_for_what_jpeg_does_to_labels(tmp_path: Path) -> None:
    images, masks = tmp_path / "images", tmp_path / "labels"
    _save(images / "0001.png", _rgb(2, 2, 0))
    masks.mkdir()
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(masks / "0001_L.jpg")
    with pytest.raises(AugmentlabError) as error:
        load_dataset(images, masks=masks)
    assert str(error.value) == (
        f"masks in {masks} are JPEG (0001_L.jpg), and masks must be PNG: JPEG smooths label edges into values (or colours) of no class; "
        "export the masks as PNG"
    )


def test_classes_given_as_one_string_is_refused_not_read_letter_by_letter(tmp_path: Path) -> None:
    images, masks = _folder_fixture(tmp_path)
    with pytest.raises(AugmentlabError) as error:
        load_dataset(images, masks=masks, classes="sky,road")
    assert str(error.value) == "classes is a list of names, got the string 'sky,road'; pass ['sky', 'road']"
