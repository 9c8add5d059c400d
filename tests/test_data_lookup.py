"""Where a COCO json's images are found (issue 17's order, bare names last, Windows and Unicode
spellings), entries that find one file, and the image formats a folder dataset takes."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augmentlab.data import load_dataset
from augmentlab.data.images import image_suffixes
from augmentlab.errors import AugmentlabError

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.fixture(autouse=True)
def _mask_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUGMENTLAB_CACHE", str(tmp_path / "cache"))


def picture(path: Path, shade: int = 50) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 6, 3), shade, np.uint8)).save(path)
    return path


def write_json(path: Path, entries: list[dict]) -> Path:
    """A json of 6×4 images, each with a small square of class 1."""
    images = [{"id": index, "width": 6, "height": 4, **entry} for index, entry in enumerate(entries, start=1)]
    annotations = [{"id": index, "image_id": index, "category_id": 1, "iscrowd": 0, "segmentation": [[1, 1, 3, 1, 3, 3, 1, 3]]}
                   for index in range(1, len(entries) + 1)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "car"}]}))
    return path


# (the entry, files present relative to tmp_path, the one expected): json in export/, images=photos/
@pytest.mark.parametrize(
    ("entry", "files", "expected"),
    [
        ({"file_name": "a/0.jpg", "path": "b/0.jpg"}, ["photos/a/0.jpg", "photos/b/0.jpg", "export/a/0.jpg"], "photos/a/0.jpg"),
        ({"file_name": "a/0.jpg", "path": "b/0.jpg"}, ["photos/b/0.jpg", "export/a/0.jpg", "export/b/0.jpg"], "photos/b/0.jpg"),
        ({"file_name": "a/0.jpg", "path": "b/0.jpg"}, ["export/a/0.jpg", "export/b/0.jpg", "photos/0.jpg"], "export/a/0.jpg"),
        ({"file_name": "a/0.jpg", "path": "b/0.jpg"}, ["export/b/0.jpg", "photos/0.jpg"], "export/b/0.jpg"),
        # the review's case: an exact recorded path beside the json beats a bare name under images
        ({"file_name": "train/0.jpg"}, ["photos/0.jpg", "export/train/0.jpg"], "export/train/0.jpg"),
        ({"file_name": "a/0.jpg", "path": "b/1.jpg"}, ["photos/1.jpg", "photos/0.jpg", "export/0.jpg"], "photos/0.jpg"),
        ({"file_name": "a/0.jpg", "path": "b/1.jpg"}, ["photos/1.jpg", "export/0.jpg"], "photos/1.jpg"),
        ({"file_name": "a/0.jpg"}, ["export/0.jpg"], "export/0.jpg"),
        ({"file_name": "C:\\export\\batch_1\\0.jpg"}, ["photos/0.jpg"], "photos/0.jpg"),
        ({"file_name": "imgs\\0.jpg"}, ["export/imgs/0.jpg", "photos/0.jpg"], "export/imgs/0.jpg"),
        ({"file_name": "0.jpg", "path": "JPEGImages\\0.jpg"}, ["export/JPEGImages/0.jpg"], "export/JPEGImages/0.jpg"),
    ],
)
def test_images_are_found_in_issue_17s_order_and_bare_names_last(tmp_path: Path, entry: dict, files: list[str], expected: str) -> None:
    for shade, name in enumerate(files):
        picture(tmp_path / name, 10 * shade)
    (tmp_path / "photos").mkdir(exist_ok=True)
    dataset = load_dataset(write_json(tmp_path / "export" / "ann.json", [entry]), images=tmp_path / "photos")
    assert dataset._samples[0].image_path == tmp_path / expected


@pytest.mark.parametrize(("recorded_form", "disk_form"), [("NFC", "NFD"), ("NFD", "NFC")])
def test_a_name_in_another_unicode_normalisation_is_found(tmp_path: Path, recorded_form: str, disk_form: str) -> None:
    folder_name, file_name = "Köln", "café_Straße.jpg"
    on_disk = tmp_path / unicodedata.normalize(disk_form, folder_name) / unicodedata.normalize(disk_form, file_name)
    picture(on_disk)
    recorded = unicodedata.normalize(recorded_form, f"{folder_name}/{file_name}")
    dataset = load_dataset(write_json(tmp_path / "ann.json", [{"file_name": recorded}]))
    assert dataset._samples[0].image_path == on_disk
    assert dataset.sample_name(0) == recorded


NFC, NFD = unicodedata.normalize("NFC", "café.jpg"), unicodedata.normalize("NFD", "café.jpg")


@pytest.mark.parametrize(
    ("entry", "files", "expected"),
    [
        # decomposed under images/ (a copy from macOS), composed beside the json: images/ comes first
        ({"file_name": NFC}, [f"photos/{NFD}", f"export/{NFC}"], f"photos/{NFD}"),
        # the recorded folder, decomposed on disk, before a bare name that exists as written
        ({"file_name": f"sub/{NFC}"}, [f"photos/sub/{NFD}", f"photos/{NFC}"], f"photos/sub/{NFD}"),
    ],
)
def test_accented_names_keep_the_documented_order(tmp_path: Path, entry: dict, files: list[str], expected: str) -> None:
    for shade, name in enumerate(files):
        picture(tmp_path / name, 10 * shade)
    dataset = load_dataset(write_json(tmp_path / "export" / "ann.json", [entry]), images=tmp_path / "photos")
    assert dataset._samples[0].image_path == tmp_path / expected


@pytest.mark.parametrize(
    ("entries", "files", "message"),
    [
        ([{"file_name": "0.jpg"}, {"file_name": "0.jpg"}, {"file_name": "1.jpg"}], ["0.jpg", "1.jpg"],
         "{json}: images id 1 (0.jpg) and id 2 (0.jpg) are both the file {root}/0.jpg, so one picture would train with "
         "two masks; remove the duplicate entry, moving its annotations to the other"),
        ([{"file_name": "cam1/0.jpg"}, {"file_name": "cam2/0.jpg"}, {"file_name": "1.jpg"}], ["0.jpg", "1.jpg"],
         "{json}: images id 1 (cam1/0.jpg) and id 2 (cam2/0.jpg) are both the file {root}/0.jpg, so one picture would train "
         "with two masks; their recorded folders were not found, so both fell back to the bare file name: give the folder "
         "that holds cam1/ and cam2/ as images"),
        ([{"file_name": "0.jpg"}, {"file_name": "./0.jpg"}, {"file_name": "1.jpg"}, {"file_name": "1.jpg"}], ["0.jpg", "1.jpg"],
         "{json}: images id 1 (0.jpg) and id 2 (./0.jpg) are both the file {root}/0.jpg, and 1 more entry shares a file with "
         "another, so one picture would train with two masks; give each entry its own image file"),
        ([{"file_name": "a\\0.jpg"}, {"file_name": "a/0.jpg"}], ["a/0.jpg"],
         "{json}: images id 1 (a\\0.jpg) and id 2 (a/0.jpg) are both the file {root}/a/0.jpg, so one picture would train "
         "with two masks; remove the duplicate entry, moving its annotations to the other"),
    ],
)
def test_two_entries_that_find_one_file_are_refused(tmp_path: Path, entries: list[dict], files: list[str], message: str) -> None:
    for name in files:
        picture(tmp_path / name)
    path = write_json(tmp_path / "ann.json", entries)
    with pytest.raises(AugmentlabError) as error:
        load_dataset(path)
    assert str(error.value) == message.format(json=path, root=tmp_path)


def test_the_cameras_load_once_their_folders_are_given(tmp_path: Path) -> None:
    picture(tmp_path / "0.jpg")
    picture(tmp_path / "frames" / "cam1" / "0.jpg", 1)
    picture(tmp_path / "frames" / "cam2" / "0.jpg", 2)
    path = write_json(tmp_path / "ann.json", [{"file_name": "cam1/0.jpg"}, {"file_name": "cam2/0.jpg"}])
    dataset = load_dataset(path, images=tmp_path / "frames")
    assert [sample.image_path for sample in dataset._samples] == [tmp_path / "frames" / "cam1" / "0.jpg", tmp_path / "frames" / "cam2" / "0.jpg"]


def test_the_missing_images_error_still_names_every_place(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    path = write_json(tmp_path / "export" / "ann.json", [{"file_name": "a\\0.jpg", "path": "b/0.jpg"}])
    with pytest.raises(AugmentlabError) as error:
        load_dataset(path, images=tmp_path / "photos")
    assert str(error.value) == (
        f"1 of 1 image listed in {path} cannot be found (a\\0.jpg): looked for each file_name and path, and its bare file name, "
        f"under {tmp_path / 'photos'} and {tmp_path / 'export'}; give the folder that holds them as images"
    )


@pytest.mark.parametrize("suffix", [".webp", ".tif", ".tiff", ".bmp", ".TIF", ".jpeg", ".png"])
def test_a_folder_dataset_takes_the_formats_pillow_reads(tmp_path: Path, suffix: str) -> None:
    assert suffix.lower() in image_suffixes()
    for stem in ("0", "1"):
        picture(tmp_path / "images" / f"{stem}{suffix}")
        mask = np.zeros((4, 6), np.uint8)
        mask[0, 0] = 1
        (tmp_path / "masks").mkdir(exist_ok=True)
        Image.fromarray(mask).save(tmp_path / "masks" / f"{stem}.png")
    dataset = load_dataset(tmp_path / "images", masks=tmp_path / "masks")
    assert len(dataset) == 2 and dataset[0][0].shape == (3, 4, 6)


def test_sidecar_files_are_no_images() -> None:
    assert not {".txt", ".json", ".xml", ".h5", ".eps", ".npy"} & image_suffixes()
