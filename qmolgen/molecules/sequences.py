"""Molecule datasets as token sequences: read a SMILES file (or a shipped dataset with its own fixed splits),
canonicalise, tokenise (SELFIES or SMILES), split, and cache the result by file contents and settings.

Every line that is not used is counted with its reason and line number (unparsable, not representable by
the graph decoder when data.graph_filter is set, longer than data.max_length tokens); without
data.skip_invalid any such line is an error listing them all.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np
import torch
from rdkit import Chem

from qmolgen import cache
from qmolgen.errors import ConfigError, DataError
from qmolgen.molecules.data import LoadReport, _infer_vocabulary, read_smiles, resolve_path, split_indices
from qmolgen.molecules.graphs import GraphSpec, encode, parse_smiles
from qmolgen.molecules.tokens import LANGUAGES, Vocabulary, tokenize
from qmolgen.resources import datasets_dir

log = logging.getLogger("qmolgen")

# Shipped datasets that come with their own splits (file per split), as published.
SHIPPED_SPLITS = {
    "moses": {"train": "moses_train.smi.gz", "valid": "moses_valid.smi.gz", "test": "moses_test.smi.gz",
              "test_scaffolds": "moses_test_scaffolds.smi.gz"},
}


@dataclass
class SequenceData:
    """Canonical molecules, their token arrays and their split."""

    smiles: list[str]                 # canonical SMILES
    tokens: torch.Tensor              # (N, max_length + 2) token indices: <bos> ... <eos> <pad>...
    vocab: Vocabulary
    max_length: int                   # tokens of the longest molecule allowed
    report: LoadReport
    split: dict[str, np.ndarray]      # indices for 'train', 'valid', 'test' (and 'test_scaffolds' for MOSES)

    def subset(self, name: str) -> list[str]:
        """SMILES of one split (train, valid or test)."""
        return [self.smiles[i] for i in self.split[name]]


def _rows_by_split(path: str, limit: int | None, seed: int) -> tuple[list[tuple[int, str]], list[str] | None]:
    """All (line, SMILES) rows and, for shipped datasets with fixed splits, each row's split name.
    `limit` keeps a seeded random subset of the rows (of the training rows only, with fixed splits)."""
    def limited(rows):
        if limit is None or limit >= len(rows):
            return rows
        keep = np.sort(np.random.default_rng(seed).choice(len(rows), max(int(limit), 10), replace=False))
        return [rows[i] for i in keep]

    if path not in SHIPPED_SPLITS:
        return limited(read_smiles(path)), None
    rows, names = [], []
    for name, file in SHIPPED_SPLITS[path].items():
        part = read_smiles(str(datasets_dir() / file))
        part = limited(part) if name == "train" else part
        rows += part
        names += [name] * len(part)
    return rows, names


def _encode_file(path: str, language: str, atom_types, max_atoms, max_length, graph_filter: bool,
                 limit: int | None, seed: int):
    source = datasets_dir() / SHIPPED_SPLITS[path]["train"] if path in SHIPPED_SPLITS else resolve_path(path)
    name = cache.key("sequences", file=cache.file_digest(source), path=path, language=language,
                     atom_types=atom_types, max_atoms=max_atoms, max_length=max_length, graph_filter=graph_filter,
                     limit=limit, seed=seed, layout="compact")
    hit = cache.computed(name, lambda: _encoded_arrays(path, language, atom_types, max_atoms, max_length,
                                                       graph_filter, limit, seed))
    report = LoadReport(str(path), int(hit["n_lines"]), int(hit["n_used"]), json.loads(str(hit["problems"])))
    vocab = Vocabulary([str(t) for t in hit["vocab"]], language)
    split_names = hit["split_vocab"][hit["split_codes"]] if len(hit["split_vocab"]) else None
    smiles = hit["smiles"].tobytes().decode().split("\n")
    return smiles, hit["tokens"].astype(np.int64), vocab, int(hit["max_length"]), report, split_names


def _encoded_arrays(path: str, language: str, atom_types, max_atoms, max_length, graph_filter: bool,
                    limit: int | None, seed: int) -> dict[str, np.ndarray]:
    """_encode_file's work, as the arrays it caches."""
    rows, row_splits = _rows_by_split(path, limit, seed)
    report = LoadReport(source=str(path), n_lines=len(rows))
    spec = None
    if graph_filter:
        types, largest = _infer_vocabulary(rows, atom_types, max_atoms)
        spec = GraphSpec(tuple(types), int(largest))
    smiles, sequences, kept_splits = [], [], []
    for k, (line, smi) in enumerate(rows):
        mol = parse_smiles(smi)
        if mol is None:
            report.add("SMILES could not be parsed by RDKit", line)
            continue
        if spec is not None:
            encoded = encode(mol, spec)
            if isinstance(encoded, str):
                report.add(encoded.split(" (")[0], line)
                continue
        can = Chem.MolToSmiles(mol)
        seq = tokenize(can, language)
        if seq is None:
            report.add(f"cannot be written in {language}", line)
            continue
        if max_length != "auto" and len(seq) > int(max_length):
            report.add(f"longer than data.max_length={max_length} tokens", line)
            continue
        smiles.append(can)
        sequences.append(seq)
        kept_splits.append(row_splits[k] if row_splits else "")
    report.n_used = len(smiles)
    if not smiles:
        raise DataError(f"{path}: none of the {len(rows)} SMILES could be used ({report.summary()})")
    longest = max(map(len, sequences))
    length = longest if max_length == "auto" else int(max_length)
    vocab = Vocabulary.from_sequences(sequences, language)
    tokens = vocab.encode(sequences, length)
    split_vocab = sorted(set(kept_splits)) if row_splits else []
    split_codes = np.array([split_vocab.index(name) for name in kept_splits] if row_splits else [], dtype=np.uint8)
    # Stored compactly (MOSES: 53 MB, not 354 MB): SMILES as UTF-8 bytes rather than 4-byte characters, token
    # indices in the smallest integer type the vocabulary fits, split names as one small code per molecule.
    return dict(smiles=np.frombuffer("\n".join(smiles).encode(), dtype=np.uint8),
                tokens=tokens.astype(np.min_scalar_type(len(vocab) - 1)), vocab=np.array(vocab.tokens),
                max_length=np.array(length), n_lines=np.array(report.n_lines), n_used=np.array(report.n_used),
                problems=np.array(json.dumps(report.problems)), split_vocab=np.array(split_vocab, dtype=str),
                split_codes=split_codes)


