"""The Python API: fit on data in memory, sample the natural type, evaluate, save / load interchangeably with the
CLI's files, and clear errors for misuse."""

import numpy as np
import pandas as pd
import pytest

import qmolgen
from qmolgen import Synthesizer
from qmolgen.errors import CheckpointError, ConfigError, DataError, NotFittedError
from qmolgen.images.metrics import evaluate_images
from tests.conftest import TINY_CREDIT, TINY_DIGITS, TINY_SEQUENCE


def settings(overrides: list[str]) -> dict:
    """The conftest's key=value lists as the API's keyword settings (values parsed as YAML, as the CLI does)."""
    import yaml

    return {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in overrides)}


def digits_images() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().images / 16.0


def test_public_names_are_exported_and_documented():
    for name in (*qmolgen.__all__, *qmolgen.LAZY):
        obj = getattr(qmolgen, name)
        assert name == "__version__" or obj.__doc__, f"qmolgen.{name} has no docstring"
    with pytest.raises(AttributeError, match="no attribute 'Synthesiser'"):
        qmolgen.Synthesiser


def test_from_recipe_checks_settings_like_the_cli():
    synth = Synthesizer.from_recipe("credit", **{"train.epochs": 5, "generator.decoder_hidden": (16, 16)})
    assert synth.config["train"]["epochs"] == 5 and synth.config["generator"]["decoder_hidden"] == [16, 16]
    with pytest.raises(ConfigError, match=r"unknown key 'train.epoch' \(did you mean 'train.epochs'\?\)"):
        Synthesizer.from_recipe("credit", **{"train.epoch": 5})
    with pytest.raises(ConfigError, match="train.epochs takes a number"):
        Synthesizer.from_recipe("credit", **{"train.epochs": "five"})


def test_unfitted_synthesizer_refuses_to_sample_save_or_evaluate(tmp_path):
    synth = Synthesizer.from_recipe("digits")
    assert not synth.fitted and "not fitted" in repr(synth)
    for call in (lambda: synth.sample(5), lambda: synth.save(tmp_path / "m.pt"), lambda: synth.evaluate([])):
        with pytest.raises(NotFittedError, match="before fitting: call fit"):
            call()
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.slow
def test_images_in_memory_fit_sample_evaluate_save_load(tmp_path):
    images = digits_images()
    synth = Synthesizer.from_recipe("digits", **settings(TINY_DIGITS)).fit(images)
    assert synth.fitted and synth.run_path is None  # no folder kept without out=
    samples = synth.sample(300, seed=5)
    assert samples.shape == (300, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, synth.sample(300, seed=5))
    # evaluate is the domain's metric against the test split of the data given (an unstratified 80/20 split,
    # seed 0, for own images), computed here independently
    from sklearn.model_selection import train_test_split

    test = images[np.sort(train_test_split(np.arange(len(images)), test_size=0.2, random_state=0)[1])].astype(np.float32)
    assert synth.evaluate(samples)["fid"] == pytest.approx(evaluate_images(samples, test)["fid"], rel=1e-6)
    synth.save(tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="already exists"):
        synth.save(tmp_path / "model.pt")
    again = Synthesizer.load(tmp_path / "model.pt")
    np.testing.assert_array_equal(again.sample(300, seed=5), samples)


@pytest.mark.slow
def test_own_images_from_a_npy_file_train_and_are_split(tmp_path):
    images = digits_images()[:200]
    np.save(tmp_path / "mine.npy", images)
    synth = Synthesizer.from_recipe("digits", **settings(TINY_DIGITS)).fit(tmp_path / "mine.npy", out=tmp_path / "run")
    assert (tmp_path / "run" / "model.pt").is_file() and synth.run_path == tmp_path / "run"
    assert synth.config["data"]["path"] == str(tmp_path / "mine.npy")
    report = __import__("json").loads((tmp_path / "run" / "data_report.json").read_text())
    assert report["n_images"] == 200 and report["split"] == {"train": 160, "test": 40}
    assert "train_class_counts" not in report  # own images carry no labels
    with pytest.raises(DataError, match=r"pixel values must lie in \[0, 1\].*divide by 16"):
        Synthesizer.from_recipe("digits", **settings(TINY_DIGITS)).fit(images * 16)


@pytest.mark.slow
def test_table_from_a_dataframe_keeps_a_resumable_run_folder(tmp_path):
    from qmolgen.tables.data import read_table

    table = read_table("credit").head(600)
    synth = Synthesizer.from_recipe("credit", **settings(TINY_CREDIT))
    synth.fit(table, out=tmp_path / "run")
    copy, table = pd.read_parquet(tmp_path / "run" / "data.parquet"), table.reset_index(drop=True)
    assert (copy.dtypes == table.dtypes).all() and copy.isna().equals(table.isna())  # types kept: Parquet, not CSV
    assert copy.astype(object).where(copy.notna(), None).equals(table.astype(object).where(table.notna(), None))
    rows = synth.sample(200, seed=1)
    assert list(rows.columns) == list(table.columns) and len(rows) == 200
    metrics = synth.evaluate(rows)
    assert 0 < metrics["quality"] < 1 and synth.metrics["quality"] > 0
    with pytest.raises(DataError, match="columns .* differ from the real table's"):
        synth.evaluate(rows.drop(columns=rows.columns[0]))
    # a loaded run folder evaluates against the data copy it recorded
    loaded = Synthesizer.load(tmp_path / "run")
    assert loaded.evaluate(rows)["quality"] == pytest.approx(metrics["quality"])
    with pytest.raises(DataError, match="pandas DataFrame or a .csv/.parquet path; got list"):
        Synthesizer.from_recipe("credit").fit([[1, 2]])


@pytest.mark.heavy
@pytest.mark.slow
def test_smiles_list_trains_the_sequence_model_and_bad_entries_are_named(small_smi):
    smiles = small_smi.read_text().split()
    synth = Synthesizer.from_recipe("molecules", **settings(TINY_SEQUENCE)).fit(smiles)
    table = synth.sample(100, seed=0, properties=False)
    assert list(table.columns) == ["smiles", "valid"] and len(table) == 100
    metrics = synth.evaluate(table)
    assert metrics["n_samples"] == 100
    assert metrics["validity"] == pytest.approx(table.valid.mean())
    with pytest.raises(DataError, match=r"2 entries are not non-empty, single-line SMILES strings \(positions \[1, 3\]\)"):
        Synthesizer.from_recipe("molecules").fit(["CCO", None, "CCN", ""])
    with pytest.raises(DataError, match=r"could not be parsed by RDKit \(lines 2\).*line n is item n - 1"):
        Synthesizer.from_recipe("molecules", **settings(TINY_SEQUENCE)).fit(["CCO", "C1CC", *smiles[:50]])


def test_load_accepts_run_folders_and_shipped_names(trained_digits):
    from_run = Synthesizer.load(trained_digits)
    assert from_run.metrics["fid"] > 0 and from_run.run_path == trained_digits
    assert Synthesizer.load("digits").domain == "images"
    with pytest.raises(CheckpointError, match="does not exist"):
        Synthesizer.load("no/such/model.pt")
    with pytest.raises(CheckpointError, match="recipe qm9_fcd ships no pretrained model .*qmolgen train qm9_fcd"):
        Synthesizer.load("qm9_fcd")
    with pytest.raises(CheckpointError, match="no_such_name is neither a run folder"):
        Synthesizer.load("no_such_name")
