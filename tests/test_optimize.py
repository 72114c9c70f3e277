"""Property-targeted generation: GuacaMol's scores, objectives and constraints, the user's scorer, the latent
optimisers, `qmolgen optimize` and `qmolgen generate --condition`."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors

from qmolgen.cli import main
from qmolgen.errors import ConfigError, DataError
from qmolgen.molecules import guacamol
from qmolgen.molecules.latent_search import OPTIMIZERS, search
from qmolgen.molecules.objectives import INVALID_FITNESS, Objective
from qmolgen.molecules.surrogate import fit_surrogate
from qmolgen.quantum.latent import GaussianLatent

ALKANES = ["C" * k for k in range(1, 25)]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# -- GuacaMol ----------------------------------------------------------------------------------------------------

def test_guacamol_scores_follow_their_definitions():
    tasks = guacamol.TASKS
    mol = Chem.MolFromSmiles
    assert tasks["celecoxib_rediscovery"].scorer()(mol(guacamol.CELECOXIB)) == pytest.approx(1.0)
    assert tasks["celecoxib_rediscovery"].scorer()(mol("c1ccccc1")) < 0.2
    isomer = tasks["isomers_c11h24"].scorer()
    assert isomer(mol("CC(C)CC(C)CC(C)CC")) == pytest.approx(1.0)  # an isomer of C11H24
    # C10H22: C one off (sigma 1), H two off (sigma 1), 3 atoms off in all (sigma 2)
    expected = (math.exp(-0.5) * math.exp(-2) * math.exp(-0.5 * 1.5 ** 2)) ** (1 / 3)
    assert isomer(mol("CCCCCCCCCC")) == pytest.approx(expected)
    # the median of camphor and menthol: each scores exactly its geometric mean with the other
    median = tasks["median_molecules_1"].scorer()
    similarity = guacamol.tanimoto_to(guacamol.CAMPHOR)(mol(guacamol.MENTHOL))
    assert median(mol(guacamol.CAMPHOR)) == pytest.approx(math.sqrt(similarity))
    # osimertinib MPO from its four parts, computed independently of the module's helpers
    osimertinib, x = guacamol.OSIMERTINIB, mol("COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc1nccc(-c2cn(C)c3ccccc23)n1")
    tpsa, logp = Descriptors.TPSA(x), Crippen.MolLogP(x)
    parts = [1.0, math.exp(-0.5 * ((1.0 - 0.85) / 0.1) ** 2),
             math.exp(-0.5 * ((min(tpsa, 100) - 100) / 10) ** 2), math.exp(-0.5 * ((max(logp, 1) - 1) / 1) ** 2)]
    assert Chem.MolToSmiles(x) == Chem.MolToSmiles(mol(osimertinib))
    assert tasks["osimertinib_mpo"].scorer()(x) == pytest.approx(np.prod(parts) ** 0.25)


def test_guacamol_fingerprints_are_morgan_counts():
    a, b = Chem.MolFromSmiles("CCOc1ccccc1C(=O)N"), Chem.MolFromSmiles("CCOc1ccccc1C(=O)O")
    counts = guacamol.fingerprint(a).GetNonzeroElements()
    assert max(counts.values()) > 1  # counts, not bits
    assert 0 < guacamol.tanimoto_to("CCOc1ccccc1C(=O)N")(b) < 1


def test_guacamol_benchmark_score_pads_missing_molecules_with_zeros():
    task = guacamol.TASKS["qed"]
    score, tops = task.benchmark_score({"A": 0.9, "B": 0.5})
    assert tops == {"top_1": 0.9, "top_10": pytest.approx(0.14), "top_100": pytest.approx(0.014)}
    assert score == pytest.approx((0.9 + 0.14 + 0.014) / 3)


# -- objectives -------------------------------------------------------------------------------------------------

def test_objective_terms_constraints_and_invalid_molecules():
    objective = Objective.parse(["2*qed", "-sa", "mw>=150"], ["logp<=3"])
    assert objective.terms == [(2.0, "qed"), (-1.0, "sa")]
    assert [str(c) for c in objective.constraints] == ["mw>=150", "logp<=3"]
    scored = objective.score(["CCO", "not a molecule", "", "CC(=O)Oc1ccccc1C(=O)O"])
    assert scored["valid"].tolist() == [True, False, False, True]
    assert scored["fitness"][1] == INVALID_FITNESS and scored["fitness"][2] == INVALID_FITNESS
    ethanol, aspirin = scored.iloc[0], scored.iloc[3]
    assert ethanol["score"] == pytest.approx(2 * ethanol["qed"] - ethanol["sa"])
    assert ethanol["violation"] == pytest.approx((150 - ethanol["mw"]) / 100)  # mw measured in 100 Da
    assert aspirin["violation"] == 0 and aspirin["fitness"] == pytest.approx(aspirin["score"])
    assert ethanol["fitness"] < aspirin["fitness"]  # infeasible below feasible whatever the score


def test_objective_errors_name_every_problem():
    with pytest.raises(ConfigError) as error:
        Objective.parse(["qedd", "sa<<3", "similarity"])
    message = str(error.value)
    assert "'qedd'" in message and "'sa<<3'" in message and "--similar-to" in message
    with pytest.raises(ConfigError, match="no objective"):
        Objective.parse([], ["qed>=0.5"])
    assert Objective.parse([], ["qed>=0.5"], need_objective=False).constraints


# -- the user's scorer ------------------------------------------------------------------------------------------

def _measurements(tmp_path, n=120):
    smiles = _qm9_sample(n)
    values = [Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in smiles]
    table = pd.DataFrame({"smiles": smiles + ["not-a-smiles"], "measured": values + [1.0], "id": range(n + 1)})
    path = tmp_path / "measured.csv"
    table.to_csv(path, index=False)
    return path


def _qm9_sample(n):
    import gzip

    from qmolgen.resources import datasets_dir

    with gzip.open(datasets_dir() / "qm9.smi.gz", "rt") as handle:
        return [next(handle).split()[0] for _ in range(3000)][::3000 // n][:n]


def test_scorer_data_errors_say_what_to_fix(tmp_path):
    path = _measurements(tmp_path)
    with pytest.raises(DataError, match="--scorer-column"):
        fit_surrogate(path)  # two numeric columns: which one?
    (tmp_path / "few.csv").write_text("smiles,y\nCCO,1\nxx,2\n")
    with pytest.raises(DataError, match="only 1 usable molecules with values \\(1 invalid SMILES"):
        fit_surrogate(tmp_path / "few.csv")
    with pytest.raises(DataError, match="does not exist"):
        fit_surrogate(tmp_path / "none.csv")


@pytest.mark.slow
def test_scorer_learns_measured_values_and_reports_its_cross_validated_error(tmp_path):
    surrogate = fit_surrogate(_measurements(tmp_path), "measured")
    report = surrogate.report
    assert report["invalid_smiles"] == 1 and report["used"] == 120
    assert report["cv_r2"] > 0.3 and report["cv_rmse"] < report["value_std"]  # better than predicting the mean
    objective = Objective.parse(["scorer"], scorer=surrogate)
    assert np.isfinite(objective.score(["CCCCCCO"])["scorer"][0])
    with pytest.raises(DataError, match="no `smiles` column"):
        (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
        fit_surrogate(tmp_path / "bad.csv")


# -- optimisers on a space whose best molecule is known ----------------------------------------------------------

class AlkaneSpace:
    """x -> an unbranched alkane whose length grows with x[0]; the C11H24 isomer task peaks at undecane."""

    dim = 3

    def decode(self, x: torch.Tensor) -> list[str]:
        lengths = np.clip(np.round(4 + 2 * x[:, 0].numpy()), 1, len(ALKANES)).astype(int)
        return [ALKANES[k - 1] for k in lengths]


@pytest.mark.parametrize("optimizer", ["cmaes", "ga"])
def test_optimizers_find_the_known_best_molecule(optimizer):
    objective = Objective.parse(["isomers_c11h24"])
    found = search(AlkaneSpace(), objective, optimizer, budget=1500, batch=30, seed=0)
    assert found.molecules["canonical"].iloc[0] == "CCCCCCCCCCC" and found.molecules["score"].iloc[0] == 1.0
    assert found.calls == 1500 and found.molecules["canonical"].is_unique
    assert [best for _, best in found.history] == sorted(best for _, best in found.history)


def test_random_search_is_the_baseline_and_budget_is_checked():
    assert set(OPTIMIZERS) == {"cmaes", "ga", "random"}
    objective = Objective.parse(["isomers_c11h24"])
    found = search(AlkaneSpace(), objective, "random", budget=120, batch=30, seed=0)
    assert found.molecules["score"].iloc[0] < 1.0  # undecane needs x0 in [3.25, 3.75): p = 5e-4 under the prior
    assert search(AlkaneSpace(), objective, "random", budget=10, batch=30).calls == 10  # a partial last step
    with pytest.raises(ConfigError, match="budget and batch"):
        search(AlkaneSpace(), objective, "random", budget=0)


@pytest.mark.slow
def test_circuit_space_scores_settings_by_their_molecules_and_leaves_the_model_as_trained(trained_sequence):
    from qmolgen.model import GenerativeModel
    from qmolgen.molecules.latent_search import SAMPLES_PER_CIRCUIT, MoleculeSpace

    model = GenerativeModel.load(trained_sequence)
    trained = model.generator.latent.weights.detach().clone()
    space = MoleculeSpace(model.generator, model.domain, "circuit")
    assert space.dim == trained.numel() == 16 and space.samples_per_point == SAMPLES_PER_CIRCUIT == 10
    torch.manual_seed(0)
    unchanged = space.decode(torch.zeros(1, 16))
    torch.manual_seed(0)
    with torch.no_grad():
        direct = model.domain.sample_strings(model.generator, 10)
    assert unchanged == direct  # the zero point is the trained circuit
    found = search(space, Objective.parse(["qed"]), "cmaes", budget=205, batch=4, seed=0)
    assert found.calls == 200  # whole settings of 10 molecules: 5 steps of 4, the 21st setting does not fit
    assert torch.equal(model.generator.latent.weights, trained)
    classical = GenerativeModel.load(trained_sequence)
    classical.generator.latent = GaussianLatent(8)
    with pytest.raises(ConfigError, match="has none"):
        MoleculeSpace(classical.generator, classical.domain, "circuit")


@pytest.mark.slow
def test_reward_finetuning_climbs_leaves_the_model_as_trained_and_repeats_with_its_seed(trained_sequence):
    from qmolgen.model import GenerativeModel
    from qmolgen.molecules.reward_finetune import finetune_search

    model = GenerativeModel.load(trained_sequence)
    trained = {k: v.clone() for k, v in model.generator.state_dict().items()}
    objective = Objective.parse(["qed"])
    args = (model.generator, model.domain, objective)
    found = finetune_search(*args, budget=650, seed=0, round_size=100, keep=50, epochs=4, lr=5e-3)
    assert found.calls == 650 and [c for c, _ in found.history] == [100, 200, 300, 400, 500, 600, 650]
    assert found.molecules["canonical"].is_unique and found.molecules["fitness"].is_monotonic_decreasing
    assert all(torch.equal(v, trained[k]) for k, v in model.generator.state_dict().items())
    again = finetune_search(*args, budget=650, seed=0, round_size=100, keep=50, epochs=4, lr=5e-3)
    assert again.molecules["canonical"].tolist() == found.molecules["canonical"].tolist()
    # the same sampling without learning (lr 0) is the prior: training on the pool must beat it
    unlearned = finetune_search(*args, budget=650, seed=0, round_size=100, keep=50, epochs=4, lr=0.0)
    top = lambda result: result.molecules["fitness"].head(20).mean()  # noqa: E731
    assert top(found) > top(unlearned) + 0.01, (top(found), top(unlearned))
    with pytest.raises(ConfigError, match="round size"):
        finetune_search(*args, budget=10, round_size=0)


def test_finetune_trains_on_canonical_rows_and_leaves_out_what_the_vocabulary_cannot_write():
    from qmolgen.molecules.reward_finetune import _training_rows
    from qmolgen.molecules.tokens import Vocabulary, canonical_or_none, tokenize

    vocab = Vocabulary.from_sequences([tokenize(s, "selfies") for s in ("CCO", "c1ccccc1N")], "selfies")
    codes = [torch.full((2,), float(i)) for i in range(3)]
    pool = [(0.9, "CCO", codes[0]), (0.8, "CCBr", codes[1]), (0.7, "Nc1ccccc1", codes[2])]  # Br: not in the vocab
    rows, kept = _training_rows(pool, vocab, max_length=12)
    assert torch.equal(kept, torch.stack([codes[0], codes[2]]))
    assert [canonical_or_none(s) for s in vocab.decode(rows.numpy())] == ["CCO", "Nc1ccccc1"]
    assert (rows[:, 0] == 1).all()  # <bos> first
    assert _training_rows(pool[1:2], vocab, 12) == (None, None)
    assert _training_rows(pool[2:], vocab, 3) == (None, None)  # longer than max_length


def test_finetune_refuses_a_search_space_it_does_not_use():
    from qmolgen.molecules.optimize import optimize

    with pytest.raises(ConfigError, match="space='code' does not apply"):
        optimize(None, Objective.parse(["qed"]), "finetune", "code")
    with pytest.raises(ConfigError, match="optimizer must be one of"):
        optimize(None, Objective.parse(["qed"]), "annealing")


# -- on the shipped drug-like model ------------------------------------------------------------------------------

@pytest.mark.slow
def test_optimize_command_on_the_shipped_moses_model(tmp_path):
    out = tmp_path / "best.csv"
    result = run("optimize", "moses", "--objective", "qed", "--objective", "sa<=3.5", "--budget", 300, "-n", 20,
                 "--seed", 0, "-o", out)
    assert result.exit_code == 0, result.output
    best = pd.read_csv(out)
    report = json.loads(out.with_suffix(".json").read_text())
    assert len(best) == 20 and best["smiles"].is_unique and (best["sa"] <= 3.5).all()
    assert best["score"].is_monotonic_decreasing and best["qed"].iloc[0] > 0.8
    assert report["scoring_calls"] == 300 and 0 <= report["filters_pass_rate"] <= 1
    assert run("optimize", "moses", "--objective", "qed", "--budget", 100, "-o", out).exit_code == 1  # no overwrite
    result = run("optimize", "qm9_graph", "--objective", "qed", "-o", tmp_path / "x.csv")
    assert result.exit_code == 1 and "decides the molecule" in result.output


@pytest.mark.heavy
@pytest.mark.slow
def test_conditional_generation_meets_a_rare_condition(tmp_path):
    from qmolgen.api import Synthesizer

    synth = Synthesizer.load("moses")
    plain = synth.sample(300, seed=0)
    assert (plain["qed"] >= 0.9).mean() < 0.05  # rare without conditioning
    rows = synth.sample(30, seed=0, where=["qed>=0.9"])
    report = synth._model.domain.last_conditional_report
    assert len(rows) == 30 and (rows["qed"] >= 0.9).all() and rows["valid"].all()
    assert report["method"] == "annealed SMC" and report["achieved_fraction"] == 1.0
    again = synth.sample(30, seed=0, where=["qed>=0.9"])
    assert again["smiles"].tolist() == rows["smiles"].tolist()
    out = tmp_path / "c.csv"  # a common condition: met by direct draws
    assert run("generate", "moses", "--condition", "qed>=0.6", "-n", 10, "--seed", 1, "-o", out).exit_code == 0
    assert (pd.read_csv(out)["qed"] >= 0.6).all()
    assert run("generate", "credit", "--condition", "qed>=0.6", "-n", 10).exit_code == 2
