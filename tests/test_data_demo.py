"""The demo dataset: deterministic bytes, valid COCO that rasterizes back to the drawn label maps, atomic caching."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from augmentlab.data import rasterize_coco_masks, read_coco
from augmentlab.data.demo import generator as demo
from augmentlab.data.demo.generator import (
    CLASS_NAMES,
    DemoPaths,
    demo_dataset,
    demo_scene,
    generate_demo_dataset,
    mask_outlines,
)
from augmentlab.errors import AugmentlabError

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

SMALL = {"train_images": 6, "val_images": 3, "size": (128, 160)}


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoPaths:
    return generate_demo_dataset(tmp_path_factory.mktemp("demo") / "out", seed=3, **SMALL)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_class_names_are_the_waste_sorting_classes_plus_food_waste():
    assert CLASS_NAMES == (
        "General trash", "Paper", "Paper pack", "Metal", "Glass", "Plastic",
        "Styrofoam", "Plastic bag", "Battery", "Clothing", "Food waste",
    )


def test_same_seed_gives_identical_bytes_in_json_and_jpegs(tmp_path: Path, small_demo: DemoPaths):
    again = generate_demo_dataset(tmp_path / "again", seed=3, **SMALL)
    first, second = _files(small_demo.train_json.parent), _files(again.train_json.parent)
    assert sorted(first) == ["images/train_0000.jpg", "images/train_0001.jpg", "images/train_0002.jpg",
                             "images/train_0003.jpg", "images/train_0004.jpg", "images/train_0005.jpg",
                             "images/val_0000.jpg", "images/val_0001.jpg", "images/val_0002.jpg",
                             "train.json", "val.json"]
    assert first == second


def test_another_seed_gives_other_images_and_annotations(tmp_path: Path, small_demo: DemoPaths):
    other = generate_demo_dataset(tmp_path / "other", seed=4, **SMALL)
    assert other.train_json.read_bytes() != small_demo.train_json.read_bytes()
    assert (other.images / "val_0000.jpg").read_bytes() != (small_demo.images / "val_0000.jpg").read_bytes()


def test_output_is_coco_with_eleven_categories_and_no_skipped_shapes(small_demo: DemoPaths):
    for path, count in ((small_demo.train_json, 6), (small_demo.val_json, 3)):
        coco = read_coco(path, strict=True)
        assert not coco.skipped
        assert coco.class_names == ("background", *CLASS_NAMES)
        assert [(c.id, c.name) for c in coco.categories] == list(enumerate(CLASS_NAMES, start=1))
        assert [(i.id, i.file_name, i.height, i.width) for i in coco.images] == [
            (k + 1, f"{path.stem}_{k:04d}.jpg", 128, 160) for k in range(count)
        ]
        assert all((small_demo.images / i.file_name).is_file() for i in coco.images)


def test_document_fields(small_demo: DemoPaths):
    document = json.loads(small_demo.val_json.read_text())
    assert document["info"] == {
        "description": "augmentlab demo-v1: synthetic waste-sorting scenes, not photos", "version": "demo-v1", "seed": 3,
    }
    annotation = document["annotations"][0]
    assert sorted(annotation) == ["area", "bbox", "category_id", "id", "image_id", "iscrowd", "segmentation"]
    assert [a["id"] for a in document["annotations"]] == list(range(1, len(document["annotations"]) + 1))


@pytest.mark.parametrize("split, index", [("train", i) for i in range(6)] + [("val", i) for i in range(3)])
def test_rasterized_annotations_reproduce_the_drawn_label_map(small_demo: DemoPaths, split: str, index: int):
    coco = read_coco(small_demo.train_json if split == "train" else small_demo.val_json)
    scene = demo_scene(3, split, index, SMALL["size"])
    mask = rasterize_coco_masks(coco, index + 1)
    assert (mask == scene.label_map).mean() >= 0.97
    assert sorted(np.unique(scene.label_map)[1:].tolist()) == sorted({o.category_id for o in scene.objects})


def test_scenes_hold_polygons_multi_polygons_and_several_instances_of_a_class():
    scenes = [demo_scene(0, "train", i) for i in range(10)]
    objects = [o for s in scenes for o in s.objects]
    assert sum(len(o.polygons) == 1 for o in objects) >= 30
    assert sum(len(o.polygons) > 1 for o in objects) >= 5
    assert any(max(np.bincount([o.category_id for o in s.objects])) >= 2 for s in scenes)
    for scene in scenes:
        assert scene.image.dtype == np.uint8 and scene.image.shape == (256, 256, 3)
        assert scene.label_map.dtype == np.uint8 and scene.label_map.shape == (256, 256)
        for category_id in range(1, 12):
            area = sum(o.area for o in scene.objects if o.category_id == category_id)
            assert area == (scene.label_map == category_id).sum()


def test_classes_are_uneven_with_rare_batteries_and_clothing():
    counts = np.bincount([o.category_id for i in range(40) for o in demo_scene(0, "train", i).objects], minlength=12)
    assert counts[1:].min() >= 1
    assert set(np.argsort(counts[1:])[:2] + 1) == {9, 10}  # Battery and Clothing
    assert counts[1:].max() >= 5 * counts[1:].min()


def _square(x0: int, y0: int, x1: int, y1: int) -> list[list[int]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


@pytest.mark.parametrize(
    "rows, expected",
    [
        (["#"], [_square(0, 0, 1, 1)]),
        (["..", ".."], []),
        (["##.", "##."], [_square(0, 0, 2, 2)]),
        (["#.", ".#"], [_square(0, 0, 1, 1), _square(1, 1, 2, 2)]),  # diagonal pixels are two regions
        ([".#", "#."], [_square(1, 0, 2, 1), _square(0, 1, 1, 2)]),
        (["###", "#.#", "###"], [_square(0, 0, 3, 3)]),  # the hole is left out
        (["#..", "###"], [[[0, 0], [1, 0], [1, 1], [3, 1], [3, 2], [0, 2]]]),
        (["#.#"], [_square(0, 0, 1, 1), _square(2, 0, 3, 1)]),
    ],
)
def test_mask_outlines(rows: list[str], expected: list[list[list[int]]]):
    mask = np.array([[c == "#" for c in row] for row in rows])
    assert sorted(o.tolist() for o in mask_outlines(mask)) == sorted(expected)


def test_exact_outlines_rasterize_back_to_hole_free_masks():
    rng = np.random.default_rng(0)
    for _ in range(50):
        obj = demo_scene(int(rng.integers(100)), "train", 0, (64, 64)).objects[0]
        polygons = [list(map(float, p)) for p in obj.polygons]
        mask = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polygons, 64, 64))).astype(bool)
        outlines = mask_outlines(mask)
        decoded = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([o.ravel().tolist() for o in outlines], 64, 64)))
        assert (decoded.astype(bool) == mask).all()


def test_simplified_outline_keeps_a_region_too_small_to_simplify():
    assert [o.tolist() for o in mask_outlines(np.array([[True]]), tolerance=5.0)] == [_square(0, 0, 1, 1)]
    staircase = np.tril(np.ones((20, 20), dtype=bool))
    (outline,) = mask_outlines(staircase, tolerance=1.5)
    assert outline.tolist() == [[0, 0], [20, 20], [0, 20]]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"seed": -1}, "seed must be an integer ≥ 0, got -1"),
        ({"train_images": 0}, "train_images must be an integer ≥ 1, got 0"),
        ({"val_images": 1.5}, "val_images must be an integer ≥ 1, got 1.5"),
        ({"size": (16, 64)}, "size must be a pair of integers ≥ 32, got (16, 64)"),
        ({"size": 64}, "size must be a pair of integers ≥ 32, got 64"),
    ],
)
def test_bad_parameters(tmp_path: Path, options: dict, message: str):
    with pytest.raises(ValueError) as error:
        generate_demo_dataset(tmp_path / "out", **options)
    assert str(error.value) == message


def test_refuses_a_folder_that_is_not_empty_or_a_file(tmp_path: Path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "train.json").write_text("{}")
    (tmp_path / "file").write_text("")
    for name, what in (("full", "is not empty"), ("file", "is a file")):
        with pytest.raises(AugmentlabError) as error:
            generate_demo_dataset(tmp_path / name)
        assert str(error.value) == f"demo output folder {tmp_path / name} {what}; give a new or empty folder"
    assert (tmp_path / "full" / "train.json").read_text() == "{}"


@pytest.fixture
def small_default(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Make demo_dataset() generate a small set, and record where it generates."""
    calls: list[Path] = []
    real = demo.generate_demo_dataset

    def generate(out_dir: Path) -> DemoPaths:
        calls.append(out_dir)
        return real(out_dir, train_images=2, val_images=1, size=(64, 64))

    monkeypatch.setattr(demo, "generate_demo_dataset", generate)
    return calls


