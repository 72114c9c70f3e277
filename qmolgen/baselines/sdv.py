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

from qmolgen.baselines import SDV_PEERS as SYNTHESIZERS


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
        """Fit the SDV synthesizer on the training rows; records the seconds it took."""
        start = time.perf_counter()
        self.synthesizer.fit({TABLE_NAME: train})
        self.fit_seconds = time.perf_counter() - start
        log.info("%s fitted in %.1f s", self.name, self.fit_seconds)
        return self

    def sample(self, n: int) -> pd.DataFrame:
        """n synthetic rows as a DataFrame with the training table's columns."""
        return self.synthesizer.sample(n)[TABLE_NAME]
