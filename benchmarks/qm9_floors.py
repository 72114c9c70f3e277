"""Reference points for the QM9 table: the metrics of real held-out molecules (the best a model can do)
and of an untrained generator through the same decoder and valence decoding (what decoding alone gives).

    .venv/bin/python benchmarks/qm9_floors.py [--samples 10000]

Both are scored against the same reference as every run: QM9's fixed train split (novelty) and test
split (FCD, property distances).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from qmolgen.config import load_config
from qmolgen.molecules.data import load_molecules_section
from qmolgen.molecules.domain import MoleculeDomain
from qmolgen.molecules.metrics import evaluate_smiles

KEYS = ("validity", "vu", "vun", "uniqueness", "novelty", "fcd", "int_div", "qed_w1", "sa_w1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000)
    args = parser.parse_args()
    config = load_config("qm9", ["seed=0"])
    data = load_molecules_section(config["data"])
    train, test = set(data.subset("train")), data.subset("test")
    rows = {}
    valid_split = data.subset("valid")
    held_out = [valid_split[i] for i in np.random.default_rng(0).permutation(len(valid_split))[: args.samples]]
    rows["QM9 validation split (real molecules)"] = evaluate_smiles(held_out, train, test)
    for kind in ("hybrid", "classical"):
        torch.manual_seed(0)
        domain = MoleculeDomain(load_config("qm9", ["seed=0", f"generator.kind={kind}"]), data.spec)
        untrained = domain.sample(domain.build_generator(), args.samples)
        rows[f"untrained {kind} generator + valence decoding"] = evaluate_smiles(
            [s if v else None for s, v in zip(untrained.smiles, untrained.valid)], train, test)
    print(json.dumps({name: {k: m.get(k) for k in KEYS} for name, m in rows.items()}, indent=2))


if __name__ == "__main__":
    main()
