"""Time derive + prove + generate for the lecture nets and a 64-32-10 net: ``python benchmarks/proof_time.py``."""
from __future__ import annotations

import time
from pathlib import Path

from deltagen import prove
from deltagen.codegen import render
from deltagen.derive import derive, load_spec, spec_from_dict

ROOT = Path(__file__).resolve().parent.parent


def measure(network) -> tuple[int, float, float, str]:
    start = time.perf_counter()
    derivation = derive(network)
    report = prove(derivation)
    proved = time.perf_counter() - start
    start = time.perf_counter()
    render(derivation)
    return network.n_params, proved, time.perf_counter() - start, report.summary()


def main() -> None:
    networks = [load_spec(p) for p in sorted((ROOT / "generated").glob("*/spec.toml"))]
    networks.append(spec_from_dict({"name": "net_64_32_10", "input": 64, "loss": "cce", "layers": [
        {"units": 32, "activation": "sigmoid"}, {"units": 10, "activation": "softmax"}]}))
    print(f"{'net':28s} {'params':>7s} {'derive+prove':>13s} {'generate':>9s}  verdict")
    for network in networks:
        n, proved, generated, summary = measure(network)
        print(f"{network.name:28s} {n:7d} {proved:12.2f}s {generated:8.2f}s  {summary}")


if __name__ == "__main__":
    main()
