"""Output files appear whole or not at all, on the destination's own filesystem, and only over regular files."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from deltagen.codegen import files as files_module
from deltagen.codegen.files import write_files

ROOT = Path(__file__).resolve().parent.parent
XOR = ROOT / "generated" / "lecture_xor" / "spec.toml"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltagen.cli", *args], capture_output=True, text=True, timeout=300)


def test_a_destination_is_never_missing_while_files_are_replaced(tmp_path, monkeypatch):
    """Each file is replaced by one rename: at every rename every old destination still exists."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("a.txt", "b.txt"):
        (out / name).write_text(f"old {name}\n")
    real_replace = os.replace
    seen = []

    def watching_replace(source, destination):
        seen.append(sorted(p.name for p in out.iterdir() if not p.name.startswith(".")))
        real_replace(source, destination)

    monkeypatch.setattr(files_module.os, "replace", watching_replace)
    write_files({"a.txt": "new a\n", "b.txt": "new b\n"}, out)
    assert seen and all(names == ["a.txt", "b.txt"] for names in seen)
    assert [(out / n).read_text() for n in ("a.txt", "b.txt")] == ["new a\n", "new b\n"]
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]     # nothing hidden left behind


def test_temporary_files_live_in_the_destination_directory(tmp_path, monkeypatch):
    """A mount point as --out: staging in its parent would be another filesystem (EXDEV on rename)."""
    real_mkstemp = files_module.tempfile.mkstemp
    places = []

    def recording_mkstemp(*args, **kwargs):
        places.append(Path(kwargs["dir"]))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(files_module.tempfile, "mkstemp", recording_mkstemp)
    out = tmp_path / "volume"
    write_files({"x.txt": "x\n", "y.txt": "y\n"}, out)
    assert places == [out, out]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["volume"]


def test_sigterm_during_a_write_undoes_it_and_still_terminates(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "first.txt").write_text("old first\n")
    real_replace = os.replace
    killed = []

    def terminated_replace(source, destination):
        if Path(destination).name == "second.txt":
            raise files_module._Terminated()       # what the SIGTERM handler raises
        real_replace(source, destination)

    monkeypatch.setattr(files_module.os, "replace", terminated_replace)
    monkeypatch.setattr(files_module.os, "kill", lambda pid, sig: killed.append(sig))
    with pytest.raises(files_module._Terminated):
        write_files({"first.txt": "new first\n", "second.txt": "new second\n"}, out)
    assert (out / "first.txt").read_text() == "old first\n"
    assert sorted(p.name for p in out.iterdir()) == ["first.txt"]
    assert killed == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_directories_created_for_a_failed_write_are_removed(tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "fsync", full_disk)
    with pytest.raises(OSError):
        write_files({"x.txt": "x\n"}, tmp_path / "new" / "deeper")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_at_the_output_path_is_refused_and_kept(tmp_path):
    fifo = tmp_path / "doc.tex"
    os.mkfifo(fifo)
    result = cli("derive", str(XOR), "--latex", "-o", str(fifo))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 and str(fifo) in result.stderr and "regular file" in result.stderr
    assert fifo.is_fifo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.tex"]


def test_a_device_at_the_output_path_is_refused():
    result = cli("derive", str(XOR), "--latex", "-o", "/dev/null")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "/dev/null" in result.stderr
    assert Path("/dev/null").is_char_device()


def test_a_symlink_is_replaced_not_followed(tmp_path):
    target = tmp_path / "target.tex"
    target.write_text("keep me\n")
    link = tmp_path / "link.tex"
    link.symlink_to(target)
    write_files({"link.tex": "new\n"}, tmp_path)
    assert not link.is_symlink() and link.read_text() == "new\n" and target.read_text() == "keep me\n"


def test_a_full_disk_names_the_file_and_leaves_no_directories(tmp_path, monkeypatch, capsys):
    from deltagen.cli import main

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "fsync", full_disk)
    out = tmp_path / "new" / "out"
    status = main(["generate", str(XOR), "--out", str(out)])
    error = capsys.readouterr().err
    assert status == 2 and error == f"deltagen: {out / 'lecture_xor.py'}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []
