"""An ablation plan: which arms to train, with which seeds, under one fixed recipe.

Arms form a full factorial (DESIGN.md): augmentation levels are ``none`` plus each given set,
loss levels are ``ce`` plus each given spec, and every augmentation level meets every loss
level. The cell (none, ce) is the baseline every other arm is compared with.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Iterable

from augmentlab.api import resolve_augmentation_set, resolve_loss_spec
from augmentlab.errors import AugmentlabError
from augmentlab.spec import AugmentationSet, LossSpec

BASELINE_AUGMENTATION = "none"
BASELINE_LOSS = "ce"


@dataclass(frozen=True)
class Arm:
    """One plugin set: an augmentation set and a loss."""

    augmentation: AugmentationSet
    loss: LossSpec

    @property
    def name(self) -> str:
        return f"{self.augmentation} | {self.loss}"

    @property
    def is_baseline(self) -> bool:
        return str(self.augmentation) == BASELINE_AUGMENTATION and str(self.loss) == BASELINE_LOSS


@dataclass(frozen=True)
class Recipe:
    """Everything an ablation holds fixed across its arms.

    The optimiser is the reference study's shared setting: Adam, weight decay 1e-6.
    """

    epochs: int
    image_size: int
    batch_size: int
    lr: float
    encoder: str
    encoder_weights: str
    weight_decay: float = 1e-6
    autocast: str = "none"


PRESETS: dict[str, Recipe] = {
    # A few minutes on a 2-core CPU with the built-in demo data. From scratch, lr 1e-3 trains
    # furthest in 4 epochs: baseline val mIoU 0.191 against 0.139 at 3e-4 and 0.121 at 1e-4 (2 seeds).
    "demo": Recipe(epochs=4, image_size=128, batch_size=8, lr=1e-3, encoder="resnet18", encoder_weights="none"),
    # One GPU, the reference study's scale.
    "standard": Recipe(epochs=20, image_size=512, batch_size=16, lr=1e-4, encoder="resnet50", encoder_weights="imagenet", autocast="bf16"),
}


AUTOTUNED_PRESETS = frozenset({"standard"})
"""Presets whose runs have cuDNN time its algorithms by default (``--cudnn-benchmark``).

