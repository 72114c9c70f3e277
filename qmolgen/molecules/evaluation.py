"""`qmolgen evaluate` for molecules: any SMILES file scored against a reference's train and test sets."""

from __future__ import annotations

import logging
from pathlib import Path

from qmolgen.config import load_recipe
from qmolgen.molecules.data import load_molecules_section, read_smiles
from qmolgen.molecules.graphs import canonical
from qmolgen.molecules.metrics import evaluate_smiles
from qmolgen.molecules.moses_metrics import moses_report
from qmolgen.molecules.sequences import load_sequences_section
from qmolgen.runs import RunFolder

log = logging.getLogger("qmolgen")


def reference_sets(reference: str) -> tuple[set[str], list[str], str]:
    """(training SMILES for novelty, test SMILES for FCD and properties, description) of a reference.

    A recipe name or run folder means its data and fixed split; a SMILES file is used whole for both.
    """
    splits, described = reference_splits(reference)
    return set(splits["train"]), splits["test"], described


def reference_splits(reference: str) -> tuple[dict[str, list[str]], str]:
    """The canonical SMILES of each split of a reference ('train', 'test', and 'test_scaffolds' for MOSES),
    and a description. A recipe name or run folder means its data and fixed split (through the sequence
    loader for sequence-decoder recipes, so `moses` means MOSES's own test sets); a SMILES file is used whole."""
    path = Path(reference)
    if path.is_dir():
        config = RunFolder.open(path).config()
    elif path.is_file():
        smiles = [c for c in (canonical(s) for _, s in read_smiles(reference)) if c]
        return {"train": smiles, "test": smiles}, \
            f"{reference} ({len(smiles)} valid molecules, novelty and FCD against all)"
    else:
        config = load_recipe(reference)
    if config["generator"].get("decoder", "graph") == "sequence":
        data = load_sequences_section(config)
        splits = {name: data.subset(name) for name in data.split}
        sizes = ", ".join(f"{len(v)} {k}" for k, v in splits.items())
        return splits, f"{config['data']['path']} ({sizes})"
    train, test, described = split_reference(config["data"])
    return {"train": sorted(train), "test": test}, described


def split_reference(data_config: dict) -> tuple[set[str], list[str], str]:
    """reference_sets for a graph recipe's `data` section: its fixed train split and test split."""
    d = data_config
    data = load_molecules_section(d)
    train, test = data.subset("train"), data.subset("test")
    return set(train), test, f"{d['path']} split {d['split_seed']}: {len(train)} train (novelty), {len(test)} test (FCD)"


def evaluate_file(samples: str, reference: str, with_fcd: bool = True) -> dict:
    """All molecule metrics for the SMILES in `samples`, MOSES's included; empty or unparsable entries count
    as invalid."""
    smiles = [s for _, s in read_smiles(samples)]
    splits, described = reference_splits(reference)
    log.info("scoring %d SMILES from %s against %s", len(smiles), samples, described)
    metrics = evaluate_smiles(smiles, set(splits["train"]), splits["test"], with_fcd=with_fcd)
    metrics.update(moses_report(smiles, splits, with_fcd))
    return metrics
