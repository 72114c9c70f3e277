"""What each part of sampling contributes: trained generators decoded four ways, scored like every run.

    .venv/bin/python benchmarks/qm9_sampling.py RUN [RUN ...] [--samples 10000] [--no-fcd]

Atom and bond types are either the most likely ones (so the latent is the only source of randomness, as in
MolGAN) or drawn from the decoder's distributions (`sample.stochastic=true`, the default); the graph is
then either read off as it is (`argmax`) or built by the valence rule (`valence`, the default). A fifth
way gives every sample the same latent vector: if that scores as well as the default, the decoder's
own type distributions, not the latent source, carry the diversity. The README's mode-collapse and
latent-usage numbers come from here.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics

import torch
from torch import nn

from qmolgen.model import GenerativeModel
from qmolgen.molecules.data import load_molecules
from qmolgen.molecules.domain import sample_smiles
from qmolgen.molecules.networks import GraphGenerator
from qmolgen.molecules.metrics import evaluate_smiles

KEYS = ("validity", "uniqueness", "vu", "vun", "top_share", "fcd", "int_div")
WAYS = [(False, "argmax", False), (True, "argmax", False), (False, "valence", False), (True, "valence", False),
        (True, "valence", True)]


class OneLatent(nn.Module):
    """The wrapped latent source's first draw, repeated for the whole batch."""

    def __init__(self, latent: nn.Module):
        super().__init__()
        self.latent = latent

    def forward(self, batch_size: int) -> torch.Tensor:
        one = self.latent(1)
        return one.expand(batch_size, *one.shape[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--no-fcd", action="store_true")
    args = parser.parse_args()
    results = {}
    data = None
    for run in args.runs:
        model = GenerativeModel.load(run)
        if data is None:  # every run of the comparison shares the qm9 data and split
            d = model.config["data"]
            data = load_molecules(d["path"], d["atom_types"], d["max_atoms"], d["skip_invalid"], d["split_seed"])
            train, test = set(data.subset("train")), data.subset("test")
        for stochastic, decode, one_latent in WAYS:
            torch.manual_seed(0)
            generator = GraphGenerator(OneLatent(model.generator.latent), model.generator.decoder) \
                if one_latent else model.generator
            decoded = sample_smiles(generator, args.samples, decode, stochastic)
            metrics = evaluate_smiles([c for c, _ in decoded], train, test, with_fcd=not args.no_fcd)
            name = f"{'sampled' if stochastic else 'most likely'} types, {decode} decoding" + \
                (", one latent for all" if one_latent else "")
            results.setdefault(run, {})[name] = {k: metrics.get(k) for k in KEYS}
            print(run, name, json.dumps(results[run][name]), flush=True)
    print_summary(results)


def print_summary(results: dict[str, dict[str, dict]]) -> None:
    """Markdown table: per model (run folder name without '-sSEED') and way, mean +- std over seeds."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for run, ways in results.items():
        model = re.sub(r"-s\d+", "", run.rstrip("/").rsplit("/", 1)[-1])
        for way, metrics in ways.items():
            groups.setdefault((model, way), []).append(metrics)
    print("| model | sampling | seeds | " + " | ".join(KEYS) + " |")
    print("|---|---|---|" + "---|" * len(KEYS))
    for (model, way), rows in groups.items():
        cells = []
        for key in KEYS:
            values = [r[key] for r in rows if r[key] is not None]
            spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
            cells.append(f"{statistics.mean(values):.3f}{spread}" if values else "–")
        print(f"| {model} | {way} | {len(rows)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
