"""Molecules as sequences: tokens, the sequence data loader, the autoencoder and the LatentGAN run."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from qmolgen.errors import DataError
from qmolgen.model import GenerativeModel
from qmolgen.molecules.domain import latent_usage
from qmolgen.molecules.pretrain import PretrainSettings, fit_sequence_model
from qmolgen.molecules.sequence_domain import spread_subset
from qmolgen.molecules.sequence_model import SequenceAutoencoder
from qmolgen.molecules.sequences import load_sequences
from qmolgen.molecules.tokens import Vocabulary, canonical_or_none, detokenize, tokenize

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def test_selfies_and_smiles_tokens_round_trip_aspirin():
    for language in ("selfies", "smiles"):
        tokens = tokenize(ASPIRIN, language)
        assert canonical_or_none(detokenize(tokens, language)) == canonical_or_none(ASPIRIN)
    assert tokenize("ClC[NH3+]Br", "smiles") == ["Cl", "C", "[NH3+]", "Br"]
    assert tokenize(ASPIRIN, "selfies")[:3] == ["[C]", "[C]", "[=Branch1]"]


@pytest.mark.parametrize("language", ["selfies", "smiles"])
def test_tokens_are_held_once_however_many_molecules_use_them(language):
    # interned: a large dataset's token lists point at a few dozen strings instead of one per occurrence
    first, second = tokenize("ClCC", language), tokenize("CCCl", language)
    assert first[0] == second[-1] and first[0] is second[-1]


def test_vocabulary_encodes_padded_rows_and_decodes_them_back():
    sequences = [tokenize(s, "selfies") for s in (ASPIRIN, "CCO", "c1ccccc1")]
    vocab = Vocabulary.from_sequences(sequences, "selfies")
    ids = vocab.encode(sequences, max(map(len, sequences)))
    assert ids.shape == (3, max(map(len, sequences)) + 2)
    assert (ids[:, 0] == 1).all() and ids[1, len(sequences[1]) + 1] == 2 and ids[1, -1] == 0
    decoded = [canonical_or_none(s) for s in vocab.decode(ids)]
    assert decoded == [canonical_or_none(s) for s in (ASPIRIN, "CCO", "c1ccccc1")]


def _write(tmp_path, lines):
    path = tmp_path / "mols.smi"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_over_long_and_unparsable_molecules_are_reported_with_line_numbers(tmp_path):
    lines = ["CCO", "CCN", "not_a_smiles", "CCCCCCCCCCCCCCCCCCCC", *["CC(C)O"] * 20]
    path = _write(tmp_path, lines)
    with pytest.raises(DataError) as error:
        load_sequences(path, max_length=10)
    message = str(error.value)
    assert "1 of 24: SMILES could not be parsed by RDKit (lines 3)" in message
    assert "1 of 24: longer than data.max_length=10 tokens (lines 4)" in message
    assert "data.skip_invalid=true" in message
    data = load_sequences(path, max_length=10, skip_invalid=True)
    assert data.report.n_used == 22 and data.max_length == 10 and data.tokens.shape == (22, 12)
    assert sorted(len(v) for v in data.split.values()) == [2, 2, 18]


def test_cached_encoding_is_compact_and_loads_back_identical(tmp_path, small_smi, monkeypatch):
    from rdkit import Chem

    from qmolgen.molecules import sequences

    # A dataset shipped with its own splits, cut down to four small files.
    rows = small_smi.read_text().split()
    names = dict(train="t.smi", valid="v.smi", test="te.smi", test_scaffolds="ts.smi")
    for k, (name, file) in enumerate(names.items()):
        (tmp_path / file).write_text("\n".join(rows[k * 50:(k + 1) * 50] + (rows[200:400] if k == 0 else [])))
    monkeypatch.setitem(sequences.SHIPPED_SPLITS, "tiny", names)
    monkeypatch.setattr(sequences, "datasets_dir", lambda: tmp_path)
    monkeypatch.setenv("QMOLGEN_CACHE_DIR", str(tmp_path / "cache"))
    first = load_sequences("tiny")  # computed and stored
    stored = [np.load(f) for f in (tmp_path / "cache").glob("sequences-*.npz")]
    assert len(stored) == 1 and stored[0]["tokens"].dtype == np.uint8
    second = load_sequences("tiny")  # read back from the cache
    assert second.smiles == first.smiles and len(set(first.smiles)) > 300
    assert second.tokens.dtype == torch.int64 and torch.equal(second.tokens, first.tokens)
    assert {k: len(v) for k, v in second.split.items()} == dict(train=250, valid=50, test=50, test_scaffolds=50)
    assert all(np.array_equal(second.split[k], first.split[k]) for k in names)
    assert second.subset("valid") == [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in rows[50:100]]


def test_graph_filter_keeps_the_graph_models_molecules_and_the_same_split(tmp_path, small_smi):
    from qmolgen.molecules.data import load_molecules

    path = _write(tmp_path, ["C[NH3+]", *small_smi.read_text().split()[:200]])
    sequences = load_sequences(path, "selfies", ["C", "N", "O", "F"], 9, "auto", graph_filter=True,
                               skip_invalid=True)
    graphs = load_molecules(path, ["C", "N", "O", "F"], 9, skip_invalid=True)
    assert sequences.report.problems == {"formal charges are not supported": [1]}
    assert sequences.subset("test") == graphs.subset("test")


def test_greedy_decoding_is_deterministic_so_one_code_is_one_molecule():
    torch.manual_seed(0)
    model = SequenceAutoencoder(vocab_size=12, code_dim=8, hidden=16).eval()
    code = torch.rand(1, 8).expand(50, -1)
    first = model.decoder.generate(50, 10, code)
    assert (first == first[0]).all()
    assert torch.equal(first, model.decoder.generate(50, 10, code))


def test_pretraining_is_cached_and_a_killed_run_resumes_to_the_same_weights(tmp_path):
    sequences = [tokenize(s, "selfies") for s in ("CCO", "CCN", "CC(C)O", "c1ccccc1", "CC(=O)O") * 20]
    vocab = Vocabulary.from_sequences(sequences, "selfies")
    tokens = torch.from_numpy(vocab.encode(sequences, max(map(len, sequences))))
    settings = PretrainSettings(epochs=2, batch_size=16, steps_per_epoch=3, seed=5)

    def build():
        torch.manual_seed(0)
        return SequenceAutoencoder(len(vocab), 8, 16)

    whole = build()
    report = fit_sequence_model("ae-test", whole, tokens, settings, {"run": "whole"}, progress=False)
    assert report["cached"] is False and report["epochs"] == 2 and len(report["history"]) == 2
    again = build()
    assert fit_sequence_model("ae-test", again, tokens, settings, {"run": "whole"}, progress=False)["cached"]
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), again.state_dict().values()))

    def crash_after_first_epoch(model):
        raise KeyboardInterrupt

    killed = build()
    with pytest.raises(KeyboardInterrupt):
        fit_sequence_model("ae-test", killed, tokens, settings, {"run": "killed"}, crash_after_first_epoch, False)
    resumed = build()
    report = fit_sequence_model("ae-test", resumed, tokens, settings, {"run": "killed"}, progress=False)
    assert report["cached"] is False and [r["epoch"] for r in report["history"]] == [1, 2]
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)


def test_latent_usage_counts_an_invalid_output_as_one_output():
    # a SMILES decoder whose one output for the fixed latent does not parse still decides the molecule
    assert latent_usage(["C1CC(", "C1CC("] * 500) == {"uniqueness_latent_fixed": 0.001, "distinct_latent_fixed": 1}
    varied = latent_usage(["CCO", "CCN", "C1CC(", "CCO"])
    assert varied == {"uniqueness_latent_fixed": 0.75, "distinct_latent_fixed": 3}


def test_trained_latent_gan_decides_the_molecule_by_its_latent(trained_sequence):
    final = json.loads((trained_sequence / "final_metrics.json").read_text())
    assert final["repair"] == "none" and final["distinct_latent_fixed"] == 1
    report = json.loads((trained_sequence / "data_report.json").read_text())
    # the share of the test split's molecules decoded back exactly: a count over that split
    assert final["validity"] > 0.5 and round(final["reconstruction_test"] * report["split"]["test"], 6).is_integer()
    assert report["language"] == "selfies" and report["autoencoder"]["epochs"] == 3
    model = GenerativeModel.load(trained_sequence)
    a, b = model.sample(100, seed=1), model.sample(100, seed=1)
    assert a.smiles.tolist() == b.smiles.tolist()
    assert a.smiles.nunique() > 1  # different latents, different molecules
    with torch.no_grad():
        latent = model.generator.latent(1).expand(20, -1)
        codes = model.generator.codes(latent)
    assert len(set(model.domain.sample_strings(model.generator, 20, fixed_latent=True))) == 1
    assert torch.allclose(codes, codes[0].expand(20, -1))


@pytest.mark.slow
def test_worker_processes_give_the_same_molecules_in_the_same_order(trained_sequence):
    """2,500 samples are three shares of codes: decoded and described by two forked workers, the table equals the
    one this process makes from the same seed, row for row (greedy decoding is deterministic)."""
    model = GenerativeModel.load(trained_sequence)
    alone = model.sample(2500, seed=4, workers=1)
    shared = model.sample(2500, seed=4, workers=2)
    assert len(shared) == 2500 and alone.smiles.nunique() > 2  # a tiny model: a few distinct molecules
    pd.testing.assert_frame_equal(alone, shared)


@pytest.mark.slow
def test_language_model_baseline_trains_samples_and_reports_no_latent(small_smi, tmp_path_factory):
    from tests.conftest import TINY_SEQUENCE, train_tiny

    folder = train_tiny(tmp_path_factory, "molecules",
                        [f"data.path={small_smi}", *TINY_SEQUENCE, "generator.kind=language_model"])
    final = json.loads((folder / "final_metrics.json").read_text())
    assert final["generator"] == "language_model" and "uniqueness_latent_fixed" not in final
    assert final["params_quantum"] == 0 and final["validity"] > 0.5
    assert len((folder / "metrics.jsonl").read_text().splitlines()) == 3  # one record per epoch
    samples = GenerativeModel.load(folder).sample(50, seed=0)
    assert samples.valid.mean() == pytest.approx(np.mean([canonical_or_none(s) is not None and "." not in s
                                                          for s in samples.smiles]))


def test_hand_stepped_decoding_agrees_with_the_teacher_forced_gru():
    """generate() steps the GRU by hand; its greedy tokens must be the argmax of nn.GRU's teacher-forced
    logits on the same tokens, for a conditional decoder and for a language model."""
    from qmolgen.molecules.sequence_model import SequenceDecoder

    torch.manual_seed(1)
    for code_dim in (6, 0):
        decoder = SequenceDecoder(vocab_size=9, code_dim=code_dim, hidden=12, layers=2).eval()
        code = torch.randn(40, 6) if code_dim else None
        tokens = decoder.generate(40, 8, code)
        full = torch.cat([torch.ones(40, 1, dtype=torch.long), tokens], dim=1)
        logits = decoder(full, code)
        logits[..., 0] = -torch.inf
        for row in range(40):
            length = int((tokens[row] != 0).sum())
            expected = logits[row, :length].argmax(-1)
            assert torch.equal(tokens[row, :length], expected)


def test_evaluate_against_a_sequence_run_scores_its_test_molecules_as_themselves(trained_sequence, tmp_path):
    """The test split scored against itself: every nearest neighbour is the molecule itself (SNN 1), the
    fragment and scaffold profiles are identical (cosine 1), and novelty counts what the train split lacks."""
    from qmolgen.molecules.evaluation import evaluate_file, reference_splits

    splits, _ = reference_splits(str(trained_sequence))
    assert set(splits) == {"train", "valid", "test"}
    test = set(splits["test"])
    novelty = len(test - set(splits["train"])) / len(test)  # QM9 repeats a few molecules: not exactly 1
    path = tmp_path / "test.smi"
    path.write_text("\n".join(splits["test"]) + "\n")
    metrics = evaluate_file(str(path), str(trained_sequence), with_fcd=False)
    assert metrics["snn/Test"] == pytest.approx(1.0) and metrics["frag/Test"] == pytest.approx(1.0)
    assert metrics["novelty"] == pytest.approx(novelty) and metrics["validity"] == 1.0
    assert metrics["unique@1k"] is None  # fewer than 1,000 molecules: undefined, not a number


def test_held_out_scores_use_molecules_spread_over_the_split_not_its_first_ones():
    split = np.arange(100, 10_100, 2)  # 5,000 sorted indices, as a split holds them
    chosen = spread_subset(split, 2000)
    assert len(chosen) == len(set(chosen)) == 2000
    assert chosen[0] == split[0] and chosen[-1] == split[-1]  # both ends of a size-sorted file are represented
    assert abs(np.median(chosen) - np.median(split)) <= 4
    assert np.array_equal(spread_subset(split[:10], 2000), split[:10])  # a small split is used whole


def test_evaluate_keep_is_checked_before_any_training():
    from qmolgen.config import load_config
    from qmolgen.errors import ConfigError
    from qmolgen.molecules.domain import MoleculeDomain
    from qmolgen.molecules.sequence_domain import SequenceMoleculeDomain

    assert SequenceMoleculeDomain(load_config("qm9")).selection_metric is None  # the default keeps the last epoch
    assert SequenceMoleculeDomain(load_config("qm9", ["evaluate.keep=best_val_fcd"])).selection_metric.key == "val_fcd"
    with pytest.raises(ConfigError, match="evaluate.keep must be one of"):
        SequenceMoleculeDomain(load_config("qm9", ["evaluate.keep=best"]))
    with pytest.raises(ConfigError, match="evaluate.fcd=false turns off"):
        MoleculeDomain(load_config("qm9_graph", ["evaluate.keep=best_val_fcd", "evaluate.fcd=false"]))
    with pytest.raises(ConfigError, match="language model trains by likelihood"):
        SequenceMoleculeDomain(load_config("qm9", ["evaluate.keep=best_val_fcd", "generator.kind=language_model"]))


@pytest.mark.slow
def test_keep_best_val_fcd_keeps_the_epoch_with_the_lowest_validation_fcd(small_smi, tmp_path_factory):
    from tests.conftest import TINY_SEQUENCE, train_tiny

    settings = [s for s in TINY_SEQUENCE if not s.startswith(("evaluate.fcd", "train.epochs"))]
    folder = train_tiny(tmp_path_factory, "molecules", [f"data.path={small_smi}", *settings, "train.epochs=4",
                                                        "evaluate.fcd=true", "evaluate.keep=best_val_fcd"])
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    fcds = [r["val_fcd"] for r in records]
    assert len(set(fcds)) == 4  # distinct epochs, so the pick is not a tie
    final = json.loads((folder / "final_metrics.json").read_text())
    assert final["selected_epoch"] == records[fcds.index(min(fcds))]["epoch"]


def test_beam_search_of_width_one_is_greedy_and_wider_beams_come_most_likely_first():
    """Width 1 is greedy decoding; with width 5 every code's beams are distinct and ordered by the summed
    log-probability the teacher-forced decoder gives them (the score beam search ranks by)."""
    from qmolgen.molecules.sequence_model import SequenceDecoder

    torch.manual_seed(2)
    decoder = SequenceDecoder(vocab_size=9, code_dim=6, hidden=12, layers=2).eval()
    code = torch.randn(30, 6)
    assert torch.equal(decoder.beam_search(code, 8, 1)[:, 0], decoder.generate(30, 8, code))
    beams = decoder.beam_search(code, 8, 5)
    assert beams.shape == (30, 5, 8)
    for row in range(30):
        tokens = torch.cat([torch.ones(5, 1, dtype=torch.long), beams[row]], dim=1)
        logits = decoder(tokens, code[row].expand(5, -1))
        logits[..., 0] = -torch.inf  # <pad> is never emitted
        logp = torch.log_softmax(logits, dim=-1)
        picked = logp.gather(2, beams[row][:, :, None])[:, :, 0]
        scores = torch.where(beams[row] != 0, picked, 0.0).sum(1)  # to <eos>; <pad> after it costs nothing
        assert (scores[:-1] >= scores[1:] - 1e-5).all()
        assert len({tuple(b.tolist()) for b in beams[row]}) == 5


def test_valid_first_beam_replaces_only_unparsable_decodes_and_keeps_one_molecule_per_code():
    from qmolgen.molecules.latent_gan import decode_codes, valid_first_beam
    from qmolgen.molecules.sequence_model import SequenceDecoder

    torch.manual_seed(0)
    vocab = Vocabulary(["C", "O", "N", "(", ")", "1", "="], "smiles")
    decoder = SequenceDecoder(vocab_size=len(vocab), code_dim=4, hidden=16, layers=1).eval()
    codes = torch.cat([torch.randn(60, 4) * 3, torch.randn(1, 4).expand(10, -1)])
    greedy = decode_codes(decoder, vocab, codes, 12)
    fixed = valid_first_beam(decoder, vocab, codes, greedy, 12, width=8)
    parses = [canonical_or_none(s) is not None for s in greedy]
    assert 0 < sum(parses) < len(greedy)  # the random decoder gives both kinds
    for before, after, ok in zip(greedy, fixed, parses):
        assert after == before if ok else (after == before or canonical_or_none(after) is not None)
    replaced = sum(a != b for a, b in zip(fixed, greedy))
    assert replaced > 0 and sum(canonical_or_none(s) is not None for s in fixed) == sum(parses) + replaced
    assert len(set(fixed[60:])) == 1  # one code, one molecule, after the fallback too
    assert fixed == decode_codes(decoder, vocab, codes, 12, beam=8)
    # stopping a code at its first parsing beam picks what the full search ranks first among its parsing beams
    full = decoder.beam_search(codes, 13, 8).numpy()
    for i, ok in enumerate(parses):
        if not ok:
            assert fixed[i] == next((s for s in vocab.decode(full[i]) if canonical_or_none(s)), greedy[i])


def test_beam_width_is_checked_and_refused_where_there_is_no_code_to_decode(trained_sequence):
    from qmolgen.errors import ConfigError
    from qmolgen.molecules.latent_gan import checked_beam

    assert checked_beam(None, "sample.beam") is None and checked_beam(0, "x") is None and checked_beam(4, "x") == 4
    for bad in (-1, 2.5, "8", True):
        with pytest.raises(ConfigError, match="sample.beam is the width"):
            checked_beam(bad, "sample.beam")
    model = GenerativeModel.load(trained_sequence)
    plain, beamed = model.sample(200, seed=3, beam=0), model.sample(200, seed=3, beam=4)
    # SELFIES decodes parse, so the fallback has nothing to replace
    assert plain.valid.all() and plain.smiles.tolist() == beamed.smiles.tolist()
    final = json.loads((trained_sequence / "final_metrics.json").read_text())
    assert final["validity_no_repair"] == final["validity"]
    with pytest.raises(ConfigError, match="graph decoder"):
        GenerativeModel.load("qm9_graph").sample(10, seed=0, beam=4)


def test_atanh_code_space_trains_on_pre_tanh_values_and_decodes_their_tanh():
    from qmolgen.config import load_config
    from qmolgen.errors import ConfigError
    from qmolgen.molecules.latent_gan import ATANH_LIMIT, CodeGenerator, critic_codes
    from qmolgen.molecules.sequence_domain import SequenceMoleculeDomain
    from qmolgen.molecules.sequence_model import SequenceDecoder
    from qmolgen.quantum.latent import GaussianLatent

    real = torch.tensor([[0.0, 0.5, -0.95, 1.0, -1.0]])
    seen = critic_codes(real, "atanh")
    assert torch.allclose(seen[0, :3], torch.atanh(real[0, :3]))
    # saturated codes (float32 tanh gives exactly +-1) are finite, at the clamp, not inf
    assert torch.allclose(seen[0, 3:], torch.tensor([1.0, -1.0]) * float(np.arctanh(ATANH_LIMIT)))
    assert torch.equal(critic_codes(real, "code"), real)

    torch.manual_seed(0)
    make = lambda space: CodeGenerator(GaussianLatent(4), 6, [16], SequenceDecoder(10, 6, 8, 1), space)
    generator, plain = make("atanh"), make("code")
    assert generator.state_dict().keys() == plain.state_dict().keys()  # one saved model layout for both
    torch.manual_seed(1)
    (pre,) = generator(50)  # what the critic and the coverage term read
    torch.manual_seed(1)
    latent = generator.latent(50)  # the same standard normal draws
    assert torch.allclose(generator.codes(latent), torch.tanh(pre))
    assert pre.abs().max() > 0 and not torch.allclose(pre, torch.tanh(pre))  # the trainer sees pre-tanh values

    assert SequenceMoleculeDomain(load_config("qm9")).code_space == "code"
    with pytest.raises(ConfigError, match="generator.code_space must be one of"):
        SequenceMoleculeDomain(load_config("qm9", ["generator.code_space=logit"]))
