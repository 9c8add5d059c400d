"""``augmentlab export DIR``: one arm of a finished ablation as a recipe to train with, with the evidence for it.

``spec`` and ``python`` come from :mod:`augmentlab.report.export`. The albumentations form is
built here, in the layer that may import :mod:`augmentlab.diagnostics.equivalents`: each built-in
starts from its stock equivalent there (class and fixed arguments matched to our defaults), and
its spec parameters, ``p`` and mask fill are converted into the stock transform's arguments.
``p`` means the same in both, the probability that one sample is transformed, so it is carried
over as it is. What has no equivalent is left out, and what behaves otherwise is said; both are
listed in the JSON and printed to stderr, one line each.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from augmentlab.errors import AugmentlabError, Param

if TYPE_CHECKING:
    from augmentlab.report.export import ArmRecipe

EXPORT_FORMATS = ("spec", "python", "albumentations")


def export(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="An ablation's output folder, e.g. runs/ablation-1a2b3c4d5e.")],
    arm: Annotated[Optional[str], typer.Option("--arm", metavar="N", help="The arm to export: its number in the report's Arms table (#1) or its name ('hflip | ce').")] = None,
    best: Annotated[bool, typer.Option("--best", help="Export the arm with the highest mIoU among those whose verdict is better.")] = False,
    fmt: Annotated[str, typer.Option("--format", metavar="spec|python|albumentations", help="TOML aug and loss specs, a Python module for your training loop, or an albumentations JSON.")] = "spec",
) -> None:
    """Print one arm's augmentation and loss with the evidence for it, to train with: TOML specs, a Python module or an albumentations pipeline."""
    from augmentlab.report.export import python_text, read_arm_recipe, spec_text

    if fmt not in EXPORT_FORMATS:
        raise AugmentlabError(f"--format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    recipe = read_arm_recipe(folder, arm=arm, best=best)
    if fmt == "spec":
        typer.echo(spec_text(recipe), nl=False)
    elif fmt == "python":
        typer.echo(python_text(recipe), nl=False)
    else:
        document = albumentations_document(recipe)
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        notes = document["augmentlab"]
        for line in [f"not exported: {note}" for note in notes["not_exported"]] + [f"differs: {note}" for note in notes["differs"]]:
            typer.echo(line, err=True)


def albumentations_document(recipe: ArmRecipe) -> dict[str, Any]:
    """The arm's augmentation as ``A.to_dict`` of an ``A.Compose``, which ``A.from_dict`` loads.

    Its extra top-level key ``augmentlab``, which ``A.from_dict`` ignores, holds the evidence, the
    loss (albumentations has none), and the terms ``not_exported`` (no equivalent) and those whose
    behaviour ``differs``, each as one line.

    Raises:
        AugmentlabError: albumentations is not installed, or the arm's augmentation spec is malformed.
    """
    from augmentlab.diagnostics.bench_augment import import_albumentations
    from augmentlab.registry.api import available_augmentations
    from augmentlab.registry.spec import parse_augmentation_set

    albumentations = import_albumentations()
    if albumentations is None:
        raise AugmentlabError(Param("format"), " albumentations needs the albumentations package: pip install albumentations")
    target = ConversionTarget.of(recipe)
    available = available_augmentations()
    transforms, not_exported, differs = [], [], []
    for term in parse_augmentation_set(recipe.arm.augmentation):
        if term.name not in CONVERSIONS or term.name not in available:
            not_exported.append(f"{term}: {NO_EQUIVALENT.get(term.name, 'no albumentations equivalent is known for it')}")
            continue
        values = {**available[term.name].defaults, **term.kwargs}
        arguments, notes = CONVERSIONS[term.name](values, target)
        try:
            transforms.append(stock_equivalent_with(term.name, {**arguments, "p": float(values["p"])}))
        except (ValueError, TypeError) as error:  # pydantic's ValidationError is a ValueError
            not_exported.append(f"{term}: albumentations rejects the converted arguments {arguments}: {str(error).splitlines()[0]}")
            continue
        differs += [f"{term}: {note}" for note in notes]
    document = albumentations.to_dict(albumentations.Compose(transforms))
    document["augmentlab"] = {
        "ablation": recipe.ablation,
        "arm": f"#{recipe.index} {recipe.arm.arm}",
        "augmentation": recipe.arm.augmentation,
        "loss": recipe.arm.loss,
        "evidence": [
            *recipe.evidence(),
            f"loss {recipe.arm.loss}: albumentations has no losses; build it with augmentlab.build_loss({recipe.arm.loss!r}, "
            f"{len(recipe.class_names)}, {recipe.ignore_index})",
            "apply to uint8 HWC images and their masks, then normalise with ImageNet mean and std, as augmentlab trained",
        ],
        "not_exported": not_exported,
        "differs": differs,
    }
    return document


def stock_equivalent_with(name: str, arguments: dict[str, Any]) -> Any:
    """The stock equivalent of built-in ``name``, rebuilt with its own arguments and ``arguments`` in their place."""
    from augmentlab.diagnostics.equivalents import ALBUMENTATIONS_EQUIVALENTS

    stock = ALBUMENTATIONS_EQUIVALENTS[name]()
    accepted = inspect.signature(type(stock)).parameters
    own = {key: value for key, value in stock.to_dict()["transform"].items() if key in accepted}
    return type(stock)(**{**own, **arguments})


@dataclass(frozen=True)
class ConversionTarget:
    """What conversions need to know of the training: the mask fill labels, the image size, the mirror pairs."""

    ignore_index: int
    size: tuple[int, int]
    """(height, width) of the training images."""
    mirror_pairs: str

    @classmethod
    def of(cls, recipe: ArmRecipe) -> ConversionTarget:
        size = recipe.recipe["image_size"]
        return cls(recipe.ignore_index, (size, size) if isinstance(size, int) else (int(size[0]), int(size[1])), recipe.mirror_pairs)

    def fill(self, fill_mask: str) -> int:
        """The mask label of pixels without a source, as a built-in's ``fill_mask`` sets it."""
        return self.ignore_index if fill_mask == "ignore" else 0

    def reshaping(self) -> list[str]:
        """What a quarter turn or a transpose does otherwise on the training images: nothing on square ones."""
        height, width = self.size
        if height == width:
            return []
        return [
            f"on {height}×{width} images albumentations swaps height and width; augmentlab turns inside the same canvas "
            "and labels the uncovered strips with its fill_mask"
        ]

    def unswapped(self) -> list[str]:
        """What a reflection does otherwise when training swapped the labels of mirror pairs."""
        if self.mirror_pairs == "none":
            return []
        return [f"augmentlab swaps the labels of the mirror pairs {self.mirror_pairs} in each sample it mirrors; albumentations does not"]


def _limits(value: Any) -> tuple[float, float]:
    """A limit as the built-ins take it, x for [-x, x] or a [low, high] pair, as (low, high)."""
    if isinstance(value, (int, float)):
        return (-float(value), float(value))
    return (float(value[0]), float(value[1]))


def _scaled(values: Any, factor: float, offset: float = 0.0) -> tuple[float, ...]:
    return tuple(round(factor * (float(value) + offset), 9) for value in values)


def _unconverted(values: Mapping[str, Any], names: tuple[str, ...], name: str) -> list[str]:
    """A line for each parameter of ``names`` set away from the built-in's default: its equivalent has no such argument."""
    from augmentlab.registry.api import available_augmentations

    defaults = available_augmentations()[name].defaults

    def plain(value: Any) -> Any:
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return [
        f"{parameter}={values[parameter]!r} has no albumentations counterpart; the equivalent keeps augmentlab's default {defaults[parameter]!r}"
        for parameter in names
        if plain(values[parameter]) != plain(defaults[parameter])
    ]


Conversion = Callable[[Mapping[str, Any], ConversionTarget], tuple[dict[str, Any], list[str]]]
"""A built-in's parameters (every one, defaults filled in) -> its stock equivalent's arguments, and what still differs."""


def _affine(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    # keep_ratio: one scale for both axes, as our similarity transform has.
    notes = [] if _limits(values["shift_limit"]) == (0.0, 0.0) else [
        "albumentations rounds each shift to whole pixels (6.4 px becomes 6), where augmentlab shifts by the fraction drawn"
    ]
    return {
        "translate_percent": _limits(values["shift_limit"]), "scale": _scaled(_limits(values["scale_limit"]), 1.0, 1.0),
        "rotate": _limits(values["rotate_limit"]), "keep_ratio": True, "fill_mask": target.fill(values["fill_mask"]),
    }, notes


def _elastic(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    from augmentlab.diagnostics.equivalents import ALBUMENTATIONS_ELASTIC_ALPHA
    from augmentlab.registry.api import available_augmentations

    # albumentations' alpha grows with ours and with sigma (see ElasticTransform); the stock one is our default's.
    defaults = available_augmentations()["elastic"].defaults
    alpha = ALBUMENTATIONS_ELASTIC_ALPHA * (values["alpha"] / defaults["alpha"]) * (values["sigma"] / defaults["sigma"])
    notes = [
        "albumentations smooths its noise with a replicated border, so its displacement grows several-fold within about "
        "3 sigma of the edges and most in the corners; alpha matches augmentlab's in the interior"
    ]
    shorter = min(target.size)
    if shorter < 12 * float(values["sigma"]):
        notes.append(
            f"at {target.size[0]}×{target.size[1]} with sigma {values['sigma']:g} px (the shorter side under 12 sigma) hardly a pixel "
            "is interior, so albumentations displaces several times as far across the image (with the defaults, RMS 43 px "
            "against augmentlab's 8.6 px at 128 px; 26 against 9.4 at 512)"
        )
    return {"alpha": alpha, "sigma": float(values["sigma"]), "fill_mask": target.fill(values["fill_mask"])}, notes


def _grid(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    notes = [
        f"albumentations 2.0's normalized grid leaves its last row and column without a source on every call (black, mask "
        f"{target.fill(values['fill_mask']):g}), where augmentlab's covers every pixel"
    ] if values["normalized"] else []
    return {
        "num_steps": int(values["num_steps"]), "distort_limit": _limits(values["distort_limit"]), "normalized": bool(values["normalized"]),
        "fill_mask": target.fill(values["fill_mask"]),
    }, notes


def _optical(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    shift = _limits(values["shift_limit"])
    notes = [] if shift == (0.0, 0.0) else [f"albumentations 2.x has no centre shift (shift_limit {list(shift)}): its distortion stays centred"]
    notes.append(
        "albumentations centres its map at (W/2, H/2), not at the middle pixel ((W − 1)/2): even without distortion it moves "
        "the image half a pixel and the mask a whole pixel up and to the left, out of register with each other"
    )
    return {"distort_limit": _limits(values["distort_limit"]), "fill_mask": target.fill(values["fill_mask"])}, notes


def _perspective(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    scale = float(values["distortion_scale"])
    return {"scale": (0.2 * scale, 0.4 * scale), "fill_mask": target.fill(values["fill_mask"])}, [
        "albumentations maps a jittered quadrilateral inside the image onto the whole output (a zoom, nothing uncovered); "
        "augmentlab moves the corners inwards and labels the uncovered border with its fill_mask; scale is set to move corners about as far"
    ]


def _crop(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    height, width = target.size
    notes = [] if values["p"] == 1 else [
        f"albumentations resizes the crops to {height}×{width} and leaves the images it does not crop at their own size: feed it {height}×{width} images, as augmentlab trained on"
    ]
    return {"size": target.size, "scale": tuple(map(float, values["scale"])), "ratio": tuple(map(float, values["ratio"]))}, notes


def _motion_blur(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    # allow_shifted=False keeps the kernel centred, as ours: a shifted one moves the image off its mask.
    angles, directions, notes = _albumentations_motion_angles(tuple(map(float, values["angle"])), tuple(map(float, values["direction"])))
    return {
        "blur_limit": tuple(map(int, values["kernel_size"])), "angle_range": angles, "direction_range": directions, "allow_shifted": False,
    }, notes


def _albumentations_motion_angles(
    angle: tuple[float, float], direction: tuple[float, float]
) -> tuple[tuple[float, float], tuple[float, float], list[str]]:
    """Our angle and direction ranges in albumentations' MotionBlur terms, with a note where no range of its holds ours.

    Its line turns clockwise as displayed (rows grow downwards), ours counter-clockwise: our angle a
    is its −a. Its angle_range must lie in [0, 360]; a range that wraps past 360 is turned by 180°
    with the direction negated, the same kernels (a line at a + 180 weighted towards d is the line
    at a weighted towards −d).
    """
    low, high = angle
    if high - low >= 360:
        return (0.0, 360.0), direction, []
    start = (-high) % 360.0
    end = start + (high - low)
    if end <= 360:
        return (start, end), direction, []
    if start >= 180:
        return (start - 180, end - 180), (0.0 - direction[1], 0.0 - direction[0]), []  # 0.0 - x: no -0.0 in the json
    return (0.0, 360.0), direction, [
        f"angle {[low, high]} spans more than 180° across 0°, which no albumentations angle_range holds: exported as every angle"
    ]


def _clahe(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    return {"clip_limit": tuple(map(float, values["clip_limit"])), "tile_grid_size": tuple(map(int, values["grid_size"]))}, [
        "albumentations equalises the L channel of LAB; augmentlab the BT.601 luma, keeping the chroma"
    ]


def _rain(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    # albumentations slants a drop by pixels at its end; ours by an angle from vertical.
    length = max(1, round(values["drop_length"] * target.size[0]))
    return {
        "slant_range": tuple(math.tan(math.radians(angle)) * length for angle in values["slant"]), "drop_length": length,
        "drop_width": int(values["drop_width"]), "drop_color": tuple(round(255 * channel) for channel in values["drop_color"]),
        "blur_value": int(values["blur"]), "brightness_coefficient": float(values["brightness"]),
    }, _unconverted(values, ("drops_per_row",), "rain")


def _fog(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    return {"fog_coef_range": tuple(map(float, values["intensity"]))}, [
        "albumentations heaps up white circles and blurs the whole image; augmentlab blends towards a smooth haze without blurring",
        *_unconverted(values, ("opacity", "texture", "patch_size", "color"), "fog"),
    ]


def _sun_flare(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    low, high = values["src_radius"]
    radius = round((low + high) / 2 * max(target.size))
    return {
        "flare_roi": tuple(map(float, values["flare_roi"])), "angle_range": _scaled(values["angle"], 1 / 360),
        "num_flare_circles_range": tuple(map(int, values["num_circles"])), "src_color": tuple(round(255 * channel) for channel in values["src_color"]),
        "src_radius": radius,
    }, [
        f"albumentations takes one src_radius, {radius} px (the middle of {[low, high]} of the longer side), where augmentlab draws one per sample",
        *_unconverted(values, ("src_opacity", "circle_radius", "circle_opacity"), "sun_flare"),
    ]


def _grid_dropout(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    units = values["unit_size_range"]
    notes = ["albumentations shifts each hole on its own; augmentlab shifts the whole grid per sample, so it stays regular"] if values["random_offset"] else []
    shorter = min(target.size)
    # albumentations draws the unit from [low, high), ours from [low, high]; its high may not pass the shorter side.
    high = None if units is None else min(int(units[1]) + 1, shorter)
    if units is not None and high == int(units[1]):
        notes.append(f"albumentations draws the unit below its high end, and that may not pass the shorter side ({shorter} px), so a unit of {high} px is never drawn there")
    if shorter < 224:
        notes.append(
            "albumentations stretches (side // unit) cells over the image where augmentlab repeats the unit and cuts the last, "
            f"so at {shorter} px the dropped share differs (25% against 22% at 64 px with the defaults; close from about 224 px)"
        )
    return {
        "ratio": float(values["ratio"]), "random_offset": bool(values["random_offset"]),
        "unit_size_range": None if units is None else (int(units[0]), high), "fill_mask": target.fill(values["fill_mask"]),
    }, notes


def _cutout(values: Mapping[str, Any], target: ConversionTarget) -> tuple[dict[str, Any], list[str]]:
    return {
        "num_holes_range": tuple(map(int, values["num_holes_range"])), "hole_height_range": tuple(map(float, values["hole_height_range"])),
        "hole_width_range": tuple(map(float, values["hole_width_range"])), "fill_mask": target.fill(values["fill_mask"]),
    }, []


CONVERSIONS: dict[str, Conversion] = {
    "hflip": lambda values, target: ({}, target.unswapped()),
    "vflip": lambda values, target: ({}, target.unswapped()),
    "rot90": lambda values, target: ({}, target.reshaping()),
    "transpose": lambda values, target: ({}, target.reshaping() + target.unswapped()),
    "affine": _affine,
    "elastic": _elastic,
    "grid": _grid,
    "optical": _optical,
    "perspective": _perspective,
    "crop": _crop,
    "motion_blur": _motion_blur,
    "gaussian_blur": lambda values, target: ({"sigma_limit": tuple(map(float, values["sigma"]))}, []),
    "gauss_noise": lambda values, target: ({"std_range": tuple(map(float, values["std"])), "per_channel": bool(values["per_channel"])}, [
        "on uint8 images albumentations rounds the noise towards zero, so its spread comes out 5–12% below std_range at these "
        "sizes; give it float32 images in [0, 1] to match"
    ]),
    "clahe": _clahe,
    # albumentations shifts uint8 values: 0–255, and hue in OpenCV's 0–180 for a turn.
    "rgb_shift": lambda values, target: ({f"{channel}_shift_limit": _scaled(values[f"{channel}_shift"], 255) for channel in "rgb"}, []),
    "hsv": lambda values, target: ({
        "hue_shift_limit": _scaled(values["hue_shift"], 180), "sat_shift_limit": _scaled(values["sat_shift"], 255),
        "val_shift_limit": _scaled(values["val_shift"], 255),
    }, []),
    "channel_shuffle": lambda values, target: ({}, []),
    "brightness": lambda values, target: ({"brightness_limit": tuple(map(float, values["shift"]))}, []),
    "contrast": lambda values, target: ({"contrast_limit": _scaled(values["gain"], 1.0, -1.0)}, []),
    "gamma": lambda values, target: ({"gamma_limit": _scaled(values["gamma"], 100)}, []),
    "rain": _rain,
    # albumentations bleaches below a lightness of snow_point / 2 + 1/3.
    "snow": lambda values, target: ({"snow_point_range": _scaled(values["threshold"], 2.0, -1 / 3), "brightness_coeff": float(values["brightness"])}, []),
    "fog": _fog,
    "sun_flare": _sun_flare,
    "grid_dropout": _grid_dropout,
    "cutout": _cutout,
}
"""Each built-in with an albumentations equivalent in :mod:`augmentlab.diagnostics.equivalents`, and how its parameters convert."""

NO_EQUIVALENT = {
    "cutmix": "albumentations transforms one image at a time and mixes no samples of a batch",
    "copy_paste": "albumentations transforms one image at a time and mixes no samples of a batch",
}
"""Why a built-in without an albumentations equivalent has none; a plugin's augmentation has none known."""
