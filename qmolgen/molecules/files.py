"""Writing generated molecules: CSV (smiles, valid, qed, logp, sa), .smi, .sdf, and a grid image."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rdkit import Chem
from rdkit.Chem import Draw

from qmolgen.errors import ConfigError
from qmolgen.outputs import atomic_path

FORMATS = (".csv", ".smi", ".sdf")


def write_molecules(table: pd.DataFrame, path: str, force: bool = False) -> str:
    """Write samples in the format given by the extension; returns a one-line summary for the user.

    CSV keeps every sample (invalid ones with their raw SMILES and valid=False); .smi and .sdf hold the
    valid molecules only, and the summary says how many invalid ones were left out.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"cannot write {path!r}: the extension must be one of {', '.join(FORMATS)}")
    valid = table[table.valid]
    with atomic_path(path, force) as tmp:
        if suffix == ".csv":
            table.to_csv(tmp, index=False, float_format="%.4f")
        elif suffix == ".smi":
            tmp.write_text("".join(s + "\n" for s in valid.smiles))
        else:
            writer = Chem.SDWriter(str(tmp))
            for row in valid.itertuples():
                mol = Chem.MolFromSmiles(row.smiles)
                for name in [c for c in ("qed", "logp", "sa") if c in table.columns]:
                    mol.SetDoubleProp(name.upper() if name != "logp" else "logP", float(getattr(row, name)))
                writer.write(mol)
            writer.close()
    left_out = "" if suffix == ".csv" else f" ({len(table) - len(valid)} invalid left out)"
    return f"wrote {len(valid) if suffix != '.csv' else len(table)} molecules to {path}{left_out}; " \
           f"{len(valid)} of {len(table)} valid"


def write_grid(smiles: list[str], path: str | Path, force: bool = False, per_row: int = 6) -> None:
    """PNG grid of molecule drawings; invalid SMILES are drawn as empty cells labelled 'invalid'."""
    mols, labels = [], []
    for s in smiles:
        mol = Chem.MolFromSmiles(s) if s else None
        mols.append(mol if mol is not None else Chem.Mol())
        labels.append(s if mol is not None else "invalid")
    image = Draw.MolsToGridImage(mols, molsPerRow=per_row, subImgSize=(220, 180), legends=labels)
    with atomic_path(path, force) as tmp:
        image.save(tmp, format="PNG")
