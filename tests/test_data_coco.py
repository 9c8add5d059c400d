"""COCO reading and rasterization: masks equal pycocotools' annToMask plus the overlap rule."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from augmentlab.data import (
    coco_class_stats,
    load_dataset,
    rasterize_coco_masks,
    read_coco,
)
from augmentlab.data.coco.dataset import annotation_key, coco_mask_cache_path
from augmentlab.errors import AugmentlabError

# pycocotools' decode under numpy 2; harmless, and not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

TACO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "taco" / "annotations.json"


def _compressed_rle_counts() -> str:
    region = np.zeros((6, 6), dtype=np.uint8, order="F")
    region[0:2, 3:6] = 1
    region[4, 0:3] = 1
    return mask_utils.encode(region)["counts"].decode("ascii")


def _fixture() -> dict:
    """Polygons, a multi-polygon, both RLE kinds, a crowd region, overlaps, odd ids, unused and background categories."""
    return {
        "images": [
            {"id": 1, "file_name": "a.jpg", "height": 8, "width": 10},
            {"id": 2, "file_name": "b.jpg", "height": 6, "width": 6},
            {"id": 3, "file_name": "c.jpg", "height": 5, "width": 7},
        ],
        "categories": [
            {"id": 3, "name": "paper"},
            {"id": 7, "name": "glass"},
            {"id": 20, "name": "unused"},
            {"id": 0, "name": "_Background_"},
        ],
        "annotations": [
            # a small object listed before the large one it lies on
            {"id": 5, "image_id": 1, "category_id": 7, "segmentation": [[2, 2, 5, 2, 5, 5, 2, 5]], "iscrowd": 0},
            {"id": 1, "image_id": 1, "category_id": 3, "segmentation": [[1, 1, 9, 1, 9, 7, 1, 7]], "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 7, "iscrowd": 1,
             "segmentation": {"size": [8, 10], "counts": [56, 2, 6, 2, 14]}},
            {"id": 3, "image_id": 2, "category_id": 7, "iscrowd": 0,
             "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2], [3, 3, 6, 3, 6, 6, 3, 6]]},
            {"id": 4, "image_id": 2, "category_id": 3, "iscrowd": 0,
             "segmentation": {"size": [6, 6], "counts": _compressed_rle_counts()}},
            {"id": 6, "image_id": 2, "category_id": 0, "segmentation": [[4, 4, 6, 4, 6, 6, 4, 6]], "iscrowd": 0},
        ],
    }


def _write(tmp_path: Path, document: dict | str, name: str = "train.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _reference_mask(coco: COCO, image_id: int, class_of_category: dict, *, crowd: str, order: str) -> np.ndarray:
    """annToMask per annotation, then the documented overlap rule."""
    info = coco.imgs[image_id]
    mask = np.zeros((info["height"], info["width"]), dtype=np.int64)
    shapes = [(ann, coco.annToMask(ann).astype(bool)) for ann in coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))]
    if order == "area":
        shapes.sort(key=lambda shape: (-int(shape[1].sum()), shape[0]["id"]))
    for ann, region in shapes:
        ignored = ann["iscrowd"] and crowd == "ignore"
        mask[region] = 255 if ignored else class_of_category[ann["category_id"]]
    return mask


@pytest.fixture
def fixture_path(tmp_path: Path) -> Path:
    return _write(tmp_path, _fixture())


def test_class_mapping_keeps_unused_and_non_contiguous_ids_and_folds_background(fixture_path):
    coco = read_coco(fixture_path)
    assert coco.class_names == ("background", "paper", "glass", "unused")
    assert coco.class_of_category == {0: 0, 3: 1, 7: 2, 20: 3}
    assert coco.num_classes == 4
    assert not coco.skipped


def _roboflow(categories: list[dict], used: list[int]) -> dict:
    """An export with one 4×4 image and one square annotation of each category in ``used``."""
    annotations = [
        {"id": index, "image_id": 1, "category_id": category, "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]], "iscrowd": 0}
        for index, category in enumerate(used)
    ]
    return {"images": [{"id": 1, "file_name": "a.jpg", "height": 4, "width": 4}], "categories": categories, "annotations": annotations}


ROBOFLOW_CATEGORIES = [
    {"id": 0, "name": "waste-xyz", "supercategory": "none"},
    {"id": 1, "name": "bottle", "supercategory": "waste-xyz"},
    {"id": 2, "name": "can", "supercategory": "waste-xyz"},
]


@pytest.mark.parametrize(
    ("categories", "used", "class_names", "placeholder"),
    [
        # Roboflow: the dataset's own entry above every category, used by no annotation: not a class.
        (ROBOFLOW_CATEGORIES, [1, 2], ("background", "bottle", "can"), 0),
        (ROBOFLOW_CATEGORIES, [2], ("background", "bottle", "can"), 0),
        # An annotation uses it: it is a class like any other.
        (ROBOFLOW_CATEGORIES, [0, 1], ("background", "waste-xyz", "bottle", "can"), None),
        # Not the supercategory of every other one: an unused category keeps its class.
        ([*ROBOFLOW_CATEGORIES[:2], {"id": 2, "name": "can", "supercategory": "metal"}], [1], ("background", "waste-xyz", "bottle", "can"), None),
        # A lone category is no placeholder, even unused.
        ([{"id": 4, "name": "litter", "supercategory": "none"}], [], ("background", "litter"), None),
    ],
)
def test_a_dataset_placeholder_category_is_not_a_class(tmp_path, categories, used, class_names, placeholder):
    coco = read_coco(_write(tmp_path, _roboflow(categories, used)))
    assert coco.class_names == class_names
    assert (coco.placeholder.id if coco.placeholder else None) == placeholder
    if placeholder is not None:
        assert coco.class_of_category[placeholder] == 0


def test_a_placeholder_is_named_in_a_warning_and_its_masks_use_the_classes_without_it(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("AUGMENTLAB_CACHE", str(tmp_path / "cache"))
    Image.new("RGB", (4, 4)).save(tmp_path / "a.jpg")
    path = _write(tmp_path, _roboflow(ROBOFLOW_CATEGORIES, [2]), "_annotations.coco.json")
    with caplog.at_level(logging.WARNING, logger="augmentlab.data"):
        dataset = load_dataset(path)
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}: category 0 'waste-xyz' is the supercategory of every other category and no annotation uses it "
        "(a Roboflow export's entry for the dataset itself), so it is not a class"
    ]
    assert dataset.class_names == ("background", "bottle", "can")
    assert dataset[0][1].tolist() == [[2, 2, 0, 0], [2, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]


def test_the_mask_cache_key_follows_the_class_of_each_category():
    options = {"crowd": "ignore", "order": "area", "ignore_index": 255}
    # The data's identity leaves the classes out: ablation folders are named after it, and must resume across versions.
    assert annotation_key(b"{}", **options) == "1d86350326e5e7db35e01dd81095c895ba18e112c3c8b3114d6d5129363de12e"
    key = annotation_key(b"{}", **options)
    same = coco_mask_cache_path(key, {0: 0, 1: 1, 2: 2})
    assert same == coco_mask_cache_path(key, {2: 2, 1: 1, 0: 0})
    assert same != coco_mask_cache_path(key, {0: 1, 1: 2, 2: 3})


@pytest.mark.parametrize("crowd", ["ignore", "class"])
@pytest.mark.parametrize("order", ["area", "file"])
def test_masks_equal_ann_to_mask_plus_the_overlap_rule(fixture_path, crowd, order):
    coco = read_coco(fixture_path)
    reference = COCO(str(fixture_path))
    for image in coco.images:
        mask = rasterize_coco_masks(coco, image.id, crowd=crowd, order=order)
        assert mask.dtype == np.uint8
        expected = _reference_mask(reference, image.id, coco.class_of_category, crowd=crowd, order=order)
        np.testing.assert_array_equal(mask, expected)


def test_area_order_keeps_the_small_object_on_top_and_crowd_as_ignore(fixture_path):
    expected = np.array(
        [
            [0, 0, 0, 0, 0, 0, 0, 255, 255, 0],
            [0, 1, 1, 1, 1, 1, 1, 255, 255, 0],
            [0, 1, 2, 2, 2, 1, 1, 1, 1, 0],
            [0, 1, 2, 2, 2, 1, 1, 1, 1, 0],
            [0, 1, 2, 2, 2, 1, 1, 1, 1, 0],
            [0, 1, 1, 1, 1, 1, 1, 1, 1, 0],
            [0, 1, 1, 1, 1, 1, 1, 1, 1, 0],
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ]
    )
    np.testing.assert_array_equal(rasterize_coco_masks(read_coco(fixture_path), 1), expected)


def test_file_order_draws_the_last_annotation_on_top_and_crowd_as_its_class(fixture_path):
    expected = np.array(
        [
            [0, 0, 0, 0, 0, 0, 0, 2, 2, 0],
            [0, 1, 1, 1, 1, 1, 1, 2, 2, 0],
            [0, 1, 1, 1, 1, 1, 1, 1, 1, 0],
            [0, 1, 1, 1, 1, 1, 1, 1, 1, 0],
            [0, 1, 1, 1, 1, 1, 1, 1, 1, 0],
            [0, 1, 1, 1, 1, 1, 1, 1, 1, 0],
            [0, 1, 1, 1, 1, 1, 1, 1, 1, 0],
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ]
    )
    mask = rasterize_coco_masks(read_coco(fixture_path), 1, order="file", crowd="class")
    np.testing.assert_array_equal(mask, expected)


def test_multi_polygon_compressed_rle_and_background_category(fixture_path):
    expected = np.array(
        [
            [2, 2, 0, 1, 1, 1],
            [2, 2, 0, 1, 1, 1],
            [0, 0, 0, 0, 0, 0],
            [0, 0, 0, 2, 2, 2],
            [1, 1, 1, 2, 0, 0],
            [0, 0, 0, 2, 0, 0],
        ]
    )
    coco = read_coco(fixture_path)
    np.testing.assert_array_equal(rasterize_coco_masks(coco, 2), expected)
    np.testing.assert_array_equal(rasterize_coco_masks(coco, 3), np.zeros((5, 7)))


def test_ignore_index_beyond_uint8_gives_int64(fixture_path):
    mask = rasterize_coco_masks(read_coco(fixture_path), 1, ignore_index=-100)
    assert mask.dtype == np.int64
    assert (mask == -100).sum() == 4


def test_odd_field_types_and_extra_keys_read_like_the_plain_file(tmp_path, fixture_path):
    odd = _fixture()
    odd["info"] = {"tool": "labelme"}
    odd["images"][0].update(id="1", width=10.0, height="8", license=None, extra={"x": 1})
    odd["categories"][1].update(id="7", supercategory=None, color="#ff0000")
    for annotation in odd["annotations"]:
        annotation["iscrowd"] = bool(annotation["iscrowd"])
        annotation["attributes"] = {"occluded": False}
        annotation["area"] = "unknown"
    odd["annotations"][0].update(id=5.0, image_id="1", category_id=7.0)
    odd["annotations"][1]["segmentation"] = [1, 1, 9, 1, 9, 7, 1, 7]  # one flat polygon
    odd["annotations"][3]["iscrowd"] = "false"
    plain, read_odd = read_coco(fixture_path), read_coco(_write(tmp_path, odd, "odd.json"))
    assert read_odd.class_names == plain.class_names
    for image in plain.images:
        np.testing.assert_array_equal(rasterize_coco_masks(read_odd, image.id), rasterize_coco_masks(plain, image.id))


def _with_degenerate_polygons() -> dict:
    document = _fixture()
    document["annotations"][3]["segmentation"].append([1, 1, 3, 3])  # two points
    document["annotations"].append(
        {"id": 9, "image_id": 2, "category_id": 3, "segmentation": [[0, 0, 2, 2, 4, 4]], "iscrowd": 0}  # collinear
    )
    return document


def test_degenerate_polygons_are_skipped_and_counted(tmp_path, fixture_path):
    coco = read_coco(_write(tmp_path, _with_degenerate_polygons(), "degenerate.json"))
    assert (coco.skipped.degenerate_polygons, coco.skipped.empty_annotations) == (2, 1)
    assert coco.skipped.summary() == (
        "2 degenerate polygons (fewer than 3 points or zero area) and 1 annotation with no shape left, "
        "in annotation ids 3, 9"
    )
    np.testing.assert_array_equal(rasterize_coco_masks(coco, 2), rasterize_coco_masks(read_coco(fixture_path), 2))


def test_strict_raises_on_degenerate_polygons(tmp_path):
    path = _write(tmp_path, _with_degenerate_polygons(), "degenerate.json")
    with pytest.raises(AugmentlabError) as error:
        read_coco(path, strict=True)
    assert str(error.value) == (
        f"{path} has 2 degenerate polygons (fewer than 3 points or zero area) and 1 annotation with no shape "
        "left, in annotation ids 3, 9; fix or delete them, or leave out strict to skip them"
    )


def test_class_stats_count_pixels_instances_and_images(fixture_path):
    stats = coco_class_stats(read_coco(fixture_path))
    assert stats.num_images == 3
    assert stats.pixel_counts.tolist() == [30 + 18 + 35, 37 + 9, 9 + 9, 0]
    assert stats.instance_counts.tolist() == [1, 2, 2, 0]
    assert stats.image_counts.tolist() == [3, 2, 2, 0]
    assert stats.pixels_of_images_with_class.tolist() == [76 + 36 + 35, 76 + 36, 76 + 36, 0]
    assert stats.ignored_pixels == 4
    assert stats.image_sizes == {(8, 10): 1, (6, 6): 1, (5, 7): 1}
    crowd_as_class = coco_class_stats(read_coco(fixture_path), [1], crowd="class")
    assert crowd_as_class.instance_counts.tolist() == [0, 1, 2, 0]
    assert crowd_as_class.ignored_pixels == 0


def _missing(document: dict, section: str) -> dict:
    del document[section]
    return document


def _edited(document: dict, section: str, index: int, **changes) -> dict:
    document[section][index].update(changes)
    return document


def _bad_references(document: dict) -> dict:
    for annotation_id, image_id in [(11, 40), (12, 41), (13, 40), (14, 42), (15, 43), (16, 44), (17, 45)]:
        document["annotations"].append(
            {"id": annotation_id, "image_id": image_id, "category_id": 3, "segmentation": [[0, 0, 1, 0, 1, 1]]}
        )
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"images": [],\n "annotations": [,]}',
         "{path} is not valid JSON: Expecting value at line 2, column 18; fix the file or export it again"),
        ("[1, 2]", "{path} is not a COCO instances file: its top level is not an object; "
         "a COCO instances json has top-level lists 'images', 'annotations' and 'categories'"),
        (_missing(_fixture(), "categories"), "{path} is not a COCO instances file: key 'categories' is missing; "
         "a COCO instances json has top-level lists 'images', 'annotations' and 'categories'"),
        ({**_fixture(), "annotations": {}}, "{path} is not a COCO instances file: 'annotations' is not a list; "
         "a COCO instances json has top-level lists 'images', 'annotations' and 'categories'"),
        ({**_fixture(), "annotations": [{"id": 1, "image_id": 1, "caption": "a cat"}]},
         "{path}: annotations[0] has no 'category_id'; each entry needs 'id', 'image_id', 'category_id' and 'segmentation'"),
        (_edited(_fixture(), "images", 1, width=True), "{path}: images[1] has width true; it must be an integer"),
        (_edited(_fixture(), "images", 1, height=0), "{path}: images[1] (id 2) has size 6x0; width and height must be > 0"),
        (_edited(_fixture(), "annotations", 0, iscrowd=2),
         "{path}: annotations[0] has iscrowd 2; it must be 0, 1, true or false"),
        (_edited(_fixture(), "annotations", 0, image_id="one"),
         '{path}: annotations[0] has image_id "one"; it must be an integer'),
        (_edited(_fixture(), "categories", 2, id=7), "{path}: 1 id appears more than once in 'categories' (7); "
         "each entry needs its own id"),
        (_bad_references(_fixture()), "{path}: 7 annotations point at 6 unknown image ids (40, 41, 42, 43, 44, ...); "
         "every image_id must be the id of an entry in 'images'"),
        (_edited(_fixture(), "annotations", 2, category_id=99),
         "{path}: 1 annotation points at 1 unknown category id (99); every category_id must be the id of an entry in 'categories'"),
        (_edited(_fixture(), "annotations", 0, segmentation="polygon"),
         "{path}: annotations[0] (id 5) has a segmentation of type str; it must be a list of polygons or an RLE object "
         "with 'size' and 'counts'"),
        (_edited(_fixture(), "annotations", 0, segmentation=[[1, 2, 3, 4, 5, 6, 7]]),
         "{path}: annotations[0] (id 5) has a polygon with an odd number of coordinates (7); "
         "write each polygon as [x0, y0, x1, y1, ...]"),
        (_edited(_fixture(), "annotations", 0, segmentation=[["1", 2, 3, 4, 5, 6]]),
         "{path}: annotations[0] (id 5) has a polygon that is not a flat list of numbers; "
         "write each polygon as [x0, y0, x1, y1, ...]"),
        (_edited(_fixture(), "annotations", 2, segmentation={"size": [10, 8], "counts": [80]}),
         "{path}: annotations[2] (id 2) has an RLE of size [10, 8] but image 1 is [8, 10] (height, width); "
         "the RLE size must match its image"),
        (_edited(_fixture(), "annotations", 2, segmentation={"size": [8, 10], "counts": [56, 2, 6, 2]}),
         "{path}: annotations[2] (id 2) has uncompressed RLE counts that sum to 66, not height × width = 80; "
         "export it again"),
        (_edited(_fixture(), "annotations", 2, segmentation={"size": [8, 10], "counts": [56, -2, 6, 2]}),
         "{path}: annotations[2] (id 2) has RLE counts that are neither an ASCII string nor a list of integers ≥ 0; "
         "export it again"),
    ],
)
def test_bad_input_gets_one_precise_line(tmp_path, document, message):
    path = _write(tmp_path, document)
    with pytest.raises(AugmentlabError) as error:
        read_coco(path)
    assert str(error.value) == message.format(path=path)
    assert "\n" not in str(error.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(AugmentlabError) as error:
        read_coco(tmp_path / "nope.json")
    assert str(error.value) == (
        f"COCO annotation file {tmp_path / 'nope.json'} does not exist; pass the path of the instances json"
    )
    with pytest.raises(AugmentlabError) as error:
        read_coco(tmp_path)
    assert str(error.value) == f"COCO annotation file {tmp_path} is a folder, not a file; pass the path of the instances json"


def test_rasterize_rejects_bad_options(fixture_path):
    coco = read_coco(fixture_path)
    with pytest.raises(ValueError, match="crowd must be 'ignore' or 'class', got 'skip'"):
        rasterize_coco_masks(coco, 1, crowd="skip")
    with pytest.raises(ValueError, match="order must be 'area' or 'file', got 'size'"):
        rasterize_coco_masks(coco, 1, order="size")
    with pytest.raises(ValueError, match=r"ignore_index 2 is a class index \(classes are 0..3\)"):
        rasterize_coco_masks(coco, 1, ignore_index=2)


@pytest.fixture(scope="module")
def taco():
    if not TACO.is_file():
        pytest.skip(f"TACO annotations not found at {TACO}; they live in the shared data folder beside the repository")
    return read_coco(TACO), COCO(str(TACO))


def _taco_sample(coco) -> list[int]:
    busiest = max(coco.images, key=lambda image: len(coco.annotations_by_image[image.id]))
    return [image.id for image in coco.images[:5]] + [busiest.id]


def test_taco_class_mapping(taco):
    coco, _ = taco
    assert len(coco.categories) == 60
    assert coco.num_classes == 61
    assert coco.class_of_category[0] == 1
    assert coco.class_names[:2] == ("background", "Aluminium foil")
    assert coco.class_of_category == {category_id: category_id + 1 for category_id in range(60)}
    assert sum(len(annotations) for annotations in coco.annotations_by_image.values()) == 4784


def test_taco_masks_equal_ann_to_mask_reference(taco):
    coco, reference = taco
    sample = _taco_sample(coco)
    assert len(coco.annotations_by_image[sample[-1]]) == 90
    for image_id in sample:
        mask = rasterize_coco_masks(coco, image_id)
        expected = _reference_mask(reference, image_id, coco.class_of_category, crowd="ignore", order="area")
        np.testing.assert_array_equal(mask, expected)


def test_taco_class_stats_match_reference_masks(taco):
    coco, reference = taco
    sample = [image.id for image in coco.images[:5]]
    stats = coco_class_stats(coco, sample)
    masks = [_reference_mask(reference, i, coco.class_of_category, crowd="ignore", order="area") for i in sample]
    counts = [np.bincount(mask.ravel(), minlength=coco.num_classes) for mask in masks]
    np.testing.assert_array_equal(stats.pixel_counts, np.sum(counts, axis=0))
    np.testing.assert_array_equal(stats.image_counts, np.sum([c > 0 for c in counts], axis=0))
    instances = np.bincount(
        [coco.class_of_category[a.category_id] for i in sample for a in coco.annotations_by_image[i]],
        minlength=coco.num_classes,
    )
    np.testing.assert_array_equal(stats.instance_counts, instances)
    assert stats.num_images == 5
    assert stats.ignored_pixels == 0
