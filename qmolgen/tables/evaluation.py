"""`qmolgen evaluate` for tables: quality and privacy of any synthetic table against the real one."""

from __future__ import annotations

import logging

from qmolgen.tables.data import TABLE_NAME, check_columns, check_table, detect_metadata, load_metadata, read_table
from qmolgen.tables.files import metadata_path
from qmolgen.tables.metrics import evaluate_table

log = logging.getLogger("qmolgen")


def evaluate_files(synthetic: str, real: str, holdout: str | None = None, metadata: str | None = None,
                   target: str | None = None, max_categories: int = 1000) -> dict:
    """The table report (see tables.metrics.evaluate_table) for CSV/Parquet files.

    Metadata: the JSON given, else the one `qmolgen export` wrote beside the synthetic file, else detected
    from the real table. The synthetic and hold-out tables must have the real table's columns.

    Raises:
        DataError: unreadable files, columns that differ, or data that disagrees with the metadata.
    """
    real_table, synthetic_table = read_table(real), read_table(synthetic)
    holdout_table = read_table(holdout) if holdout else None
    beside = metadata_path(synthetic)
    if metadata:
        meta = load_metadata(metadata)
    elif beside.is_file():
        log.info("using the metadata beside the synthetic table: %s", beside)
        meta = load_metadata(beside)
    else:
        meta = detect_metadata(real_table)
    check_table(real_table, meta, target, max_categories, real)
    for name, table in (("synthetic", synthetic_table), ("hold-out", holdout_table)):
        if table is not None:
            check_columns(table, real_table, name)
    meta_dict = meta.to_dict()
    if TABLE_NAME not in meta_dict["tables"]:  # a JSON naming its table otherwise: use that name throughout
        meta_dict["tables"] = {TABLE_NAME: next(iter(meta_dict["tables"].values()))}
    if holdout_table is None:
        log.info("no --holdout: ML efficacy, DCR overfitting protection and the membership attack need real rows "
                 "that were not trained on, so they are left out")
    return evaluate_table(synthetic_table[real_table.columns], real_table,
                          None if holdout_table is None else holdout_table[real_table.columns], meta_dict, target)
