"""`augmentlab data demo` and `augmentlab data stats` through typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from augmentlab.cli.app import app

TACO = Path(__file__).resolve().parents[2] / "shared" / "data" / "taco" / "annotations.json"


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def rows(stdout: str) -> dict[str, list[str]]:
    """Table rows by class name: [#, class, train pixels, train instances, train images, val …]."""
    table = {}
    for line in stdout.splitlines():
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.split("│")[1:-1]]
            table[cells[1]] = cells
    return table


def write_coco(folder: Path, name: str, objects: list[tuple[int, list[float]]], categories: list[str]) -> Path:
    """One 8×8 black JPEG per object list entry's image, with square polygon annotations."""
    folder.mkdir(exist_ok=True)
    images, annotations = [], []
    for image_id, (category, polygon) in enumerate(objects, start=1):
        Image.new("RGB", (8, 8)).save(folder / f"{name}{image_id}.jpg")
        images.append({"id": image_id, "file_name": f"{name}{image_id}.jpg", "width": 8, "height": 8})
        annotations.append({"id": image_id, "image_id": image_id, "category_id": category, "segmentation": [polygon], "iscrowd": 0, "area": 16, "bbox": [0, 0, 4, 4]})
    cats = [{"id": index + 1, "name": label} for index, label in enumerate(categories)]
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": cats}))
    return path


def test_stats_on_the_demo_data():
    result = run("data", "stats")
    assert result.exit_code == 0, result.output
    assert "train: 160 images: 256×256 (160); 0.00% of pixels ignored" in result.stdout
    assert "val: 40 images: 256×256 (40)" in result.stdout
    table = rows(result.stdout)
    assert len(table) == 12  # background and 11 waste classes
    assert table["Battery"][0] == "9" and table["background"][3] == "—"
    assert "warning: heavy imbalance: under 1/100 of the pixels of the most frequent class for Battery" in result.stdout


def test_stats_counts_and_warns_about_classes_missing_from_val(tmp_path: Path):
    square = [0, 0, 4, 0, 4, 4, 0, 4]  # 16 pixels of 64
    train = write_coco(tmp_path / "data", "train", [(1, square), (2, square), (2, square)], ["can", "bottle"])
    val = write_coco(tmp_path / "data", "val", [(2, square)], ["can", "bottle"])
    result = run("data", "stats", "--data", str(train), "--val", str(val))
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    # Shares are of all labelled pixels of the split: 16 of 3 × 64 in train, 16 of 64 in val.
    assert table["can"][2:8] == ["8.33%", "1", "1", "0.00%", "0", "0"]
    assert table["bottle"][2:8] == ["16.67%", "2", "2", "25.00%", "1", "1"]
    assert "warning: 1 class is missing from the validation set, so its IoU cannot be measured: can" in result.stdout


def test_stats_of_a_folder_dataset_has_no_instances(tmp_path: Path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for index in range(5):
        Image.new("RGB", (6, 4)).save(tmp_path / "images" / f"{index}.png")
        mask = np.zeros((4, 6), dtype=np.uint8)
        mask[0, : index + 1] = 1
        mask[3, 5] = 255
        Image.fromarray(mask).save(tmp_path / "masks" / f"{index}.png")
    result = run("data", "stats", "--data", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--classes", "background,stain", "--val-split", "0.4")
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    assert table["stain"][3] == "—" and table["stain"][4] == "3" and table["stain"][7] == "2"
    assert "train: 3 images: 4×6 (3); 4.17% of pixels ignored" in result.stdout


@pytest.mark.skipif(not TACO.exists(), reason="the shared TACO annotations are not beside this checkout")
def test_stats_on_a_coco_export_without_its_images_names_the_missing_ones():
    result = run("data", "stats", "--data", str(TACO))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "1500" in result.stderr, result.stderr


def test_demo_writes_a_fresh_folder_and_refuses_a_used_one(tmp_path: Path):
    out = tmp_path / "demo"
    result = run("data", "demo", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"demo data (synthetic): {out / 'train.json'}, {out / 'val.json'}, images in {out / 'images'}\n"
        f"use it with: --data {out / 'train.json'} --val {out / 'val.json'} --images {out / 'images'}\n"
    )
    assert len(list((out / "images").glob("*.jpg"))) == 200
    again = run("data", "demo", "--out", str(out))
    assert again.exit_code == 2 and again.stderr == f"error: demo output folder {out} is not empty; give a new or empty folder\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("data", "demo", "--out", "x", "--seed", "-1"), "error: --seed must be ≥ 0, got -1\n"),
        (("data", "demo", "--seed", "3"), "error: --seed goes with --out: the default location holds the demo data of seed 0, which every command reads\n"),
        (("data", "demo", "--out", "/proc/augmentlab-demo"),
         "error: cannot write the demo output folder /proc/augmentlab-demo: No such file or directory (errno 2); the folder does not exist\n"),
        (("data", "stats", "--data", "missing.json"), "error: COCO annotation file missing.json does not exist; pass the path of the instances json\n"),
        (("data", "stats", "--classes", "a,,b"), "error: --classes 'a,,b' has an empty name; write names separated by commas, background first\n"),
        (("data", "stats", "--val-split", "0"), "error: --val-split must be between 0 and 1 (exclusive), got 0.0\n"),
        (("data", "stats", "--val-split", "0.5"), "error: --val-split 0.5 holds out a share of --data; the built-in demo data (used without --data) "
                                                  "has its own val split, so leave --val-split out or give --data\n"),
        (("preview", "--aug", "hflip", "--out", "p.png", "--images", "photos"),
         "error: --images is the folder of a COCO json's images: give it with --data TRAIN.json (without --data, the built-in demo data is used)\n"),
    ],
)
def test_bad_data_options_are_one_line(args, message):
    result = run(*args)
    assert (result.exit_code, result.stderr) == (2, message)
