"""One process per ablation folder: the driver holds ``<folder>/.lock`` while it trains.

The lock is an ``flock`` on the file, which the operating system releases when the process
ends, however it ends (SIGKILL and power loss included): a lock left by a killed process is
simply taken over, never a reason to refuse. The file holds the holder's PID and start time,
so that a second ``augmentlab ablate`` on the folder can say who holds it. Worker processes
(``--parallel``, Ray) never take it: they only train and hand results to the driver.

Where the filesystem cannot lock (some network filesystems), the PID in the file decides: a
holder that is still alive on this machine keeps the folder.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from augmentlab.atomic import cannot_write, process_alive
from augmentlab.errors import Param, StoreError

LOCK_FILE = ".lock"


def lock_holder(folder: Path) -> dict | None:
    """What the folder's lock file says about its holder (``pid``, ``started``), or None if there is none to read."""
    try:
        return json.loads((Path(folder) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class FolderLock:
    """Hold an ablation folder for this process: ``with FolderLock(folder): ...``.

    Raises:
        StoreError: another live process holds the folder; the message names its PID.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._file = None

    def acquire(self) -> None:
        try:
            self._file = open(self.path, "a+", encoding="utf-8")
        except OSError as error:  # a read-only folder, or one of another user: said so, with what to do
            raise cannot_write(self.path, error, "the ablation's lock file") from None
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock_holder(self.folder) or {}
            self._close()
            raise in_use(self.folder, holder) from None
        except OSError as error:
            if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                self._close()
                raise
            holder = lock_holder(self.folder) or {}
            if holder.get("pid") not in (None, os.getpid()) and process_alive(int(holder["pid"])):
                self._close()
                raise in_use(self.folder, holder) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps({"pid": os.getpid(), "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        self._file.flush()

    def release(self) -> None:
        if self._file is None:
            return
        self._file.seek(0)
        self._file.truncate()
        self._file.flush()
        self._close()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the flock
            self._file = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.release()


def in_use(folder: Path, holder: dict) -> StoreError:
    who = f"augmentlab process {holder['pid']}" if holder.get("pid") else "another augmentlab process"
    since = f" (since {holder['started']})" if holder.get("started") else ""
    return StoreError(
        f"{folder} is in use by {who}{since}; wait for it to end, stop it, or give another ", Param("name"), " to start a new folder"
    )
