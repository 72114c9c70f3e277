"""SDV's single-table synthesizers (GaussianCopula, CTGAN, TVAE) as baselines for the table recipes:
fitted on the same training rows with the same metadata, sampled, and scored by the same metrics.

SDV 2.x takes and returns tables as {name: DataFrame} dicts; these adapters hide that. CTGAN and TVAE run
on the CPU (enable_gpu=False), with SDV's defaults unless `options` change them.
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from qmolgen.errors import ConfigError
from qmolgen.tables.data import TABLE_NAME

log = logging.getLogger("qmolgen")

SYNTHESIZERS = ("gaussian_copula", "ctgan", "tvae")


def _synthesizer(name: str, metadata, options: dict):
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

    if name == "gaussian_copula":
        return GaussianCopulaSynthesizer(metadata, **options)
    if name == "ctgan":
        return CTGANSynthesizer(metadata, enable_gpu=False, **options)
    if name == "tvae":
        return TVAESynthesizer(metadata, enable_gpu=False, **options)
    raise ConfigError(f"unknown SDV synthesizer {name!r}; available: {', '.join(SYNTHESIZERS)}")


class SDVBaseline:
    """`SDVBaseline('ctgan', metadata).fit(train)`, then `.sample(n)`; `fit_seconds` is the wall time of fit."""

    def __init__(self, name: str, metadata, **options):
        self.name = name
        self.synthesizer = _synthesizer(name, metadata, options)
        self.fit_seconds: float | None = None

    def fit(self, train: pd.DataFrame) -> "SDVBaseline":
        start = time.perf_counter()
        self.synthesizer.fit({TABLE_NAME: train})
        self.fit_seconds = time.perf_counter() - start
        log.info("%s fitted in %.1f s", self.name, self.fit_seconds)
        return self

    def sample(self, n: int) -> pd.DataFrame:
        return self.synthesizer.sample(n)[TABLE_NAME]


def fit_and_score(config: dict, name: str, seed: int, options: dict | None = None) -> dict:
    """Fit SDV's `name` on the recipe's training rows (its data section and split), sample as many rows, and
    score them like a qmolgen run: the dict final_metrics.json holds (parameter counts are not known)."""
    from qmolgen.seeding import seed_everything
    from qmolgen.tables.data import load_table_section
    from qmolgen.tables.metrics import evaluate_table

    d = config["data"]
    data = load_table_section(d)
    train, holdout = data.subset("train"), data.subset("holdout")
    seed_everything(seed)
    options = options or {}
    model = SDVBaseline(name, data.metadata, **options).fit(train)
    synthetic = model.sample(config["evaluate"]["final_samples"] or len(train))  # as many as qmolgen's runs score
    return {"seed": seed, "generator": f"sdv_{name}", "options": options, "train_seconds": round(model.fit_seconds, 1),
            "params_quantum": None, "params_classical": None,
            **evaluate_table(synthetic, train, holdout, data.metadata.to_dict(), d["target"])}
