"""Results that could not be written to the store yet: ``<folder>/pending/<arm>-<seed>.json``.

A run that trained for hours is never lost to a full disk or a locked database: when its row
cannot be committed, the whole :class:`~augmentlab.results.records.RunResult` is written here,
atomically, and the next ``augmentlab ablate`` on the folder, or ``augmentlab report``, folds it
into the store (:meth:`~augmentlab.results.store.ResultStore.fold_pending`). A folded file is
removed; one that is not valid is left where it is and named in a warning.

A full disk would refuse the pending file too, so an ablation keeps room for it: a reserve file
(``pending/.reserve``, :data:`RESERVE_BYTES`) written before its runs start, removed to make
room just before a pending result is written, and removed when the runs have ended.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from contextlib import suppress
from pathlib import Path

from augmentlab.atomic import write_text_atomically
from augmentlab.results.records import RunResult

PENDING_FOLDER = "pending"
RESERVE_FILE = ".reserve"
RESERVE_BYTES = 16 * 2**20
"""Room kept for pending results: a result with per-image counts of 5,000 validation images and 150 classes is about 5 MB of JSON."""

logger = logging.getLogger("augmentlab.results")


def pending_path(folder: Path, result: RunResult) -> Path:
    """Where a run's pending result goes: a readable slug of its arm, its seed, and a hash that keeps different arms apart."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", result.arm).strip("_")[:60] or "arm"
    digest = hashlib.sha256(result.arm.encode()).hexdigest()[:8]
    return Path(folder) / PENDING_FOLDER / f"{slug}-seed{result.seed}-{digest}.json"


def keep_room(folder: Path) -> None:
    """Write the reserve that :func:`save_pending` frees on a full disk; a disk too full for it is left as it is."""
    reserve = Path(folder) / PENDING_FOLDER / RESERVE_FILE
    if reserve.is_file() and reserve.stat().st_size >= RESERVE_BYTES:
        return
    try:
        reserve.parent.mkdir(exist_ok=True)
        with open(reserve, "wb") as file:
            file.write(bytes(RESERVE_BYTES))  # real blocks, not a sparse file: they must be there when freed
    except OSError:
        with suppress(OSError):
            reserve.unlink()


def free_room(folder: Path) -> None:
    """Remove the reserve once the runs have ended (and the pending folder, when nothing is pending)."""
    pending = Path(folder) / PENDING_FOLDER
    with suppress(OSError):
        (pending / RESERVE_FILE).unlink()
    with suppress(OSError):
        pending.rmdir()  # only when empty


def save_pending(folder: Path, result: RunResult) -> Path:
    """Write ``result`` to the folder's pending results, whole or not at all, freeing the reserve first.

    Raises:
        AugmentlabError: it cannot be written either (the message names the file and the reason).
    """
    path = pending_path(folder, result)
    with suppress(OSError):
        (Path(folder) / PENDING_FOLDER / RESERVE_FILE).unlink()
    path.parent.mkdir(exist_ok=True)
    return write_text_atomically(path, json.dumps(result.to_dict(), allow_nan=True), what="the pending result")


def pending_results(folder: Path) -> list[tuple[Path, RunResult]]:
    """The pending results of a folder, oldest file first; an unreadable file is skipped with a warning."""
    found: list[tuple[Path, RunResult]] = []
    files = sorted((Path(folder) / PENDING_FOLDER).glob("*.json"), key=lambda path: path.stat().st_mtime)
    for path in files:
        try:
            found.append((path, RunResult.from_dict(json.loads(path.read_text(encoding="utf-8")))))
        except (OSError, ValueError, TypeError) as error:
            logger.warning("pending result %s cannot be read and is left where it is: %s", path, error)
    return found
