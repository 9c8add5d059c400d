"""COCO layouts as teams have them: per-split image folders, exports' ``path`` fields, COCO's train2017/val2017."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from augmentlab.cli import app
from augmentlab.data import load_splits
from augmentlab.errors import AugmentlabError

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.fixture(autouse=True)
def _mask_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUGMENTLAB_CACHE", str(tmp_path / "cache"))


def _export(json_path: Path, image_folder: Path, names: list[str], *, path_field: str | None = None) -> Path:
    """A two-class COCO json whose images (4×6, a column of class 1) live in ``image_folder``; ``path_field`` is the
    folder recorded in each entry's ``path`` (COCO Annotator writes ``JPEGImages/<file>``)."""
    image_folder.mkdir(parents=True, exist_ok=True)
    entries, annotations = [], []
    for index, name in enumerate(names, start=1):
        Image.fromarray(np.full((4, 6, 3), 10 * index, np.uint8)).save(image_folder / name)
        entry = {"id": index, "file_name": name, "width": 6, "height": 4}
        if path_field is not None:
            entry["path"] = f"{path_field}/{name}"
        entries.append(entry)
        annotations.append({"id": index, "image_id": index, "category_id": 1, "iscrowd": 0, "bbox": [0, 0, 2, 4],
                            "segmentation": [[0, 0, 2, 0, 2, 4, 0, 4]], "area": 8})
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({"images": entries, "annotations": annotations, "categories": [{"id": 1, "name": "car"}]}))
    return json_path


def test_a_coco_annotator_export_is_found_by_its_path_fields(tmp_path: Path) -> None:
    # train/annotations.json beside train/JPEGImages/, test/ likewise; file_name is the bare name.
    train = _export(tmp_path / "train" / "annotations.json", tmp_path / "train" / "JPEGImages", ["car1.jpg", "car2.jpg"], path_field="JPEGImages")
    val = _export(tmp_path / "test" / "annotations.json", tmp_path / "test" / "JPEGImages", ["car9.jpg"], path_field="JPEGImages")
    train_set, val_set = load_splits(train, val=val)
    assert [sample.image_path for sample in train_set._samples] == [tmp_path / "train" / "JPEGImages" / name for name in ("car1.jpg", "car2.jpg")]
    assert [sample.image_path for sample in val_set._samples] == [tmp_path / "test" / "JPEGImages" / "car9.jpg"]


def test_coco_train2017_and_val2017_take_their_own_image_folders(tmp_path: Path) -> None:
    train = _export(tmp_path / "annotations" / "instances_train2017.json", tmp_path / "train2017", ["000001.jpg", "000002.jpg"])
    val = _export(tmp_path / "annotations" / "instances_val2017.json", tmp_path / "val2017", ["000009.jpg"])
    train_set, val_set = load_splits(train, val=val, images=tmp_path / "train2017", val_images=tmp_path / "val2017")
    assert (len(train_set), len(val_set)) == (2, 1)
    assert val_set._samples[0].image_path == tmp_path / "val2017" / "000009.jpg"
    with pytest.raises(AugmentlabError, match=r"1 of 1 image listed in .*instances_val2017.json cannot be found \(000009.jpg\): looked for each"
                       r" file_name, and its bare file name, under .*train2017 and .*annotations; give the folder that holds them as val_images"):
        load_splits(train, val=val, images=tmp_path / "train2017", val_images=tmp_path / "train2017")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"val_images": "VAL"}, "val_images is the folder of a val COCO json's images: give it with val VAL.json"),
        ({"val": "VALJSON", "val_images": "nowhere"}, "val_images .*nowhere does not exist or is not a folder"),
    ],
)
def test_val_images_bad_input(tmp_path: Path, options: dict, message: str) -> None:
    train = _export(tmp_path / "train.json", tmp_path / "images", ["a.jpg"])
    val = _export(tmp_path / "val.json", tmp_path / "images", ["b.jpg"])
    resolved = {key: {"VAL": tmp_path / "v", "VALJSON": val, "nowhere": tmp_path / "nowhere"}[value] for key, value in options.items()}
    with pytest.raises(AugmentlabError, match=message):
        load_splits(train, images=tmp_path / "images", **resolved)


