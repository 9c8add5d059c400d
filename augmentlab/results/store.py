"""The result store of one ablation output folder: ``<folder>/results.sqlite``.

One row per (arm, seed) run in table ``runs``, with a real column for each scalar, so that a user
can ask SQLite directly::

    sqlite3 runs/x/results.sqlite "select arm, seed, status, miou from runs"

The lists and dicts of a run (per-class IoU, per-image counts, history, config, versions) are JSON
text columns, readable with SQLite's ``json_extract``. Table ``ablation`` holds one row: the
:class:`AblationInfo` as JSON, written by the first :meth:`ResultStore.begin` and checked by every
later one, which is what lets the same command resume in the same folder.

One process writes (the ablation driver), while ``augmentlab report`` may read at the same time:
the database is in WAL mode, so readers never block the writer, and every connection waits up to
``BUSY_TIMEOUT_SECONDS`` for a lock instead of failing. Each write is one transaction, so a crash
leaves either the old row or the new one. Timestamps are ISO-8601 in UTC.

A float that is not finite (NaN, ±inf) is stored as NULL (JSON ``null``) and reads back as None:
strict JSON has no token for it and SQLite turns a NaN into NULL anyway, so one rule covers the
whole record. Rejecting it instead would lose the record of a diverged run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, get_args

from augmentlab.atomic import cannot_write
from augmentlab.errors import AugmentlabError, Param, StoreError
from augmentlab.results.lock import lock_holder
from augmentlab.results.pending import PENDING_FOLDER, pending_results
from augmentlab.results.records import (
    RECIPE_ADDED_FIELDS,
    AblationInfo,
    AnalysisSettings,
    RunResult,
    RunStatus,
)

SCHEMA_VERSION = 2
"""Kept in ``PRAGMA user_version``; raised whenever the tables change, with a step in :data:`MIGRATIONS`."""

MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 1 -> 2: a failed run keeps its full traceback beside the one-line error.
    1: ("ALTER TABLE runs ADD COLUMN traceback TEXT", "ALTER TABLE runs ADD COLUMN retryable INTEGER"),
}
"""Statements that take a store of schema N to N + 1; an older folder is migrated when it is opened."""

APPLICATION_ID = int.from_bytes(b"AuLb", "big")
"""Kept in ``PRAGMA application_id``: marks a SQLite file as an augmentlab store."""

BUSY_TIMEOUT_SECONDS = 30.0
"""How long a connection waits for another one's lock before giving up."""

IDENTITY_COLUMNS = ("arm", "augmentation", "loss", "seed", "status")
"""What a run has from the moment it starts: all a 'running' row holds."""

SCALAR_COLUMNS = IDENTITY_COLUMNS + (
    "error",
    "retryable",
    "traceback",
    "best_epoch",
    "miou",
    "pixel_accuracy",
    "per_image_miou",
    "train_seconds",
    "images_per_second",
    "data_ms_per_step",
    "model_ms_per_step",
    "peak_memory_bytes",
)
"""RunResult fields stored as plain SQL values."""

JSON_COLUMNS = ("per_class_iou", "history", "image_intersections", "image_unions", "config", "versions")
"""RunResult fields stored as JSON text."""

_SCHEMA = (
    """
CREATE TABLE ablation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    info TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)""",
    """
CREATE TABLE runs (
    arm TEXT NOT NULL,
    augmentation TEXT NOT NULL,
    loss TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    error TEXT,
    retryable INTEGER,
    traceback TEXT,
    best_epoch INTEGER,
    miou REAL,
    pixel_accuracy REAL,
    per_image_miou REAL,
    train_seconds REAL,
    images_per_second REAL,
    data_ms_per_step REAL,
    model_ms_per_step REAL,
    peak_memory_bytes INTEGER,
    started_at TEXT,
    finished_at TEXT,
    per_class_iou TEXT,
    history TEXT,
    image_intersections TEXT,
    image_unions TEXT,
    config TEXT,
    versions TEXT,
    PRIMARY KEY (arm, seed)
)""",
)

_RESUME_CHECKED_FIELDS = {
    "class_names": "classes",
    "recipe": "recipe",
    "device": "device",
    "data": "data",
    "ignore_index": "ignore index",
}
"""AblationInfo fields a resumed ablation must share with the stored one, and their words in messages."""

_FOLDER_HINT = "give the folder `augmentlab ablate` wrote, e.g. runs/ablation-1a2b3c4d5e"


