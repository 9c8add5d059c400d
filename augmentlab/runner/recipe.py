"""The recipe an ablation holds fixed across its arms, its presets, and the checks of its fields.

Every arm of an ablation trains with one recipe; only its plugin set differs. A preset names a
recipe; the fields a user sets override it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from augmentlab.errors import FieldError
from augmentlab.registry.spec import suggest
from augmentlab.results.records import RECIPE_ADDED_FIELDS as ADDED_FIELDS
from augmentlab.results.records import size_text

SMP_MODEL_CLASSES = {
    "deeplabv3plus": "DeepLabV3Plus", "deeplabv3": "DeepLabV3", "unet": "Unet", "unetplusplus": "UnetPlusPlus", "fpn": "FPN",
    "pspnet": "PSPNet", "linknet": "Linknet", "manet": "MAnet", "pan": "PAN", "upernet": "UPerNet",
}
"""The segmentation_models_pytorch class each recipe architecture builds, as a run's config records it."""
ARCHITECTURES = tuple(SMP_MODEL_CLASSES)
"""segmentation_models_pytorch architectures that take an encoder and give a logit per class at the input size."""
SCHEDULES = ("constant", "poly", "cosine")
RESIZES = ("stretch", "fit")


@dataclass(frozen=True)
class Recipe:
    """Everything an ablation holds fixed across its arms.

    The optimiser is the reference study's shared setting: Adam, weight decay 1e-6.
    """

    epochs: int
    image_size: int | tuple[int, int]
    """N for N×N, or (height, width)."""
    batch_size: int
    lr: float
    encoder: str
    encoder_weights: str
    weight_decay: float = 1e-6
    autocast: str = "none"
    arch: str = "deeplabv3plus"
    """The smp architecture every arm trains (``smp.create_model``'s name)."""
    schedule: str = "constant"
    """Learning rate over training: constant (the reference study's), poly (power 0.9, MMSegmentation's) or cosine, per step."""
    warmup_epochs: int = 0
    """Epochs of linear warm-up from lr/100 before the schedule."""
    eval_size: str = "native"
    """``native``: validation logits upsampled to each image's own size and scored against its mask there; ``train``: at the training size."""
    resize: str = "stretch"
    """``stretch`` every image to the training size, or ``fit`` it inside, keeping its aspect ratio, and pad (image 0, mask ignore_index)."""
    mirror_pairs: str = "auto"
    """Class pairs a reflection swaps (``auto``, ``none`` or ``A:B,C:D``); the runner resolves ``auto`` to the pairs
    once the classes are known (:func:`resolve_mirror_pairs`), so the stored recipe names them."""

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the training size."""
        return (self.image_size, self.image_size) if isinstance(self.image_size, int) else (int(self.image_size[0]), int(self.image_size[1]))

    @property
    def size_text(self) -> str:
        """``128px`` or ``96×128px``."""
        return size_text(self.image_size)

    def identity(self) -> str:
        """The recipe's repr without the fields added after 0.1 at their defaults, so folder names of earlier recipes stay the same."""
        shown = [(field.name, getattr(self, field.name)) for field in fields(self)]
        kept = [(name, value) for name, value in shown if not (name in ADDED_FIELDS and value == ADDED_FIELDS[name])]
        return f"Recipe({', '.join(f'{name}={value!r}' for name, value in kept)})"




PRESETS: dict[str, Recipe] = {
    # The headline's 4 arms × 2 seeds in about 4 minutes on a 2-core CPU with the built-in demo
    # data (3 epochs: 4 took 4.5 to 5.5 min once two seeds became the default). From scratch, lr
    # 1e-3 trains furthest: at 4 epochs, baseline val mIoU 0.191 against 0.139 at 3e-4 and 0.121
    # at 1e-4 (2 seeds).
    "demo": Recipe(epochs=3, image_size=128, batch_size=8, lr=1e-3, encoder="resnet18", encoder_weights="none"),
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


RECIPE_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(Recipe))


