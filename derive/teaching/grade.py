"""``deltagen grade EXERCISE SUBMISSIONS --out DIR``: a class's answers files graded by the checker.

EXERCISE is an exercise folder (variants ``001/``, ``002/``, ... each with ``spec.toml``; a
submission's top-level ``variant = "NNN"`` picks its spec) or one spec file (every submission
graded against it). Writes ``DIR/grades.csv`` (one row per ``*.toml`` submission, sorted by
student = the file's stem), ``DIR/feedback/STUDENT.txt`` (the check report, or the one-line
error of a file that could not be read), ``DIR/summary.md`` and ``DIR/summary.png``.

The submissions are spread over the machine's cores (each worker derives every variant once);
results come back in the submissions' order, so the files do not depend on the scheduling.
"""
from __future__ import annotations

import csv
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, TextIO

from ..errors import SpecError
from ..model.spec import load_spec
from .gradebook import COLUMNS, Graded, Grader, grade_in_worker, start_worker
from .summary import summary_markdown, write_plot

#: below this many submissions, starting worker processes costs more than it saves
POOL_FROM = 8
PROGRESS_WIDTH = 30


@dataclass
class GradeReport:
    """What ``grade_class`` wrote, and how long it took (the time is in no file: the files are deterministic)."""

    graded: list[Graded]
    grades: Path
    feedback: Path
    summary: Path
    plot: Path | None          # None when matplotlib is missing
    seconds: float

    @property
    def unread(self) -> list[Graded]:
        return [g for g in self.graded if g.counts is None]

    @property
    def copied(self) -> list[Graded]:
        return [g for g in self.graded if g.copied is not None]

    def lines(self) -> list[str]:
        """A few lines for the terminal: the counts and the files written."""
        done = len(self.graded) - len(self.unread)
        out = [f"graded {done} of {len(self.graded)} submissions in {self.seconds:.1f} s"
               + (f"; {len(self.unread)} could not be read" if self.unread else "")
               + (f"; {len(self.copied)} match another variant's key" if self.copied else ""),
               str(self.grades), str(self.feedback) + os.sep, str(self.summary)]
        return out + ([str(self.plot)] if self.plot else [])


def grade_class(exercise: Path, submissions: Path, out: Path, lang: str = "en",
                progress: bool | None = None) -> GradeReport:
    """Grade every ``*.toml`` in ``submissions`` against ``exercise``; write grades.csv, feedback/, summary.*."""
    started = time.perf_counter()
    exercise, submissions, out = Path(exercise), Path(submissions), Path(out)
    if lang not in ("en", "pt"):
        raise SpecError("--lang", f"expected en or pt, got {lang!r}", "deltagen grade")
    specs = exercise_specs(exercise)
    grader = Grader(specs, lang)
    for variant in specs:        # a broken answers template is the exercise's fault: reported before grading
        grader.template(variant)
    paths = submission_files(submissions)
    if progress is None:
        progress = sys.stderr.isatty()
    graded = list(_progress(_graded(grader, paths), len(paths), sys.stderr if progress else None))
    feedback = out / "feedback"
    feedback.mkdir(parents=True, exist_ok=True)
    grades = out / "grades.csv"
    with open(grades, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(g.row() for g in graded)
    for g in graded:
        (feedback / f"{g.student}.txt").write_text(g.feedback, encoding="utf-8")
    plot = out / "summary.png"
    drawn = write_plot(graded, plot, lang)
    summary = out / "summary.md"
    name = exercise.name if exercise.is_dir() else exercise.stem
    summary.write_text(summary_markdown(graded, name, lang, plot=drawn), encoding="utf-8")
    return GradeReport(graded, grades, feedback, summary, plot if drawn else None, time.perf_counter() - started)


def exercise_specs(exercise: Path) -> dict[str, str]:
    """{variant: its spec file} of an exercise folder, or {"": the spec} for one spec file; each spec is read
    here once, so a broken variant is reported before any submission is graded."""
    if exercise.is_file():
        load_spec(exercise)
        return {"": str(exercise)}
    if not exercise.is_dir():
        raise SpecError("", "expected an exercise folder (variants 001/, 002/, ... each with spec.toml) or a spec "
                            "file, got no such file or folder", str(exercise))
    specs = {d.name: str(d / "spec.toml") for d in sorted(exercise.iterdir())
             if d.is_dir() and re.fullmatch(r"\d+", d.name) and (d / "spec.toml").is_file()}
    if not specs:
        raise SpecError("", "expected an exercise folder with variant folders 001/, 002/, ... each holding "
                            "spec.toml (as deltagen exercise writes), got none", str(exercise))
    for spec in specs.values():
        load_spec(spec)
    return specs


def submission_files(submissions: Path) -> list[str]:
    """Every ``*.toml`` of the folder, sorted by student (the file's stem)."""
    if not submissions.is_dir():
        raise SpecError("", "expected a folder of answers files (*.toml), got "
                            + ("a file" if submissions.exists() else "no such folder"), str(submissions))
    paths = sorted((p for p in submissions.glob("*.toml") if p.is_file()), key=lambda p: (p.stem, p.name))
    if not paths:
        raise SpecError("", "expected answers files (*.toml) in the folder, got none", str(submissions))
    return [str(p) for p in paths]


def _graded(grader: Grader, paths: list[str]) -> Iterator[Graded]:
    """Each submission graded, in the order of ``paths``: in worker processes for a class, here for a few."""
    workers = min(os.cpu_count() or 1, len(paths))
    if workers < 2 or len(paths) < POOL_FROM:
        yield from (grader.grade(p) for p in paths)
        return
    chunk = max(1, len(paths) // (workers * 8))       # small chunks: the progress moves and the load evens out
    with ProcessPoolExecutor(max_workers=workers, initializer=start_worker, initargs=(grader.specs, grader.lang)) as pool:
        yield from pool.map(grade_in_worker, paths, chunksize=chunk)


def _progress(items: Iterable[Graded], total: int, stream: TextIO | None) -> Iterator[Graded]:
    """The items, with a bar redrawn in place on ``stream`` (a terminal) as they arrive; nothing without one."""
    done = 0
    for item in items:
        done += 1
        if stream is not None:
            filled = PROGRESS_WIDTH * done // total
            stream.write(f"\rgrading [{'#' * filled}{'.' * (PROGRESS_WIDTH - filled)}] {done}/{total}")
            stream.flush()
        yield item
    if stream is not None and total:
        stream.write("\n")
        stream.flush()
