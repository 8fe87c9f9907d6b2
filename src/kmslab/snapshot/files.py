"""Atomic snapshot files, and the temporaries a crashed save leaves behind.

A save writes a temporary file next to the target, flushes and fsyncs it,
renames it over the target (atomic on POSIX and Windows) and fsyncs the
folder: a crash at any moment leaves either the old snapshot or the new one,
never a mix.

A process killed mid-save (kill -9, power loss) cannot remove its temporary.
Temporaries are named after their target and the process that writes them
(``.kmslab-snapshot-<name>.<pid>.<random>.tmp``), so the next save of the
same target, or ``kmslab serve --snapshot`` starting, removes those whose
process is gone, and never one another process is still writing.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["write_atomic", "remove_stale_temporaries", "TEMP_PREFIX"]

TEMP_PREFIX = ".kmslab-snapshot-"
_SUFFIX = ".tmp"
_writing: set[str] = set()  # this process's temporaries being written now
_writing_lock = threading.Lock()


def _stem(path: str) -> str:
    return f"{TEMP_PREFIX}{os.path.basename(path)}."


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # exists (another user's), or cannot tell: keep it
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Remove the temporaries of saves of ``path`` (and of its journal) whose process is gone;
    returns their names.

    Only files named like kmslab's own temporaries for this target are looked
    at; this process's temporaries are removed unless a save is writing them now.
    """
    path = os.path.abspath(os.fspath(path))
    folder, stem = os.path.dirname(path), _stem(path)
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(stem) and name.endswith(_SUFFIX)):
            continue
        rest = name[len(stem):]
        rest = rest[len("journal."):] if rest.startswith("journal.") else rest  # its journal's
        pid_text = rest.split(".", 1)[0]
        if not pid_text.isdigit():
            continue
        with _writing_lock:
            if entry.path in _writing:
                continue
            if int(pid_text) != os.getpid() and _alive(int(pid_text)):
                continue
            try:
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
                    removed.append(name)
            except FileNotFoundError:
                pass
    return removed


def write_atomic(path: str | os.PathLike, data: bytes | Iterable[bytes], *,
                 _writer: Callable[[Any, bytes], None] | None = None) -> int:
    """Write ``data`` (bytes, or pieces written one after the other) to ``path`` atomically
    (temporary file, fsync, rename, fsync the folder); returns the bytes written.

    Stale temporaries of earlier, crashed saves of ``path`` are removed first.
    ``_writer(file, data)`` replaces the write itself (tests simulate a full disk with it).
    """
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    remove_stale_temporaries(path)
    with _writing_lock:
        fd, tmp = tempfile.mkstemp(prefix=f"{_stem(path)}{os.getpid()}.", suffix=_SUFFIX,
                                   dir=folder)
        _writing.add(tmp)
    try:
        write = _writer or (lambda f, d: f.write(d))
        size = 0
        with os.fdopen(fd, "wb") as fh:
            for piece in (data,) if isinstance(data, bytes) else data:
                write(fh, piece)
                size += len(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_folder(folder)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        with _writing_lock:
            _writing.discard(tmp)
    return size


def _fsync_folder(folder: str) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder cannot be opened on some systems (Windows): the rename is enough
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