class ResultStore:
    """The runs of one ablation folder, kept in ``<folder>/results.sqlite``.

    Use as a context manager, or call :meth:`close`.
    """

    FILENAME = "results.sqlite"

    def __init__(self, folder: Path, *, create: bool = True, read_only: bool = False) -> None:
        """Open the store of ``folder``; with ``create`` make the folder (and parents) and the database if missing.

        ``create=False`` never creates anything; :meth:`open_existing` uses it after checking that
        the file exists. A store of an older schema is migrated. ``read_only`` (with ``create=False``)
        opens it for reading only, as a dry run does: nothing is migrated, and no file is written or
        left beside it (SQLite's ``-wal`` and ``-shm`` files are only used where a writer already made them).

        Raises:
            StoreError: the store cannot be opened, in one line that says why (locked, read-only,
                a full disk, a folder where the file should be, not an augmentlab store) and what to do.
        """
        self.folder = Path(folder)
        self.path = self.folder / self.FILENAME
        if create:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(str(cannot_write(self.folder, error, "the output folder"))) from None
            target = str(self.path)
        elif read_only:
            # A read-only connection to a WAL database makes -wal and -shm files when there are none
            # and leaves them behind; with none there, no writer is open and the file alone is the
            # whole database, which "immutable" reads without making anything.
            wal = self.path.with_name(self.path.name + "-wal")
            target = self.path.resolve().as_uri() + ("?mode=ro" if wal.exists() else "?mode=ro&immutable=1")
        else:
            target = self.path.resolve().as_uri() + "?mode=rw"
        if self.path.is_dir():
            raise StoreError(
                f"{self.path} is a folder, where the ablation's result store (a SQLite file) belongs; "
                "rename or remove that folder, or give the ablation another folder"
            )
        try:
            self._connection = sqlite3.connect(target, uri=not create, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except sqlite3.Error as error:
            raise self._problem(error) from None
        self._connection.row_factory = sqlite3.Row
        try:
            self._prepare(create and not read_only, read_only)
        except sqlite3.Error as error:
            self._connection.close()
            raise self._problem(error) from None
        except AugmentlabError:
            self._connection.close()
            raise

    @classmethod
    def open_existing(cls, folder: Path) -> ResultStore:
        """Open the store an ablation wrote, for reading its results (``augmentlab report DIR``)."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise AugmentlabError(f"{folder} is a file, not an ablation folder; {_FOLDER_HINT}")
        if not folder.is_dir():
            raise AugmentlabError(f"there is no folder {folder}; {_FOLDER_HINT}")
        if not (folder / cls.FILENAME).exists():
            raise AugmentlabError(f"{folder} holds no ablation results (no {cls.FILENAME}); {_FOLDER_HINT}")
        return cls(folder, create=False)

    def _problem(self, error: sqlite3.Error) -> Exception:
        """What a SQLite error means for the user, and what to do; a valid store is never called invalid.

        A misuse of the connection (a closed store, a bad statement) is a bug, not the user's: it comes back as it is.
        """
        if isinstance(error, (sqlite3.ProgrammingError, sqlite3.InterfaceError)):
            return error
        name = getattr(error, "sqlite_errorname", "") or ""
        detail = f"SQLite: {error}"
        kept = "finished runs are kept"
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            holder = lock_holder(self.folder) or {}
            if holder.get("pid") and holder["pid"] != os.getpid():
                who = f"augmentlab process {holder['pid']}, which holds the folder"
            else:
                who = "another program (an sqlite3 shell, a backup or sync tool?)"
            return StoreError(
                f"{self.path} is locked by {who}: its write lock was not free within {BUSY_TIMEOUT_SECONDS:g} s ({detail}); "
                f"let it finish or close it, then run the same command again: {kept}"
            )
        if name == "SQLITE_FULL" or (name.startswith("SQLITE_IOERR") and _free_bytes(self.folder) < FULL_DISK_BYTES):
            # In WAL mode a full disk often surfaces as an I/O error writing the WAL or its index.
            return StoreError(f"the disk that holds {self.path} is full ({detail}); free space there and run the same command again: {kept}")
        if name.startswith("SQLITE_READONLY") or (name.startswith("SQLITE_CANTOPEN") and _read_only(self.folder)):
            return StoreError(
                f"{self.path} is read-only ({detail}); make {self.folder} writable, or copy the folder to a writable place "
                f"and give that folder: {kept}"
            )
        if name.startswith("SQLITE_IOERR"):
            return StoreError(f"the disk that holds {self.path} failed a read or write ({detail}); check the disk, then run the same command again")
        if name.startswith("SQLITE_CANTOPEN"):
            return StoreError(f"cannot open {self.path} ({detail}); check that {self.folder} exists and can be read and written")
        if name.startswith("SQLITE_CORRUPT"):
            return StoreError(
                f"{self.path} is damaged ({detail}); restore it from a backup, or move it away and give another folder "
                "(augmentlab cannot read its results)"
            )
        if name == "SQLITE_NOTADB":
            return StoreError(f"{self.path} is not an augmentlab result store ({detail}); move it away or give another folder")
        return StoreError(f"{self.path}: {detail}")

    def _prepare(self, create: bool, read_only: bool = False) -> None:
        """Give a new file the schema (with ``create``), check the file is our store of this schema, then switch to WAL.

        WAL comes last so that a file of another program is left as it was. ``read_only`` only
        checks: an older schema is read as it is (its ``ablation`` table is the same).
        """
        if create:
            with self._transaction():
                table_count = self._connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if self._pragma("application_id") == 0 and table_count == 0:
                    self._connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    self._connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    for statement in _SCHEMA:
                        self._connection.execute(statement)
        if self._pragma("application_id") != APPLICATION_ID:
            raise AugmentlabError(f"{self.path} is not an augmentlab result store; move it away or give another folder")
        version = self._pragma("user_version")
        if version > SCHEMA_VERSION or (version < SCHEMA_VERSION and version not in MIGRATIONS):
            raise AugmentlabError(
                f"{self.path} holds results in store schema {version}, and this augmentlab reads schema {SCHEMA_VERSION};"
                " use the augmentlab version that wrote it"
            )
        if read_only:
            return
        if version < SCHEMA_VERSION:
            self._migrate(version)
        self._connection.execute("PRAGMA journal_mode = WAL")

    def _migrate(self, version: int) -> None:
        """Bring a store written by an older augmentlab to this schema, one step at a time, each in one transaction."""
        for step in range(version, SCHEMA_VERSION):
            with self._transaction():
                for statement in MIGRATIONS[step]:
                    self._connection.execute(statement)
                self._connection.execute(f"PRAGMA user_version = {step + 1}")

    def _pragma(self, name: str) -> int:
        """The value of an integer PRAGMA of the database, e.g. ``user_version``."""
        return self._connection.execute(f"PRAGMA {name}").fetchone()[0]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, taking the write lock at once so that its reads stay current.

        Raises:
            StoreError: the write failed (locked, read-only, full disk); nothing of it is kept.
        """
        try:
            self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise self._problem(error) from None
        try:
            yield
            self._connection.execute("COMMIT")
        except BaseException as error:
            if self._connection.in_transaction:
                with suppress(sqlite3.Error):
                    self._connection.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise self._problem(error) from None
            raise

    def _read(self, statement: str, parameters: tuple = ()) -> list[sqlite3.Row]:
        """Rows of a read; a store that cannot be read is a StoreError."""
        try:
            return self._connection.execute(statement, parameters).fetchall()
        except sqlite3.Error as error:
            raise self._problem(error) from None

    def begin(self, info: AblationInfo) -> AblationInfo:
        """Store the ablation's info the first time; on resume check it and merge new arms and seeds.

        A resumed ablation must have the stored classes, recipe, device, data and ignore index
        (the preset is only a name for the recipe, so it may differ). Arms and seeds are the union,
        stored ones first in their order, then the new ones in theirs; every other field keeps its
        stored value. Returns the info now stored.
        """
        now = _utc_now()
        info = _as_stored(info)
        with self._transaction():
            stored = self._stored_info()
            if stored is None:
                self._connection.execute(
                    "INSERT INTO ablation (id, info, created_at, updated_at) VALUES (1, ?, ?, ?)",
                    (_to_json(info.to_dict()), now, now),
                )
                return info
            self._check_resumable(stored, info)
            earlier_seeds, reads = len(stored.seeds), list(stored.analysis.read_at_seeds)
            # Going on with sequential seeds whose first look is the seeds read is what a read should lead
            # to: that look is the plan's, α is split over it and the later ones.
            planned_look = info.analysis.max_seeds is not None and info.analysis.first_seeds == earlier_seeds
            complete = not planned_look and self._fixed_design_complete(stored)
            known_arms = {arm.name for arm in stored.arms}
            stored.arms += [arm for arm in info.arms if arm.name not in known_arms]
            stored.seeds += [seed for seed in info.seeds if seed not in stored.seeds]
            stored.analysis = _merged_analysis(info.analysis, len(stored.seeds))
            if len(stored.seeds) > earlier_seeds and complete and earlier_seeds not in reads:
                reads.append(earlier_seeds)  # seeds added after the report could be read
            stored.analysis.read_at_seeds = reads
            self._connection.execute(
                "UPDATE ablation SET info = ?, updated_at = ? WHERE id = 1", (_to_json(stored.to_dict()), now)
            )
            return stored

    def _fixed_design_complete(self, stored: AblationInfo) -> bool:
        """Whether ``stored`` is a fixed design every planned run of which has ended (finished or failed): its report could be read."""
        if stored.analysis.max_seeds is not None:
            return False
        planned = {(arm.name, seed) for arm in stored.arms for seed in stored.seeds}
        ended = {(row["arm"], row["seed"]) for row in self._read("SELECT arm, seed FROM runs WHERE status IN ('finished', 'failed')")}
        return planned <= ended

    def check_resumes(self, info: AblationInfo) -> None:
        """Raise what :meth:`begin` would raise for ``info``, writing nothing: the check of a dry run.

        A store without an ablation yet (one killed before :meth:`begin`) takes any.
        """
        stored = self._stored_info()
        if stored is not None:
            self._check_resumable(stored, _as_stored(info))

    def _check_resumable(self, stored: AblationInfo, new: AblationInfo) -> None:
        """Raise AugmentlabError naming the first field (and recipe key) where ``new`` differs from ``stored``."""
        for field_name, words in _RESUME_CHECKED_FIELDS.items():
            there, now = getattr(stored, field_name), getattr(new, field_name)
            if field_name == "recipe":  # a folder from before a recipe field existed trained with its default
                there = {**{key: value for key, value in RECIPE_ADDED_FIELDS.items() if key in now}, **there}
            if there == now:
                continue
            if field_name == "recipe":
                key = next(key for key in {**there, **now} if there.get(key, _ABSENT) != now.get(key, _ABSENT))
                detail = f"{key} {there.get(key, _ABSENT)} there, {now.get(key, _ABSENT)} now"
            else:
                detail = f"{there} there, {now} now"
            raise AugmentlabError(
                f"{self.folder} holds an ablation with a different {words} ({detail}); give another ", Param("name"),
                " to start a new folder, or the same settings to resume",
            )

    def _stored_info(self) -> AblationInfo | None:
        """The info :meth:`begin` stored, or None before the first begin."""
        rows = self._read("SELECT info FROM ablation WHERE id = 1")
        return None if not rows else AblationInfo.from_dict(json.loads(rows[0]["info"]))

    def created_at(self) -> str:
        """When :meth:`begin` first stored the ablation (UTC, ISO 8601): with the folder's name, what tells two ablations of one name apart."""
        rows = self._read("SELECT created_at FROM ablation WHERE id = 1")
        if not rows:
            raise AugmentlabError(f"{self.folder} holds no ablation: `augmentlab ablate` stopped before it stored its plan; run it again")
        return rows[0]["created_at"]

    def info(self) -> AblationInfo:
        """The ablation's info as :meth:`begin` stored it."""
        stored = self._stored_info()
        if stored is None:
            raise AugmentlabError(
                f"{self.folder} holds no ablation: `augmentlab ablate` stopped before it stored its plan; run it again"
            )
        return stored

    def mark_running(self, arm: str, seed: int, augmentation: str, loss: str) -> None:
        """Replace the row of (arm, seed) by a 'running' one with its start time.

        Written before training, so that a run interrupted by a crash shows as 'running' (and is
        run again on resume); nothing of an older row, such as a failed run's error, is kept.
        """
        with self._transaction():
            self._connection.execute(
                "INSERT OR REPLACE INTO runs (arm, augmentation, loss, seed, status, started_at)"
                " VALUES (?, ?, ?, ?, 'running', ?)",
                (arm, augmentation, loss, seed, _utc_now()),
            )

    def record(self, result: RunResult) -> None:
        """Replace the row of the result's (arm, seed) by the ended run, in one transaction.

        Keeps the start time of the 'running' row :meth:`mark_running` wrote, and sets the finish
        time. Raises ValueError for a result whose status is 'running'.
        """
        if result.status == "running":
            raise ValueError(
                "record() stores a run that ended, status 'finished' or 'failed', not 'running'; use mark_running()"
            )
        values = result.to_dict()
        row = {column: _finite_or_none(values[column]) for column in SCALAR_COLUMNS}
        row |= {column: _to_json(values[column]) for column in JSON_COLUMNS}
        columns = ", ".join(row)
        placeholders = ", ".join(f":{column}" for column in row)
        with self._transaction():
            self._connection.execute(
                f"INSERT OR REPLACE INTO runs ({columns}, started_at, finished_at) VALUES ({placeholders},"
                " (SELECT started_at FROM runs WHERE arm = :arm AND seed = :seed AND status = 'running'), :finished_at)",
                row | {"finished_at": _utc_now()},
            )

    def fold_pending(self) -> int:
        """Record the folder's pending results (runs whose row could not be written when they ended) and remove their files.

        A pending run the store meanwhile holds as finished (it was trained again) keeps the
        stored result. Returns how many results went into the store.

        Raises:
            StoreError: the store still cannot be written; the files not yet folded stay.
        """
        folded = 0
        finished = self.finished()
        for path, result in pending_results(self.folder):
            if result.key not in finished and result.status != "running":
                self.record(result)
                folded += 1
            path.unlink()
        with suppress(OSError):
            (self.folder / PENDING_FOLDER).rmdir()  # only when nothing else is left in it
        return folded

    def finished(self) -> set[tuple[str, int]]:
        """(arm, seed) of every finished run: what a resumed ablation skips."""
        rows = self._read("SELECT arm, seed FROM runs WHERE status = 'finished'")
        return {(row["arm"], row["seed"]) for row in rows}

    def results(self, status: RunStatus | None = None) -> list[RunResult]:
        """The stored runs, all or those of one status, in the info's arm order, then by seed.

        A 'running' row has only its identity: ``RunResult(arm, augmentation, loss, seed, status="running")``.
        Rows of arms the info does not list (possible only before :meth:`begin`) come last, by arm name.
        """
        if status is None:
            rows = self._read("SELECT * FROM runs")
        elif status in get_args(RunStatus):
            rows = self._read("SELECT * FROM runs WHERE status = ?", (status,))
        else:
            statuses = ", ".join(repr(known) for known in get_args(RunStatus))
            raise ValueError(f"status must be None or one of {statuses}, not {status!r}")
        stored = self._stored_info()
        arm_order = {arm.name: index for index, arm in enumerate(stored.arms if stored else [])}
        results = [_result_from_row(row) for row in rows]
        return sorted(results, key=lambda result: (arm_order.get(result.arm, len(arm_order)), result.arm, result.seed))

    def close(self) -> None:
        """Close the database connection; the store is unusable afterwards."""
        self._connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


FULL_DISK_BYTES = 1 << 20
"""Less free space than this, and an I/O error is taken to be a full disk."""


def _free_bytes(folder: Path) -> int:
    try:
        stats = os.statvfs(folder)
    except OSError:
        return FULL_DISK_BYTES
    return stats.f_bavail * stats.f_frsize


def _read_only(folder: Path) -> bool:
    """The folder cannot be written: a read-only filesystem, or no write permission."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    except OSError:
        return False


class _Absent:
    """A recipe key one side of a resume check lacks."""

    def __str__(self) -> str:
        return "absent"


_ABSENT = _Absent()


def _result_from_row(row: sqlite3.Row) -> RunResult:
    """The RunResult of a ``runs`` row; a 'running' row has only its identity columns set."""
    identity = {column: row[column] for column in IDENTITY_COLUMNS}
    if row["status"] == "running":
        return RunResult(**identity)
    values = {column: row[column] for column in SCALAR_COLUMNS}
    values |= {column: json.loads(row[column]) for column in JSON_COLUMNS}
    if values["retryable"] is not None:  # SQLite keeps a bool as 0 or 1
        values["retryable"] = bool(values["retryable"])
    return RunResult.from_dict(values)


def _finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite float, however deeply nested in lists and dicts, replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    return value


def _to_json(value: Any) -> str:
    """Strict, compact JSON; non-finite floats become null (see the module docstring)."""
    return json.dumps(_finite_or_none(value), separators=(",", ":"), allow_nan=False)


def _as_stored(info: AblationInfo) -> AblationInfo:
    """``info`` as the store would read it back (through its JSON), so that it compares with a stored one field by field."""
    return AblationInfo.from_dict(json.loads(_to_json(info.to_dict())))


def _utc_now() -> str:
    """The current time, ISO-8601 in UTC to the second, e.g. ``2024-05-01T12:00:00+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _merged_analysis(new: AnalysisSettings, seeds: int) -> AnalysisSettings:
    """This invocation's analysis over a folder that now holds ``seeds`` seeds.

    A fixed design compares every stored seed, as the report always has; sequential seeds keep
    this invocation's first look, and plan at least the stored seeds.
    """
    if new.max_seeds is None:
        return dataclasses.replace(new, first_seeds=seeds)
    return dataclasses.replace(new, max_seeds=max(new.max_seeds, seeds))
