"""`augmentlab preview`: layout, pixels, determinism and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from augmentlab.cli import app
from augmentlab.errors import AugmentlabError
from augmentlab.preview import (
    GAP,
    HEADER_HEIGHT,
    IGNORE_INDEX,
    MARGIN,
    SCENE_CLASS_NAMES,
    TITLE_HEIGHT,
    PreviewSamples,
    class_palette,
    load_preview_samples,
    overlay_masks,
    preview_canvas_size,
    preview_columns,
    render_preview,
    synthetic_scene,
)

runner = CliRunner()


def run_cli(*args: str):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize(
    ("n", "size", "draws", "num_classes", "expected"),
    [
        # width = 2·12 + columns·size + (columns-1)·6; height adds title 24, header 18, rows, legend gap 10, 20 per legend row.
        (2, 64, 3, 5, (298, 310)),  # 298 px fit one 140-px legend entry per row: 5 entries, 5 rows
        (1, 256, 3, 5, (1066, 352)),  # 7 entries per legend row: one row
        (8, 256, 1, 61, (542, 2586)),  # 3 entries per row: 61 entries in 21 rows
    ],
)
def test_canvas_size_follows_the_layout(n, size, draws, num_classes, expected):
    assert preview_canvas_size(n, size, draws, num_classes) == expected


def test_cli_writes_a_png_of_the_computed_size(tmp_path: Path):
    out = tmp_path / "preview.png"
    result = run_cli("preview", "--aug", "hflip,solarize", "--n", "2", "--size", "64", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {out}: 2 samples, each as original and 3 draws (298×310 px)"
    with Image.open(out) as picture:
        assert picture.format == "PNG"
        assert picture.size == (298, 310)
        assert picture.text["augmentlab"] == "preview --aug 'hflip,solarize' --n 2 --seed 0 --size 64 --draws 3 (generated scenes)"


def test_same_seed_gives_the_same_bytes_and_another_seed_other_draws(tmp_path: Path):
    paths = {name: tmp_path / f"{name}.png" for name in ("first", "second", "other")}
    for name, seed in (("first", "7"), ("second", "7"), ("other", "8")):
        result = run_cli("preview", "--aug", "solarize(p=1)", "--n", "2", "--size", "32", "--draws", "2", "--seed", seed, "--out", str(paths[name]))
        assert result.exit_code == 0, result.output
    assert paths["first"].read_bytes() == paths["second"].read_bytes()
    assert paths["first"].read_bytes() != paths["other"].read_bytes()


def test_synthetic_scene_is_deterministic_and_labelled():
    image, mask = synthetic_scene(3, 96)
    again_image, again_mask = synthetic_scene(3, 96)
    other_image, _ = synthetic_scene(4, 96)
    assert image.dtype == torch.uint8 and image.shape == (3, 96, 96)
    assert mask.dtype == torch.int64 and mask.shape == (96, 96)
    assert torch.equal(image, again_image) and torch.equal(mask, again_mask)
    assert not torch.equal(image, other_image)
    labels = set(mask.unique().tolist())
    assert labels <= {*range(len(SCENE_CLASS_NAMES)), IGNORE_INDEX}
    assert {0, IGNORE_INDEX} <= labels and len(labels - {0, IGNORE_INDEX}) >= 3


def test_preview_samples_come_from_generated_scenes_without_data():
    samples = load_preview_samples(None, 3, 48)
    assert samples.images.shape == (3, 3, 48, 48) and samples.masks.shape == (3, 48, 48)
    assert samples.class_names == SCENE_CLASS_NAMES and samples.ignore_index == IGNORE_INDEX
    for index in range(3):
        image, mask = synthetic_scene(index, 48)
        assert torch.equal(samples.images[index], image) and torch.equal(samples.masks[index], mask)


def test_data_cannot_be_loaded_yet():
    with pytest.raises(AugmentlabError, match="cannot load datasets yet; leave --data out"):
        load_preview_samples(Path("coco.json"), 2, 32)


def test_palette_keeps_each_class_colour_whatever_the_class_count():
    assert torch.allclose(class_palette(3)[1], torch.tensor([0.95, 0.1425, 0.1425]))
    assert torch.equal(class_palette(5), class_palette(61)[:5])
    assert len({tuple(colour.tolist()) for colour in class_palette(61)[1:]}) == 60


def test_overlay_tints_labels_outlines_regions_and_hatches_ignore():
    # One row of five pixels, grey 0.5: background, three class-1 pixels, one ignore pixel.
    images = torch.full((1, 3, 1, 5), 0.5)
    masks = torch.tensor([[[0, 1, 1, 1, IGNORE_INDEX]]])
    palette = class_palette(2)
    out = overlay_masks(images, masks, palette, IGNORE_INDEX)[0, :, 0].T
    colour = palette[1]
    expected = [
        torch.full((3,), 0.5),  # background stays as it is
        colour,  # region edge (next to background): solid class colour
        0.55 * 0.5 + 0.45 * colour,  # region inside: alpha 0.45
        colour,  # region edge (next to ignore)
        torch.full((3,), 0.3 * 0.5 + 0.7 * 1.0),  # ignore at column 4: a white stripe of the hatch, alpha 0.7
    ]
    for column, value in enumerate(expected):
        assert torch.allclose(out[column], value), column


def test_hatch_alternates_every_four_pixels():
    images = torch.zeros(1, 3, 1, 9)
    masks = torch.full((1, 1, 9), IGNORE_INDEX)
    out = overlay_masks(images, masks, class_palette(2), IGNORE_INDEX)[0, 0, 0]
    assert out.tolist() == pytest.approx([0, 0, 0, 0, 0.7, 0.7, 0.7, 0.7, 0])


def test_columns_are_the_original_then_independent_draws():
    samples = load_preview_samples(None, 2, 32)
    original = samples.images.float() / 255
    flipped = preview_columns("hflip(p=1)", samples, draws=2, seed=0)
    assert len(flipped) == 3
    assert torch.equal(flipped[0][0], original) and torch.equal(flipped[0][1], samples.masks)
    for images, masks in flipped[1:]:
        assert torch.equal(images, original.flip(-1)) and torch.equal(masks, samples.masks.flip(-1))
    _, first, second = preview_columns("solarize(p=1)", samples, draws=2, seed=0)
    assert not torch.equal(first[0], second[0])


def test_preview_leaves_the_callers_random_state_alone():
    samples = load_preview_samples(None, 1, 32)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    preview_columns("solarize(p=1)", samples, draws=2, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_tiles_sit_where_the_layout_puts_them():
    samples = load_preview_samples(None, 2, 32)
    picture = render_preview("none", samples, draws=1, seed=0)
    tiles = overlay_masks(samples.images.float() / 255, samples.masks, class_palette(len(samples.class_names)), IGNORE_INDEX)
    expected = (tiles[1] * 255).round().to(torch.uint8)
    top = MARGIN + TITLE_HEIGHT + HEADER_HEIGHT + 32 + GAP
    for left in (MARGIN, MARGIN + 32 + GAP):  # row 2, original and draw 1 (none changes nothing)
        crop = torch.from_numpy(np.array(picture.crop((left, top, left + 32, top + 32)))).permute(2, 0, 1)
        assert torch.equal(crop, expected)


def test_legend_grows_with_the_class_names_of_the_samples():
    images, masks = synthetic_scene(0, 32)
    names = ("background", *(f"class {label}" for label in range(1, 20)))
    samples = PreviewSamples(images[None], masks[None], names, IGNORE_INDEX, "test")
    assert render_preview("none", samples, draws=1, seed=0).size == preview_canvas_size(1, 32, 1, 20) == (94, 508)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aug", "hflp"], "error: --aug in spec 'hflp' (at column 1): unknown augmentation 'hflp' — did you mean 'hflip'"),
        (["--aug", "hflip", "--n", "0"], "error: Invalid value for '--n': "),
        (["--aug", "hflip", "--size", "8"], "error: Invalid value for '--size': "),
        (["--out-typo", "x"], "error: No such option: --out-typo"),
        (["--aug", "hflip", "--data", "coco.json"], "error: --data coco.json: this version cannot load datasets yet"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args, message):
    result = run_cli("preview", *args, "--out", str(tmp_path / "p.png"))
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (".", "is a folder; give a file path"),
        ("missing/p.png", "the folder {tmp}/missing does not exist"),
        ("p.jpg", "the preview is a PNG; give a path ending in .png"),
    ],
)
def test_unwritable_out_is_exit_2(tmp_path: Path, out, message):
    result = run_cli("preview", "--aug", "hflip", "--n", "1", "--size", "32", "--out", str(tmp_path / out))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --out ")
    assert message.format(tmp=tmp_path) in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_failed_write_is_exit_2(tmp_path: Path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image.Image, "save", refuse)
    result = run_cli("preview", "--aug", "hflip", "--n", "1", "--size", "32", "--out", str(tmp_path / "p.png"))
    assert result.exit_code == 2
    assert result.stderr == f"error: --out {tmp_path / 'p.png'}: cannot write it: Permission denied\n"


def test_preview_is_listed_in_help():
    result = run_cli("preview", "--help")
    assert result.exit_code == 0
    for option in ("--aug", "--data", "--n", "--seed", "--size", "--draws", "--out"):
        assert option in result.stdout
