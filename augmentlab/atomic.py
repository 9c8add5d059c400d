"""File writes that a kill, a crash or a full disk leave whole or not at all.

Each write goes to a temporary file in the same folder, is flushed to disk, and then replaces the
target with ``os.replace``, which is atomic on POSIX and Windows: a reader sees the old file or
the new one, never a half-written one. A write that fails removes its temporary file and raises
:class:`~augmentlab.errors.AugmentlabError` with one line naming the file and the reason.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from augmentlab.errors import AugmentlabError

Writer = Callable[[BinaryIO], None]


def write_atomically(path: str | Path, write: Writer, *, what: str = "", fsync: bool = True) -> Path:
    """Write ``path`` through ``write(file)`` into a temporary file beside it, then move it into place.

    Args:
        path: the file to create or replace.
        write: writes the whole content to the binary file it is given.
        what: what the file is, for the message when it cannot be written (``"the report"``).
        fsync: flush to the disk before the move, so that a power loss leaves old or new too.

    Raises:
        AugmentlabError: the folder is missing, read-only or full; nothing is left behind.
    """
    path = Path(path)
    remove_abandoned_temporaries(path)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise cannot_write(path, error, what) from None
    try:
        # mkstemp creates 0600; a report is meant to be shared, so give it what open() would: 0666 less the umask.
        if hasattr(os, "fchmod"):  # POSIX; Windows files take no such mode
            os.fchmod(descriptor, 0o666 & ~_umask())
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            if fsync:
                os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise cannot_write(path, error, what) from None
        raise
    return path


def remove_abandoned_temporaries(path: Path) -> None:
    """Remove the temporary files of ``path`` that a killed writer left (a SIGKILL cannot clean up), never a live writer's.

    Each temporary file names its writer's PID: ``.report.md.<pid>.<random>.tmp``.
    """
    for temporary in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = temporary.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            with contextlib.suppress(OSError):
                temporary.unlink()


def process_alive(pid: int) -> bool:
    """Whether a process of that PID runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_text_atomically(path: str | Path, text: str, *, what: str = "") -> Path:
    """:func:`write_atomically` of UTF-8 text."""
    return write_atomically(path, lambda file: file.write(text.encode("utf-8")), what=what)


def cannot_write(path: Path, error: OSError, what: str = "") -> AugmentlabError:
    """One line for a write that failed: which file, why, and what to do for the common reasons."""
    name = f"{what} {path}" if what else str(path)
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        advice = "free space on that disk, or give another folder"
    elif error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        advice = "make the folder writable, or give another folder"
    elif error.errno == errno.ENOENT:
        advice = "the folder does not exist"
    else:
        advice = "check the folder"
    return AugmentlabError(f"cannot write {name}: {reason} (errno {error.errno}); {advice}")


def _umask() -> int:
    """The process's umask (reading it means setting it; set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
