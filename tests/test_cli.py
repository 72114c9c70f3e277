"""End-to-end CLI runs on tiny settings: train, resume, generate, evaluate, and the errors users meet."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import qmolgen
from qmolgen.cli import main
from qmolgen.runs import TRAINING_FORMAT, load_checkpoint
from tests.conftest import TINY_TRAIN


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_train_writes_every_output_of_a_run(trained):
    for name in ("config.yaml", "metrics.jsonl", "final_metrics.json", "data_report.json", "model.pt",
                 "checkpoints/last.pt", "training_curves.png", "samples.png"):
        assert (trained / name).is_file(), name
    records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    final = json.loads((trained / "final_metrics.json").read_text())
    assert final["n_samples"] == 200 and final["params_quantum"] == 16
    # train.device=auto (the default) trains where torch sees a GPU, else here
    assert final["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    # 4 qubits, 2 layers: RY encoding + a RY and a RZ per qubit and layer, a 4-CNOT ring per layer
    assert final["circuit_qubits"] == 4 and final["circuit_gates"] == {"RY": 12, "RZ": 8, "CNOT": 8}
    # 2 epochs x 6 critic steps and 6 // 5 = 1 generator step, batch 32: every sample one circuit run; a device
    # would add the parameter-shift rule's 2 x 16 runs per differentiated sample, each of 1,000 shots
    samples = 2 * 6 * 32 + 2 * 1 * 32
    assert final["circuit_runs_training"] == samples and final["shots_total"] is None
    assert final["hardware_circuit_runs"] == samples + 2 * 32 * 2 * 16
    assert final["hardware_shots"] == 1000 * final["hardware_circuit_runs"]
    # counts of 200 samples, nested as defined: valid >= valid and unique >= valid, unique and novel
    assert round(final["validity"] * 200, 6).is_integer() and final["vun"] <= final["vu"] <= final["validity"]
    assert final["vu"] == pytest.approx(final["validity"] * final["uniqueness"])
    report = json.loads((trained / "data_report.json").read_text())
    assert report["n_used"] == 1500 and report["split"]["train"] == 1200


def test_resume_finishes_with_the_same_weights_as_an_uninterrupted_run(small_smi, tmp_path, trained):
    folder = tmp_path / "resumed"
    args = [f"data.path={small_smi}", *TINY_TRAIN]
    short = [a if not a.startswith("train.epochs=") else "train.epochs=1" for a in args]
    assert run("--quiet", "train", "molecules", *short, "--out", folder).exit_code == 0
    config = (folder / "config.yaml").read_text().replace("epochs: 1", "epochs: 2")
    (folder / "config.yaml").write_text(config)  # as if the 2-epoch run had been killed after epoch 1
    result = run("--quiet", "train", "--resume", folder)
    assert result.exit_code == 0, result.output
    resumed = load_checkpoint(folder / "checkpoints/last.pt", TRAINING_FORMAT)["trainer"]["generator"]
    straight = load_checkpoint(trained / "checkpoints/last.pt", TRAINING_FORMAT)["trainer"]["generator"]
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)
    assert len((folder / "metrics.jsonl").read_text().splitlines()) == 2


def test_generate_writes_csv_smi_and_sdf(trained, tmp_path):
    out = tmp_path / "mols.csv"
    result = run("generate", trained, "-n", 50, "-o", out, "--seed", 1)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["smiles", "valid", "qed", "logp", "sa"] and len(table) == 50
    assert table[table.valid].qed.between(0, 1).all()
    again = tmp_path / "again.csv"
    run("generate", trained, "-n", 50, "-o", again, "--seed", 1)
    assert again.read_text() == out.read_text()  # same seed, same molecules
    for ext in ("smi", "sdf"):
        assert run("generate", trained, "-n", 20, "-o", tmp_path / f"m.{ext}", "--seed", 2).exit_code == 0
    n_valid = len((tmp_path / "m.smi").read_text().split())
    assert (tmp_path / "m.sdf").read_text().count("$$$$") == n_valid


def test_generate_refuses_to_overwrite_and_explains_bad_checkpoints(trained, tmp_path):
    out = tmp_path / "mols.csv"
    out.write_text("keep me")
    result = run("generate", trained, "-n", 5, "-o", out)
    assert result.exit_code == 1 and "--force" in result.output and out.read_text() == "keep me"
    broken = tmp_path / "broken.pt"
    broken.write_bytes((trained / "model.pt").read_bytes()[:500])
    result = run("generate", broken, "-n", 5)
    assert result.exit_code == 1 and "Error:" in result.output and "corrupt" in result.output
    result = run("generate", "no-such-recipe", "-n", 5)
    assert result.exit_code == 1 and "pretrained" in result.output
    result = run("generate", tmp_path / "qm9", "-n", 5)  # a missing folder named like a recipe
    assert result.exit_code == 1 and "does not exist" in result.output


def test_evaluate_any_smiles_file_against_a_reference_file(small_smi, tmp_path):
    samples = tmp_path / "s.smi"
    samples.write_text("CCO\nCCO\nC1CC\nc1ccccc1\nC.C\n")
    result = run("evaluate", samples, "--reference", small_smi, "--no-fcd", "-o", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["validity"] == pytest.approx(0.6) and metrics["validity_loose"] == pytest.approx(0.8)
    assert metrics["uniqueness"] == pytest.approx(2 / 3)


def test_usage_and_input_errors(small_smi, tmp_path):
    assert run("--version").output.startswith("qmolgen, version")
    assert "qm9" in run("recipes").output and "molecules" in run("recipes").output
    result = run("train", "qm9", "train.epoch=1")
    assert result.exit_code == 1 and "did you mean 'train.epochs'" in result.output
    result = run("train", "nope")
    assert result.exit_code == 1 and "shipped recipes" in result.output
    assert run("train").exit_code == 2
    bad = tmp_path / "bad.smi"
    bad.write_text("CCO\nxyz\n" + "CCN\n" * 20)
    result = run("train", "molecules", f"data.path={bad}", "--out", tmp_path / "r")
    assert result.exit_code == 1 and "lines 2" in result.output and "Traceback" not in result.output
    result = run("train", "molecules", "--out", tmp_path / "r2")
    assert result.exit_code == 1 and "data.path is not set" in result.output


def test_qm9_graph_recipe_trains_end_to_end_on_a_small_subset(tmp_path):
    folder = tmp_path / "qm9"
    result = run("--quiet", "train", "qm9_graph", "data.limit=2000", *TINY_TRAIN, "--out", folder)
    assert result.exit_code == 0, result.output
    report = json.loads((folder / "data_report.json").read_text())
    assert report["n_lines"] == 2000 and report["atom_types"] == ["C", "N", "O", "F"] and report["max_atoms"] == 9
    assert report["n_used"] + sum(p["count"] for p in report["problems"].values()) == 2000


def test_shipped_pretrained_graph_model_is_more_valid_than_its_untrained_generator(tmp_path):
    """Measured on 1,000 samples: the shipped qm9_graph model is 100 % valid (FCD 8.7); its generator
    re-initialised gives 83 % through the same valence repair (FCD 9.3), failing the bound below. (The graph
    model is barely better than untrained on FCD: README, Results.)"""
    out = tmp_path / "mols.csv"
    result = run("--quiet", "generate", "qm9_graph", "-n", 500, "-o", out, "--seed", 0)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 500
    assert table.valid.mean() > 0.95
    assert table[table.valid].smiles.nunique() > 0.9 * table.valid.sum()


@pytest.mark.heavy
@pytest.mark.slow
def test_shipped_qm9_model_beats_its_own_untrained_generator(tmp_path):
    """The shipped LatentGAN: 1,000 molecules at FCD < 5 against the QM9 test split and > 900 distinct.
    Its generator re-initialised (same decoder) gives FCD 19.2 and 6 distinct molecules, failing both."""
    from qmolgen.molecules.evaluation import evaluate_file

    out = tmp_path / "mols.smi"
    result = run("--quiet", "generate", "qm9", "-n", 1000, "-o", out, "--seed", 0, "--no-properties")
    assert result.exit_code == 0, result.output
    metrics = evaluate_file(str(out), "qm9")
    assert metrics["validity"] == 1.0 and metrics["fcd"] < 5.0 and metrics["vu"] * 1000 > 900


def test_python_dash_m_runs_the_same_cli():
    done = subprocess.run([sys.executable, "-m", "qmolgen", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and qmolgen.__version__ in done.stdout


def test_shipped_moses_model_generates_distinct_drug_like_molecules(tmp_path):
    """`qmolgen generate moses` right after setup: 300 samples, all valid and nearly all distinct (its generator
    re-initialised gives 16 distinct molecules in 300), and larger than QM9's: drug-like sizes."""
    from rdkit import Chem

    out = tmp_path / "mols.csv"
    result = run("--quiet", "generate", "moses", "-n", 300, "-o", out, "--seed", 7, "--no-properties")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["smiles", "valid"] and table.valid.all()
    assert table.smiles.nunique() > 270
    assert sum(Chem.MolFromSmiles(s).GetNumHeavyAtoms() for s in table.smiles) / len(table) > 15