def test_data_stats_reads_an_export_without_images_and_a_split_layout_with_val_images(tmp_path: Path) -> None:
    _export(tmp_path / "train" / "annotations.json", tmp_path / "train" / "JPEGImages", ["car1.jpg", "car2.jpg"], path_field="JPEGImages")
    _export(tmp_path / "test" / "annotations.json", tmp_path / "test" / "JPEGImages", ["car9.jpg"], path_field="JPEGImages")
    runner = CliRunner()
    export = runner.invoke(app, ["data", "stats", "--data", str(tmp_path / "train" / "annotations.json"), "--val", str(tmp_path / "test" / "annotations.json")])
    assert export.exit_code == 0, export.output
    assert "train: 2 images" in export.output and "val: 1 image:" in export.output
    split = runner.invoke(app, [
        "data", "stats", "--data", str(tmp_path / "train" / "annotations.json"), "--images", str(tmp_path / "train" / "JPEGImages"),
        "--val", str(tmp_path / "test" / "annotations.json"), "--val-images", str(tmp_path / "test" / "JPEGImages"),
    ])
    assert split.exit_code == 0, split.output
    wrong = runner.invoke(app, ["data", "stats", "--data", str(tmp_path / "train" / "annotations.json"), "--val-images", str(tmp_path)])
    assert wrong.exit_code == 2
    assert wrong.stderr == "error: --val-images is the folder of a val COCO json's images: give it with --val VAL.json\n"


def _car_parts(tmp_path: Path, names: tuple[str, str] = ("front_left_door", "front_right_door")) -> Path:
    """A COCO json with classes front_left_door and front_right_door (or ``names``), each a column of its own image half."""
    images = tmp_path / "images"
    images.mkdir()
    entries, annotations = [], []
    for index in range(1, 9):
        Image.fromarray(np.full((32, 32, 3), 20 * index, np.uint8)).save(images / f"car{index}.png")
        entries.append({"id": index, "file_name": f"images/car{index}.png", "width": 32, "height": 32})
        annotations += [
            {"id": 2 * index, "image_id": index, "category_id": 1, "iscrowd": 0, "segmentation": [[0, 0, 8, 0, 8, 32, 0, 32]]},
            {"id": 2 * index + 1, "image_id": index, "category_id": 2, "iscrowd": 0, "segmentation": [[24, 0, 32, 0, 32, 32, 24, 32]]},
        ]
    categories = [{"id": 1, "name": names[0]}, {"id": 2, "name": names[1]}]
    path = tmp_path / "cars.json"
    path.write_text(json.dumps({"images": entries, "annotations": annotations, "categories": categories}))
    return path


