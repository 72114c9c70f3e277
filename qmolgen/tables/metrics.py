"""Table metrics: SDMetrics' quality report (column shapes, column pair trends) and diagnostic report (data
validity, structure), the mode-collapse rate, and `evaluate_table`, the whole report: quality, mode
collapse, ML efficacy and privacy."""

from __future__ import annotations

import contextlib
import io
import warnings

import pandas as pd


def quality(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict, diagnostic: bool = False) -> dict:
    """{'quality', 'column_shapes', 'column_pair_trends'} (and 'diagnostic' when asked), each in [0, 1].

    Args:
        metadata: the SDV metadata as a dict ({'tables': {name: {'columns': ...}}}), one table.
    """
    from sdmetrics.reports import DiagnosticReport, QualityReport

    name = next(iter(metadata["tables"]))
    real, synthetic = {name: real}, {name: synthetic}  # SDMetrics' unified reports take tables by name
    report = QualityReport()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # SDMetrics warns per constant or all-missing column pair
        report.generate(real, synthetic, metadata, verbose=False)
        properties = report.get_properties().set_index("Property")["Score"]
        out = {"quality": float(report.get_score()), "column_shapes": float(properties["Column Shapes"]),
               "column_pair_trends": float(properties["Column Pair Trends"])}
        if diagnostic:
            check = DiagnosticReport()
            check.generate(real, synthetic, metadata, verbose=False)
            out["diagnostic"] = float(check.get_score())
    return out


def mode_collapse_rate(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict) -> float | None:
    """1 - SDMetrics' CategoryCoverage averaged over the categorical and boolean columns: the share of the real
    categories a generator never produces (0 = every category appears; None without categorical columns)."""
    from sdmetrics.single_column import CategoryCoverage

    from qmolgen.tables.data import CATEGORY_SDTYPES

    columns = next(iter(metadata["tables"].values()))["columns"]
    names = [c for c in real.columns if columns.get(c, {}).get("sdtype") in CATEGORY_SDTYPES]
    if not names:
        return None
    coverage = [CategoryCoverage.compute(real_data=real[c].dropna().astype(str),
                                         synthetic_data=synthetic[c].dropna().astype(str)) for c in names]
    return 1 - sum(coverage) / len(coverage)


def evaluate_table(synthetic: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame | None, metadata: dict,
                   target: str | None) -> dict:
    """Everything about a synthetic table, against the training rows and the never-trained-on hold-out.

    `quality_holdout` is the quality of the real hold-out rows as if they were the synthetic table: the most
    a generator that has not copied its training rows can expect. Without a hold-out, ML efficacy, DCR
    overfitting protection and the membership-inference attack cannot be computed and are left out.
    """
    from qmolgen.tables.efficacy import ml_efficacy
    from qmolgen.tables.privacy import copy_metrics, privacy_metrics

    out = {"n_samples": len(synthetic), **quality(train, synthetic, metadata, diagnostic=True),
           "mode_collapse_rate": mode_collapse_rate(train, synthetic, metadata)}
    if holdout is None:
        out.update(copy_metrics(train, synthetic, metadata))
        return out
    out["quality_holdout"] = quality(train, holdout, metadata)["quality"]
    if target:
        out.update(ml_efficacy(train, synthetic, holdout, target, metadata))
    out.update(privacy_metrics(train, holdout, synthetic, metadata))
    return out
