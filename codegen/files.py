"""Write generated files without ever leaving half-written output."""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path


def _replaceable(destination: Path) -> None:
    """Raise an OSError naming ``destination`` when a file cannot be moved onto it."""
    if destination.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory; expected a file or nothing", str(destination))


def write_files(files: dict[str, str], out_dir: str | os.PathLike) -> list[Path]:
    """Write ``files`` into ``out_dir`` atomically: all of them appear, or none do.

    Files are written to a temporary directory beside ``out_dir`` and moved into
    place only after every one was written. A destination that cannot be replaced
    (a directory of the same name) is found before anything moves; should a move
    still fail, the files already replaced get their previous contents back.
    """
    out = Path(out_dir)
    parent = out.parent if out.parent != Path("") else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is not a directory; expected a directory or nothing", str(out))
    for name in files:
        _replaceable(out / name)
    staging = Path(tempfile.mkdtemp(prefix=".deltagen-", dir=parent))
    created_out = not out.exists()
    moved: list[tuple[Path, Path | None]] = []   # (destination, its previous version in staging)
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8", newline="\n")
        out.mkdir(exist_ok=True)
        for index, name in enumerate(files):
            destination = out / name
            previous = None
            if destination.exists() or destination.is_symlink():
                previous = staging / f".previous-{index}"
                os.replace(destination, previous)
            moved.append((destination, previous))
            os.replace(staging / name, destination)
        return [out / name for name in files]
    except BaseException:
        for destination, previous in reversed(moved):
            if previous is not None:
                os.replace(previous, destination)
            elif destination.exists():
                destination.unlink()
        if created_out and out.exists() and not any(out.iterdir()):
            out.rmdir()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
