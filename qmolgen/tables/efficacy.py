"""ML efficacy: train a standard model on synthetic rows, test it on the real hold-out, and compare with
the same model trained on the real training rows.

The model is scikit-learn's HistGradientBoosting (missing numbers handled natively, categories one-hot,
fixed random state). Score: ROC AUC for a two-class target, macro F1 for more classes, R^2 for a number.
"""

from __future__ import annotations

import pandas as pd

from qmolgen.tables.data import CATEGORY_SDTYPES


def _model(features: pd.DataFrame, columns: dict, classify: bool):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    categorical = [c for c in features.columns if columns[c]["sdtype"] in CATEGORY_SDTYPES]
    numerical = [c for c in features.columns if columns[c]["sdtype"] == "numerical"]
    encode = ColumnTransformer([
        ("categories", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                     OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical),
        ("numbers", "passthrough", numerical),
    ])
    learner = HistGradientBoostingClassifier(random_state=0) if classify else HistGradientBoostingRegressor(random_state=0)
    return make_pipeline(encode, learner)


def _score(model, features: pd.DataFrame, target: pd.Series, classify: bool, labels: list) -> float | None:
    from sklearn.metrics import f1_score, r2_score, roc_auc_score

    if not classify:
        return float(r2_score(target, model.predict(features)))
    if len(labels) == 2:
        positive = list(model.classes_).index(labels[1]) if labels[1] in model.classes_ else None
        if positive is None:  # the model never saw that class: it cannot rank it, and no number is honest
            return None
        return float(roc_auc_score(target == labels[1], model.predict_proba(features)[:, positive]))
    return float(f1_score(target, model.predict(features), average="macro", labels=labels))


def ml_efficacy(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, target: str,
                metadata: dict) -> dict:
    """{'efficacy_score': name, 'efficacy_real': train-on-real, 'efficacy_synthetic': train-on-synthetic,
    'efficacy_ratio': synthetic / real}, all tested on the hold-out. A score that cannot be computed (the rows
    hold one class of the target only) is None, and 'efficacy_note' says why."""
    columns = next(iter(metadata["tables"].values()))["columns"]
    classify = columns[target]["sdtype"] in CATEGORY_SDTYPES
    features = [c for c in train.columns if c != target and columns[c]["sdtype"] in
                ("categorical", "boolean", "numerical")]
    real_target = holdout[target].astype(str) if classify else holdout[target]
    labels = sorted(train[target].dropna().astype(str).unique()) if classify else []
    out = {"efficacy_score": ("roc_auc" if len(labels) == 2 else "macro_f1") if classify else "r2"}
    for name, table in (("real", train), ("synthetic", synthetic)):
        rows = table[table[target].notna()]
        y = rows[target].astype(str) if classify else rows[target].astype(float)
        if classify and y.nunique() < 2:  # one class only: nothing to learn, so no score (not a made-up 0.5)
            out[f"efficacy_{name}"] = None
            out["efficacy_note"] = (f"the {name} rows hold {y.nunique()} class of {target!r}; a classifier needs "
                                    "two, so efficacy_" + name + " is not defined")
            continue
        # A column with no values at all (a generator that never leaves it filled) carries nothing to learn,
        # and the boosting's binning cannot take it: the model goes without it.
        usable = [c for c in features if rows[c].notna().any()]
        model = _model(rows[usable], columns, classify).fit(rows[usable], y)
        keep = holdout[target].notna()
        out[f"efficacy_{name}"] = _score(model, holdout.loc[keep, features], real_target[keep], classify, labels)
        if out[f"efficacy_{name}"] is None:
            out["efficacy_note"] = (f"the model trained on the {name} rows never saw the class {labels[1]!r}, so it "
                                    "cannot rank it: efficacy_" + name + " is not defined")
    real, synthetic = out["efficacy_real"], out["efficacy_synthetic"]
    out["efficacy_ratio"] = synthetic / real if real and synthetic is not None else None
    return out
