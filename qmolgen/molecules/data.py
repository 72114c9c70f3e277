"""Molecule datasets: read a SMILES file or CSV, validate every line, encode to graph tensors, split.

Problems are collected over the whole file and raised once, with line numbers; with skip_invalid they
are reported and the offending lines left out. Nothing is dropped without being counted.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rdkit import Chem

from qmolgen import cache
from qmolgen.errors import ConfigError, DataError
from qmolgen.molecules.graphs import GraphSpec, encode, parse_smiles
from qmolgen.resources import datasets_dir

log = logging.getLogger("qmolgen")

SHIPPED = {"qm9": "qm9.smi.gz"}
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def resolve_path(path: str) -> Path:
    """A shipped dataset name ('qm9') or a file path."""
    if path in SHIPPED:
        return datasets_dir() / SHIPPED[path]
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise DataError(f"data file {path!r} not found; give a SMILES/CSV file path or one of {sorted(SHIPPED)}")
    return resolved


def _open_text(path: Path):
    raw = path.open("rb")
    data = gzip.open(raw) if path.suffix == ".gz" else raw
    return io.TextIOWrapper(data, encoding="utf-8", newline="")


def read_smiles(path: str) -> list[tuple[int, str]]:
    """(line number, SMILES) pairs from a .smi/.txt file (first whitespace-separated field; '#' comments
    and blank lines skipped) or a CSV with a 'smiles' column (any case). Gzipped files work too."""
    file = resolve_path(path)
    stem = file.name[:-3] if file.name.endswith(".gz") else file.name
    with _open_text(file) as handle:
        if stem.lower().endswith(".csv"):
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{file}: the CSV file is empty; it needs a header row with a 'smiles' column")
            lowered = [h.strip().lower() for h in header]
            if "smiles" not in lowered:
                raise DataError(f"{file}: no 'smiles' column in the CSV header {header}; rename the SMILES column to 'smiles'")
            col = lowered.index("smiles")
            rows = [(n, row[col].strip() if col < len(row) else "") for n, row in enumerate(reader, start=2)]
        else:
            rows = []
            for n, line in enumerate(handle, start=1):
                line = line.strip()
                if line and not line.startswith("#"):
                    rows.append((n, line.split()[0]))
    if not rows:
        raise DataError(f"{file}: no SMILES found; expected one SMILES per line or a CSV with a 'smiles' column")
    return rows


def smiles_list(data, where: str = "the data", missing_is_invalid: bool = False) -> list[str | None]:
    """SMILES held in memory as a plain list: a list/tuple/Series of strings, or a DataFrame with a 'smiles'
    column (any case), e.g. what `sample` returns. With missing_is_invalid (scoring samples), None, NaN and
    empty entries are kept as None, i.e. invalid molecules; otherwise (training data) they are an error.

    Raises:
        DataError: another type, an empty collection, or entries that are not single-line strings.
    """
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        columns = {str(c).lower(): c for c in data.columns}
        if "smiles" not in columns:
            raise DataError(f"{where}: a DataFrame of molecules needs a 'smiles' column; columns: {list(data.columns)}")
        data = data[columns["smiles"]]
    if isinstance(data, (str, bytes)) or not isinstance(data, (list, tuple, pd.Series, np.ndarray)):
        raise DataError(f"{where}: molecules are given as a list of SMILES strings, a DataFrame with a 'smiles' "
                        f"column, or a file path; got {type(data).__name__}")
    items = list(data)
    if not items:
        raise DataError(f"{where}: no SMILES given")
    if missing_is_invalid:
        items = [s if isinstance(s, str) and s.strip() else None for s in items]
        return [None if s is None or "\n" in s else s.strip() for s in items]
    bad = [i for i, s in enumerate(items) if not isinstance(s, str) or not s.strip() or "\n" in s or "\r" in s]
    if bad:
        raise DataError(f"{where}: {len(bad)} entries are not non-empty, single-line SMILES strings (positions "
                        f"{bad[:10]}{' ...' if len(bad) > 10 else ''}); drop or fix them (e.g. missing values)")
    return items


def write_smiles_file(data, folder: Path) -> Path:
    """In-memory SMILES (see smiles_list) as data.smi in `folder`: line n is the list's item n - 1, so the
    loader's line numbers point into the list."""
    items = smiles_list(data)
    path = Path(folder) / "data.smi"
    from qmolgen.outputs import write_text

    write_text(path, "".join(f"{s.strip()}\n" for s in items))
    return path


