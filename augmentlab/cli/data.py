"""``augmentlab data …``: the built-in demo data, and per-class statistics of a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from augmentlab.cli.options import (
    ClassesOption,
    DataOption,
    IgnoreIndexOption,
    ImagesOption,
    MaskColoursOption,
    MasksOption,
    StrictOption,
    ValImagesOption,
    ValMasksOption,
    ValOption,
    ValSplitOption,
    data_config,
    output_console,
)
from augmentlab.errors import AugmentlabError

data_app = typer.Typer(name="data", help="Datasets: the built-in demo data and per-class statistics.", no_args_is_help=True)


@data_app.command("demo")
def data_demo(
    out: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Write the demo data here (an empty or new folder) instead of the default location.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generator (with --out); the same seed gives the same bytes.")] = 0,
) -> None:
    """Write the built-in demo dataset: synthetic waste-sorting scenes as JPEGs plus COCO jsons."""
    from augmentlab.data.demo.generator import demo_dataset, generate_demo_dataset

    if out is None:
        if seed != 0:
            raise AugmentlabError("--seed goes with --out: the default location holds the demo data of seed 0, which every command reads")
        paths = demo_dataset()
    else:
        if seed < 0:
            raise AugmentlabError(f"--seed must be ≥ 0, got {seed}")
        paths = generate_demo_dataset(out, seed=seed)
    typer.echo(f"demo data (synthetic): {paths.train_json}, {paths.val_json}, images in {paths.images}")
    if out is not None:
        typer.echo(f"use it with: --data {paths.train_json} --val {paths.val_json} --images {paths.images}")


@data_app.command("stats")
def data_stats(
    data: DataOption = None,
    val: ValOption = None,
    val_split: ValSplitOption = None,
    images: ImagesOption = None,
    masks: MasksOption = None,
    val_images: ValImagesOption = None,
    val_masks: ValMasksOption = None,
    ignore_index: IgnoreIndexOption = None,
    classes: ClassesOption = None,
    mask_colours: MaskColoursOption = None,
    strict: StrictOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --val-split split; augmentlab ablate always splits with the default, 0, so another seed shows a split no ablation trains on.")] = 0,
) -> None:
    """Print image counts and sizes, then per class the pixel share, instances and images, for train and val."""
    from augmentlab.data import load_splits, stats_table, stats_warnings
    from augmentlab.data.loading import shared_images_warning
    from augmentlab.data.stats import describe_images

    settings = data_config(data, val=val, images=images, masks=masks, val_images=val_images, val_masks=val_masks, val_split=val_split, ignore_index=ignore_index, classes=classes, strict=strict, mask_colours=mask_colours)
    train, validation = load_splits(settings.data, seed=seed, **settings.split_arguments())
    train_stats, val_stats = train.class_stats(), validation.class_stats()
    # Every image is decoded once, as ablate will decode it: a truncated file is found here, not at training.
    with Console(stderr=True).status("decoding every image") as status:
        for split, dataset in (("train", train), ("val", validation)):
            dataset.check_images(lambda done: status.update(f"decoding every image: {split} {done}/{len(dataset)}"))
    console = output_console()
    console.print(f"data: {data or 'built-in demo data (synthetic)'}")
    console.print(f"train: {describe_images(train_stats)}")
    console.print(f"val: {describe_images(val_stats)}")
    console.print(stats_table(train_stats, val_stats))
    shared = shared_images_warning(train, validation)
    for warning in [*stats_warnings(train_stats, val_stats), *([shared] if shared else [])]:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
