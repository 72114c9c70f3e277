"""The image domain: digits data and array checks, the shipped classifier, metrics, networks, and the CLI."""

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from qmolgen.cli import main
from qmolgen.errors import ConfigError, DataError
from qmolgen.images.classifier import SHIPPED_DIGEST, classify, load_classifier, train_classifier, weights_digest
from qmolgen.images.data import check_images, load_images, read_images
from qmolgen.images.metrics import evaluate_images
from qmolgen.images.networks import BornImageDecoder, ImageCritic


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def digits():
    return load_images()


def test_digits_split_is_fixed_stratified_and_scaled(digits):
    assert digits.images.shape == (1797, 8, 8) and digits.images.dtype == np.float32
    assert digits.images.min() == 0 and digits.images.max() == 1
    train, test = digits.split["train"], digits.split["test"]
    assert len(train) == 1437 and len(test) == 360 and not set(train) & set(test)
    test_counts = np.bincount(digits.labels[test], minlength=10)
    assert test_counts.min() >= 35 and test_counts.max() <= 37  # each class in its own proportion
    assert np.array_equal(load_images().split["test"], test)


def test_image_arrays_are_checked_with_a_way_to_fix_them(tmp_path):
    ok = np.random.default_rng(0).random((5, 64))
    assert check_images(ok, "x").shape == (5, 8, 8)
    assert check_images(ok.reshape(5, 1, 8, 8), "x").shape == (5, 8, 8)
    with pytest.raises(DataError, match=r"shaped \(N, 8, 8\).*got shape \(5, 28, 28\)"):
        check_images(np.zeros((5, 28, 28)), "x")
    with pytest.raises(DataError, match="divide by 16"):
        check_images(np.full((2, 8, 8), 16.0), "x")
    with pytest.raises(DataError, match=r"must lie in \[0, 1\]; found -1"):
        check_images(np.full((2, 8, 8), -1.0), "x")
    nan = np.zeros((3, 8, 8))
    nan[1, 2, 2] = np.nan
    with pytest.raises(DataError, match="1 of 3 images contain NaN"):
        check_images(nan, "x")
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="not a plain numeric .npy"):
        read_images(pickled)
    with pytest.raises(DataError, match="no images"):
        check_images(np.zeros((0, 8, 8)), "x")


def test_shipped_classifier_is_the_recorded_one_and_accurate(digits):
    model = load_classifier()
    assert weights_digest(model.state_dict()) == SHIPPED_DIGEST
    test_images, test_labels = digits.subset("test")
    features, probs = classify(model, test_images)
    assert features.shape == (360, 64)
    assert (probs.argmax(1) == test_labels).mean() >= 0.97


def test_classifier_training_is_deterministic(digits):
    images, labels = digits.subset("train")
    first = train_classifier(images[:300], labels[:300], epochs=1)
    second = train_classifier(images[:300], labels[:300], epochs=1)
    assert weights_digest(first.state_dict()) == weights_digest(second.state_dict())


def test_real_digits_score_near_the_floor_and_a_collapsed_set_is_caught(digits):
    train, _ = digits.subset("train")
    test, test_labels = digits.subset("test")
    real = evaluate_images(train, test)
    assert real["fid"] < 5 and real["classes_covered"] == 10 and real["class_kl"] < 0.01
    assert real["coverage"] > 0.8 and real["mode_collapse_rate"] == pytest.approx(1 - real["coverage"])
    one_digit = np.repeat(test[test_labels == 3][:1], 2000, axis=0)
    collapsed = evaluate_images(one_digit, test)
    assert collapsed["classes_covered"] == 1 and collapsed["mode_collapse_rate"] > 0.9
    assert collapsed["class_kl"] == pytest.approx(math.log(360 / np.sum(test_labels == 3)), abs=0.05)
    noise = evaluate_images(np.random.default_rng(0).random((2000, 8, 8)).astype(np.float32), test)
    assert noise["fid"] > 20 * real["fid"] and noise["confident_share"] < real["confident_share"]


