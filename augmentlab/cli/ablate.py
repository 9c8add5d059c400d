"""``augmentlab ablate``: options parsed into an :class:`~augmentlab.AblationConfig`, then :func:`~augmentlab.run_ablation`, then exit codes.

Command-line options override a ``--config`` file; an option left out keeps the file's value,
or the setting's default.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

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
    data_settings,
    invocation,
    option_help,
    output_console,
)
from augmentlab.errors import FieldError
from augmentlab.runner.config import AblationConfig

if TYPE_CHECKING:
    from augmentlab.report.summary import Report

EXIT_RUN_FAILED = 1


def ablate(
    aug: Annotated[Optional[list[str]], typer.Option("--aug", metavar="SET", help=option_help("aug", " Repeatable."))] = None,
    loss: Annotated[Optional[list[str]], typer.Option("--loss", metavar="SPEC", help=option_help("loss", " Repeatable."))] = None,
    each: Annotated[Optional[bool], typer.Option("--each", help=option_help("each"))] = None,
    design: Annotated[Optional[str], typer.Option("--design", metavar="factorial|each|screen", help=option_help("design", " [default: factorial]"))] = None,
    foldover: Annotated[Optional[bool], typer.Option("--foldover", help=option_help("foldover"))] = None,
    seeds: Annotated[Optional[int], typer.Option("--seeds", metavar="N", help=option_help("seeds", " [default: 2]"))] = None,
    max_seeds: Annotated[Optional[int], typer.Option("--max-seeds", metavar="M", help=option_help("max_seeds"))] = None,
    margin: Annotated[Optional[float], typer.Option("--margin", metavar="δ", help=option_help("margin"))] = None,
    correction: Annotated[Optional[str], typer.Option("--correction", metavar="holm|bh|none", help=option_help("correction", " [default: holm]"))] = None,
    pooling: Annotated[Optional[str], typer.Option("--pooling", metavar="pooled|arm", help=option_help("pooling", " [default: pooled]"))] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", help=option_help("epochs"))] = None,
    image_size: Annotated[Optional[str], typer.Option("--image-size", metavar="N|HxW", help=option_help("image_size"))] = None,
    eval_size: Annotated[Optional[str], typer.Option("--eval-size", metavar="native|train", help=option_help("eval_size", " [default: native]"))] = None,
    resize: Annotated[Optional[str], typer.Option("--resize", metavar="stretch|fit", help=option_help("resize", " [default: stretch]"))] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help=option_help("batch_size"))] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help=option_help("lr"))] = None,
    encoder: Annotated[Optional[str], typer.Option("--encoder", help=option_help("encoder"))] = None,
    encoder_weights: Annotated[Optional[str], typer.Option("--encoder-weights", metavar="imagenet|none|PATH", help=option_help("encoder_weights"))] = None,
    arch: Annotated[Optional[str], typer.Option("--arch", metavar="ARCH", help=option_help("arch", " [default: deeplabv3plus]"))] = None,
    schedule: Annotated[Optional[str], typer.Option("--schedule", metavar="constant|poly|cosine", help=option_help("schedule", " [default: constant]"))] = None,
    warmup_epochs: Annotated[Optional[int], typer.Option("--warmup-epochs", metavar="N", help=option_help("warmup_epochs", " [default: 0]"))] = None,
    mirror_pairs: Annotated[Optional[str], typer.Option("--mirror-pairs", metavar="auto|none|A:B,…", help=option_help("mirror_pairs", " [default: auto]"))] = None,
    device: Annotated[Optional[str], typer.Option("--device", metavar="auto|cpu|cuda", help=option_help("device", " [default: auto]"))] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", metavar="demo|standard", help=option_help("preset"))] = None,
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
    out: Annotated[Optional[Path], typer.Option("--out", help=option_help("out", " [default: runs]"))] = None,
    name: Annotated[Optional[str], typer.Option("--name", help=option_help("name"))] = None,
    config: Annotated[Optional[Path], typer.Option("--config", metavar="FILE.toml", help="Arms and recipe from a file; command-line options override it.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Plain log lines instead of tables and live progress, for CI logs.")] = False,
    compile: Annotated[Optional[bool], typer.Option("--compile", help=option_help("compile"))] = None,
    cudnn_benchmark: Annotated[Optional[bool], typer.Option("--cudnn-benchmark/--no-cudnn-benchmark", help=option_help("cudnn_benchmark"))] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything and print the plan, then stop: nothing is trained or written.")] = False,
    parallel: Annotated[Optional[int], typer.Option("--parallel", metavar="K", help=option_help("parallel", " [default: 1]"))] = None,
    devices: Annotated[Optional[str], typer.Option("--devices", metavar="0,1,...", help=option_help("devices"))] = None,
    executor: Annotated[Optional[str], typer.Option("--executor", metavar="local|ray", help=option_help("executor", " [default: local]"))] = None,
    address: Annotated[Optional[str], typer.Option("--address", metavar="auto|ray://HOST:PORT", help=option_help("address"))] = None,
    gpus_per_run: Annotated[Optional[float], typer.Option("--gpus-per-run", help=option_help("gpus_per_run"))] = None,
    cpus_per_run: Annotated[Optional[float], typer.Option("--cpus-per-run", help=option_help("cpus_per_run"))] = None,
    cache_memory: Annotated[Optional[float], typer.Option("--cache-memory", metavar="GiB", help=option_help("cache_memory"))] = None,
    host_memory: Annotated[Optional[float], typer.Option("--host-memory", metavar="GiB", help=option_help("host_memory"))] = None,
    track: Annotated[Optional[list[str]], typer.Option("--track", metavar="SINK", help="Also send the results to a result sink: mlflow, tensorboard or a plugin's (`augmentlab plugins` lists them). Repeatable; replaces the sinks of a config file's track tables.")] = None,
    track_opt: Annotated[Optional[list[str]], typer.Option("--track-opt", metavar="SINK.KEY=VALUE", help="An option of a tracked sink, e.g. mlflow.experiment=waste. Repeatable.")] = None,
) -> None:
    """Train the fixed DeepLabV3+ baseline with each plugin set over several seeds and compare them.

    Arms are a full factorial: {none} ∪ each --aug set, times {ce} ∪ each --loss spec; --design screen
    makes each member of one --aug set (and one --loss spec) a factor of a Plackett–Burman screening design.
    """
    from augmentlab.data.wording import plural, verb
    from augmentlab.report import print_report
    from augmentlab.report.files import report_paths
    from augmentlab.runner.ablation import (
        AblationInterrupted,
        command_line,
        plan_ablation,
        run_ablation,
        terminated_as_interrupted,
    )
    from augmentlab.runner.progress import ConsoleProgress

    base = AblationConfig.from_toml(config) if config is not None else AblationConfig()
    settings: dict[str, Any] = {
        "aug": aug, "loss": loss, "each": each, "design": design, "foldover": foldover, "seeds": seeds, "max_seeds": max_seeds,
        "margin": margin, "correction": correction, "pooling": pooling, "epochs": epochs, "image_size": image_size, "eval_size": eval_size, "resize": resize, "batch_size": batch_size,
        "lr": lr, "encoder": encoder, "encoder_weights": encoder_weights, "arch": arch, "schedule": schedule,
        "warmup_epochs": warmup_epochs, "mirror_pairs": mirror_pairs, "device": device, "preset": preset, "out": out, "name": name,
        "compile": compile, "cudnn_benchmark": cudnn_benchmark, "parallel": parallel, "devices": device_numbers(devices),
        "executor": executor, "address": address, "gpus_per_run": gpus_per_run, "cpus_per_run": cpus_per_run, "cache_memory": cache_memory, "host_memory": host_memory,
        "track": tracked_sinks(base.track, track, track_opt),
        **data_settings(data, val=val, images=images, masks=masks, val_images=val_images, val_masks=val_masks, val_split=val_split, ignore_index=ignore_index, classes=classes, strict=strict, mask_colours=mask_colours),
    }
    if base.arms and (aug is not None or loss is not None):
        settings["arms"] = ()  # --aug or --loss replace the file's listed arms
    ablation = base.with_overrides(**settings)
    console = output_console(quiet)
    progress = ConsoleProgress(console, quiet, started_at=invocation.started_at)
    if dry_run:
        plan_ablation(ablation, progress=progress)
        console.print("dry run: nothing was trained or written", markup=False)
        return
    command = command_line(invocation.argv)
    try:
        with terminated_as_interrupted():
            report = run_ablation(ablation, progress=progress, command=command)
    except AblationInterrupted as interrupted:
        what = "interrupted" if interrupted.signal == signal.SIGINT else f"stopped by {signal.Signals(interrupted.signal).name}"
        saved = f"{plural(interrupted.finished, 'finished run')} {verb(interrupted.finished, 'is', 'are')} saved"
        console.print(f"{what}: {saved} in {interrupted.folder}; resume with: {command}", markup=False)
        raise typer.Exit(128 + interrupted.signal) from None
    folder = ablation.out / report.name
    print_report(report, console, quiet=quiet)
    console.print("wrote " + ", ".join(str(path) for path in report_paths(folder)), markup=False)
    if report.runs.failed:
        console.print(failure_line(report, folder), markup=False)
        raise typer.Exit(EXIT_RUN_FAILED)


def tracked_sinks(
    from_file: Mapping[str, Mapping[str, Any]] | None, names: Sequence[str] | None, options: Sequence[str] | None
) -> dict[str, dict[str, Any]] | None:
    """The ``track`` setting from ``--track`` and ``--track-opt`` over a config file's ``[track.NAME]`` tables.

    ``--track`` lists the sinks, in place of the file's (a sink named in both keeps the file's
    options), repeated or separated by commas as ``--aug`` sets are; each ``--track-opt
    SINK.KEY=VALUE`` sets one option of a tracked sink. None: neither option was given, so the
    file's setting stands.

    Raises:
        FieldError: a malformed ``--track-opt``, or one for a sink that is not tracked.
    """
    if not names and not options:
        return None
    names = [part.strip() for name in names or () for part in name.split(",") if part.strip()]
    file_sinks = {name: dict(values) for name, values in (from_file or {}).items()}
    sinks = {name: file_sinks.get(name, {}) for name in names} if names else file_sinks
    for text in options or ():
        target, equals, value = text.partition("=")
        sink, dot, key = target.strip().partition(".")
        if not (equals and dot and sink and key.strip()):
            raise FieldError("track_opt", f"{text!r} must read SINK.KEY=VALUE, e.g. mlflow.experiment=waste")
        if sink not in sinks:
            raise FieldError("track_opt", f"{text!r} sets an option of sink '{sink}', which is not tracked; add --track {sink}")
        sinks[sink][key.strip()] = value
    return sinks


def device_numbers(devices: str | None) -> tuple[int, ...] | None:
    """``--devices 0,1`` as CUDA device numbers."""
    if devices is None:
        return None
    try:
        return tuple(int(part) for part in devices.split(","))
    except ValueError:
        raise FieldError("devices", f"{devices!r} must list CUDA device numbers separated by commas, e.g. 0,1") from None


def failure_line(report: Report, folder: Path) -> str:
    """The closing line of an ablation with failed runs: retry only where a retry can succeed."""
    failures = [failure for arm in report.arms for failure in arm.failures]
    again = sum(failure.retryable is not False for failure in failures)
    head = f"{len(failures)} run(s) failed (see the notes in {folder / 'report.md'}, and `augmentlab report {folder} --run ARM:SEED` for one run's traceback)"
    if again == len(failures):
        return f"{head}; run the same command again to retry them"
    fix = "fix what the notes name (a plugin, the learning rate) before running the same command again"
    if again == 0:
        return f"{head}; a retry would fail the same way: {fix}"
    return f"{head}; {again} of them may succeed when run again, the other {len(failures) - again} would fail the same way: {fix}"
