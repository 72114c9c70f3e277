"""Conditions on synthetic rows, as users write them: `Status=bad`, `Age>=40`, `Home!=rent`, `Amount<2000`.

A condition names a modelled column, an operator and a value: categorical and boolean columns take = and !=
with one of the column's categories; numerical columns take =, !=, <, <=, > and >= with a number. Each
condition is checked against the trained model's columns when parsed, so a typo fails before sampling, with
the column's categories or range in the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qmolgen.errors import ConfigError
from qmolgen.tables.data import CATEGORY_SDTYPES

OPERATORS = (">=", "<=", "!=", "==", "=", ">", "<")  # longest first: `>=` is not `>` followed by `=`
PATTERN = re.compile(r"^\s*(.+?)\s*(" + "|".join(re.escape(op) for op in OPERATORS) + r")\s*(.*?)\s*$")


@dataclass(frozen=True)
class Condition:
    """`column op value`; value is a category (text) or a number."""

    column: str
    op: str
    value: str | float
    numeric: bool
    scale: float = 1.0  # the column's range: numerical violations are measured in ranges

    def __str__(self) -> str:
        value = f"{self.value:g}" if self.numeric else self.value
        return f"{self.column}{self.op}{value}"

    def holds(self, table: pd.DataFrame) -> np.ndarray:
        """Which rows meet the condition (a missing value meets none but !=)."""
        values = table[self.column]
        if not self.numeric:
            text = values.astype(object).where(values.notna(), None).map(lambda v: None if v is None else str(v))
            equal = (text == self.value).to_numpy()
            return ~equal if self.op == "!=" else equal
        x = values.astype(float).to_numpy()
        with np.errstate(invalid="ignore"):
            result = {"=": x == self.value, "!=": x != self.value, "<": x < self.value, "<=": x <= self.value,
                      ">": x > self.value, ">=": x >= self.value}[self.op]
        return result

    def distance(self, table: pd.DataFrame) -> np.ndarray:
        """How far each row's number is from meeting the condition, in ranges of the column (0 when it holds;
        1 for a missing value). Categorical conditions are measured on the logits instead (conditional.py)."""
        x = table[self.column].astype(float).to_numpy()
        gap = {"=": np.abs(x - self.value), "!=": np.zeros_like(x), "<": x - self.value, "<=": x - self.value,
               ">": self.value - x, ">=": self.value - x}[self.op]
        gap = np.clip(np.nan_to_num(gap / self.scale, nan=1.0), 0, None)
        # rows that miss the condition only by equality (x == t for `>`) still need a push
        return np.where(self.holds(table), 0.0, np.maximum(gap, 1e-6))


def parse_conditions(texts: list[str] | tuple[str, ...], columns: list[dict]) -> list[Condition]:
    """Conditions from `column op value` strings, checked against a RowTransformer's column specs.

    Raises:
        ConfigError: a malformed condition, an unknown column, an operator the column's type cannot take, or a
            category the column does not have; every problem in one message.
    """
    specs = {c["name"]: c for c in columns}
    conditions, problems = [], []
    for text in texts:
        match = PATTERN.match(text)
        if not match or not match.group(3):
            problems.append(f"{text!r} is not `column op value` with op one of {', '.join(OPERATORS)} "
                            "(e.g. Status=bad or Age>=40)")
            continue
        name, op, raw = match.groups()
        op = "=" if op == "==" else op
        spec = specs.get(name)
        if spec is None or spec["sdtype"] == "id":
            modelled = [c for c, s in specs.items() if s["sdtype"] != "id"]
            problems.append(f"{text!r}: no modelled column {name!r}; columns: {', '.join(modelled)}")
        elif spec["sdtype"] in CATEGORY_SDTYPES:
            categories = [c for c in spec["categories"] if not c.startswith("__qmolgen")]
            if op not in ("=", "!="):
                problems.append(f"{text!r}: {name!r} is categorical; use = or != with one of {categories}")
            elif raw.strip("'\"") not in categories:
                problems.append(f"{text!r}: {name!r} has no category {raw!r}; categories: {categories}")
            else:
                conditions.append(Condition(name, op, raw.strip("'\""), numeric=False))
        elif spec["sdtype"] == "numerical":
            try:
                value = float(raw)
            except ValueError:
                problems.append(f"{text!r}: {name!r} is numerical; {raw!r} is not a number")
                continue
            low, high = spec["low"], spec["high"]
            impossible = {"=": not low <= value <= high, "<": value <= low, "<=": value < low, ">": value >= high,
                          ">=": value > high}.get(op, False)
            if impossible:
                problems.append(f"{text!r}: the model generates {name!r} only within the training data's range "
                                f"{low:g} to {high:g}, so no row can meet it")
                continue
            conditions.append(Condition(name, op, value, numeric=True, scale=float(high - low) or 1.0))
        else:
            problems.append(f"{text!r}: conditions on {spec['sdtype']} columns ({name!r}) are not supported; "
                            "categorical, boolean and numerical columns are")
    if problems:
        raise ConfigError("cannot sample with these conditions: " + "; ".join(problems))
    return conditions


def holds_all(table: pd.DataFrame, conditions: list[Condition]) -> np.ndarray:
    """Rows that meet every condition."""
    ok = np.ones(len(table), dtype=bool)
    for condition in conditions:
        ok &= condition.holds(table)
    return ok
