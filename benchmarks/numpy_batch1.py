"""The generated NumPy step at batch 1 (issue 17, item 4): time and minor page faults per step.

    python benchmarks/numpy_batch1.py [--steps 2000] [--out benchmarks/results/numpy_batch1.md]

Nets 64-32-10 and 784-128-10 (sigmoid hidden, softmax + cce), with sgd and with adam. Each module is generated
twice into a temp dir: "before" from the template of git HEAD (codegen/backends/numpy/templates/module.py.jinja
as committed, when it differs), "after" from the working tree. Per step: sgd_step, train_step, and train with
batch_size=1 (per example, 1 epoch over 200 columns, cost included). Minor faults from getrusage. Run pinned to
one core by the caller: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 1 python benchmarks/numpy_batch1.py
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "codegen/backends/numpy/templates/module.py.jinja"
NETS = {"64-32-10": (64, 32, 10), "784-128-10": (784, 128, 10)}


def spec(n0: int, n1: int, n2: int, kind: str) -> dict:
    return {"name": f"b1_{n0}_{n1}_{n2}_{kind}", "input": n0, "loss": "cce",
            "optimizer": {"kind": kind, "learning_rate": 0.01},
            "layers": [{"units": n1, "activation": "sigmoid"}, {"units": n2, "activation": "softmax"}]}


def generate(spec_dict: dict, out: Path, template_text: str | None) -> Path:
    """Generate in a child process (the template is read at import: a child sees the swapped one)."""
    code = ("import sys, json; from pathlib import Path\n"
            "import deltagen.codegen.backends.numpy as b\n"
            "from deltagen.codegen import render, write_files\nfrom deltagen.derive import derive, spec_from_dict\n"
            "s = json.loads(sys.argv[1]); t = sys.argv[3]\n"
            "if t:   # the committed template in place of the working tree's\n"
            "    import jinja2\n"
            "    get = jinja2.FileSystemLoader.get_source\n"
            "    def source(self, env, name):\n"
            "        text, file, _ = get(self, env, name)\n"
            "        return (t, file, lambda: True) if name == 'module.py.jinja' else (text, file, lambda: True)\n"
            "    jinja2.FileSystemLoader.get_source = source\n"
            "write_files(render(derive(spec_from_dict(s)), 'numpy'), Path(sys.argv[2]))\n")
    subprocess.run([sys.executable, "-c", code, json.dumps(spec_dict), str(out), template_text or ""], check=True)
    return out / f"{spec_dict['name']}.py"


def load(path: Path):
    module_spec = importlib.util.spec_from_file_location(f"bench_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def per_call(function, calls: int) -> tuple[float, float]:
    function()
    function()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    for _ in range(calls):
        function()
    elapsed = (time.perf_counter() - start) / calls
    return elapsed * 1e6, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / calls


def measure(path: Path, sizes: tuple[int, int, int], steps: int) -> dict:
    """In a fresh process each, so one module's heap does not warm the other's."""
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "import json, numpy as np, numpy_batch1 as b\n"
            f"mod = b.load(b.Path({str(path)!r})); n0, _, n2 = {sizes!r}\n"
            "rng = np.random.default_rng(0); N = 200\n"
            "X = rng.random((n0, N)); Y = np.eye(n2)[:, rng.integers(0, n2, N)]\n"
            "p = mod.init_params(1); s = mod.init_state(p); x, y = X[:, :1], Y[:, :1]\n"
            "out = {'sgd_step': b.per_call(lambda: mod.sgd_step(p, x, y, 0.01), %d),\n"
            "       'train_step': b.per_call(lambda: mod.train_step(p, s, x, y), %d)}\n"
            "t, f = b.per_call(lambda: mod.train(p, X, Y, None, 1, batch_size=1), %d)\n"
            "out['train (per example)'] = (t / N, f / N)\n"
            "print(json.dumps(out))\n") % (steps, steps, max(3, steps // 200))
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "numpy_batch1.md")
    args = parser.parse_args()
    head = subprocess.run(["git", "-C", str(ROOT), "show", f"HEAD:{TEMPLATE}"], capture_output=True, text=True)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, sizes in NETS.items():
            for kind in ("sgd", "adam"):
                results = {}
                for version, text in (("before", head.stdout), ("after", None)):
                    out = Path(tmp) / f"{version}_{label}_{kind}"
                    out.mkdir()
                    results[version] = measure(generate(spec(*sizes, kind), out, text), sizes, args.steps)
                for call in results["after"]:
                    (tb, fb), (ta, fa) = results["before"][call], results["after"][call]
                    rows.append(f"| {label} | {kind} | {call} | {tb:.1f} µs | {ta:.1f} µs | {tb / ta:.2f} | "
                                f"{fb:.1f} | {fa:.1f} |")
                    print(rows[-1], flush=True)
    text = ("# Generated NumPy at batch 1: time and minor page faults per step\n\n"
            f"`python benchmarks/numpy_batch1.py` (pinned: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 1). "
            f"Before: the template of commit {commit}; after: the working tree (train updates its own copy in "
            "place). Mean over the calls after two warm-up calls; each module in its own process.\n\n"
            "| net | optimizer | call | before | after | before / after | faults/step before | after |\n"
            "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