@dataclass
class LoadReport:
    """What happened to every input line: how many were used, and why the others were not."""

    source: str
    n_lines: int
    n_used: int = 0
    problems: dict[str, list[int]] = field(default_factory=dict)

    def add(self, reason: str, line: int) -> None:
        """Record that input line `line` was left out for `reason`."""
        self.problems.setdefault(reason, []).append(line)

    def summary(self) -> str:
        """One line per reason: how many lines, and the first few line numbers."""
        parts = []
        for reason, lines in sorted(self.problems.items(), key=lambda kv: -len(kv[1])):
            shown = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
            parts.append(f"{len(lines)} of {self.n_lines}: {reason} (lines {shown})")
        return "; ".join(parts)

    def check(self, skip_invalid: bool, fix: str) -> None:
        """Raise one DataError listing every problem line (with `fix`, how to mend them), or with
        skip_invalid log them as left out; nothing happens when every line was used."""
        if not self.problems:
            return
        message = f"{self.source}: {self.summary()}"
        if not skip_invalid:
            raise DataError(f"{message}. {fix}, or pass data.skip_invalid=true to leave them out (they are "
                            "counted in data_report.json)")
        log.warning("%s; left out (data.skip_invalid=true)", message)

    def to_dict(self) -> dict:
        """The report as plain data for data_report.json (at most 100 line numbers per reason)."""
        return {"source": self.source, "n_lines": self.n_lines, "n_used": self.n_used,
                "problems": {k: {"count": len(v), "lines": v[:100]} for k, v in self.problems.items()}}


def _infer_vocabulary(rows: list[tuple[int, str]], atom_types, max_atoms) -> tuple[list[str], int]:
    """Fill in 'auto' atom types (every element present, most frequent first) and 'auto' max_atoms."""
    counts: Counter = Counter()
    largest = 0
    for _, smi in rows:
        mol = parse_smiles(smi)
        if mol is not None:
            counts.update(a.GetSymbol() for a in mol.GetAtoms())
            largest = max(largest, mol.GetNumAtoms())
    if atom_types == "auto":
        atom_types = sorted(counts, key=lambda s: (-counts[s], s))
    return atom_types, largest if max_atoms == "auto" else max_atoms


@dataclass
class MoleculeData:
    """Encoded, validated molecules and their fixed split."""

    smiles: list[str]          # canonical SMILES, in file order
    nodes: torch.Tensor        # (N, max_atoms) atom-type indices
    edges: torch.Tensor        # (N, max_atoms, max_atoms) bond-type indices
    spec: GraphSpec
    report: LoadReport
    split: dict[str, np.ndarray]  # indices into the above for 'train', 'valid', 'test'

    def subset(self, name: str) -> list[str]:
        """SMILES of one split (train, valid or test)."""
        return [self.smiles[i] for i in self.split[name]]


def _encode_file(path: str, atom_types, max_atoms, limit: int | None = None, seed: int = 0):
    """Parse and encode every line of a file (or a seeded random `limit` of them); cached on disk by
    file contents and settings.

    Returns (canonical SMILES, nodes array, edges array, LoadReport, GraphSpec).
    """
    file = resolve_path(path)
    name = cache.key("molecules", file=cache.file_digest(file), atom_types=atom_types, max_atoms=max_atoms,
                     limit=limit, seed=seed)
    hit = cache.computed(name, lambda: _encoded_arrays(path, atom_types, max_atoms, limit, seed))
    report = LoadReport(str(path), int(hit["n_lines"]), int(hit["n_used"]), json.loads(str(hit["problems"])))
    spec = GraphSpec(tuple(str(a) for a in hit["atom_types"]), int(hit["max_atoms"]))
    smiles = str(hit["smiles"]).split("\n") if int(hit["n_used"]) else []
    return smiles, hit["nodes"], hit["edges"], report, spec


