"""Molecules per second, end to end: load a model, sample, decode, canonicalise with RDKit, check validity,
and (second line) also compute QED / logP / SA, as `qmolgen generate` does by default.

    .venv/bin/python benchmarks/generation_speed.py [SOURCE ...] [-n 10000] [--repeats 3] [--workers 1,2]

SOURCE is anything `qmolgen generate` takes (default: the shipped qm9 and qm9_graph models). Prints the
median rate of each with each worker count (processes decoding a LatentGAN's samples; the graph model
and the language model sample in one process) and its ratio to the first row's, all measured in this one
run; the first sample call of each model is a warm-up and not timed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from qmolgen.model import GenerativeModel


def rate(model: GenerativeModel, n: int, repeats: int, properties: bool, workers: int) -> tuple[float, float]:
    """(median molecules per second, share valid) over `repeats` timed calls."""
    model.sample(min(n, 500), seed=0, properties=properties)  # warm-up
    rates, valid = [], 0.0
    for r in range(repeats):
        start = time.perf_counter()
        table = model.sample(n, seed=r + 1, properties=properties, workers=workers)
        rates.append(n / (time.perf_counter() - start))
        valid = float(table.valid.mean())
    return statistics.median(rates), valid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", default=["qm9", "qm9_graph"])
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", default="1", help="comma-separated worker counts (default: 1)")
    args = parser.parse_args()
    try:
        worker_counts = [int(w) for w in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers takes comma-separated whole numbers; got {args.workers!r}")
    if args.n < 1 or args.repeats < 1 or min(worker_counts) < 1:
        parser.error("-n, --repeats and --workers must be >= 1")
    print(f"{args.n} molecules per call, median of {args.repeats}, torch threads {torch.get_num_threads()}")
    print("| model | decoder | workers | mol/s (SMILES + validity) | mol/s (+ QED, logP, SA) | valid | ratio to first |")
    print("|---|---|---|---|---|---|---|")
    first = None
    for source in args.sources:
        start = time.perf_counter()
        model = GenerativeModel.load(source)
        load = time.perf_counter() - start
        for workers in worker_counts:
            fast, valid = rate(model, args.n, args.repeats, False, workers)
            full, _ = rate(model, args.n, args.repeats, True, workers)
            first = first or fast
            decoder = model.config["generator"].get("decoder", "graph")
            print(f"| {source} | {decoder} | {workers} | {fast:,.0f} | {full:,.0f} | {valid:.3f} | "
                  f"{fast / first:.2f}x | (load {load:.1f} s)")


if __name__ == "__main__":
    main()
