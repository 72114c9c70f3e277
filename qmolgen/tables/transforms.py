"""Reversible row transforms: a table <-> a float matrix the row decoder and critic work on.

Per column, by SDV sdtype:
    numerical, datetime  `numerical="quantile"` (the default): a quantile transform to a standard normal
                         (scikit-learn's QuantileTransformer, as TabDDPM does), divided by 4, one tanh
                         span; decoded through the stored quantiles, and snapped to the column's own
                         values when it has few distinct ones. `numerical="modes"`: mode-specific
                         normalisation (RDT's ClusterBasedNormalizer, as in CTGAN): the value within its
                         Gaussian mode (tanh span of 1) and the mode (softmax span); values more than 4
                         standard deviations from every mode are clipped to 4 (as RDT and CTGAN do).
                         Datetimes become nanosecond timestamps first. Synthetic values are rounded to
                         the column's decimal places and kept within its observed range. With missing
                         values, a [present, missing] softmax span in front: missingness is modelled,
                         not imputed away.
    categorical, boolean one-hot; a missing value is a category of its own
    id                   not modelled: synthetic rows get fresh identifiers 0, 1, 2, ...

Fitting uses RDT; what the inverse needs is kept as plain numbers and strings (`to_dict`), so a trained
model is a weights-only checkpoint that samples without the training data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmolgen.errors import DataError
from qmolgen.tables.data import CATEGORY_SDTYPES

STD_MULTIPLIER = 4  # RDT's ClusterBasedNormalizer.STD_MULTIPLIER
QUANTILE_SCALE = 4  # normal scores / 4 fill the tanh range (as mode-specific normalisation uses 4 sd)
MAX_QUANTILES = 1000
SNAP_DISTINCT = 50  # a numerical column with at most this many distinct values decodes onto them only
NUMERICAL_METHODS = ("quantile", "modes")
MISSING = "__qmolgen_missing__"  # JSON-safe stand-in for a missing category


@dataclass(frozen=True)
class Span:
    """A block of the row matrix: `size` columns, squashed by tanh or softmax (one categorical choice)."""

    column: str
    activation: str  # "tanh" | "softmax"
    size: int


def decimal_places(values: np.ndarray, most: int = 6) -> int:
    """Fewest decimal places (at most `most`) that represent every value exactly, for rounding output."""
    for digits in range(most + 1):
        if np.allclose(values, np.round(values, digits), rtol=0, atol=1e-9):
            return digits
    return most


def time_unit(stamps: np.ndarray) -> float:
    """The coarsest of day, hour, minute, second, millisecond, microsecond (in ns) dividing every timestamp."""
    for unit in (86_400e9, 3_600e9, 60e9, 1e9, 1e6, 1e3):
        if np.all(np.mod(stamps, unit) == 0):
            return unit
    return 1.0


def to_numbers(values: pd.Series, sdtype: str, fmt: str | None) -> pd.Series:
    """Numbers as floats; datetimes as nanosecond timestamps (missing or unparsable: NaN)."""
    if sdtype != "datetime":
        return values.astype(float)
    stamps = pd.to_datetime(values, format=fmt, errors="coerce")
    numbers = pd.Series(stamps.to_numpy().astype("datetime64[ns]").astype("int64"), index=values.index, dtype=float)
    return numbers.where(stamps.notna())


def _from_normal_scores(scores: np.ndarray, column: dict) -> np.ndarray:
    """Inverse of the quantile transform from its stored quantiles (what QuantileTransformer's inverse does),
    then onto the column's own values when it has few (so 12/24/36-month terms stay 12, 24 or 36)."""
    from scipy.stats import norm

    quantiles = np.asarray(column["quantiles"])
    values = np.interp(norm.cdf(scores), np.linspace(0, 1, len(quantiles)), quantiles)
    if column.get("support"):
        support = np.asarray(column["support"])
        if len(support) == 1:
            return np.full_like(values, support[0])
        right = np.clip(np.searchsorted(support, values), 1, len(support) - 1)
        nearer_left = values - support[right - 1] < support[right] - values
        values = support[np.where(nearer_left, right - 1, right)]
    return values


def spread_tied_scores(values: np.ndarray, quantiles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normal scores for values, each drawn uniformly across the share of the quantile grid its value holds.

    scikit-learn's quantile transform gives every row of a tied value one score (and the column's minimum
    the far tail, -5.2), so a column where 28 % of rows hold its smallest value becomes a spike the
    generator must hit exactly. Spreading each value over its interval of the distribution function
    (randomised probability integral transform, as in dequantisation) makes every column's scores standard
    normal; the inverse (_from_normal_scores) maps the whole interval back onto the value.
    """
    from scipy.stats import norm

    grid = np.linspace(0, 1, len(quantiles))
    # A value equal to quantiles[first:stop] owns that stretch of the grid, which decodes back onto it exactly;
    # a value between two quantiles (or at one only) keeps its single point.
    first, stop = np.searchsorted(quantiles, values, "left"), np.searchsorted(quantiles, values, "right")
    tied = stop > first
    low = np.where(tied, grid[np.minimum(first, len(grid) - 1)], np.interp(values, quantiles, grid))
    high = np.where(tied, grid[np.maximum(stop - 1, 0)], low)
    edge = 0.5 / len(quantiles)  # keep off 0 and 1, whose scores are infinite
    probability = np.clip(low + rng.random(len(values)) * (high - low), edge, 1 - edge)
    return norm.ppf(probability)


class RowTransformer:
    """fit(table, columns_metadata) once; then transform(table) -> (N, dim) float32 and inverse(matrix) -> table.

    Args:
        max_modes: most Gaussian modes per numerical column (numerical="modes").
        numerical: "quantile" or "modes" (see the module docstring).
        spread_ties: numerical="quantile" only: encode a value that many rows share (a 60-month term, zero
            assets) as a normal score drawn across its whole quantile interval instead of one point (see
            spread_tied_scores); decoding is unchanged.
    """

    def __init__(self, max_modes: int = 10, numerical: str = "quantile", spread_ties: bool = False):
        if numerical not in NUMERICAL_METHODS:
            raise DataError(f"generator.numerical must be one of {NUMERICAL_METHODS}; got {numerical!r}")
        self.max_modes, self.numerical, self.spread_ties = max_modes, numerical, spread_ties
        self.columns: list[dict] = []  # plain per-column spec (see to_dict)
        self._normalizers: dict = {}  # RDT objects, needed by transform (training) only

    @property
    def spans(self) -> list[Span]:
        """The encoded row's blocks in order: one per category column, and per numeric column its value and modes."""
        out = []
        for c in self.columns:
            if c["sdtype"] in CATEGORY_SDTYPES:
                out.append(Span(c["name"], "softmax", len(c["categories"])))
            elif c["sdtype"] in ("numerical", "datetime"):
                if c["has_missing"]:
                    out.append(Span(c["name"], "softmax", 2))
                out.append(Span(c["name"], "tanh", 1))
                if c.get("method", "modes") == "modes":
                    out.append(Span(c["name"], "softmax", len(c["means"])))
        return out

    @property
    def dim(self) -> int:
        """Length of an encoded row."""
        return sum(s.size for s in self.spans)

    def fit(self, table: pd.DataFrame, columns_metadata: dict[str, dict]) -> "RowTransformer":
        """Learn each column's encoding from the table and its SDV metadata (categories, modes, ranges)."""
        for name in table.columns:
            sdtype = columns_metadata[name]["sdtype"]
            spec = {"name": name, "sdtype": sdtype}
            if sdtype in CATEGORY_SDTYPES:
                values = table[name]
                categories = sorted(values.dropna().astype(str).unique().tolist())
                spec["categories"] = categories + ([MISSING] if values.isna().any() else [])
                spec["kind"] = "bool" if pd.api.types.is_bool_dtype(values) else (
                    "int" if pd.api.types.is_integer_dtype(values) else "str")
            elif sdtype in ("numerical", "datetime"):
                spec["format"] = columns_metadata[name].get("datetime_format")
                numbers = to_numbers(table[name], sdtype, spec["format"])
                present = numbers.dropna().to_numpy()
                # Missing entries are marked by their own span; the normaliser sees them as the most common value.
                fill = float(pd.Series(present).mode().iloc[0])
                normalizer, fitted = self._fit_normalizer(name, numbers.fillna(fill), present)
                spec.update(fitted, method=self.numerical, has_missing=bool(numbers.isna().any()), fill=fill,
                            low=float(present.min()), high=float(present.max()),
                            decimals=decimal_places(present) if sdtype == "numerical" else 0,
                            unit=time_unit(present) if sdtype == "datetime" else None,
                            integer=bool(pd.api.types.is_integer_dtype(table[name])))
                self._normalizers[name] = normalizer
            elif sdtype != "id":
                raise DataError(f"column {name!r}: sdtype {sdtype!r} cannot be modelled")
            self.columns.append(spec)
        return self

    def _fit_normalizer(self, name: str, numbers: pd.Series, present: np.ndarray) -> tuple[object, dict]:
        """The fitted numerical normaliser and the plain numbers its inverse needs."""
        distinct = np.unique(present)
        if self.numerical == "quantile":
            from sklearn.preprocessing import QuantileTransformer

            normalizer = QuantileTransformer(n_quantiles=min(MAX_QUANTILES, len(numbers)),
                                             output_distribution="normal", subsample=None, random_state=0)
            normalizer.fit(numbers.to_numpy().reshape(-1, 1))
            fitted = {"quantiles": normalizer.quantiles_[:, 0].tolist(),
                      "support": distinct.tolist() if len(distinct) <= SNAP_DISTINCT else None}
            return normalizer, fitted
        from rdt.transformers import ClusterBasedNormalizer

        normalizer = ClusterBasedNormalizer(max_clusters=min(self.max_modes, len(distinct)),
                                            missing_value_generation=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BayesianGMM convergence chatter on discrete columns
            normalizer.fit(numbers.to_frame(name), name)
        bgm, valid = normalizer._bgm_transformer, normalizer.valid_component_indicator
        return normalizer, {"means": bgm.means_.reshape(-1)[valid].tolist(),
                            "stds": np.sqrt(bgm.covariances_).reshape(-1)[valid].tolist()}

    def to_dict(self) -> dict:
        """The fitted transformer as plain data (saved with the model's weights)."""
        return {"max_modes": self.max_modes, "numerical": self.numerical, "spread_ties": self.spread_ties,
                "columns": self.columns}

    @classmethod
    def from_dict(cls, d: dict) -> "RowTransformer":
        """A fitted transformer back from to_dict's output."""
        transformer = cls(d["max_modes"], d.get("numerical", "modes"), d.get("spread_ties", False))
        transformer.columns = d["columns"]
        return transformer

    def transform(self, table: pd.DataFrame) -> np.ndarray:
        """Rows -> matrix. The mode of each value is drawn from its posterior, as RDT and CTGAN do."""
        if not self._normalizers and any(c["sdtype"] in ("numerical", "datetime") for c in self.columns):
            raise DataError("this transformer was loaded from a model file; it can decode rows but not encode "
                            "new ones (fit it on the data again)")
        blocks = []
        rng = np.random.default_rng(0)  # spread_ties' draws: fixed, so one table always gives one matrix
        for c in self.columns:
            name = c["name"]
            if c["sdtype"] in CATEGORY_SDTYPES:
                values = table[name].astype(object).where(table[name].notna(), MISSING).astype(str)
                index = {v: i for i, v in enumerate(c["categories"])}
                codes = values.map(index)
                if codes.isna().any():
                    raise DataError(f"column {name!r} holds categories not seen in fitting: "
                                    f"{sorted(values[codes.isna()].unique())[:5]}")
                blocks.append(np.eye(len(index), dtype=np.float32)[codes.to_numpy(dtype=int)])
            elif c["sdtype"] in ("numerical", "datetime"):
                numbers = to_numbers(table[name], c["sdtype"], c["format"])
                if c["has_missing"]:
                    missing = numbers.isna().to_numpy()
                    blocks.append(np.stack([~missing, missing], axis=1).astype(np.float32))
                filled = numbers.fillna(c["fill"])
                if c["method"] == "quantile":
                    if self.spread_ties:
                        scores = spread_tied_scores(filled.to_numpy(), np.asarray(c["quantiles"]), rng)
                    else:
                        scores = self._normalizers[name].transform(filled.to_numpy().reshape(-1, 1))[:, 0]
                    blocks.append(np.clip(scores / QUANTILE_SCALE, -1, 1).astype(np.float32)[:, None])
                    continue
                out = self._normalizers[name].transform(filled.to_frame(name))
                onehot = np.zeros((len(out), len(c["means"])), dtype=np.float32)
                onehot[np.arange(len(out)), out[f"{name}.component"].to_numpy().astype(int)] = 1
                blocks += [out[[f"{name}.normalized"]].to_numpy(dtype=np.float32), onehot]
        return np.concatenate(blocks, axis=1)

    def inverse(self, matrix: np.ndarray, only: set[str] | None = None) -> pd.DataFrame:
        """Matrix -> rows; each softmax span is read by its largest entry (the generator draws one-hots).
        With `only`, just those columns are decoded (the conditional sampler checks a few columns per step)."""
        widths: dict[str, int] = {}
        for span in self.spans:
            widths[span.column] = widths.get(span.column, 0) + span.size
        out, start = {}, 0
        for c in self.columns:
            name, sdtype = c["name"], c["sdtype"]
            if only is not None and name not in only:
                start += widths.get(name, 0)
                continue
            if sdtype == "id":
                out[name] = np.arange(len(matrix))
                continue
            if sdtype in CATEGORY_SDTYPES:
                size = len(c["categories"])
                labels = np.array(c["categories"], dtype=object)[matrix[:, start:start + size].argmax(1)]
                start += size
                column = pd.Series(labels).replace(MISSING, None)
                if c["kind"] == "bool":
                    column = column.map({"True": True, "False": False})
                elif c["kind"] == "int":
                    column = column.map(lambda v: None if v is None else int(v))
                out[name] = column.to_numpy()
                continue
            missing = None
            if c["has_missing"]:
                missing = matrix[:, start:start + 2].argmax(1) == 1
                start += 2
            if c.get("method", "modes") == "quantile":
                values = _from_normal_scores(np.clip(matrix[:, start], -1, 1) * QUANTILE_SCALE, c)
                start += 1
            else:
                k = len(c["means"])
                component = matrix[:, start + 1:start + 1 + k].argmax(1)
                values = (np.clip(matrix[:, start], -1, 1) * STD_MULTIPLIER * np.array(c["stds"])[component]
                          + np.array(c["means"])[component])
                start += 1 + k
            if sdtype == "datetime":  # whole days stay whole days (float32 rows carry about a second's error)
                values = np.round(values / c["unit"]) * c["unit"]
            values = np.clip(np.round(values, c["decimals"]), c["low"], c["high"])
            if sdtype == "datetime":
                stamps = pd.to_datetime(values.astype("int64"))
                column = pd.Series(stamps.strftime(c["format"]) if c["format"] else stamps.astype(str), dtype=object)
            elif c["integer"] and missing is None:
                column = pd.Series(values.astype("int64"))
            else:
                column = pd.Series(values)
            if missing is not None:
                column = column.astype(object if sdtype == "datetime" else float)
                column[missing] = None if sdtype == "datetime" else np.nan
            out[name] = column.to_numpy()
        return pd.DataFrame(out)
