"""Colour-coded masks (CamVid's class_dict.csv): the table is read strictly, every pixel maps to its class exactly, and the table is part of the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from cli_assertions import assert_one_line_error
from PIL import Image
from runner_fixtures import invoke

import augmentlab
import augmentlab.data
from augmentlab.data import stream
from augmentlab.data.cache import TensorCache
from augmentlab.data.colours import ColourMaskReader, MaskColours, read_mask_colours
from augmentlab.errors import AugmentlabError, FieldError
from augmentlab.runner.config import AblationConfig

TABLE = "name,r,g,b\nVoid,0,0,0\nRoad,128,64,128\nCar,64,0,128\n"
COLOURS = ((0, 0, 0), (128, 64, 128), (64, 0, 128))
LABELS = np.array([[0, 1, 1, 2], [2, 2, 0, 1], [1, 0, 0, 0]])  # 3×4, each class present


def colour_mask(labels: np.ndarray, colours=COLOURS) -> np.ndarray:
    return np.array(colours, dtype=np.uint8)[labels]


def write_table(folder: Path, text: str = TABLE, name: str = "class_dict.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def write_folder_split(folder: Path, count: int, shape=(24, 32)) -> tuple[Path, Path]:
    """``count`` random images and colour masks of ``shape`` (each a shifted copy of one layout), in ``images/`` and ``masks/``."""
    images, masks = folder / "images", folder / "masks"
    images.mkdir(parents=True)
    masks.mkdir()
    generator = np.random.default_rng(count)
    layout = np.kron(LABELS, np.ones((shape[0] // 3, shape[1] // 4), dtype=int))
    for index in range(count):
        Image.fromarray(generator.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(images / f"{index:03d}.jpg")
        Image.fromarray(colour_mask(np.roll(layout, index, axis=1))).save(masks / f"{index:03d}.png")
    return images, masks


@pytest.mark.parametrize(
    ("text", "names", "colours"),
    [
        (TABLE, ("Void", "Road", "Car"), COLOURS),
        # Excel's byte-order mark, spaces, the header in capitals, another column order, an extra column, blank lines
        ("\ufeffName , R, G, B\n\nsky , 128,128,128\n building,128,0,0\n", ("sky", "building"), ((128, 128, 128), (128, 0, 0))),
        ("id,b,g,r,name\n7,0,0,255,red\n9,255,0,0,blue\n", ("red", "blue"), ((255, 0, 0), (0, 0, 255))),
        ('name,r,g,b\n"road, paved",1,2,3\nother,4,5,6\n', ("road, paved", "other"), ((1, 2, 3), (4, 5, 6))),
        # what Excel writes where the decimal comma is the custom, with its separator hint; and tabs
        ("sep=;\nname;r;g;b\nsky;1;2;3\nroad;4;5;6\n", ("sky", "road"), ((1, 2, 3), (4, 5, 6))),
        ("name\tr\tg\tb\nsky\t1\t2\t3\nroad\t4\t5\t6\n", ("sky", "road"), ((1, 2, 3), (4, 5, 6))),
    ],
)
def test_a_colour_table_gives_its_classes_in_row_order(tmp_path, text, names, colours):
    table = read_mask_colours(write_table(tmp_path, text))
    assert table.names == names and table.colours == colours


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty; write a header name,r,g,b and one row per class, the background first"),
        ("name,r,g\nVoid,0,0\nRoad,1,1\n", "has no column b in its header 'name,r,g'; the header must name name,r,g,b"),
        ("class,red,green,blue\nVoid,0,0,0\n", "has no column name, r, g, b in its header 'class,red,green,blue'; the header must name name,r,g,b"),
        ("name,r,g,b\nVoid,0,0,0\nRoad,128,64\n", "row 3 has 3 values and the header 4; give each class a name, r, g and b"),
        ("name,r,g,b\nVoid,0,0,0\n,1,2,3\n", "row 3 has an empty name; name every class"),
        ("name,r,g,b\nVoid,0,0,0\nVoid,1,2,3\n", "row 3 repeats the name 'Void' of row 2; give each class its own name"),
        ("name,r,g,b\nVoid,0,0,0\nRoad,0.5,1,2\n", "row 3 (Road) has r,g,b '0.5,1,2'; write whole numbers 0..255"),
        ("name,r,g,b\nVoid,0,0,0\nRoad,256,0,0\n", "row 3 (Road) has r,g,b (256, 0, 0) outside 0..255"),
        ("name,r,g,b\nVoid,0,0,0\nRoad,0,0,0\n", "row 3 (Road) has the colour (0, 0, 0) of 'Void'; each class needs its own colour"),
        ("name,r,g,b\nVoid,0,0,0\n", "lists 1 class; list the background (the first row) and at least one more class"),
    ],
)
def test_a_bad_colour_table_says_which_row_and_what_to_write(tmp_path, text, problem):
    path = write_table(tmp_path, text)
    with pytest.raises(FieldError) as error:
        read_mask_colours(path)
    assert error.value.field == "mask_colours" and error.value.problem == f"{path}: {problem}"


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda folder: folder / "missing.csv", "does not exist; give the colour table's CSV file (name,r,g,b), such as CamVid's class_dict.csv"),
        (lambda folder: folder, "is a folder; give the colour table's CSV file (name,r,g,b)"),
    ],
)
def test_a_colour_table_that_is_not_a_file_is_named(tmp_path, make, problem):
    path = make(tmp_path)
    with pytest.raises(FieldError) as error:
        read_mask_colours(path)
    assert error.value.problem == f"{path}: {problem}"


def test_every_pixel_gets_the_class_of_its_colour(tmp_path):
    reader = ColourMaskReader(MaskColours(("Void", "Road", "Car"), COLOURS, "class_dict.csv"))
    Image.fromarray(colour_mask(LABELS)).save(tmp_path / "rgb.png")
    rgba = np.concatenate([colour_mask(LABELS), np.full((3, 4, 1), 7, dtype=np.uint8)], axis=2)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")  # alpha is no part of the colour
    palette = Image.fromarray(LABELS[::-1].astype(np.uint8), mode="P")  # the indices of a palette PNG are no classes; its colours are
    palette.putpalette([value for colour in (COLOURS[2], COLOURS[0], COLOURS[1]) for value in colour])
    palette.save(tmp_path / "palette.png")
    expected = torch.from_numpy(LABELS)
    assert torch.equal(reader(tmp_path / "rgb.png"), expected) and reader(tmp_path / "rgb.png").dtype == torch.int64
    assert torch.equal(reader(tmp_path / "rgba.png"), expected)
    assert torch.equal(reader(tmp_path / "palette.png"), torch.from_numpy(np.array([2, 0, 1])[LABELS[::-1]]))


def test_a_colour_the_table_lacks_is_named_with_its_pixel_count(tmp_path):
    reader = ColourMaskReader(MaskColours(("Void", "Road"), COLOURS[:2], "two.csv"))
    Image.fromarray(colour_mask(LABELS)).save(tmp_path / "m.png")
    with pytest.raises(AugmentlabError) as error:
        reader(tmp_path / "m.png")
    assert str(error.value) == (
        f"mask {tmp_path / 'm.png'} has 1 colour that two.csv does not list ((64, 0, 128) in 3 pixels); "
        "add a row name,r,g,b to two.csv for each class it lacks"
    )


def test_index_masks_read_with_a_colour_table_are_called_index_masks(tmp_path):
    reader = ColourMaskReader(MaskColours(("Void", "Road", "Car"), COLOURS, "class_dict.csv"))
    Image.fromarray(LABELS.astype(np.uint8)).save(tmp_path / "m.png")  # greys 0, 1, 2: an index mask
    with pytest.raises(AugmentlabError) as error:
        reader(tmp_path / "m.png")
    assert str(error.value).endswith(
        "; its greys 0, 1, 2, … look like class indices: these are index masks, to read without a colour table (leave out mask_colours)"
    )


@pytest.mark.parametrize(("values", "labels"), [([0, 128, 64], [0, 1, 2]), ([0, 25700, 51400], None)])
def test_16_bit_masks_are_read_as_greys_where_they_fit_and_refused_where_not(tmp_path, values, labels):
    greys = ((0, 0, 0), (128, 128, 128), (64, 64, 64))
    reader = ColourMaskReader(MaskColours(("a", "b", "c"), greys, "greys.csv"))
    Image.fromarray(np.array(values, dtype=np.uint16)[LABELS]).save(tmp_path / "m.png")  # a 16-bit grey PNG
    if labels is not None:
        assert reader(tmp_path / "m.png").tolist() == np.array(labels)[LABELS].tolist()
        return
    with pytest.raises(AugmentlabError) as error:  # Pillow's RGB conversion would clip them all to 255, silently
        reader(tmp_path / "m.png")
    assert str(error.value) == (
        f"mask {tmp_path / 'm.png'} is a 16-bit image with values up to 51400, and a colour table maps 8-bit colours; "
        "save the masks as 8-bit RGB PNGs, or as index PNGs without the colour table"
    )


def test_a_smoothed_mask_is_called_smoothed_not_short_of_classes(tmp_path):
    reader = ColourMaskReader(MaskColours(("Void", "Road", "Car"), COLOURS, "class_dict.csv"))
    smoothed = np.kron(colour_mask(LABELS), np.ones((8, 8, 1), dtype=np.uint8))
    Image.fromarray(smoothed).resize((64, 48), Image.BILINEAR).save(tmp_path / "m.png")
    with pytest.raises(AugmentlabError) as error:
        reader(tmp_path / "m.png")
    assert "; so many colours mark a smoothed mask (saved as JPEG, or resized bilinearly): re-export it as PNG, resized with nearest neighbour" in str(error.value)


@pytest.fixture(scope="module")
def camvid_like(tmp_path_factory):
    """A folder pair per split with colour masks, and the table beside them."""
    root = tmp_path_factory.mktemp("camvid-colours")
    train_images, train_masks = write_folder_split(root / "train", 6)
    val_images, val_masks = write_folder_split(root / "val", 3)
    return {"data": train_images, "masks": train_masks, "val": val_images, "val_masks": val_masks, "table": write_table(root)}


def test_folder_splits_with_a_colour_table_take_its_names_and_map_its_colours(camvid_like):
    train, val = augmentlab.data.load_splits(
        camvid_like["data"], masks=camvid_like["masks"], val=camvid_like["val"], val_masks=camvid_like["val_masks"],
        mask_colours=camvid_like["table"],
    )
    assert train.class_names == val.class_names == ("Void", "Road", "Car")
    layout = torch.from_numpy(np.kron(LABELS, np.ones((8, 8), dtype=int)))
    assert torch.equal(train[2][1], torch.roll(layout, 2, dims=1)) and torch.equal(val[0][1], layout)


def test_the_colour_table_is_part_of_the_data(camvid_like, tmp_path):
    def key(table: Path, classes=None) -> str:
        return augmentlab.load_dataset(camvid_like["data"], masks=camvid_like["masks"], mask_colours=table, classes=classes).cache_key

    renamed = write_table(tmp_path, TABLE, "colours-elsewhere.csv")
    # Road and Car trade colours: the same files mean other labels.
    swapped = write_table(tmp_path, "name,r,g,b\nVoid,0,0,0\nRoad,64,0,128\nCar,128,64,128\n", "swapped.csv")
    assert key(renamed) == key(camvid_like["table"])
    assert key(swapped) != key(camvid_like["table"])
    assert key(camvid_like["table"], ["Void", "Road", "Car"]) == key(camvid_like["table"])  # the rows as they are
    assert key(camvid_like["table"], ["Car", "Road", "Void"]) != key(camvid_like["table"])


def test_a_streamed_split_reads_colour_masks_as_the_cache_does(camvid_like):
    dataset = augmentlab.load_dataset(camvid_like["data"], masks=camvid_like["masks"], mask_colours=camvid_like["table"], size=(24, 32))
    cache, streamed = TensorCache.build(dataset, "cpu"), stream.StreamingSource(dataset, "cpu", workers=2)  # workers: a pickled reader
    for indices in streamed.in_order(4):
        assert torch.equal(streamed.batch(indices)[1], cache.batch(indices)[1])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"classes": ["Void", "Raod"]}, "classes names 'Raod', which {table} does not list (did you mean 'Road'?); name classes of its rows, or leave it out"),
        ({"classes": ["Void", "Road", "Void"]}, "classes names 'Void' twice; name each class once"),
        # refused before any row is said to become the ignore index, which here is a class
        ({"classes": ["Void", "Road"], "ignore_index": 1}, "ignore_index 1 is a class index (classes are 0..1); use a value outside them, such as 255"),
        ({"masks": None}, "mask_colours is the colour table of a folder dataset's colour-coded masks: give it with data IMAGES_DIR and masks MASKS_DIR (a COCO json's classes are its categories)"),
    ],
)
def test_a_colour_table_where_it_cannot_apply_is_refused(camvid_like, arguments, message):
    options = {"masks": camvid_like["masks"], "mask_colours": camvid_like["table"], **arguments}
    data = camvid_like["data"] if options["masks"] is not None else None  # without masks: the demo's COCO data
    with pytest.raises(AugmentlabError) as error:
        augmentlab.load_dataset(data, **options)
    assert str(error.value) == message.format(table=camvid_like["table"])


@pytest.mark.parametrize(
    ("classes", "labels", "void"),
    [
        (["Void", "Road", "Car"], [0, 1, 2], None),
        (["Road", "Car"], [255, 0, 1], "1 row of {table} not among the classes, so void (ignore index 255): Void"),
        (["Car", "Void"], [1, 255, 0], "1 row of {table} not among the classes, so void (ignore index 255): Road"),
    ],
)
def test_classes_choose_rows_of_the_table_and_the_rest_are_void(camvid_like, caplog, classes, labels, void):
    with caplog.at_level("WARNING", logger="augmentlab.data"):
        dataset = augmentlab.load_dataset(camvid_like["data"], masks=camvid_like["masks"], mask_colours=camvid_like["table"], classes=classes)
    assert dataset.class_names == tuple(classes)
    layout = np.kron(LABELS, np.ones((8, 8), dtype=int))
    assert torch.equal(dataset[0][1], torch.from_numpy(np.array(labels)[layout]))
    assert [record.getMessage() for record in caplog.records] == ([] if void is None else [void.format(table=camvid_like["table"])])


def test_colour_masks_without_their_table_send_the_user_to_it(camvid_like):
    result = invoke("data", "stats", "--data", str(camvid_like["data"]), "--masks", str(camvid_like["masks"]))
    assert_one_line_error(
        result,
        f"mask {camvid_like['masks'] / '000.png'} is an RGB image, not an index mask; for colour-coded masks give their colour table "
        "(a CSV name,r,g,b such as CamVid's class_dict.csv) with --mask-colours, or export masks as index PNGs (mode L or P, one class index per pixel)",
    )


def test_an_ablation_on_colour_masks_keeps_the_table_in_its_resolved_config(camvid_like, tmp_path):
    config = AblationConfig(
        aug=["none"], seeds=1, epochs=1, image_size=(32, 32), batch_size=2, device="cpu", out=tmp_path,
        data=camvid_like["data"], masks=camvid_like["masks"], val=camvid_like["val"], val_masks=camvid_like["val_masks"],
        mask_colours=camvid_like["table"],
    )
    report = augmentlab.run_ablation(config)
    assert report.class_names == ["Void", "Road", "Car"]
    resolved = tmp_path / report.name / "config.toml"
    assert f'mask_colours = "{camvid_like["table"]}"\n' in resolved.read_text()
    again = invoke("ablate", "--config", str(resolved), "--out", str(tmp_path), "--quiet")
    assert again.exit_code == 0, again.output
    assert f"resuming {tmp_path / report.name}: 1 of 1 runs already finished, 0 to run\n" in again.stdout


def test_the_preview_draws_colour_coded_data_in_its_own_colours(camvid_like):
    from augmentlab.diagnostics.preview import load_preview_samples

    samples = load_preview_samples(camvid_like["data"], masks=camvid_like["masks"], mask_colours=camvid_like["table"], classes=["Car", "Road"],
                                   n=2, size=32, seed=0)
    assert samples.class_names == ("Car", "Road")
    assert samples.palette.tolist() == (torch.tensor([COLOURS[2], COLOURS[1]], dtype=torch.float32) / 255).tolist()
