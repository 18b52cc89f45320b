"""Write generated files without ever leaving half-written output.

Each new file is written whole beside its destination (a hidden temporary file in the destination's own
directory, so on its filesystem: a mount point works) and then moved onto it with one ``os.replace``, so
at every instant a destination holds either its old contents or its new ones, even if the process is
killed. Before the first move, the previous version of every destination is kept as a hidden link
beside it; should a later move fail (or SIGINT/SIGTERM arrive), the files already replaced get their
previous contents back, the temporary files are removed and directories this call created are removed
again. Only regular files (or symbolic links, which are replaced by the file, never followed) are
overwritten: a directory, FIFO, device or socket at a destination is refused before anything moves.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import stat
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from deltagen.derive.errors import make_directories as _make_directories

_HIDDEN = ".deltagen-"


class _Terminated(BaseException):
    """SIGTERM during a write, raised so the write can undo itself before the process ends."""


def _replaceable(destination: Path) -> None:
    """Raise an OSError naming ``destination`` when a file must not be moved onto it."""
    try:
        mode = os.lstat(destination).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory; expected a file or nothing", str(destination))
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise OSError(errno.EEXIST, "is not a regular file (a FIFO, device or socket); expected a regular "
                                    "file or nothing", str(destination))



def _keep_previous(destination: Path) -> Path | None:
    """A hidden copy of ``destination`` beside it (a hard link where the filesystem allows), or None."""
    try:
        mode = os.lstat(destination).st_mode
    except FileNotFoundError:
        return None
    backup = Path(tempfile.mktemp(prefix=f".{destination.name}{_HIDDEN}old-", dir=destination.parent))
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(destination), backup)
        return backup
    try:
        os.link(destination, backup)
    except OSError:            # no hard links here (FAT, some network filesystems): copy instead
        shutil.copy2(destination, backup)
    return backup


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises ``_Terminated`` (main thread only; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def write_files(files: dict[str, str | bytes], out_dir: str | os.PathLike) -> list[Path]:
    """Write ``files`` into ``out_dir`` (created if missing): all of them appear, or none do (text as UTF-8 with
    \\n line ends, bytes as they are)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is not a directory; expected a directory or nothing", str(out))
    for name in files:
        _replaceable(out / name)
    new: dict[str, Path] = {}
    previous: list[tuple[Path, Path | None]] = []       # (destination, its previous version beside it)
    created: list[Path] = []
    try:
        with _sigterm_raises():
            created = _make_directories(out)
            for name, text in files.items():
                handle, temporary = tempfile.mkstemp(prefix=f".{name}{_HIDDEN}new-", dir=out)
                new[name] = Path(temporary)
                try:
                    binary = isinstance(text, bytes)
                    with (os.fdopen(handle, "wb") if binary else
                          os.fdopen(handle, "w", encoding="utf-8", newline="\n")) as stream:
                        stream.write(text)
                        stream.flush()
                        os.fsync(stream.fileno())
                except OSError as error:      # a full disk names no file: name the one being written
                    raise OSError(error.errno, error.strerror or str(error), str(out / name)) from None
            for name in files:
                destination = out / name
                previous.append((destination, _keep_previous(destination)))
                os.replace(new[name], destination)
                del new[name]
        return [out / name for name in files]
    except BaseException as error:
        for destination, backup in reversed(previous):
            if backup is not None:
                os.replace(backup, destination)
            elif destination.name not in new:      # this call's file, moved in: take it out again
                _remove(destination)
        for path in new.values():
            _remove(path)
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        if isinstance(error, _Terminated):     # undone: now end as SIGTERM would have
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
        raise
    finally:
        for _, backup in previous:
            if backup is not None:
                _remove(backup)
