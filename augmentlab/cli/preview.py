"""``augmentlab preview``: a PNG grid of samples before and after an augmentation set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from augmentlab.cli.options import (
    ClassesOption,
    DataOption,
    IgnoreIndexOption,
    ImagesOption,
    MaskColoursOption,
    MasksOption,
    StrictOption,
    check_output_file,
    data_config,
)
from augmentlab.errors import SpecError


def preview(
    aug: Annotated[str, typer.Option("--aug", metavar="SET", help="The augmentation set to show, such as 'elastic,grid' or 'elastic(alpha=2),hflip'.")],
    out: Annotated[Path, typer.Option("--out", metavar="FILE.png", help="Where to write the PNG.")],
    data: DataOption = None,
    images: ImagesOption = None,
    masks: MasksOption = None,
    ignore_index: IgnoreIndexOption = None,
    classes: ClassesOption = None,
    mask_colours: MaskColoursOption = None,
    strict: StrictOption = None,
    n: Annotated[int, typer.Option("--n", min=1, max=64, help="Samples, one row each.")] = 8,
    draws: Annotated[int, typer.Option("--draws", min=1, max=8, help="Augmented draws of each sample, one column each.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the augmentation draws; the same seed gives the same picture.")] = 0,
    mirror_pairs: Annotated[str, typer.Option("--mirror-pairs", metavar="auto|none|A:B,…", help="Class pairs a reflection swaps, as ablate's --mirror-pairs, so the preview shows the labels a run learns.")] = "auto",
    size: Annotated[str, typer.Option("--size", metavar="N|HxW", help="Tile size in pixels: N for N×N, or H×W (height first), e.g. the training size 96x128 of non-square data, where a quarter turn or transpose leaves strips.")] = "256",
) -> None:
    """Write a PNG grid of samples before and after an augmentation set, with mask overlays and a legend."""
    from augmentlab.diagnostics.preview import write_preview
    from augmentlab.runner.config import parse_size

    settings = data_config(data, images=images, masks=masks, ignore_index=ignore_index, classes=classes, strict=strict, mask_colours=mask_colours)
    check_output_file(out, "--out")
    try:
        width, height = write_preview(aug, out, data=settings.data, **settings.dataset_arguments(), n=n, seed=seed, size=parse_size(size), draws=draws, mirror_pairs=mirror_pairs)
    except SpecError as error:
        raise error.for_setting("aug") from None
    typer.echo(f"wrote {out}: each sample as original and {draws} {'draw' if draws == 1 else 'draws'} ({width}×{height} px)")