def build_recipe(preset: str, overrides: dict[str, Any]) -> Recipe:
    """The preset's recipe with ``overrides`` (only non-None values) applied and checked.

    Raises:
        FieldError: an unknown preset, or a value out of range, naming the field and what to give instead.
    """
    if preset not in PRESETS:
        raise FieldError("preset", f"{preset!r} is not a preset; choose one of {', '.join(PRESETS)}{suggest(str(preset), list(PRESETS))}")
    recipe = replace(PRESETS[preset], **{key: value for key, value in overrides.items() if value is not None})
    checks = [
        ("epochs", _is_integer(recipe.epochs) and recipe.epochs >= 1, "must be a whole number ≥ 1"),
        ("image_size", _valid_size(recipe.image_size), "must be N or H×W with each a multiple of 16 and ≥ 32 (the models downsample by 16)"),
        ("resize", recipe.resize in RESIZES, f"must be one of {', '.join(RESIZES)}"),
        ("eval_size", recipe.eval_size in ("native", "train"), "must be native or train"),
        ("batch_size", _is_integer(recipe.batch_size) and recipe.batch_size >= 2, "must be ≥ 2 (batch norm needs two samples to train)"),
        ("lr", _is_number(recipe.lr) and recipe.lr > 0, "must be a number > 0"),
        ("weight_decay", _is_number(recipe.weight_decay) and recipe.weight_decay >= 0, "must be a number ≥ 0"),
        ("autocast", recipe.autocast in ("none", "bf16", "fp16"), "must be none, bf16 or fp16"),
        ("encoder", isinstance(recipe.encoder, str), "must be an encoder name"),
        ("encoder_weights", isinstance(recipe.encoder_weights, str), "must be imagenet, none or the path of a weights file"),
        ("schedule", recipe.schedule in SCHEDULES, f"must be one of {', '.join(SCHEDULES)}"),
        ("warmup_epochs", _is_integer(recipe.warmup_epochs) and recipe.warmup_epochs >= 0, "must be a whole number ≥ 0"),
        ("mirror_pairs", isinstance(recipe.mirror_pairs, str), "must be auto, none or pairs like 'left_arm:right_arm'"),
    ]
    choices = {"resize": RESIZES, "eval_size": ("native", "train"), "autocast": ("none", "bf16", "fp16"), "schedule": SCHEDULES}
    for field_name, ok, problem in checks:
        if not ok:
            value = getattr(recipe, field_name)
            shown = "x".join(map(str, value)) if field_name == "image_size" and isinstance(value, tuple) else repr(value)
            close = suggest(value, list(choices[field_name])) if field_name in choices and isinstance(value, str) else ""
            raise FieldError(field_name, f"{problem}, got {shown}{close}")
    if recipe.warmup_epochs >= recipe.epochs and recipe.warmup_epochs > 0:
        raise FieldError("warmup_epochs", f"must be fewer than epochs ({recipe.epochs}), so that the schedule has epochs to run, got {recipe.warmup_epochs}")
    check_arch(recipe.arch)
    check_encoder(recipe.encoder, recipe.arch)
    check_encoder_weights(recipe.encoder_weights)
    return recipe


def resolve_mirror_pairs(recipe: Recipe, class_names: Sequence[str]) -> Recipe:
    """The recipe with its mirror pairs spelt out for these classes: ``none``, or ``A:B,C:D`` by name (by index, ``#2``,
    for a name holding ``:`` or ``,``, edge spaces or only digits, so that it never reads as another class), so that ``auto`` on data without left/right classes is the ``none`` every earlier
    folder trained with, and the pairs found are what the plan prints and the store keeps.

    Raises:
        FieldError: for ``mirror_pairs``, as :func:`augmentlab.augment.mirror.mirror_pairs`.
    """
    from augmentlab.augment.mirror import mirror_pairs

    pairs = mirror_pairs(class_names, recipe.mirror_pairs)

    def named(index: int) -> str:
        name = class_names[index]
        return f"#{index}" if (":" in name or "," in name or name.strip() != name or name.isdigit() or name.startswith("#")) else name

    spelt = ",".join(f"{named(a)}:{named(b)}" for a, b in pairs) or "none"
    return replace(recipe, mirror_pairs=spelt)


def check_arch(name: str) -> None:
    """Raise FieldError unless ``name`` is an architecture the ablation can train, with close matches for a typo."""
    from augmentlab.registry.spec import suggest

    if not isinstance(name, str) or name not in ARCHITECTURES:
        close = suggest(str(name).replace("+", "plus"), ARCHITECTURES)  # unet++ → unetplusplus, deeplabv3+ → deeplabv3plus
        raise FieldError("arch", f"{name!r} is not an architecture here{close or ';'} choose one of {', '.join(ARCHITECTURES)}")


def _valid_size(value: Any) -> bool:
    sides = [value] if _is_integer(value) else list(value) if isinstance(value, tuple) and len(value) == 2 else []
    return bool(sides) and all(_is_integer(side) and side >= 32 and side % 16 == 0 for side in sides)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A finite int or float: an infinite learning rate would pass every check and fail every run."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_encoder(name: str, arch: str = "deeplabv3plus") -> None:
    """Raise FieldError unless segmentation_models_pytorch knows the encoder ``name`` and ``arch`` can be built with it."""
    import segmentation_models_pytorch as smp

    from augmentlab.registry.spec import suggest
    from augmentlab.runner.model import check_arch_with_encoder

    if name.startswith("tu-"):
        import timm

        if not timm.is_model(name[3:]):
            raise FieldError("encoder", f"{name!r} is not a timm model; `timm.list_models()` lists the names to use after 'tu-'")
    else:
        known = smp.encoders.get_encoder_names()
        if name not in known:
            raise FieldError("encoder", f"{name!r} is not an encoder of segmentation_models_pytorch{suggest(name, known) or ';'} choose one such as resnet18, resnet50, efficientnet-b0")
    check_arch_with_encoder(arch, name)


def check_encoder_weights(weights: str) -> None:
    if weights in ("imagenet", "none"):
        return
    if not Path(weights).is_file():
        raise FieldError("encoder_weights", f"{weights!r} is neither imagenet, none nor an existing file")


def resolve_device(device: str) -> tuple[str, str]:
    """(device, default preset) for ``auto``, ``cpu`` or ``cuda``; cuda is checked to exist."""
    import torch

    if device not in ("auto", "cpu", "cuda"):
        # 'gpu' reads as 'cpu' to a string matcher, and means cuda; a higher cutoff, as tpu is no typo of cpu
        close = " — did you mean 'cuda'?" if str(device).lower() in ("gpu", "nvidia") else suggest(str(device), ["auto", "cpu", "cuda"], cutoff=0.75)
        raise FieldError("device", f"{device!r} is not a device; choose auto, cpu or cuda{close}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise FieldError("device", "is cuda, but no CUDA device is visible; give cpu or auto")
    return device, "standard" if device == "cuda" else "demo"
