"""Bitstrings per second: the qcbm prior's sampling against PennyLane's own shot sampling of the same circuit on
default.qubit and lightning.qubit, all measured in this one run.

    .venv/bin/python benchmarks/shot_sampling.py [--qubits 8] [--layers 3] [--shots 100000] [--repeats 3]

Rows: the prior drawing from its exact distribution (shots null), the prior drawing from a measured pool (what a
run with quantum.shots does during training), and qml.sample on each device (one circuit run of --shots shots).
Prints the median rate of each and its ratio to PennyLane's default.qubit.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pennylane as qml
import torch

from qmolgen.quantum import circuits
from qmolgen.quantum.prior import BornMachine


def median_rate(draw, n: int, repeats: int) -> float:
    draw()  # warm-up (compilation, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        draw()
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


def pennylane_sampler(device: str, n_qubits: int, weights: torch.Tensor, shots: int):
    dev = qml.device(device, wires=n_qubits)

    @qml.set_shots(shots=shots)
    @qml.qnode(dev)
    def circuit(w):
        circuits.ansatz(torch.zeros(n_qubits, dtype=torch.float64), w, n_qubits)
        return qml.sample(wires=range(n_qubits))

    return lambda: circuit(weights)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qubits", type=int, default=8)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--shots", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if min(args.qubits, args.layers, args.shots, args.repeats) < 1:
        parser.error("--qubits, --layers, --shots and --repeats must be >= 1")
    torch.manual_seed(0)
    exact = BornMachine(args.qubits, args.layers)
    pooled = BornMachine(args.qubits, args.layers, shots=args.shots)
    pooled.weights.data = exact.weights.data.clone()
    with torch.no_grad():
        pooled.pool = torch.multinomial(pooled.probabilities().float(), args.shots, replacement=True)
    weights = exact.weights.detach().double()
    rates = {
        "qcbm prior, exact distribution": median_rate(lambda: exact(args.shots), args.shots, args.repeats),
        "qcbm prior, measured pool": median_rate(lambda: pooled(args.shots), args.shots, args.repeats),
        "PennyLane qml.sample, default.qubit": median_rate(
            pennylane_sampler("default.qubit", args.qubits, weights, args.shots), args.shots, args.repeats),
        "PennyLane qml.sample, lightning.qubit": median_rate(
            pennylane_sampler("lightning.qubit", args.qubits, weights, args.shots), args.shots, args.repeats),
    }
    base = rates["PennyLane qml.sample, default.qubit"]
    print(f"{args.qubits} qubits, {args.layers} layers, {args.shots:,} bitstrings per call, "
          f"{torch.get_num_threads()} torch threads")
    print("| sampler | bitstrings/s | vs default.qubit |\n|---|---|---|")
    for name, value in rates.items():
        print(f"| {name} | {value:,.0f} | {value / base:.2f}x |")


if __name__ == "__main__":
    main()
