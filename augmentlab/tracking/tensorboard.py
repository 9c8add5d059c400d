"""The built-in TensorBoard sink (``--track tensorboard``): event files, one directory per (arm, seed) run.

Each run's directory holds, at step = the epoch (1-based):

- ``train/loss``, ``train/loss/<term>``, ``val/miou``, ``val/pixel_accuracy``, ``val/per_image_miou``,
  ``speed/images_per_second``, ``speed/epoch_seconds``;
- once the run finished, ``final/miou``, ``final/pixel_accuracy``, ``final/per_image_miou`` and ``per_class_iou/<class>``
  (the best epoch's), at the last step;
- an HParams session: ``arm``, ``arm_index``, ``aug``, ``loss`` and ``seed`` as hparams. Only the sessions
  are written, no experiment summary, so that TensorBoard's HParams tab builds one table of every
  run it finds under its ``--logdir`` (from every ablation there), with the scalars above as its metrics.

torch writes the events (``torch.utils.tensorboard``, which needs the ``tensorboard`` package for its protos).
A small ``augmentlab.json`` beside each run's events says what was written, so that a resumed
ablation writes only the runs that lack events, and a failed run's events are replaced when it
finishes on a retry.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from augmentlab.results.records import AblationInfo, RunResult
from augmentlab.tracking.base import (
    AblationStart,
    Sink,
    arm_number,
    finite,
    worth_logging,
)

FOLDER = "tensorboard"
MARKER = "augmentlab.json"
_NOT_IN_SLUG = re.compile(r"[^A-Za-z0-9_.=+-]+")


def run_folder_name(index: int, arm: str, seed: int) -> str:
    """The directory of one run: ``01-hflip-ce-seed0`` (the arm's number in the tables, its name, the seed)."""
    slug = re.sub("-{2,}", "-", _NOT_IN_SLUG.sub("-", arm.replace(" | ", "-"))).strip("-") or "arm"
    return f"{index:02d}-{slug}-seed{seed}"


class TensorBoardSink(Sink):
    """Write each run's events to its own directory (see the module's docstring for what).

    Args:
        logdir: "" for ``tensorboard/`` inside the ablation folder; else a folder shared by
            ablations, where each gets a sub-folder of its name.
    """

    def __init__(self, logdir: str = "") -> None:
        self.logdir = logdir
        self.root: Path | None = None
        self.info: AblationInfo | None = None

    def ablation_started(self, start: AblationStart) -> None:
        self.info = start.info
        self.root = start.folder / FOLDER if not self.logdir else Path(self.logdir).expanduser() / start.folder.name
        self.root.mkdir(parents=True, exist_ok=True)
        for result in start.stored:
            self.run_ended(result)

    def where(self) -> str:
        return "" if self.root is None else f"events in {self.root} (to look: tensorboard --logdir {self.root})"

    def run_ended(self, result: RunResult) -> None:
        if result.status == "running" or self.info is None or self.root is None:
            return
        index = arm_number(self.info, result.arm)
        folder = self.root / run_folder_name(index, result.arm, result.seed)
        if not worth_logging(_written_status(folder), result):
            return  # already there: never twice
        if folder.exists():
            shutil.rmtree(folder)  # a failed run's events, or events without their marker (killed while writing)
        folder.mkdir(parents=True)
        writer = SummaryWriter(log_dir=str(folder))
        try:
            self._write(writer, index, result)
        finally:
            writer.close()
        (folder / MARKER).write_text(json.dumps({"arm": result.arm, "seed": result.seed, "status": result.status}) + "\n", encoding="utf-8")

    def _write(self, writer: SummaryWriter, index: int, result: RunResult) -> None:
        assert self.info is not None
        for record in result.history:
            step = record.epoch + 1
            scalars = {"train/loss": record.train_loss, **{f"train/loss/{term}": value for term, value in record.loss_terms.items()},
                       "val/miou": record.val_miou, "val/pixel_accuracy": record.val_pixel_accuracy,
                       "val/per_image_miou": record.val_per_image_miou, "speed/images_per_second": record.images_per_second,
                       "speed/epoch_seconds": record.seconds}
            for tag, value in scalars.items():
                if finite(value):
                    writer.add_scalar(tag, value, step)
        final: dict[str, float] = {}
        if result.status == "finished":
            step = max(len(result.history), 1)
            values: dict[str, Any] = {"final/miou": result.miou, "final/pixel_accuracy": result.pixel_accuracy, "final/per_image_miou": result.per_image_miou,
                                      **{f"per_class_iou/{name}": iou for name, iou in zip(self.info.class_names, result.per_class_iou)}}
            final = {tag: float(value) for tag, value in values.items() if finite(value)}
            for tag, value in final.items():
                writer.add_scalar(tag, value, step)
        if "final/miou" not in final:
            return  # a failed run has nothing to compare in the HParams tab; its curves are there
        hparam_values = {"arm": result.arm, "arm_index": index, "aug": result.augmentation, "loss": result.loss, "seed": result.seed}
        # The session start and end only: the experiment summary is left to TensorBoard (see the module's docstring).
        _, session_start, session_end = hparams(hparam_values, {"final/miou": final["final/miou"]})
        writer.file_writer.add_summary(session_start)
        writer.file_writer.add_summary(session_end)


def _written_status(folder: Path) -> str | None:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return None
