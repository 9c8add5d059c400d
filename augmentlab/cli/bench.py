"""``augmentlab bench``: how fast augmentlab's building blocks run, next to the classic alternatives."""

from __future__ import annotations

import json
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
    check_output_file,
    data_config,
    output_console,
)
from augmentlab.errors import AugmentlabError, SpecError
from augmentlab.runner.plan import check_batch_fits

bench_app = typer.Typer(name="bench", help="Measure how fast augmentlab's building blocks run.", no_args_is_help=True)


@bench_app.command("augment")
def bench_augment(
    aug: Annotated[Optional[str], typer.Option("--aug", metavar="SET", help="Augmentations to time, e.g. 'elastic,grid'; several also time the whole set. Default: every built-in, each at p=1.")] = None,
    device: Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda", help="Where ours and kornia's run; albumentations always runs on the CPU.")] = "auto",
    size: Annotated[int, typer.Option("--size", min=8, max=8192, help="Image side in pixels.")] = 512,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Images per batch.")] = 32,
    repeats: Annotated[int, typer.Option("--repeats", metavar="N", min=1, help="Timed runs of each transform after 2 warm-up runs; the median is shown.")] = 5,
    json_path: Annotated[Optional[Path], typer.Option("--json", metavar="PATH", help="Also write the rows as JSON (images per second).")] = None,
) -> None:
    """Print images per second of each augmentation, next to stock kornia's and albumentations' equivalents."""
    import torch

    from augmentlab.diagnostics import bench_augment as bench

    torch_device = bench.resolve_bench_device(device)
    try:
        cases = bench.bench_cases(aug)
    except SpecError as error:
        raise error.for_setting("aug") from None
    if json_path is not None:
        check_output_file(json_path, "--json")
    status = Console(stderr=True).status("measuring")
    try:
        inputs = bench.make_bench_inputs(batch, size, torch_device)
        with status:
            rows = bench.run_bench(cases, inputs, repeats, progress=lambda step: status.update(f"measuring {step}"))
    except SpecError as error:  # a parameter value a transform rejects when it is built
        raise error.for_setting("aug") from None
    except (MemoryError, RuntimeError) as error:
        if not isinstance(error, (MemoryError, torch.OutOfMemoryError)) and "alloc" not in str(error):
            raise
        needed = batch * size * size * (3 * 4 + 8)  # float32 images and int64 masks, before any transform's own
        raise AugmentlabError(
            f"--batch {batch} at --size {size} does not fit in {torch_device} memory (the batch alone is {needed / 2**30:.1f} GiB); "
            "lower --batch or --size"
        ) from None
    environment = bench.bench_environment(torch_device)
    output_console().print(bench.bench_table(rows, environment, size, batch, repeats))
    if json_path is not None:
        settings = {"aug": aug, "size": size, "batch": batch, "repeats": repeats}
        try:
            json_path.write_text(json.dumps(bench.bench_json(rows, environment, settings), indent=2) + "\n")
        except OSError as error:
            raise AugmentlabError(f"--json {json_path}: cannot write it: {error.strerror or error}") from None


@bench_app.command("train")
def bench_train(
    aug: Annotated[Optional[str], typer.Option("--aug", metavar="SET", help="The augmentation set both pipelines train with; each needs an albumentations equivalent (default: the reference study's set, hflip,vflip,rot90,affine,elastic,grid,brightness,contrast).")] = None,
    loss: Annotated[str, typer.Option("--loss", metavar="SPEC", help="The loss both pipelines train with.")] = "ce",
    workers: Annotated[Optional[int], typer.Option("--workers", metavar="N", min=0, help="DataLoader workers of the reference pipeline (default: one per CPU core, at most 8).")] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Epochs per pipeline; with more than one, the first is warm-up and the median of the others is shown.")] = 4,
    image_size: Annotated[Optional[int], typer.Option("--image-size", help="Training size in pixels, a multiple of 16 (default: from the device's preset).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Images per step (default: from the device's preset).")] = None,
    encoder: Annotated[Optional[str], typer.Option("--encoder", help="segmentation_models_pytorch encoder (default: from the device's preset).")] = None,
    device: Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda", help="Training device of both pipelines; the reference augments on the CPU regardless.")] = "auto",
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
    json_path: Annotated[Optional[Path], typer.Option("--json", metavar="PATH", help="Also write the figures as JSON.")] = None,
) -> None:
    """Time training epochs of augmentlab next to the classic pipeline (albumentations in DataLoader workers, fp32).

    Both train the same DeepLabV3+ with the same augmentations, loss, image size and batch size
    on the same data; the recipe is the device's preset (demo on the CPU, standard on CUDA) with
    untrained encoder weights, which do not change the speed.
    """
    from augmentlab.data import load_splits
    from augmentlab.diagnostics import bench_augment as bench
    from augmentlab.diagnostics import bench_train as timing
    from augmentlab.registry.api import resolve_loss_spec
    from augmentlab.runner.recipe import build_recipe

    settings = data_config(data, val=val, images=images, masks=masks, val_images=val_images, val_masks=val_masks, val_split=val_split, ignore_index=ignore_index, classes=classes, strict=strict, mask_colours=mask_colours)
    aug = timing.REFERENCE_AUGMENTATIONS if aug is None else aug
    torch_device = bench.resolve_bench_device(device)
    preset = "standard" if torch_device.type == "cuda" else "demo"
    overrides = {"epochs": epochs, "image_size": image_size, "batch_size": batch_size, "encoder": encoder, "encoder_weights": "none"}
    recipe = build_recipe(preset, overrides)
    try:
        timing.reference_transform(aug, recipe.image_size, settings.ignore_index)
    except SpecError as error:
        raise error.for_setting("aug") from None
    try:
        resolve_loss_spec(loss)
    except SpecError as error:
        raise error.for_setting("loss") from None
    if json_path is not None:
        check_output_file(json_path, "--json")
    worker_count = timing.default_workers() if workers is None else workers
    size = (recipe.image_size, recipe.image_size)
    train, validation = load_splits(settings.data, **settings.split_arguments(), size=size)
    check_batch_fits(recipe.batch_size, len(train))
    console = output_console()
    console.print(f"data: {data or 'built-in demo data (synthetic)'}: {len(train)} train / {len(validation)} val images", markup=False)
    with Console(stderr=True).status(f"training {epochs} epoch(s) with augmentlab, then with the reference pipeline"):
        try:
            timings = timing.compare_training(train, validation, aug, loss, recipe, torch_device, worker_count)
        except SpecError as error:
            raise error.for_setting("aug" if error.spec == aug else "loss") from None
        except timing.TrainBenchFailure as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
    environment = bench.bench_environment(torch_device)
    console.print(timing.train_table(timings, environment, recipe))
    console.print(timing.speedup_text(timing.speedup(timings)), markup=False)
    if json_path is not None:
        settings = {
            "aug": aug, "loss": loss, "workers": worker_count, "epochs": epochs, "image_size": recipe.image_size, "batch_size": recipe.batch_size,
            "encoder": recipe.encoder, "autocast": recipe.autocast, "data": str(data) if data else "demo", "train_images": len(train),
        }
        try:
            json_path.write_text(json.dumps(timing.train_json(timings, environment, settings), indent=2) + "\n")
        except OSError as error:
            raise AugmentlabError(f"--json {json_path}: cannot write it: {error.strerror or error}") from None
