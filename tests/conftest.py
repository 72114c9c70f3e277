"""Shared fixtures: a small SMILES file cut from the shipped QM9 data, so tests never parse all of QM9."""

import gzip

import pytest

from qmolgen.resources import datasets_dir


@pytest.fixture(scope="session")
def small_smi(tmp_path_factory):
    """The first 1,500 uncharged QM9 molecules with 6-9 heavy atoms, as a .smi file."""
    from rdkit import Chem

    out = tmp_path_factory.mktemp("data") / "small.smi"
    kept = []
    with gzip.open(datasets_dir() / "qm9.smi.gz", "rt") as handle:
        for line in handle:
            smi = line.split()[0]
            mol = Chem.MolFromSmiles(smi)
            if mol is not None and 6 <= mol.GetNumAtoms() and not any(a.GetFormalCharge() for a in mol.GetAtoms()):
                kept.append(smi)
            if len(kept) == 1500:
                break
    out.write_text("\n".join(kept) + "\n")
    return out


TINY_TRAIN = ["generator.decoder=graph", "train.epochs=2", "train.steps_per_epoch=6", "train.batch_size=32", "evaluate.epoch_samples=50",
              "evaluate.final_samples=200", "evaluate.fcd=false", "generator.decoder_hidden=[32,64]",
              "quantum.n_qubits=4", "quantum.n_layers=2", "critic.conv=[16,8]", "critic.aggregate=16",
              "critic.head=[16]", "seed=3"]


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Tests never read or fill the user's ~/.cache/qmolgen."""
    import os

    os.environ["QMOLGEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


def train_tiny(tmp_path_factory, recipe: str, overrides: list[str]):
    """Train `recipe` through the CLI with tiny `overrides` into a fresh folder; return the folder."""
    from click.testing import CliRunner

    from qmolgen.cli import main

    folder = tmp_path_factory.mktemp("runs") / recipe
    args = ["--quiet", "train", recipe, *overrides, "--out", str(folder)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="session")
def trained(small_smi, tmp_path_factory):
    """A run folder of the molecules recipe with the graph decoder, trained on TINY_TRAIN settings (seconds)."""
    return train_tiny(tmp_path_factory, "molecules", [f"data.path={small_smi}", *TINY_TRAIN])


TINY_SEQUENCE = ["autoencoder.epochs=3", "autoencoder.steps_per_epoch=60", "autoencoder.hidden=64", "autoencoder.lr=0.005",
                 "autoencoder.code_dim=16", "autoencoder.batch_size=64", "generator.hidden=[32]",
                 "critic.hidden=[32]", "train.epochs=2", "train.steps_per_epoch=10", "train.batch_size=32",
                 "evaluate.epoch_samples=50", "evaluate.final_samples=200", "evaluate.fcd=false",
                 "quantum.n_qubits=4", "quantum.n_layers=2", "seed=3"]


@pytest.fixture(scope="session")
def trained_sequence(small_smi, tmp_path_factory):
    """A run folder of the molecules recipe (LatentGAN: autoencoder + code GAN) on TINY_SEQUENCE settings."""
    return train_tiny(tmp_path_factory, "molecules", [f"data.path={small_smi}", *TINY_SEQUENCE])


TINY_DIGITS = ["train.epochs=2", "train.steps_per_epoch=10", "train.batch_size=32", "evaluate.epoch_samples=100",
               "evaluate.final_samples=300", "generator.decoder_hidden=[32]", "quantum.n_qubits=4",
               "quantum.n_layers=2", "critic.channels=[8,16]", "seed=3"]


@pytest.fixture(scope="session")
def trained_digits(tmp_path_factory):
    """A run folder of the digits recipe trained on TINY_DIGITS settings (seconds)."""
    return train_tiny(tmp_path_factory, "digits", TINY_DIGITS)


TINY_CREDIT = ["train.epochs=2", "train.steps_per_epoch=5", "train.batch_size=100", "evaluate.epoch_samples=200",
               "evaluate.final_samples=150", "generator.decoder_hidden=[32]", "critic.hidden=[32]",
               "quantum.n_qubits=4", "quantum.n_layers=2", "seed=3"]


@pytest.fixture(scope="session")
def trained_credit(tmp_path_factory):
    """A run folder of the credit recipe trained on TINY_CREDIT settings (seconds)."""
    return train_tiny(tmp_path_factory, "credit", TINY_CREDIT)
