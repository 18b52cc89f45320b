"""NAME_c.py (``--target c --python``) against the generated NumPy module, in one run:
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/c_python.py`` ($DELTAGEN_CFLAGS, e.g. -march=native,
reaches the C's compilation; $DELTAGEN_CACHE a fresh cache).

Times ``train_step`` (one call: the C step plus the copies in and out the API's new dicts need) and ``train``
(the whole loop in C), adam, on a 2-3-1 net at batch 4 and a 784-128-10 net at batch 32; prints each as a ratio
to the NumPy module's (with NumPy's BLAS) — below 1 means NAME_c is faster.
"""
from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import numpy as np

import deltagen
from deltagen.derive import spec_from_dict
from run import median_time

NETS = [((2, 3, 1), 4), ((784, 128, 10), 32)]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _modules(sizes: tuple[int, int, int], folder: Path):
    wide = sizes[-1] > 1
    spec = spec_from_dict({"name": "bench", "input": sizes[0], "loss": "cce" if wide else "bce", "layers": [
        {"units": sizes[1], "activation": "relu"}, {"units": sizes[2], "activation": "softmax" if wide else "sigmoid"}],
        "optimizer": {"kind": "adam", "learning_rate": 0.001}})
    deltagen.generate(spec, "numpy", out=folder / "numpy")
    deltagen.generate(spec, "c", out=folder / "c", python=True)
    return _load(folder / "numpy" / "bench.py", f"bench_numpy_{sizes[0]}"), _load(folder / "c" / "bench_c.py",
                                                                                  f"bench_c_{sizes[0]}")


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'net':>12} {'batch':>5} | {'train_step NumPy':>16} {'NAME_c':>8} {'ratio':>5} | "
          f"{'train (per step) NumPy':>22} {'NAME_c':>8} {'ratio':>5}")
    for sizes, batch in NETS:
        numpy_module, c_module = _modules(sizes, Path(tempfile.mkdtemp()))
        n_out = sizes[-1]
        X = rng.normal(size=(sizes[0], 32 * batch))
        Y = np.eye(n_out)[:, rng.integers(0, n_out, X.shape[1])] if n_out > 1 else rng.integers(0, 2, (1, X.shape[1])) * 1.0
        params = numpy_module.init_params(0)
        step, whole = {}, {}
        for label, module in (("numpy", numpy_module), ("c", c_module)):
            state = module.init_state(params)
            step[label] = median_time(lambda: module.train_step(params, state, X[:, :batch], Y[:, :batch]), 200, 5)
            whole[label] = median_time(lambda: module.train(params, X, Y, None, 2, batch_size=batch, seed=1), 1, 5) / 64
        print(f"{'-'.join(map(str, sizes)):>12} {batch:>5} | {step['numpy'] * 1e6:13.1f} µs {step['c'] * 1e6:5.1f} µs "
              f"{step['c'] / step['numpy']:5.2f} | {whole['numpy'] * 1e6:19.1f} µs {whole['c'] * 1e6:5.1f} µs "
              f"{whole['c'] / whole['numpy']:5.2f}")


if __name__ == "__main__":
    main()
