"""``augmentlab report DIR``: an ablation's report from its result store alone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from augmentlab.cli.options import output_console
from augmentlab.errors import AugmentlabError
from augmentlab.results.records import AblationInfo, RunResult


def report(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="An ablation's output folder, e.g. runs/ablation-1a2b3c4d5e.")],
    quiet: Annotated[bool, typer.Option("--quiet", help="Plain lines instead of tables.")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", metavar="md|csv|json", help="Print the report in this format instead of tables.")] = None,
    run: Annotated[Optional[str], typer.Option("--run", metavar="ARM:SEED", help="Print one run's outcome and, for a failed run, its full traceback; ARM is the arm's number in the report (#1) or its name.")] = None,
) -> None:
    """Print an ablation's report from its result store alone, and write report.md/.csv/.json/.png/.html beside it."""
    from augmentlab.report import (
        FORMATS,
        print_report,
        read_report,
        render_report,
        write_report_files,
    )
    from augmentlab.results.store import ResultStore

    if fmt is not None and fmt not in FORMATS:
        raise AugmentlabError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    if run is not None and fmt is not None:
        raise AugmentlabError("--run prints one run's outcome and --format the whole report; give one of them")
    if run is not None:
        with ResultStore.open_existing(folder) as store:
            typer.echo(run_details(store.info(), store.results(), run, holder_alive(folder)), nl=False)
        return
    built = read_report(folder)
    console = output_console(quiet)
    if fmt is None:
        print_report(built, console, quiet=quiet)
    else:
        typer.echo(render_report(built, fmt), nl=False)
    paths = write_report_files(built, folder)
    if fmt is None:
        console.print("wrote " + ", ".join(str(path) for path in paths), markup=False)


def holder_alive(folder: Path) -> bool:
    """An ``augmentlab ablate`` process that holds ``folder`` is alive (on this machine)."""
    from augmentlab.atomic import process_alive
    from augmentlab.results.lock import lock_holder

    pid = (lock_holder(folder) or {}).get("pid")
    return isinstance(pid, int) and process_alive(pid)


def run_details(info: AblationInfo, results: list[RunResult], selector: str, training: bool = True) -> str:
    """What ``--run ARM:SEED`` prints: the run's arm, seed and status, its error and its traceback.

    ``training``: a process still holds the folder; a run left 'running' without one was interrupted.
    """
    arm_text, colon, seed_text = selector.rpartition(":")
    if not colon:
        raise AugmentlabError(f"--run {selector!r} names no seed; write ARM:SEED, e.g. {selector.strip() or 1}:0")
    numbers = {str(index): arm for index, arm in enumerate(info.arms)} | {f"#{index}": arm for index, arm in enumerate(info.arms)}
    arm = numbers.get(arm_text.strip()) or next((arm for arm in info.arms if arm.name == arm_text.strip()), None)
    if not arm_text or arm is None:
        choices = ", ".join(f"{index} ({arm.name})" for index, arm in enumerate(info.arms))
        raise AugmentlabError(f"--run {selector!r}: no arm {arm_text!r}; write ARM:SEED with ARM one of {choices}")
    try:
        seed = int(seed_text)
    except ValueError:
        raise AugmentlabError(f"--run {selector!r}: the seed {seed_text!r} is not a number; write ARM:SEED, e.g. 1:0") from None
    found = next((result for result in results if result.arm == arm.name and result.seed == seed), None)
    if found is None:
        raise AugmentlabError(f"--run {selector!r}: arm {arm.name!r} has no run of seed {seed} in {info.name}; its seeds: {', '.join(map(str, info.seeds))}")
    index = info.arms.index(arm)
    status = found.status
    if status == "running" and not training:
        status = "interrupted: the process that trained it ended first; run the ablation again to train it"
    lines = [f"run #{index} [{arm.name}] seed {seed}: {status}"]
    if found.status == "finished":
        lines.append(f"val mIoU {found.miou:.4f} (best epoch {found.best_epoch + 1}), {found.train_seconds:.1f} s")
    if found.error:
        lines.append(f"error: {found.error}")
    if found.traceback:
        lines += ["", found.traceback.rstrip()]
    elif found.status == "failed":
        lines.append("no traceback was recorded: the run failed without an exception of its own (a NaN loss, a lost worker), or before augmentlab kept them")
    return "\n".join(lines) + "\n"