def load_sequences(path: str, language: str = "selfies", atom_types="auto", max_atoms="auto", max_length="auto",
                   graph_filter: bool = False, skip_invalid: bool = False, split_seed: int = 0,
                   limit: int | None = None) -> SequenceData:
    """Read, validate, tokenise and split a molecule file for the sequence models.

    Args:
        path: a shipped dataset ('qm9', 'moses') or a .smi/.txt/.csv file (optionally .gz).
        language: 'selfies' or 'smiles'.
        atom_types, max_atoms: used with graph_filter; 'auto' takes them from the data.
        max_length: longest token sequence kept ('auto': the longest in the data); longer ones are counted.
        graph_filter: keep only molecules the graph decoder can represent, so a sequence model and a graph
            model of the same data share one split and one test set.
        skip_invalid: leave out (and report) unusable lines instead of raising.
        split_seed: seed of the 80/10/10 split (datasets with published splits keep theirs).
        limit: a seeded random subset of this many lines (of the training file for shipped splits).
    Raises:
        DataError: listing every unusable line by reason, unless skip_invalid is set.
    """
    if language not in LANGUAGES:
        raise DataError(f"autoencoder.language must be one of {LANGUAGES}; got {language!r}")
    smiles, tokens, vocab, length, report, split_names = _encode_file(
        path, language, atom_types, max_atoms, max_length, graph_filter, limit, split_seed)
    report.check(skip_invalid, "Fix those lines or raise data.max_length")
    if split_names is None:
        if len(smiles) < 10:
            raise DataError(f"{path}: only {len(smiles)} usable molecules; at least 10 are needed")
        split = split_indices(len(smiles), split_seed)
    else:
        split = {name: np.flatnonzero(split_names == name) for name in SHIPPED_SPLITS[path]}
    return SequenceData(smiles, torch.from_numpy(tokens), vocab, length, report, split)


def load_sequences_section(config: dict) -> SequenceData:
    """load_sequences with a sequence recipe's `data` section and its autoencoder's language."""
    d = config["data"]
    if not d.get("path"):
        raise ConfigError("data.path is not set: pass data.path=my.smi (a SMILES file or a CSV with a 'smiles' "
                          "column), fit(list_of_smiles) in Python, or use the qm9 or moses recipe")
    return load_sequences(d["path"], config["autoencoder"]["language"], d["atom_types"], d["max_atoms"],
                          d["max_length"], d["graph_filter"], d["skip_invalid"], d["split_seed"], d["limit"])
