"""Greedy decoding against the valid-first beam fallback (`sample.beam`), on the same codes of a LatentGAN.

    .venv/bin/python benchmarks/beam_fallback.py RUN [RUN ...] [-n 30000] [--widths 4,8] [--seed 1] [--workers 1]

Each RUN (a run folder, model file or shipped recipe name) samples n codes once (the same seed for every row);
the first row decodes them greedily, each later row replaces the greedy decodes that do not parse by the most
likely of WIDTH beams that parses. Every row is scored as `qmolgen train` scores a run against its recipe's test
split: strict validity, uniqueness, unique@10k, novelty and FCD of the valid molecules (MOSES: FCD/Test), with
the share of greedy decodes the fallback replaced and the molecules per second of generation (decoding and
RDKit's canonical SMILES, no properties), all measured in this run.
"""

from __future__ import annotations

import argparse
import time

from qmolgen.model import GenerativeModel
from qmolgen.molecules.metrics import evaluate_smiles
from qmolgen.molecules.moses_metrics import unique_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("-n", type=int, default=30_000)
    parser.add_argument("--widths", default="4,8", help="comma-separated beam widths (default: 4,8)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    try:
        widths = [int(w) for w in args.widths.split(",")]
    except ValueError:
        parser.error(f"--widths takes comma-separated whole numbers; got {args.widths!r}")
    if args.n < 1 or min(widths) < 1 or args.workers < 1:
        parser.error("-n, --widths and --workers must be >= 1")
    print(f"{args.n} samples per row, sampling seed {args.seed}, {args.workers} worker(s)")
    print("| model | decoding | valid | replaced | unique | unique@10k | novelty | FCD ↓ | mol/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        model = GenerativeModel.load(run)
        model.domain.load_reference()
        train, test = set(model.domain.data.subset("train")), model.domain.data.subset("test")
        greedy = None
        for width in [0, *widths]:
            start = time.perf_counter()
            table = model.sample(args.n, seed=args.seed, properties=False, beam=width, workers=args.workers)
            rate = args.n / (time.perf_counter() - start)
            strings = table.smiles.tolist()
            greedy = greedy or strings
            m = evaluate_smiles(strings, train, test, with_fcd=True, with_properties=False)
            valid = [s for s, ok in zip(strings, table.valid) if ok]
            replaced = sum(a != b for a, b in zip(strings, greedy)) / args.n
            name = "greedy (no repair)" if not width else f"valid-first beam, width {width}"
            print(f"| {run} | {name} | {m['validity']:.3f} | {replaced:.3f} | {m['uniqueness']:.3f} | "
                  f"{unique_at(valid, 10_000) or float('nan'):.4f} | {m['novelty']:.3f} | {m['fcd']:.3f} | "
                  f"{rate:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
