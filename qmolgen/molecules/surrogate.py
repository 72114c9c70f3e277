"""A user-supplied scorer: a CSV of SMILES with measured values (an assay, a docking score) trains a surrogate
that optimisation can call millions of times. A random forest on Morgan fingerprints (radius 2, 2,048 bits) is
the standard QSAR baseline: no tuning, robust on a few hundred molecules, and its cross-validated error says how
far to trust what it steers toward.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from qmolgen.errors import DataError

log = logging.getLogger("qmolgen")

MIN_MOLECULES = 20
FOLDS = 5
_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def fingerprints(mols: list[Chem.Mol]) -> np.ndarray:
    """Morgan bit fingerprints (radius 2, 2,048 bits) of molecules as a uint8 matrix."""
    return np.array([_MORGAN.GetFingerprintAsNumPy(m) for m in mols], dtype=np.uint8)


def read_measurements(path: str | Path, column: str | None = None) -> tuple[list[Chem.Mol], np.ndarray, str, dict]:
    """Molecules and values from a CSV with a `smiles` column and one numeric column (or `column`); invalid
    SMILES and missing values are counted, reported and left out.

    Raises:
        DataError: the file is missing or unreadable, lacks the columns, or leaves fewer than MIN_MOLECULES rows.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"scorer data {path} does not exist; give a CSV with a `smiles` column and measured values")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path} is not a readable CSV ({exc}); give one with a `smiles` column and a value "
                        "column") from None
    smiles_column = next((c for c in table.columns if str(c).strip().lower() == "smiles"), None)
    if smiles_column is None:
        raise DataError(f"{path} has no `smiles` column (columns: {', '.join(map(str, table.columns))})")
    numeric = [c for c in table.columns if c != smiles_column and pd.api.types.is_numeric_dtype(table[c])]
    if column is None:
        if len(numeric) != 1:
            raise DataError(f"{path}: name the value column with --scorer-column (numeric columns: "
                            f"{', '.join(map(str, numeric)) or 'none'})")
        column = numeric[0]
    elif column not in table.columns or column not in numeric:
        raise DataError(f"{path}: --scorer-column {column!r} is not a numeric column (numeric: "
                        f"{', '.join(map(str, numeric)) or 'none'})")
    mols, values, invalid, missing = [], [], [], 0
    for line, (smiles, value) in enumerate(zip(table[smiles_column], table[column]), start=2):
        mol = Chem.MolFromSmiles(str(smiles)) if isinstance(smiles, str) else None
        if mol is None:
            invalid.append(line)
        elif pd.isna(value):
            missing += 1
        else:
            mols.append(mol)
            values.append(float(value))
    report = {"rows": len(table), "used": len(mols), "invalid_smiles": len(invalid), "missing_values": missing}
    if invalid:
        log.warning("%s: %d invalid SMILES left out (lines %s%s)", path, len(invalid),
                    ", ".join(map(str, invalid[:10])), ", ..." if len(invalid) > 10 else "")
    if len(mols) < MIN_MOLECULES:
        raise DataError(f"{path}: only {len(mols)} usable molecules with values ({len(invalid)} invalid SMILES, "
                        f"{missing} missing values); a scorer needs at least {MIN_MOLECULES}")
    return mols, np.array(values), str(column), report


@dataclass
class Surrogate:
    """A fitted scorer: `surrogate(mol) -> predicted value`; `report` holds its cross-validated error."""

    model: object
    column: str
    report: dict = field(default_factory=dict)

    def __call__(self, mol: Chem.Mol) -> float:
        return float(self.model.predict(fingerprints([mol]))[0])


def fit_surrogate(path: str | Path, column: str | None = None, seed: int = 0) -> Surrogate:
    """A random forest on the measurements in `path`, with its 5-fold cross-validated RMSE, MAE and R^2 (the
    error of predicting molecules it did not see), logged and kept in `report`."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold, cross_val_predict

    mols, values, column, report = read_measurements(path, column)
    x = fingerprints(mols)
    forest = RandomForestRegressor(n_estimators=100, n_jobs=1, random_state=seed)
    predicted = cross_val_predict(forest, x, values, cv=KFold(FOLDS, shuffle=True, random_state=seed))
    residual = predicted - values
    report.update({"column": column, "model": "random forest, Morgan r=2 2048 bits",
                   "cv_rmse": float(np.sqrt(np.mean(residual ** 2))), "cv_mae": float(np.mean(np.abs(residual))),
                   "cv_r2": float(1 - np.sum(residual ** 2) / np.sum((values - values.mean()) ** 2)),
                   "value_std": float(values.std())})
    log.info("scorer: %s from %d molecules; %d-fold CV RMSE %.3g (values' std %.3g), R^2 %.2f", column,
             report["used"], FOLDS, report["cv_rmse"], report["value_std"], report["cv_r2"])
    return Surrogate(forest.fit(x, values), column, report)
