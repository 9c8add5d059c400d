"""AblationConfig: every setting once, with its kind and default; TOML in and out; errors that name the setting."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from augmentlab.errors import AugmentlabError, FieldError
from augmentlab.runner.config import AblationConfig
from augmentlab.runner.recipe import PRESETS


def test_defaults_are_the_documented_ones():
    config = AblationConfig()
    assert (config.aug, config.loss, config.each, config.arms, config.seeds) == ((), (), False, (), 2)
    assert (config.val_split, config.ignore_index, config.strict, config.device, config.out) == (0.2, 255, False, "auto", Path("runs"))
    assert config.recipe() == PRESETS["demo"]  # no GPU here: auto is the CPU, whose preset is demo


def test_lists_and_text_are_coerced_to_what_the_config_keeps():
    config = AblationConfig(aug="hflip", loss=["ce0.8+focal0.2"], data="train.json", classes=["background", "car"], devices=[0, 1])
    assert (config.aug, config.loss, config.data, config.classes, config.devices) == (("hflip",), ("ce0.8+focal0.2",), Path("train.json"), ("background", "car"), (0, 1))


def test_every_setting_has_help_and_a_kind():
    for spec in dataclasses.fields(AblationConfig):
        if spec.name != "sources":
            assert spec.metadata["help"].endswith((".", ")")), spec.name
            assert spec.metadata["kind"] in ("int", "number", "bool", "text", "path", "texts", "ints", "arms", "size", "track"), spec.name


def test_with_overrides_sets_what_is_given_and_keeps_the_rest():
    config = AblationConfig(seeds=3, epochs=4).with_overrides(epochs=2, lr=None)
    assert (config.seeds, config.epochs, config.lr) == (3, 2, None)
    with pytest.raises(AugmentlabError, match=r"^AblationConfig has no setting 'seed' — did you mean 'seeds' or 'max_seeds'\?"):
        config.with_overrides(seed=2)


def test_toml_round_trip_gives_an_equal_config(tmp_path):
    config = AblationConfig(
        arms=({"aug": "hflip", "loss": "ce"}, {"aug": "elastic(alpha=2),grid", "loss": "ce0.8+focal(gamma=3)0.2"}),
        seeds=3, preset="demo", epochs=2, image_size=64, lr=3e-4, data=Path("/data/train.json"), val=Path("/data/val.json"),
        classes=("background", "paper"), strict=True, name="study-1",
    )
    path = tmp_path / "study.toml"
    path.write_text(config.to_toml("a study"))
    assert path.read_text().startswith("# a study\n")
    document = tomllib.loads(path.read_text())
    assert document["recipe"] == {"epochs": 2, "image_size": 64, "lr": 3e-4}
    assert document["arms"][1] == {"aug": "elastic(alpha=2),grid", "loss": "ce0.8+focal(gamma=3)0.2"}
    assert AblationConfig.from_toml(path) == config


def test_explicit_settings_are_written_even_at_their_defaults():
    document = tomllib.loads(AblationConfig().to_toml(explicit=["ignore_index", "strict"]))
    assert document == {"ignore_index": 255, "strict": False}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"seeds": 0}, "seeds must be ≥ 1, got 0"),
        ({"seeds": 1.5}, "seeds must be a whole number, got 1.5"),
        ({"val_split": 1.0}, "val_split must be between 0 and 1 (exclusive), got 1.0"),
        ({"epochs": 0}, "epochs must be a whole number ≥ 1, got 0"),
        ({"image_size": 100}, "image_size must be N or H×W with each a multiple of 16 and ≥ 32 (the models downsample by 16), got 100"),
        ({"batch_size": 1}, "batch_size must be ≥ 2 (batch norm needs two samples to train), got 1"),
        ({"preset": "fast"}, "preset 'fast' is not a preset; choose one of demo, standard"),
        ({"device": "tpu"}, "device 'tpu' is not a device; choose auto, cpu or cuda"),
        ({"parallel": 0}, "parallel must be ≥ 1, got 0"),
        ({"address": "auto"}, "address goes with executor ray"),
        ({"executor": "slurm"}, "executor must be local or ray, got 'slurm'"),
        ({"name": "a/b"}, "name 'a/b' may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit"),
        ({"classes": ("background", "")}, "classes must be class names without commas, background first, got ('background', '')"),
        ({"aug": ("hflp",)}, "aug in spec 'hflp' (at column 1): unknown augmentation 'hflp' — did you mean 'hflip' or 'vflip'? `augmentlab plugins` lists all"),
        ({"loss": ("hflip",)}, "loss in spec 'hflip' (at column 1): 'hflip' is an augmentation, not a loss; pass it with aug="),
        ({"arms": ({"aug": "hflip"},), "aug": ("vflip",)}, "arms are listed, and so are aug or loss lists; give one or the other"),
    ],
)
def test_validate_names_the_setting_of_each_problem(settings, message):
    with pytest.raises(AugmentlabError) as error:
        AblationConfig(**settings).validate()
    assert str(error.value) == message


def test_a_value_from_a_file_is_named_by_the_file_and_its_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("seeds = 2\n[recipe]\nbatch_size = 1\n[[arms]]\naug = 'hflp'\n")
    config = AblationConfig.from_toml(path)
    with pytest.raises(FieldError) as error:
        config.recipe()
    assert str(error.value) == f"{path}: [recipe] batch_size must be ≥ 2 (batch norm needs two samples to train), got 1"
    with pytest.raises(AugmentlabError, match=rf"^{path}: arms\[0\]\.aug in spec 'hflp' \(at column 1\): unknown augmentation 'hflp'"):
        config.planned_arms()
    # overridden, the value is the caller's again, and so is the name in the message
    with pytest.raises(FieldError) as error:
        config.with_overrides(batch_size=0).recipe()
    assert str(error.value) == "batch_size must be ≥ 2 (batch norm needs two samples to train), got 0"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("seeds = [", "is not valid TOML"),
        ("sedes = 2", "unknown key 'sedes' — did you mean 'seeds'?"),
        ("recipe = 2", r"recipe must be a table, \[recipe\], got 2"),
        ("[recipe]\nepoch = 2", "unknown recipe field 'epoch' — did you mean 'epochs'?"),
        ("epochs = 3", r"bad.toml: 'epochs' is a recipe field; set it under \[recipe\]$"),
        ("[recipe]\nseeds = 3", r"bad.toml: 'seeds' is not a recipe field; set it at the top of the file, before \[recipe\]$"),
    ],
)
def test_a_bad_file_is_one_line(tmp_path, content, message):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(AugmentlabError, match=message):
        AblationConfig.from_toml(path)


def test_a_folder_or_a_missing_file_is_named_as_such(tmp_path):
    with pytest.raises(AugmentlabError, match=f"^config file {tmp_path} is a folder; give the path of a .toml file$"):
        AblationConfig.from_toml(tmp_path)
    with pytest.raises(AugmentlabError, match=f"^config file {tmp_path / 'no.toml'} does not exist$"):
        AblationConfig.from_toml(tmp_path / "no.toml")


def test_the_data_request_has_absolute_paths_and_the_training_size(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    request = AblationConfig(data=Path("train.json"), images=Path("photos"), image_size=64, cache_memory=0.5).data_request({"strict": True})
    assert (request.data, request.options["images"], request.size) == (str(tmp_path / "train.json"), str(tmp_path / "photos"), (64, 64))
    assert (request.plugin_options, request.memory_budget_bytes, request.host_memory_bytes) == ({"strict": True}, 2**29, None)
    assert (request.device_copies, request.host_copies) == (1, 1)


@pytest.mark.parametrize(
    ("settings", "copies"),
    [
        ({}, (1, 1)),
        ({"parallel": 3}, (3, 3)),  # three workers, each with its own copy, on one device and one machine
    ],
)
def test_the_data_request_says_how_many_processes_share_the_memory(settings, copies):
    request = AblationConfig(device="cpu", host_memory=1.5, **settings).data_request()
    assert (request.device_copies, request.host_copies, request.host_memory_bytes) == (*copies, 3 * 2**29)


def test_factorial_and_each_arms_start_with_the_baseline():
    arms = AblationConfig(aug=["elastic,grid"], loss=["ce0.8+focal0.2"], each=True).planned_arms()
    assert [arm.name for arm in arms] == [
        "none | ce", "none | ce0.8+focal0.2", "elastic | ce", "elastic | ce0.8+focal0.2", "grid | ce", "grid | ce0.8+focal0.2",
        "elastic,grid | ce", "elastic,grid | ce0.8+focal0.2",
    ]
    listed = AblationConfig(arms=[{"aug": "vflip"}, {"loss": "dice"}]).planned_arms()
    assert [arm.name for arm in listed] == ["none | ce", "vflip | ce", "none | dice"]
