"""Greedy decoding against the valid-first beam fallback (`sample.beam`), on the same codes of a LatentGAN.

    .venv/bin/python benchmarks/beam_fallback.py RUN [RUN ...] [-n 30000] [--widths 4,8] [--seed 1] [--workers 1]

Each RUN (a run folder, model file or shipped recipe name) samples n codes once (the same seed for every row);
the first row decodes them greedily, each later row replaces the greedy decodes that do not parse by the most
likely of WIDTH beams that parses. Every row is scored as `qmolgen train` scores a run against its recipe's test
split: strict validity, uniqueness, unique@10k, novelty and FCD of the valid molecules (MOSES: FCD/Test), with
the share of greedy decodes the fallback replaced and the molecules per second of generation (decoding and
RDKit's canonical SMILES, no properties), all measured in this run. A second table times the fallback alone on
the same unparsable greedy decodes, searching every code to the end against stopping each at its first parsing
beam that no unfinished beam can overtake (the default; the same molecules, checked here).
"""

from __future__ import annotations

import argparse
import time

import torch

from qmolgen.model import GenerativeModel
from qmolgen.molecules.latent_gan import decode_codes, valid_first_beam
from qmolgen.molecules.metrics import evaluate_smiles
from qmolgen.molecules.moses_metrics import unique_at
from qmolgen.molecules.tokens import canonical_or_none


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
    timings = []
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
        timings += [fallback_timing(model, run, args.n, args.seed, width) for width in widths]
    print("\n| model | width | unparsable greedy decodes | full search s | stopping early s | speed-up | same picks |")
    print("|---|---|---|---|---|---|---|")
    for row in timings:
        print("| " + " | ".join(row) + " |")


def fallback_timing(model: GenerativeModel, run: str, n: int, seed: int, width: int) -> list[str]:
    """The fallback alone on the greedy decodes of the same n codes, searched to the end and stopped early."""
    generator, domain = model.generator, model.domain
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        with torch.no_grad():
            codes = generator.codes(generator.latent(n))
    greedy = decode_codes(generator.decoder, domain.vocab, codes, domain.spec["max_length"])
    picks, seconds = [], []
    for stop_early in (False, True):
        start = time.perf_counter()
        picks.append(valid_first_beam(generator.decoder, domain.vocab, codes, greedy, domain.spec["max_length"],
                                      width, stop_early=stop_early))
        seconds.append(time.perf_counter() - start)
    unparsable = sum(canonical_or_none(s) is None for s in greedy)
    return [run, str(width), f"{unparsable:,}", f"{seconds[0]:.1f}", f"{seconds[1]:.1f}",
            f"{seconds[0] / seconds[1]:.2f}x", str(picks[0] == picks[1])]


if __name__ == "__main__":
    main()
