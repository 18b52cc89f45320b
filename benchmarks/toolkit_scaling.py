"""How the toolkit's own cost grows with the width of a layer: ``python benchmarks/toolkit_scaling.py``.

Each command runs as its own process, as a user runs it (``deltagen derive`` derives and proves;
``deltagen generate`` derives and renders one target), for two-layer nets from 64-32-10 to beyond a
million parameters. Reported: wall seconds and peak resident memory, and each time as a
ratio to 64-32-10's, measured in the same run (``/usr/bin/time -f "%e %M"``). ``--out FILE`` also writes the table as Markdown.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

#: (inputs, hidden units, outputs, hidden activation); the first is the reference of the ratios
NETS = [(64, 32, 10, "sigmoid"), (784, 128, 10, "relu"), (1000, 980, 10, "tanh"), (3000, 3000, 10, "relu")]
COMMANDS = {"derive + prove": ["derive"], "generate C": ["generate", "--target", "c"],
            "generate NumPy": ["generate", "--target", "numpy"]}


def spec_text(name: str, inputs: int, hidden: int, outputs: int, activation: str) -> str:
    return (f'name = "{name}"\ninput = {inputs}\nloss = "cce"\nlayers = [\n'
            f'  {{ units = {hidden}, activation = "{activation}" }},\n'
            f'  {{ units = {outputs}, activation = "softmax" }},\n]\n')


def run(arguments: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one ``deltagen`` command in a fresh process, by ``/usr/bin/time``."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        done = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", report.name,
                               sys.executable, "-m", "deltagen.cli", *arguments], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"deltagen {' '.join(arguments)} failed: {done.stdout[-400:]}{done.stderr[-400:]}")
        seconds, kilobytes = report.read().split()[-2:]
    return float(seconds), float(kilobytes) / 1024


def measure(folder: Path) -> list[dict]:
    rows = []
    for inputs, hidden, outputs, activation in NETS:
        name = f"net_{inputs}_{hidden}_{outputs}"
        spec = folder / f"{name}.toml"
        spec.write_text(spec_text(name, inputs, hidden, outputs, activation))
        row = {"net": f"{inputs}-{hidden}-{outputs}",
               "parameters": hidden * (inputs + 1) + outputs * (hidden + 1)}
        for label, command in COMMANDS.items():
            out = [] if command[0] == "derive" else ["--out", str(folder / name)]
            row[label] = run([*command, str(spec), *out])
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    reference = rows[0]
    lines = ["| net | parameters | " + " | ".join(COMMANDS) + " |", "|---|---|" + "---|" * len(COMMANDS)]
    for row in rows:
        cells = []
        for label in COMMANDS:
            seconds, megabytes = row[label]
            ratio = seconds / reference[label][0]
            cells.append(f"{seconds:.2f} s, {megabytes:.0f} MB ({ratio:.2f}×)")
        lines.append(f"| {row['net']} | {row['parameters']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        text = table(measure(Path(folder)))
    print(text)
    if args.out:
        args.out.write_text("Toolkit scaling (`python benchmarks/toolkit_scaling.py`): seconds, peak memory and the "
                            "ratio to 64-32-10 in the same run.\n\n" + text + "\n")


if __name__ == "__main__":
    main()
