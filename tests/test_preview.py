"""`augmentlab preview`: samples from the demo and folder datasets, layout, pixels, determinism and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from augmentlab.cli.app import app
from augmentlab.data import DEMO_CLASS_NAMES, load_dataset
from augmentlab.diagnostics.preview import (
    GAP,
    HEADER_HEIGHT,
    MARGIN,
    TITLE_HEIGHT,
    PreviewSamples,
    class_palette,
    load_preview_samples,
    overlay_masks,
    preview_canvas_size,
    preview_columns,
    render_preview,
    write_preview,
)

pytestmark = pytest.mark.usefixtures("example_plugin")  # solarize and poly, installed or not

runner = CliRunner()
VOID = 255
DEMO_NAMES = ("background", *DEMO_CLASS_NAMES)


def run_cli(*args: str):
    return runner.invoke(app, list(args))


def block_samples(n: int, size: int, class_names: tuple[str, ...] = ("background", "a", "b")) -> PreviewSamples:
    """In-memory samples for layout tests: seeded noise images, masks of quarter blocks with a void corner."""
    generator = torch.Generator().manual_seed(n * 1000 + size)
    images = torch.randint(0, 256, (n, 3, size, size), generator=generator, dtype=torch.uint8)
    masks = torch.zeros(n, size, size, dtype=torch.int64)
    half = size // 2
    masks[:, :half, half:] = 1
    masks[:, half:, :half] = len(class_names) - 1
    masks[:, : size // 8, : size // 8] = VOID
    return PreviewSamples(images, masks, class_names, VOID, "blocks")


def folder_dataset(root: Path, count: int, void: int = VOID) -> tuple[Path, Path]:
    """``count`` 24×40 PNG images and index-PNG masks (labels 0..2, a strip of ``void``), by file stem."""
    images, masks = root / "images", root / "masks"
    images.mkdir()
    masks.mkdir()
    for number in range(count):
        pixels = np.full((24, 40, 3), 40 * number, dtype=np.uint8)
        pixels[:, :, 1] = np.arange(40, dtype=np.uint8) * 6
        labels = np.zeros((24, 40), dtype=np.uint8)
        labels[4:12, 5:20] = 1
        labels[14:22, 22:36] = 2
        labels[:, 37:] = void
        Image.fromarray(pixels).save(images / f"{number:04d}.png")
        Image.fromarray(labels, mode="L").save(masks / f"{number:04d}.png")
    return images, masks


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
    # 298 px fit one legend entry per row: the demo's 11 classes and ignore make 12 rows.
    assert preview_canvas_size(2, 64, 3, len(DEMO_NAMES)) == (298, 450)
    assert result.stdout.strip() == f"wrote {out}: each sample as original and 3 draws (298×450 px)"
    with Image.open(out) as picture:
        assert picture.format == "PNG"
        assert picture.size == (298, 450)
        assert picture.text["augmentlab"] == "preview --aug hflip,solarize --n 2 --seed 0 --size 64 --draws 3 (demo data)"


def test_non_square_tiles_show_the_training_shape(tmp_path: Path):
    # A 24×40 folder dataset previewed at 32x48 (height first), the shape a non-square run trains at.
    images, masks = folder_dataset(tmp_path, 2)
    out = tmp_path / "preview.png"
    result = run_cli(
        "preview", "--aug", "rot90(p=1)", "--data", str(images), "--masks", str(masks), "--n", "2", "--size", "32x48",
        "--draws", "2", "--out", str(out),
    )
    assert result.exit_code == 0, result.output
    # width = 2·12 + 3·48 + 2·6 = 180; height = 12 + 24 + 18 + 2·32 + 6 + 10 + legend rows·20 + 12
    assert preview_canvas_size(2, (32, 48), 2, 3) == (180, 206)
    with Image.open(out) as picture:
        assert picture.size == (180, 206)
        assert picture.text["augmentlab"] == f"preview --aug 'rot90(p=1)' --data {images} --masks {masks} --n 2 --seed 0 --size 32x48 --draws 2 ({images})"
    samples = load_preview_samples(images, masks=masks, n=2, size=(32, 48), seed=0)
    assert samples.images.shape == (2, 3, 32, 48) and samples.masks.shape == (2, 32, 48)
    # A quarter turn of a 32×48 canvas leaves 8-px strips at the sides, labelled ignore, as in training.
    turned = torch.cat([masks for _, masks in preview_columns("rot90(p=1)", samples, 4, seed=0)[1:]])
    original = samples.masks.repeat(4, 1, 1)
    quarter = [tile for tile, before in zip(turned, original) if not torch.equal(tile, before) and not torch.equal(tile, before.flip(0, 1))]
    assert quarter and all((tile[:, :8] == VOID).all() and (tile[:, -8:] == VOID).all() for tile in quarter)


def test_cli_previews_a_folder_dataset_with_fewer_samples_than_n(tmp_path: Path):
    images, masks = folder_dataset(tmp_path, 3)
    out = tmp_path / "preview.png"
    result = run_cli(
        "preview", "--aug", "hflip", "--data", str(images), "--masks", str(masks), "--classes", "floor,cup,lid",
        "--n", "8", "--size", "32", "--draws", "1", "--out", str(out),
    )
    assert result.exit_code == 0, result.output
    with Image.open(out) as picture:
        assert picture.size == preview_canvas_size(3, 32, 1, 3)  # three rows, not eight
        assert picture.text["augmentlab"] == (
            f"preview --aug hflip --data {images} --masks {masks} --classes floor,cup,lid --n 8 --seed 0 --size 32 --draws 1 ({images})"
        )


def test_same_seed_gives_the_same_bytes_and_another_seed_another_picture(tmp_path: Path):
    paths = {name: tmp_path / f"{name}.png" for name in ("first", "second", "other")}
    for name, seed in (("first", "7"), ("second", "7"), ("other", "8")):
        result = run_cli("preview", "--aug", "solarize(p=1)", "--n", "2", "--size", "32", "--draws", "2", "--seed", seed, "--out", str(paths[name]))
        assert result.exit_code == 0, result.output
    assert paths["first"].read_bytes() == paths["second"].read_bytes()
    assert paths["first"].read_bytes() != paths["other"].read_bytes()


def test_demo_samples_are_a_seeded_choice_of_the_demo_data():
    samples = load_preview_samples(None, n=3, size=48, seed=0)
    assert samples.images.dtype == torch.uint8 and samples.images.shape == (3, 3, 48, 48)
    assert samples.masks.dtype == torch.int64 and samples.masks.shape == (3, 48, 48)
    assert samples.class_names == DEMO_NAMES and len(DEMO_NAMES) == 12
    assert (samples.ignore_index, samples.source) == (255, "demo data")

    dataset = load_dataset(None, size=(48, 48))
    chosen = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:3].tolist()
    assert len(set(chosen)) == 3
    for row, index in enumerate(chosen):
        image, mask = dataset[index]
        assert torch.equal(samples.images[row], image) and torch.equal(samples.masks[row], mask)

    again = load_preview_samples(None, n=3, size=48, seed=0)
    other = load_preview_samples(None, n=3, size=48, seed=1)
    assert torch.equal(again.images, samples.images) and torch.equal(again.masks, samples.masks)
    assert not torch.equal(other.images, samples.images)


def test_folder_samples_are_all_of_a_dataset_smaller_than_n(tmp_path: Path):
    images, masks = folder_dataset(tmp_path, 3)
    samples = load_preview_samples(images, masks=masks, n=8, size=32, seed=0)
    assert samples.images.shape == (3, 3, 32, 32) and samples.masks.shape == (3, 32, 32)
    assert samples.class_names == ("background", "class_1", "class_2")
    assert (samples.ignore_index, samples.source) == (VOID, str(images))
    assert set(samples.masks.unique().tolist()) == {0, 1, 2, VOID}
    dataset = load_dataset(images, masks=masks, size=(32, 32))
    assert sorted(samples.images[:, 0, 0, 0].tolist()) == sorted(dataset[i][0][0, 0, 0].item() for i in range(3))


def test_folder_options_reach_the_dataset(tmp_path: Path):
    images, masks = folder_dataset(tmp_path, 2, void=9)
    samples = load_preview_samples(images, masks=masks, classes=["floor", "cup", "lid"], ignore_index=9, n=2, size=32, seed=0)
    assert samples.class_names == ("floor", "cup", "lid") and samples.ignore_index == 9
    assert set(samples.masks.unique().tolist()) == {0, 1, 2, 9}
    out = tmp_path / "preview.png"
    size = write_preview("hflip", out, data=images, masks=masks, ignore_index=9, classes=["floor", "cup", "lid"], strict=True, n=5, size=32, draws=2)
    assert size == preview_canvas_size(2, 32, 2, 3)
    with Image.open(out) as picture:
        assert picture.text["augmentlab"] == (
            f"preview --aug hflip --data {images} --masks {masks} --ignore-index 9 --classes floor,cup,lid --strict"
            f" --n 5 --seed 0 --size 32 --draws 2 ({images})"
        )


def test_palette_keeps_each_class_colour_whatever_the_class_count():
    assert torch.allclose(class_palette(3)[1:], torch.tensor([[0.90, 0.10, 0.10], [0.10, 0.45, 0.95]]))
    assert torch.equal(class_palette(5), class_palette(61)[:5])
    assert len({tuple(colour.tolist()) for colour in class_palette(61)[1:]}) == 60


def test_overlay_tints_labels_outlines_regions_and_hatches_ignore():
    # One row of five pixels, grey 0.5: background, three class-1 pixels, one ignore pixel.
    images = torch.full((1, 3, 1, 5), 0.5)
    masks = torch.tensor([[[0, 1, 1, 1, VOID]]])
    palette = class_palette(2)
    out = overlay_masks(images, masks, palette, VOID)[0, :, 0].T
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
    masks = torch.full((1, 1, 9), VOID)
    out = overlay_masks(images, masks, class_palette(2), VOID)[0, 0, 0]
    assert out.tolist() == pytest.approx([0, 0, 0, 0, 0.7, 0.7, 0.7, 0.7, 0])


def test_columns_are_the_original_then_independent_draws():
    samples = block_samples(2, 32)
    original = samples.images.float() / 255
    flipped = preview_columns("hflip(p=1)", samples, draws=2, seed=0)
    assert len(flipped) == 3
    assert torch.equal(flipped[0][0], original) and torch.equal(flipped[0][1], samples.masks)
    for images, masks in flipped[1:]:
        assert torch.equal(images, original.flip(-1)) and torch.equal(masks, samples.masks.flip(-1))
    _, first, second = preview_columns("solarize(p=1)", samples, draws=2, seed=0)
    assert not torch.equal(first[0], second[0])


def test_preview_leaves_the_callers_random_state_alone():
    samples = block_samples(1, 32)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    preview_columns("solarize(p=1)", samples, draws=2, seed=0)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    ("mirror_pairs", "swapped"),
    [("auto", True), ("none", False), ("a:b", False), ("left_a:right_a", True)],
)
def test_reflections_swap_the_mirror_pairs_given(mirror_pairs, swapped):
    samples = block_samples(1, 16, ("background", "left_a", "right_a", "a", "b"))
    samples = PreviewSamples(samples.images, samples.masks.clamp(max=2).where(samples.masks != VOID, VOID), samples.class_names, VOID, "blocks")
    _, (_, flipped) = preview_columns("hflip(p=1)", samples, draws=1, seed=0, mirror_pairs=mirror_pairs)
    mirrored = samples.masks.flip(-1)
    expected = torch.where(mirrored == 1, 2, torch.where(mirrored == 2, 1, mirrored)) if swapped else mirrored
    assert torch.equal(flipped, expected)


def test_cli_preview_takes_mirror_pairs(tmp_path: Path):
    out = tmp_path / "p.png"
    result = run_cli("preview", "--aug", "hflip", "--n", "1", "--size", "32", "--draws", "1", "--mirror-pairs", "none", "--out", str(out))
    assert result.exit_code == 0, result.output
    with Image.open(out) as picture:
        assert picture.text["augmentlab"] == "preview --aug hflip --n 1 --seed 0 --size 32 --draws 1 --mirror-pairs none (demo data)"
    bad = run_cli("preview", "--aug", "hflip", "--mirror-pairs", "Paper:Metl", "--out", str(out))
    assert bad.exit_code == 2
    assert bad.stderr == "error: --mirror-pairs names unknown class 'Metl' in 'Paper:Metl' — did you mean 'Metal'?\n"


def test_tiles_sit_where_the_layout_puts_them():
    samples = block_samples(2, 32)
    picture = render_preview("none", samples, draws=1, seed=0)
    tiles = overlay_masks(samples.images.float() / 255, samples.masks, class_palette(len(samples.class_names)), VOID)
    expected = (tiles[1] * 255).round().to(torch.uint8)
    top = MARGIN + TITLE_HEIGHT + HEADER_HEIGHT + 32 + GAP
    for left in (MARGIN, MARGIN + 32 + GAP):  # row 2, original and draw 1 (none changes nothing)
        crop = torch.from_numpy(np.array(picture.crop((left, top, left + 32, top + 32)))).permute(2, 0, 1)
        assert torch.equal(crop, expected)


def test_legend_grows_with_the_class_names_of_the_samples():
    names = ("background", *(f"class {label}" for label in range(1, 20)))
    samples = block_samples(1, 32, names)
    assert render_preview("none", samples, draws=1, seed=0).size == preview_canvas_size(1, 32, 1, 20) == (94, 508)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aug", "hflp"], "error: --aug in spec 'hflp' (at column 1): unknown augmentation 'hflp' — did you mean 'hflip'"),
        (["--aug", "hflip", "--n", "0"], "error: Invalid value for '--n': "),
        (["--aug", "hflip", "--size", "8"], "error: --size must be N or H×W (height first) with each side from 32 to 1024 pixels, got 8\n"),
        (["--aug", "hflip", "--size", "96x2000"], "error: --size must be N or H×W (height first) with each side from 32 to 1024 pixels, got 96x2000\n"),
        (["--aug", "hflip", "--size", "96x"], "error: --size must be N or H×W (height first) with each side from 32 to 1024 pixels, got '96x'\n"),
        (["--aug", "hflip", "--size", "1x2x3"], "error: --size must be N or H×W (height first) with each side from 32 to 1024 pixels, got '1x2x3'\n"),
        (["--out-typo", "x"], "error: No such option: --out-typo"),
        (["--aug", "hflip", "--data", "{tmp}/missing.json"], "error: COCO annotation file {tmp}/missing.json does not exist"),
        (["--aug", "hflip", "--data", "{tmp}/missing", "--masks", "{tmp}"], "error: images folder {tmp}/missing does not exist"),
        # A parameter the tiles do not fit is a bad --aug, not a traceback.
        (
            ["--aug", "hflip,grid_dropout(unit_size_range=[2,40])", "--size", "32", "--n", "1", "--draws", "1"],
            "error: --aug in spec 'hflip,grid_dropout(unit_size_range=[2,40])': unit_size_range [2, 40] must not exceed the image's shorter side 32\n",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args, message):
    result = run_cli("preview", *(arg.format(tmp=tmp_path) for arg in args), "--out", str(tmp_path / "p.png"))
    assert result.exit_code == 2
    assert result.stderr.startswith(message.format(tmp=tmp_path))
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
    for option in ("--aug", "--data", "--images", "--masks", "--ignore-index", "--classes", "--strict", "--n", "--seed", "--size", "--draws", "--out"):
        assert option in result.stdout