def test_born_decoder_post_selects_and_rescales_each_patch():
    decoder = BornImageDecoder(patch_qubits=5, n_ancillas=1, n_patches=4)
    probs = torch.zeros(1, 4 * 32)
    probs[0, 0::2] = torch.arange(64, dtype=torch.float) + 1  # ancilla |0>: kept
    probs[0, 1::2] = 1000.0  # ancilla |1>: discarded
    probs = (probs.view(1, 4, 32) / probs.view(1, 4, 32).sum(-1, keepdim=True)).view(1, -1)  # Born: sum 1
    pixels = decoder(probs).flatten()
    expected = (torch.arange(64, dtype=torch.float) + 1).view(4, 16)
    assert torch.allclose(pixels, (expected / expected.amax(1, keepdim=True)).flatten(), atol=1e-6)
    with pytest.raises(ConfigError, match=r"quantum.patch_ancillas must be >= 0 and < quantum.patch_qubits \(5\)"):
        BornImageDecoder(5, 5, 4)


def test_packed_critic_scores_groups():
    critic = ImageCritic([8, 16], pack=4)
    assert critic(torch.rand(12, 8, 8)).shape == (3,)


def test_digits_run_writes_its_outputs_and_image_metrics(trained_digits):
    for name in ("model.pt", "final_metrics.json", "training_curves.png", "samples.png", "metrics.jsonl"):
        assert (trained_digits / name).is_file(), name
    final = json.loads((trained_digits / "final_metrics.json").read_text())
    assert final["n_samples"] == 300 and final["params_quantum"] == 16
    assert final["fid"] > final["fid_floor"] > 0 and isinstance(final["classes_covered"], int)
    assert final["mode_collapse_rate"] == pytest.approx(1 - final["coverage"])
    report = json.loads((trained_digits / "data_report.json").read_text())
    assert report["split"] == {"train": 1437, "test": 360}


def test_generate_writes_grid_and_array_and_evaluate_reads_it(trained_digits, tmp_path):
    out = tmp_path / "grid.png"
    result = run("generate", trained_digits, "-n", 64, "-o", out, "--seed", 5)
    assert result.exit_code == 0, result.output
    array = np.load(tmp_path / "grid.npy")
    assert array.shape == (64, 8, 8) and 0 <= array.min() and array.max() <= 1
    from PIL import Image

    assert Image.open(out).size == (8 * 73, 8 * 73)  # 8 per row, 8 px + 1 px gap, drawn 8x
    run("generate", trained_digits, "-n", 64, "-o", tmp_path / "again.npy", "--seed", 5)
    assert np.array_equal(np.load(tmp_path / "again.npy"), array)  # same seed, same images
    result = run("evaluate", tmp_path / "grid.npy", "-o", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["n_samples"] == 64 and metrics["n_reference"] == 360 and metrics["fid"] > 0
    assert "FID (digits classifier)" in result.output


def test_image_input_errors_are_explained(trained_digits, trained, tmp_path):
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((4, 28, 28)))
    result = run("evaluate", wrong)
    assert result.exit_code == 1 and "shape (4, 28, 28)" in result.output and "Traceback" not in result.output
    raw = tmp_path / "raw.npy"
    np.save(raw, np.full((4, 8, 8), 12.0))
    result = run("evaluate", raw)
    assert result.exit_code == 1 and "divide by 16" in result.output
    fine = tmp_path / "fine.npy"
    np.save(fine, np.zeros((4, 8, 8)))
    result = run("evaluate", fine, "--reference", trained)  # a molecules run as the reference
    assert result.exit_code == 1 and "molecules" in result.output and "--reference digits" in result.output
    result = run("generate", trained_digits, "-n", 4)
    assert result.exit_code == 1 and "-o grid.png" in result.output
    result = run("generate", trained_digits, "-n", 4, "-o", tmp_path / "x.csv")
    assert result.exit_code == 1 and ".png" in result.output
    (tmp_path / "keep.npy").write_text("keep me")
    result = run("generate", trained_digits, "-n", 4, "-o", tmp_path / "keep.png")
    assert result.exit_code == 1 and "--force" in result.output
    assert (tmp_path / "keep.npy").read_text() == "keep me" and not (tmp_path / "keep.png").exists()
    result = run("train", "digits", "data.path=mnist", "--out", tmp_path / "r")
    assert result.exit_code == 1 and "data.path=digits" in result.output


def test_shipped_pretrained_digits_model_draws_every_digit(tmp_path):
    out = tmp_path / "digits.npy"
    result = run("--quiet", "generate", "digits", "-n", 1000, "-o", out, "--seed", 0)
    assert result.exit_code == 0, result.output
    images = read_images(out)
    test, _ = load_images().subset("test")
    metrics = evaluate_images(images, test)
    assert metrics["classes_covered"] == 10 and metrics["fid"] < 15 and metrics["coverage"] > 0.9
