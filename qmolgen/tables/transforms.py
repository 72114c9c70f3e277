"""Reversible row transforms: a table <-> a float matrix the row decoder and critic work on.

Per column, by SDV sdtype (RDT transformers do the fitting):
    numerical, datetime  mode-specific normalisation (RDT ClusterBasedNormalizer, as in CTGAN): a value
                         in its Gaussian mode (tanh span of 1) and the mode (softmax span); values more
                         than 4 standard deviations from every mode are clipped to 4 (RDT, as CTGAN); datetimes
                         become Unix timestamps first. With missing values, a [present, missing] softmax
                         span in front: missingness is modelled, not imputed away.
    categorical, boolean one-hot (RDT OneHotEncoder; a missing value is a category of its own)
    id                   not modelled: synthetic rows get fresh identifiers 0, 1, 2, ...
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmolgen.errors import DataError


@dataclass(frozen=True)
class Span:
    """A block of the row matrix: `size` columns, squashed by tanh or softmax (one categorical choice)."""

    column: str
    activation: str  # "tanh" | "softmax"
    size: int


class RowTransformer:
    """fit(table, columns_metadata) once; then transform(table) -> (N, dim) float32 and inverse(matrix) -> table.

    Args:
        max_modes: most Gaussian modes per numerical column.
    """

    def __init__(self, max_modes: int = 10):
        self.max_modes = max_modes
        self.columns: list[tuple[str, str, dict]] = []  # (name, sdtype, fitted parts)
        self.spans: list[Span] = []
        self.column_order: list[str] = []

    @property
    def dim(self) -> int:
        return sum(s.size for s in self.spans)

    def fit(self, table: pd.DataFrame, columns_metadata: dict[str, dict]) -> "RowTransformer":
        from rdt.transformers import ClusterBasedNormalizer, OneHotEncoder, UnixTimestampEncoder

        self.column_order = list(table.columns)
        for name in table.columns:
            sdtype = columns_metadata[name]["sdtype"]
            values = table[[name]]
            parts: dict = {}
            if sdtype == "id":
                pass
            elif sdtype in ("categorical", "boolean"):
                parts["onehot"] = OneHotEncoder()
                parts["onehot"].fit(values.astype(object), name)
                self.spans.append(Span(name, "softmax", len(parts["onehot"].dummies)))
            elif sdtype in ("numerical", "datetime"):
                if sdtype == "datetime":
                    fmt = columns_metadata[name].get("datetime_format")
                    parts["timestamps"] = UnixTimestampEncoder(datetime_format=fmt, missing_value_generation=None)
                    parts["timestamps"].fit(values, name)
                    values = parts["timestamps"].transform(values)
                numbers = values[name].astype(float)
                parts["has_missing"] = bool(numbers.isna().any())
                # Missing entries are marked by their own span; the normaliser sees them as the most common
                # value, which (unlike the mean) keeps the column's decimal places for its rounding scheme.
                parts["fill"] = float(numbers.mode().iloc[0])
                if parts["has_missing"]:
                    self.spans.append(Span(name, "softmax", 2))
                modes = ClusterBasedNormalizer(learn_rounding_scheme=sdtype == "numerical", enforce_min_max_values=True,
                                               max_clusters=min(self.max_modes, numbers.nunique()),
                                               missing_value_generation=None)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # BayesianGMM convergence chatter on discrete columns
                    modes.fit(numbers.fillna(parts["fill"]).to_frame(name), name)
                parts["modes"] = modes
                parts["n_modes"] = int(modes.valid_component_indicator.sum())  # components are numbered among these
                self.spans += [Span(name, "tanh", 1), Span(name, "softmax", parts["n_modes"])]
            else:
                raise DataError(f"column {name!r}: sdtype {sdtype!r} cannot be modelled")
            self.columns.append((name, sdtype, parts))
        return self

    def transform(self, table: pd.DataFrame) -> np.ndarray:
        blocks = []
        for name, sdtype, parts in self.columns:
            values = table[[name]]
            if "onehot" in parts:
                blocks.append(parts["onehot"].transform(values.astype(object)).to_numpy(dtype=np.float32))
            elif "modes" in parts:
                if "timestamps" in parts:
                    values = parts["timestamps"].transform(values)
                numbers = values[name].astype(float)
                if parts["has_missing"]:
                    missing = numbers.isna().to_numpy()
                    blocks.append(np.stack([~missing, missing], axis=1).astype(np.float32))
                out = parts["modes"].transform(numbers.fillna(parts["fill"]).to_frame(name))
                onehot = np.zeros((len(out), parts["n_modes"]), dtype=np.float32)
                onehot[np.arange(len(out)), out[f"{name}.component"].to_numpy().astype(int)] = 1
                blocks.append(out[[f"{name}.normalized"]].to_numpy(dtype=np.float32))
                blocks.append(onehot)
        return np.concatenate(blocks, axis=1)

    def inverse(self, matrix: np.ndarray) -> pd.DataFrame:
        """Rows from decoder output: each softmax span is read by its largest entry (draw from it first
        to sample), each tanh span as the normalised value."""
        out, start = {}, 0
        for name, sdtype, parts in self.columns:
            if sdtype == "id":
                out[name] = np.arange(len(matrix))
                continue
            if "onehot" in parts:
                size = len(parts["onehot"].dummies)
                block = matrix[:, start:start + size]
                start += size
                frame = pd.DataFrame(np.eye(size)[block.argmax(1)], columns=parts["onehot"].output_columns)
                out[name] = parts["onehot"].reverse_transform(frame)[name].to_numpy()
                continue
            missing = None
            if parts["has_missing"]:
                missing = matrix[:, start:start + 2].argmax(1) == 1
                start += 2
            k = parts["n_modes"]
            normalized = np.clip(matrix[:, start], -1, 1)
            component = matrix[:, start + 1:start + 1 + k].argmax(1)
            start += 1 + k
            frame = pd.DataFrame({f"{name}.normalized": normalized, f"{name}.component": component.astype(float)})
            values = parts["modes"].reverse_transform(frame)
            if "timestamps" in parts:
                values = parts["timestamps"].reverse_transform(values)
            column = values[name]
            if missing is not None:
                column = column.astype(object if sdtype == "datetime" else float)
                column[missing] = np.nan if sdtype == "numerical" else None
            out[name] = column.to_numpy()
        return pd.DataFrame(out)[self.column_order]