def _encoded_arrays(path: str, atom_types, max_atoms, limit: int | None, seed: int) -> dict[str, np.ndarray]:
    """_encode_file's work, as the arrays it caches."""
    rows = read_smiles(path)
    if limit is not None and limit < len(rows):  # subsample before parsing: quick runs stay quick
        keep = np.sort(np.random.default_rng(seed).choice(len(rows), max(int(limit), 10), replace=False))
        rows = [rows[i] for i in keep]
    report = LoadReport(source=str(path), n_lines=len(rows))
    if atom_types == "auto" or max_atoms == "auto":
        atom_types, max_atoms = _infer_vocabulary(rows, atom_types, max_atoms)
    if not atom_types or not max_atoms:
        raise DataError(f"{path}: none of the {len(rows)} SMILES could be parsed; check the file is SMILES text")
    spec = GraphSpec(tuple(atom_types), int(max_atoms))
    smiles, nodes, edges = [], [], []
    for line, smi in rows:  # one molecule at a time: RDKit objects for all of QM9 would take gigabytes
        mol = parse_smiles(smi)
        if mol is None:
            report.add("SMILES could not be parsed by RDKit", line)
            continue
        encoded = encode(mol, spec)
        if isinstance(encoded, str):
            report.add(encoded.split(" (")[0], line)
            continue
        smiles.append(Chem.MolToSmiles(mol))
        nodes.append(encoded[0])
        edges.append(encoded[1])
    report.n_used = len(smiles)
    shape = (0, spec.max_atoms)
    nodes = np.stack(nodes) if nodes else np.zeros(shape, dtype=np.int64)
    edges = np.stack(edges) if edges else np.zeros((0, spec.max_atoms, spec.max_atoms), dtype=np.int64)
    return dict(smiles=np.array("\n".join(smiles)), nodes=nodes, edges=edges, n_lines=np.array(report.n_lines),
                n_used=np.array(report.n_used), problems=np.array(json.dumps(report.problems)),
                atom_types=np.array(spec.atom_types), max_atoms=np.array(spec.max_atoms))


def load_molecules(path: str, atom_types="auto", max_atoms="auto", skip_invalid: bool = False,
                   split_seed: int = 0, limit: int | None = None) -> MoleculeData:
    """Read, validate, encode and split a molecule file.

    Args:
        path: 'qm9' or a .smi/.txt/.csv file (optionally .gz).
        atom_types: list of element symbols, or 'auto' to take every element in the data.
        max_atoms: heavy-atom limit, or 'auto' for the largest molecule in the data.
        skip_invalid: leave out (and report) unparsable or unrepresentable lines instead of raising.
        split_seed: seed of the fixed 80/10/10 train/valid/test split.
        limit: read only this many lines (a seeded random subset, chosen before parsing), for quick runs.
    Raises:
        DataError: listing every problem line by reason, unless skip_invalid is set.
    """
    smiles, nodes, edges, report, spec = _encode_file(path, atom_types, max_atoms, limit, split_seed)
    report.check(skip_invalid, "Fix those lines, change data.atom_types/data.max_atoms")
    if len(smiles) < 10:
        raise DataError(f"{path}: only {len(smiles)} usable molecules; at least 10 are needed to train and evaluate")
    return MoleculeData(smiles, torch.from_numpy(nodes), torch.from_numpy(edges), spec, report,
                        split_indices(len(smiles), split_seed))


def split_indices(n: int, seed: int) -> dict[str, np.ndarray]:
    """The fixed, seeded 80/10/10 train/valid/test split of n molecules (sorted indices per part). Graph and
    sequence models that keep the same molecules get the same split."""
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(SPLIT_FRACTIONS[0] * n))
    n_valid = int(round(SPLIT_FRACTIONS[1] * n))
    return {"train": np.sort(order[:n_train]), "valid": np.sort(order[n_train:n_train + n_valid]),
            "test": np.sort(order[n_train + n_valid:])}


def load_molecules_section(data_section: dict) -> MoleculeData:
    """load_molecules with a graph recipe's `data` section."""
    d = data_section
    if not d.get("path"):
        raise ConfigError("data.path is not set: pass data.path=my.smi (a SMILES file or a CSV with a 'smiles' "
                          "column), fit(list_of_smiles) in Python, or use the qm9 or moses recipe")
    return load_molecules(d["path"], d["atom_types"], d["max_atoms"], d["skip_invalid"], d["split_seed"], d["limit"])
