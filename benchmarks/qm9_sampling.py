"""What each part of sampling contributes: trained generators sampled five ways, scored like every run.

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
from pathlib import Path

import torch
from torch import nn

from qmolgen.benchmark.report import mean_std
from qmolgen.errors import QmolgenError
from qmolgen.model import GenerativeModel
from qmolgen.molecules.domain import sample_smiles
from qmolgen.molecules.evaluation import split_reference
from qmolgen.molecules.metrics import evaluate_smiles
from qmolgen.molecules.networks import GraphGenerator


KEYS = ("validity", "uniqueness", "vu", "vun", "top_share", "fcd", "int_div")
# (name, draw types from the predicted distributions, decoding, one latent vector for the whole batch)
WAYS = [("most likely types, argmax decoding", False, "argmax", False),
        ("sampled types, argmax decoding", True, "argmax", False),
        ("most likely types, valence decoding", False, "valence", False),
        ("sampled types, valence decoding", True, "valence", False),
        ("sampled types, valence decoding, one latent for all", True, "valence", True)]


class OneLatent(nn.Module):
    """The wrapped latent source's first draw, repeated for the whole batch."""

    def __init__(self, latent: nn.Module):
        super().__init__()
        self.latent = latent

    def forward(self, batch_size: int) -> torch.Tensor:
        one = self.latent(1)
        return one.expand(batch_size, *one.shape[1:])


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; got {text!r}")
    return int(text)


def score_run(run: str, samples: int, with_fcd: bool, references: dict) -> dict[str, dict]:
    """{way: metrics} for one trained model; `references` caches train/test splits by data config."""
    model = GenerativeModel.load(run)
    key = json.dumps(model.config["data"], sort_keys=True)
    if key not in references:
        references[key] = split_reference(model.config["data"])[:2]
    train, test = references[key]
    scores = {}
    for name, stochastic, decode, one_latent in WAYS:
        torch.manual_seed(0)
        generator = GraphGenerator(OneLatent(model.generator.latent), model.generator.decoder) \
            if one_latent else model.generator
        decoded = sample_smiles(generator, samples, decode, stochastic)
        metrics = evaluate_smiles([c for c, _ in decoded], train, test, with_fcd=with_fcd)
        scores[name] = {k: metrics.get(k) for k in KEYS}
        print(run, name, json.dumps(scores[name]), flush=True)
    return scores


def print_summary(results: dict[str, dict[str, dict]]) -> None:
    """Markdown table: per model (run folder name without '-sSEED') and way, mean +- std over seeds."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for run, ways in results.items():
        for way, metrics in ways.items():
            groups.setdefault((re.sub(r"-s\d+", "", Path(run).name), way), []).append(metrics)
    print("| model | sampling | seeds | " + " | ".join(KEYS) + " |")
    print("|---|---|---|" + "---|" * len(KEYS))
    for (model, way), rows in groups.items():
        cells = [mean_std([r[key] for r in rows]) for key in KEYS]
        print(f"| {model} | {way} | {len(rows)} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders or model.pt files")
    parser.add_argument("--samples", type=positive_int, default=10000)
    parser.add_argument("--no-fcd", action="store_true")
    args = parser.parse_args()
    references: dict = {}
    try:
        results = {run: score_run(run, args.samples, not args.no_fcd, references) for run in args.runs}
    except QmolgenError as exc:
        raise SystemExit(f"Error: {exc}") from None
    print_summary(results)


if __name__ == "__main__":
    main()
