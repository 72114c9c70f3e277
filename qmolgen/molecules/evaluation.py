"""`qmolgen evaluate` for molecules: any SMILES file scored against a reference's train and test sets."""

from __future__ import annotations

import logging
from pathlib import Path

from qmolgen.config import load_recipe
from qmolgen.molecules.data import load_molecules, read_smiles
from qmolgen.molecules.graphs import canonical
from qmolgen.molecules.metrics import evaluate_smiles
from qmolgen.runs import RunFolder

log = logging.getLogger("qmolgen")


def reference_sets(reference: str) -> tuple[set[str], list[str], str]:
    """(training SMILES for novelty, test SMILES for FCD and properties, description) of a reference.

    A recipe name or run folder means its data and fixed split; a SMILES file is used whole for both.
    """
    path = Path(reference)
    if path.is_dir():
        config = RunFolder.open(path).config()
    elif path.is_file():
        smiles = [c for c in (canonical(s) for _, s in read_smiles(reference)) if c]
        return set(smiles), smiles, f"{reference} ({len(smiles)} valid molecules, novelty and FCD against all)"
    else:
        config = load_recipe(reference)
    return split_reference(config["data"])


def split_reference(data_config: dict) -> tuple[set[str], list[str], str]:
    """reference_sets for a config's `data` section: its fixed train split and test split."""
    d = data_config
    data = load_molecules(d["path"], d["atom_types"], d["max_atoms"], d["skip_invalid"], d["split_seed"], d["limit"])
    train, test = data.subset("train"), data.subset("test")
    return set(train), test, f"{d['path']} split {d['split_seed']}: {len(train)} train (novelty), {len(test)} test (FCD)"


def evaluate_file(samples: str, reference: str, with_fcd: bool = True) -> dict:
    """All molecule metrics for the SMILES in `samples`; empty or unparsable entries count as invalid."""
    smiles = [s for _, s in read_smiles(samples)]
    train, test, described = reference_sets(reference)
    log.info("scoring %d SMILES from %s against %s", len(smiles), samples, described)
    return evaluate_smiles(smiles, train, test, with_fcd=with_fcd)
