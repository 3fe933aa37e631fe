"""Writing the files a user names: all or nothing, with a clear message when it cannot be done.

Every output file (report, export, codebook, key file, figures) goes through
:func:`atomic_write`: the content is written to a temporary file in the same
folder and renamed over the target only when it is complete, so a full disk or
an interrupted command never leaves a truncated or 0-byte file behind. Any
``OSError`` becomes a :class:`~tracker.errors.TrackerError` that names the file
and the reason, so the CLI prints ``Error: ...`` and exits 1, never a traceback.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tracker.errors import TrackerError

_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENOENT: "the folder does not exist",
    errno.ENAMETOOLONG: "the name is too long",
}


def write_error(path: str | Path, exc: OSError) -> TrackerError:
    """The user-facing error for an ``OSError`` raised while writing ``path``."""
    reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return TrackerError(f"cannot write {path}: {reason}")


def check_writable(path: str | Path) -> Path:
    """Refuse, before any work is done, a target that cannot be written.

    The target's folder must exist and be a writable folder, and the target
    itself must not be a folder. Returns the path as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise write_error(path, OSError(errno.EISDIR, "is a directory"))
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise write_error(path, OSError(errno.ENOTDIR, "not a directory"))
    if not parent.exists():
        raise write_error(path, OSError(errno.ENOENT, "no such directory"))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise write_error(path, OSError(errno.EACCES, "permission denied"))
    return path


@contextmanager
def atomic_write(
    path: str | Path, *, binary: bool = False, encoding: str = "utf-8", newline: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success rename it to ``path``.

    ``with atomic_write(out) as fh: fh.write(text)``. On any exception the
    temporary file is removed and ``path`` is left as it was (absent, or its
    old content). ``OSError`` is re-raised as :class:`TrackerError` naming the
    file. The new file gets the permissions a plain ``open`` would give it.
    """
    path = check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        mode = "wb" if binary else "w"
        kwargs = {} if binary else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise write_error(path, exc) from None
    except BaseException:
        _discard(tmp)
        raise


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for libraries that write by file name.

    ``with atomic_path(out) as tmp: df.to_parquet(tmp)``; renamed to ``path``
    when the block succeeds, removed otherwise. Errors as in :func:`atomic_write`.
    """
    path = check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent or "."
        )
        os.close(fd)
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise write_error(path, exc) from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
