"""What every executor shares: the protocol, the data request workers load from, and the result of a run that never ended.

The driver (:func:`augmentlab.runner.ablation.execute`) owns the result store and the progress
display; an executor only trains runs and hands each result back as it arrives, so every
executor gets the same resume semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from augmentlab.results.records import RunResult

if TYPE_CHECKING:  # the data and the trainer import torch; a config needs neither
    from augmentlab.data.dataset import SegmentationDataset
    from augmentlab.runner.train import RunProgress, RunSpec

Started = Callable[["RunSpec"], "RunProgress | None"]
Done = Callable[[RunResult], None]


class StopRuns(Exception):
    """Raised by ``started(run)``: hand out no more runs, let those in flight end and hand each to ``done``, then return.

    The driver raises it when it can no longer store results (a full disk): runs already training
    finish and are kept, and nothing new starts.
    """


class Executor(Protocol):
    """Trains runs; calls ``started(run)`` when a run is handed out and ``done(result)`` when it ends.

    ``started`` may raise :class:`StopRuns`; the executor then starts nothing more, and returns
    once every run in flight has ended and been handed to ``done``.
    """

    def run(self, runs: Sequence[RunSpec], started: Started, done: Done) -> None: ...


@dataclass(frozen=True)
class DataRequest:
    """How any process loads the ablation's data: ``load_splits`` arguments with absolute paths.

    Workers on other machines (a cluster) need the same paths on a shared filesystem.
    """

    data: str | None
    val: str | None = None
    val_images: str | None = None
    val_masks: str | None = None
    val_split: float = 0.2
    options: dict[str, Any] = field(default_factory=dict)
    """The other ``load_splits`` keyword arguments (images, masks, ignore_index, classes, strict, resize, mask_colours)."""
    size: tuple[int, int] | None = None
    plugin_options: dict[str, Any] = field(default_factory=dict)
    """``load_plugins`` keyword arguments of the driver (strict, disable, autoload)."""
    memory_budget_bytes: int | None = None
    """The device budget of each process for the decoded splits (None: half the free memory, shared by ``device_copies``)."""
    host_memory_bytes: int | None = None
    """The host budget of each process, over which a split is streamed (None: half the available memory, shared by ``host_copies``)."""
    device_copies: int = 1
    """Processes that each decode their own copy of the splits onto one device (``--parallel``)."""
    host_copies: int = 1
    """Processes on one machine that each hold their own copy."""
    native_eval: bool = False
    """Keep the validation masks at each image's own size too, for native-resolution scoring."""

    def load_splits(self) -> tuple[SegmentationDataset, SegmentationDataset]:
        """Read (and check) both splits, as the driver did."""
        from augmentlab.data import load_splits

        return load_splits(self.data, val=self.val, val_images=self.val_images, val_masks=self.val_masks, val_split=self.val_split, size=self.size, **self.options)

    def paths(self) -> list[str]:
        """Every file or folder the request reads, for checking that a worker can see them."""
        candidates = [self.data, self.val, self.val_images, self.val_masks, *(self.options.get(key) for key in ("images", "masks", "mask_colours"))]
        return [str(path) for path in candidates if path is not None]


def absolute(path: str | Path | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def failed_result(run: RunSpec, reason: str, retryable: bool = True) -> RunResult:
    """A failed result for ``run`` that never produced one itself (its worker died, or it never started).

    Such a failure usually comes from outside the run (a killed process, a lost node), so by default a retry can succeed.
    """
    return RunResult(arm=run.arm, augmentation=run.augmentation, loss=run.loss, seed=run.seed, status="failed", error=reason, retryable=retryable)