def test_demo_dataset_generates_once_under_augmentlab_data(tmp_path: Path, monkeypatch, small_default: list[Path]):
    monkeypatch.setenv("AUGMENTLAB_DATA", str(tmp_path / "data"))
    target = tmp_path / "data" / "demo-v1"
    assert demo_dataset() == DemoPaths(target / "train.json", target / "val.json", target / "images")
    assert demo_dataset() == DemoPaths(target / "train.json", target / "val.json", target / "images")
    assert len(small_default) == 1 and small_default[0].parent == tmp_path / "data"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["demo-v1"]  # the staging folder is gone
    assert len(read_coco(target / "train.json").images) == 2


def test_demo_dataset_defaults_to_the_user_cache(tmp_path: Path, monkeypatch, small_default: list[Path]):
    monkeypatch.delenv("AUGMENTLAB_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert demo_dataset().images == tmp_path / ".cache" / "augmentlab" / "demo-v1" / "images"


def test_interrupted_generation_leaves_nothing_that_looks_finished(tmp_path: Path, monkeypatch):
    def interrupted(out_dir: Path) -> DemoPaths:
        (out_dir / "train.json").write_text("{")
        raise KeyboardInterrupt

    monkeypatch.setenv("AUGMENTLAB_DATA", str(tmp_path))
    monkeypatch.setattr(demo, "generate_demo_dataset", interrupted)
    with pytest.raises(KeyboardInterrupt):
        demo_dataset()
    assert list(tmp_path.iterdir()) == []


def test_incomplete_folder_is_reported(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AUGMENTLAB_DATA", str(tmp_path))
    (tmp_path / "demo-v1").mkdir()
    with pytest.raises(AugmentlabError) as error:
        demo_dataset()
    assert str(error.value) == (
        f"demo data folder {tmp_path / 'demo-v1'} is incomplete; delete it and it is generated again on next use"
    )


def test_unwritable_location_is_reported(tmp_path: Path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("AUGMENTLAB_DATA", str(tmp_path / "file"))
    with pytest.raises(AugmentlabError) as error:
        demo_dataset()
    assert str(error.value) == (
        f"cannot write the demo data to {tmp_path / 'file' / 'demo-v1'}: File exists; set AUGMENTLAB_DATA to a writable folder"
    )