def test_the_plan_names_the_mirror_pairs_it_found_and_none_turns_them_off(tmp_path: Path) -> None:
    data = _car_parts(tmp_path)
    runner = CliRunner()
    common = ["ablate", "--data", str(data), "--aug", "hflip", "--batch-size", "2", "--device", "cpu", "--dry-run", "--out", str(tmp_path / "runs")]
    found = runner.invoke(app, common, env={"COLUMNS": "200"})
    assert found.exit_code == 0, found.output
    assert "reflections swap front_left_door↔front_right_door" in found.stdout
    off = runner.invoke(app, [*common, "--mirror-pairs", "none"], env={"COLUMNS": "200"})
    assert off.exit_code == 0 and "reflections swap" not in off.stdout
    bad = runner.invoke(app, [*common, "--mirror-pairs", "front_left_door:front_left_door"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --mirror-pairs ") and bad.stderr.count("\n") == 1


def test_the_plan_names_classes_that_differ_only_by_l_and_r(tmp_path: Path) -> None:
    data = _car_parts(tmp_path, ("l_eye", "r_eye"))  # CelebAMask-HQ's names; auto pairs only the words left and right
    runner = CliRunner()
    common = ["ablate", "--data", str(data), "--aug", "hflip", "--batch-size", "2", "--device", "cpu", "--dry-run", "--out", str(tmp_path / "runs")]
    found = runner.invoke(app, common, env={"COLUMNS": "400"})
    assert found.exit_code == 0, found.output
    assert (
        "classes l_eye and r_eye differ only by l and r, which mirror_pairs auto leaves unpaired (l may not mean left); "
        "if they are left and right, a flip must swap them: set mirror_pairs to l_eye:r_eye (--mirror-pairs)"
    ) in " ".join(found.output.split())
    given = runner.invoke(app, [*common, "--mirror-pairs", "l_eye:r_eye"], env={"COLUMNS": "400"})
    assert given.exit_code == 0 and "differ only by l and r" not in given.output
    assert "reflections swap l_eye↔r_eye" in given.stdout


def test_preview_columns_swap_the_pairs_under_hflip_and_not_under_rot90(tmp_path: Path) -> None:
    from augmentlab.data import load_dataset
    from augmentlab.diagnostics.preview import PreviewSamples, preview_columns

    dataset = load_dataset(_car_parts(tmp_path), size=(32, 32))
    image, mask = dataset[0]
    samples = PreviewSamples(image[None], mask[None], dataset.class_names, dataset.ignore_index, "cars")
    (_, original), (_, flipped) = preview_columns("hflip(p=1)", samples, 1, seed=0)
    left, right = dataset.class_names.index("front_left_door"), dataset.class_names.index("front_right_door")
    assert (original[0, :, :8] == left).all() and (original[0, :, 24:] == right).all()
    assert (flipped[0, :, :8] == left).all() and (flipped[0, :, 24:] == right).all()  # mirrored and relabelled: the left door is on the left again
    (_, _), (_, turned) = preview_columns("rot90(p=1)", samples, 1, seed=0)
    assert set(turned[0].unique().tolist()) == {0, left, right}
    assert not (turned[0, :, :8] == left).all()  # turned a quarter, not mirrored: labels keep their names


@pytest.mark.parametrize(
    ("value", "expected"),
    [(128, 128), ("128", 128), ("96x128", (96, 128)), ("96×128", (96, 128)), ([96, 128], (96, 128)), ("128x128", 128), ("abc", "abc"), ("1x2x3", "1x2x3")],
)
def test_parse_size(value: object, expected: object) -> None:
    from augmentlab.runner.config import parse_size

    assert parse_size(value) == expected


@pytest.mark.parametrize(
    ("shape", "size", "fitted"),
    [((360, 480), (96, 128), (96, 128)), ((480, 360), (96, 128), (96, 72)), ((100, 100), (96, 128), (96, 96)), ((10, 40), (32, 32), (8, 32))],
)
def test_fit_keeps_the_aspect_ratio_and_pads_with_zero_and_ignore(shape: tuple[int, int], size: tuple[int, int], fitted: tuple[int, int]) -> None:
    import torch

    from augmentlab.data.images import fit_image, fit_mask, fitted_size

    assert fitted_size(*shape, size) == fitted
    image = torch.full((3, *shape), 200, dtype=torch.uint8)
    mask = torch.ones(shape, dtype=torch.int64)
    fit_i, fit_m = fit_image(image, size), fit_mask(mask, size, 255)
    assert fit_i.shape == (3, *size) and fit_m.shape == size
    h, w = fitted
    assert (fit_i[:, :h, :w] == 200).all() and (fit_m[:h, :w] == 1).all()
    assert int(fit_i.sum()) == 200 * 3 * h * w and int((fit_m == 255).sum()) == size[0] * size[1] - h * w


def test_fit_padding_is_never_learned_or_scored() -> None:
    import torch

    from augmentlab.data.images import fit_mask
    from augmentlab.losses.combo import build_loss
    from augmentlab.runner.metrics import ConfusionMatrix

    mask = fit_mask(torch.ones((10, 40), dtype=torch.int64), (32, 32), 255)[None]  # 8 rows of class 1, 24 rows of padding
    logits = torch.randn(1, 3, 32, 32)
    other = logits.clone()
    other[:, :, 8:] = torch.randn(1, 3, 24, 32) * 100  # anything at all in the padding
    loss = build_loss("ce", 3, 255)
    assert float(loss(logits, mask)) == pytest.approx(float(loss(other, mask)), rel=1e-6)
    scored = []
    for prediction in (logits, other):
        matrix = ConfusionMatrix(3, 255)
        matrix.update(prediction.argmax(1), mask)
        scored.append(matrix.compute().miou)
    assert scored[0] == scored[1]
