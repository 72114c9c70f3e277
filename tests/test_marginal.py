"""The marginal-based DP baselines (MST, AIM): privacy accounting, discretisation, and that the mechanisms
keep a dependence the data has when the budget allows, and lose it when it does not."""

import math

import numpy as np
import pandas as pd
import pytest

from qmolgen.baselines.marginal import Discretizer, exponential_mechanism, synthesize, zcdp_delta, zcdp_rho

COLUMNS = {"colour": {"sdtype": "categorical"}, "size": {"sdtype": "numerical"},
           "count": {"sdtype": "numerical"}, "noise": {"sdtype": "categorical"}, "id": {"sdtype": "id"}}


def correlated_table(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """`size` follows `colour` closely; `noise` is independent of both."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    centre = pd.Series(colour).map({"red": 10.0, "green": 50.0, "blue": 90.0}).to_numpy()
    size = np.round(centre + rng.normal(0, 3, n), 1)
    size[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"colour": colour, "size": size, "count": rng.integers(0, 5, n),
                         "noise": rng.choice(list("abcd"), n), "id": np.arange(n)})


def test_zcdp_conversion_inverts_and_beats_the_simple_bound():
    for epsilon, delta in ((1.0, 1e-5), (3.0, 4.5e-5), (10.0, 1e-9)):
        rho = zcdp_rho(epsilon, delta)
        assert zcdp_delta(rho, epsilon) == pytest.approx(delta, rel=1e-3)
        assert zcdp_delta(rho * 1.01, epsilon) > delta  # the largest rho that fits, not any rho
        # epsilon = rho + 2 sqrt(rho log(1/delta)) is the textbook conversion; CKS's is tighter: more rho
        simple = (math.sqrt(math.log(1 / delta) + epsilon) - math.sqrt(math.log(1 / delta))) ** 2
        assert rho > simple
    assert zcdp_rho(1.0, 1e-5) < zcdp_rho(3.0, 1e-5) < zcdp_rho(10.0, 1e-5)


def test_discretizer_round_trip_keeps_categories_missing_values_and_bins():
    table = correlated_table(500)
    discretizer = Discretizer(COLUMNS, bins=8).fit(table)
    sizes = discretizer.sizes()
    assert sizes == {"colour": 3, "size": 9, "count": 5, "noise": 4}  # size: 8 bins + missing; count: 5 values
    codes = discretizer.encode(table)
    decoded = discretizer.decode(codes, np.random.default_rng(0))
    assert list(decoded.columns) == list(table.columns)
    assert (decoded["colour"] == table["colour"]).all() and (decoded["count"] == table["count"]).all()
    assert decoded["size"].isna().equals(table["size"].isna())
    width = (table["size"].max() - table["size"].min()) / 8
    assert (decoded["size"] - table["size"]).abs().max() <= width + 1e-9  # within its own bin
    assert decoded["count"].dtype.kind == "i" and (decoded["id"] == np.arange(500)).all()


def test_exponential_mechanism_prefers_high_scores_more_with_more_epsilon():
    rng = np.random.default_rng(0)
    scores = np.array([0.0, 0.0, 5.0])
    picks = [exponential_mechanism(scores, 10.0, 1.0, rng) for _ in range(200)]
    assert np.mean(np.array(picks) == 2) > 0.95
    picks = [exponential_mechanism(scores, 0.01, 1.0, rng) for _ in range(600)]
    assert 0.25 < np.mean(np.array(picks) == 2) < 0.45  # near uniform


def _dependence(table: pd.DataFrame) -> float:
    """Share of `size`'s variance explained by `colour`."""
    present = table.dropna(subset=["size"])
    groups = present.groupby("colour")["size"]
    between = (groups.transform("mean") - present["size"].mean()).pow(2).mean()
    return float(between / present["size"].var(ddof=0))


@pytest.mark.slow
def test_mst_keeps_the_dependence_at_a_large_epsilon():
    table = correlated_table()
    rows, report = synthesize("mst", table, COLUMNS, 50.0, 1e-5, 2000, seed=0)
    assert ["colour", "size"] in report["cliques"] or ["size", "colour"] in report["cliques"]
    assert _dependence(rows) > 0.9 * _dependence(table)
    assert set(rows["colour"]) <= {"red", "green", "blue"} and 0.02 < rows["size"].isna().mean() < 0.09
    assert report["epsilon"] == 50.0 and report["rho"] == pytest.approx(zcdp_rho(50.0, 1e-5))


@pytest.mark.heavy
@pytest.mark.slow
def test_aim_measures_pairs_and_keeps_the_dependence():
    table = correlated_table()
    rows, report = synthesize("aim", table, COLUMNS, 20.0, 1e-5, 2000, seed=0)
    assert any(len(c) == 2 for c in report["cliques"])
    assert _dependence(rows) > 0.8 * _dependence(table)


def test_an_unknown_privacy_mechanism_is_refused():
    from qmolgen.errors import ConfigError
    from qmolgen.train.privacy import privacy_settings

    assert privacy_settings({"dp": False, "mechanism": "mst"}) is None
    assert privacy_settings({"dp": True, "mechanism": "aim"}).mechanism == "aim"
    with pytest.raises(ConfigError, match="privacy.mechanism must be one of"):
        privacy_settings({"dp": True, "mechanism": "laplace"})


@pytest.mark.heavy
@pytest.mark.slow
def test_a_table_gan_trains_on_the_rows_mst_releases(tmp_path):
    import json

    from qmolgen.api import Synthesizer

    synth = Synthesizer.from_recipe("credit_dp", **{
        "privacy.mechanism": "mst", "privacy.epsilon": 3.0, "critic.pack": 10, "train.epochs": 1,
        "train.steps_per_epoch": 5, "evaluate.epoch_samples": 200, "evaluate.final_samples": 300, "seed": 0})
    synth.fit(out=tmp_path / "run")
    final = json.loads((tmp_path / "run" / "final_metrics.json").read_text())
    assert final["privacy"]["mechanism"] == "mst" and final["privacy"]["epsilon"] == 3.0
    assert final["privacy"]["delta"] < 1 / 2227  # below 1/N for the credit table's training rows
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("epsilon" not in r for r in records)  # no DP-SGD: the critic read released rows only