@pytest.mark.slow  # about 10 s: beam searches on one thread
def test_shipped_moses_smiles_model_makes_valid_drug_like_molecules_with_its_beam_fallback(tmp_path):
    """`qmolgen generate moses_smiles`: the SMILES LatentGAN with its recipe's valid-first beam fallback gives
    valid, distinct molecules that mostly pass MOSES's filters (the shipped SELFIES `moses` model: 42 %)."""
    from qmolgen.molecules.moses_metrics import filters_rate

    out = tmp_path / "mols.csv"
    result = run("--quiet", "generate", "moses_smiles", "-n", 300, "-o", out, "--seed", 7, "--no-properties")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert table.valid.mean() >= 0.95
    valid = table.smiles[table.valid].tolist()
    assert len(set(valid)) > 270
    assert filters_rate(valid) > 0.85


def test_no_properties_is_refused_for_a_model_that_is_not_molecules(tmp_path):
    result = run("generate", "digits", "-n", 4, "-o", tmp_path / "grid.png", "--no-properties")
    assert result.exit_code == 2 and "--no-properties is for molecule models" in result.output
    assert not (tmp_path / "grid.png").exists()
    workers = run("generate", "digits", "-n", 4, "-o", tmp_path / "grid.png", "--workers", 2)
    assert workers.exit_code == 2 and "--workers is for molecule models" in workers.output


def test_beam_is_refused_where_there_is_no_sequence_decoder(tmp_path):
    digits = run("generate", "digits", "-n", 4, "-o", tmp_path / "grid.png", "--beam", 4)
    assert digits.exit_code == 2 and "--beam is for molecule models" in digits.output
    graph = run("generate", "qm9_graph", "-n", 4, "-o", tmp_path / "mols.csv", "--beam", 4)
    assert graph.exit_code != 0 and "graph decoder" in graph.output
    assert not (tmp_path / "mols.csv").exists() and not (tmp_path / "grid.png").exists()