The timing costs each process 9–16 s on an H200, where a whole demo run trains for about 1.5 s
(0.2 s an epoch): the fastest algorithms would have to save that much over all the runs of a
process to pay it back. Off, PyTorch's own default, keeps cuDNN's heuristic choice. A standard
run trains 20 epochs of resnet50 at 512×512, which pays it back.
"""


@dataclass(frozen=True)
class AblationPlan:
    """Arms × seeds under one recipe."""

    arms: tuple[Arm, ...]
    seeds: tuple[int, ...]
    recipe: Recipe
    preset: str
    device: str

    @property
    def runs(self) -> list[tuple[Arm, int]]:
        return [(arm, seed) for arm in self.arms for seed in self.seeds]


def augmentation_levels(sets: Iterable[str], each: bool) -> list[AugmentationSet]:
    """``none`` plus each set; with ``each``, a set of several members also adds each member alone first."""
    levels: dict[str, AugmentationSet] = {}
    for candidate in [BASELINE_AUGMENTATION, *sets]:
        parsed = resolve_augmentation_set(candidate)
        expanded = [AugmentationSet((term,), str(term)) for term in parsed] if each and len(parsed) > 1 else []
        for level in [*expanded, parsed]:
            levels.setdefault(str(level), level)
    return list(levels.values())


def loss_levels(specs: Iterable[str]) -> list[LossSpec]:
    """``ce`` plus each spec, each once."""
    levels: dict[str, LossSpec] = {}
    for candidate in [BASELINE_LOSS, *specs]:
        parsed = resolve_loss_spec(candidate)
        levels.setdefault(str(parsed), parsed)
    return list(levels.values())


def factorial_arms(augmentations: Iterable[str], losses: Iterable[str], each: bool = False) -> list[Arm]:
    """Every augmentation level with every loss level, the baseline (none, ce) first."""
    return [Arm(a, l) for a, l in itertools.product(augmentation_levels(augmentations, each), loss_levels(losses))]


def explicit_arms(entries: list[Any], source: str) -> list[Arm]:
    """Arms listed one by one (``[[arms]]`` in a config file), the baseline added first if missing."""
    baseline = Arm(resolve_augmentation_set(BASELINE_AUGMENTATION), resolve_loss_spec(BASELINE_LOSS))
    arms = {baseline.name: baseline}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) - {"aug", "loss"}:
            raise AugmentlabError(f"{source}: arms[{index}] must be a table with keys aug and loss, got {entry!r}")
        augmentation = resolve_augmentation_set(str(entry.get("aug", BASELINE_AUGMENTATION)))
        arm = Arm(augmentation, resolve_loss_spec(str(entry.get("loss", BASELINE_LOSS))))
        arms.setdefault(arm.name, arm)
    return list(arms.values())


CONFIG_KEYS = {
    "aug", "loss", "each", "seeds", "arms", "recipe", "preset", "device", "name",
    "data", "val", "images", "masks", "val_masks", "val_split", "ignore_index", "classes", "strict",
}


def read_config(path: Path) -> dict[str, Any]:
    """Read an ablation config file (TOML) and check its keys.

    Top-level keys mirror the CLI options (``aug``, ``loss``, ``each``, ``seeds``, ``preset``,
    ``device``, ``name``, the data paths ``data``, ``val``, ``images``, ``masks``, ``val_masks``,
    and ``val_split``, ``ignore_index``, ``classes`` (a list of names), ``strict``); ``[[arms]]``
    lists arms explicitly; ``[recipe]`` overrides recipe fields.

    Raises:
        AugmentlabError: missing file, invalid TOML or unknown keys.
    """
    if not path.is_file():
        raise AugmentlabError(f"config file {path} does not exist")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise AugmentlabError(f"config file {path} is not valid TOML: {error}") from None
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        raise AugmentlabError(f"config file {path}: unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(CONFIG_KEYS))}")
    recipe_fields = {field.name for field in fields(Recipe)}
    unknown = sorted(set(config.get("recipe", {})) - recipe_fields)
    if unknown:
        raise AugmentlabError(f"config file {path}: unknown recipe field {unknown[0]!r}; valid fields: {', '.join(sorted(recipe_fields))}")
    for key in ("aug", "loss"):
        if isinstance(config.get(key), str):
            config[key] = [config[key]]
    return config


def build_recipe(preset: str, overrides: dict[str, Any], source: str = "") -> Recipe:
    """The preset's recipe with ``overrides`` (only non-None values) applied and checked.

    Raises:
        AugmentlabError: a value out of range, with what to pass instead.
    """
    if preset not in PRESETS:
        raise AugmentlabError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    recipe = replace(PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None})
    where = f"{source}: " if source else ""
    checks = [
        (isinstance(recipe.epochs, int) and recipe.epochs >= 1, f"epochs must be a whole number ≥ 1, got {recipe.epochs!r}"),
        (isinstance(recipe.image_size, int) and recipe.image_size >= 32 and recipe.image_size % 16 == 0,
         f"image size must be a multiple of 16 and ≥ 32 (DeepLabV3+ downsamples by 16), got {recipe.image_size!r}"),
        (isinstance(recipe.batch_size, int) and recipe.batch_size >= 2,
         f"batch size must be ≥ 2 (batch norm needs two samples to train), got {recipe.batch_size!r}"),
        (isinstance(recipe.lr, (int, float)) and recipe.lr > 0, f"learning rate must be > 0, got {recipe.lr!r}"),
        (isinstance(recipe.weight_decay, (int, float)) and recipe.weight_decay >= 0, f"weight decay must be ≥ 0, got {recipe.weight_decay!r}"),
        (recipe.autocast in ("none", "bf16", "fp16"), f"autocast must be none, bf16 or fp16, got {recipe.autocast!r}"),
    ]
    for ok, message in checks:
        if not ok:
            raise AugmentlabError(where + message)
    check_encoder(recipe.encoder)
    check_encoder_weights(recipe.encoder_weights)
    return recipe


def check_encoder(name: str) -> None:
    """Raise AugmentlabError unless segmentation_models_pytorch knows the encoder ``name`` and DeepLabV3+ can dilate it."""
    import segmentation_models_pytorch as smp

    from augmentlab.model import check_deeplab_encoder
    from augmentlab.spec import suggest

    if name.startswith("tu-"):
        import timm

        if not timm.is_model(name[3:]):
            raise AugmentlabError(f"unknown timm encoder {name!r}; `timm.list_models()` lists the names to use after 'tu-'")
    else:
        known = smp.encoders.get_encoder_names()
        if name not in known:
            raise AugmentlabError(f"unknown encoder {name!r}{suggest(name, known) or ';'} choose one of segmentation_models_pytorch's encoders, e.g. resnet18, resnet50, efficientnet-b0")
    check_deeplab_encoder(name)


def check_encoder_weights(weights: str) -> None:
    if weights in ("imagenet", "none"):
        return
    if not Path(weights).is_file():
        raise AugmentlabError(f"encoder weights {weights!r} are neither imagenet, none nor an existing file")


def check_batch_fits(batch_size: int, train_images: int) -> None:
    """An epoch drops its last partial batch, so a batch larger than the training set trains nothing."""
    if batch_size > train_images:
        raise AugmentlabError(f"--batch-size {batch_size} is larger than the {train_images} training images; lower it")


def check_run_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise AugmentlabError(f"run name {name!r} may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit")
    return name


def resolve_device(device: str) -> tuple[str, str]:
    """(device, default preset) for ``auto``, ``cpu`` or ``cuda``; cuda is checked to exist."""
    import torch

    if device not in ("auto", "cpu", "cuda"):
        raise AugmentlabError(f"unknown device {device!r}; choose auto, cpu or cuda")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise AugmentlabError("--device cuda was asked for, but no CUDA device is visible; pass --device cpu or auto")
    return device, "standard" if device == "cuda" else "demo"
