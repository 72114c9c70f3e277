import pickle

import pytest
import torch

from qmolgen.errors import CheckpointError, OutputExistsError
from qmolgen.outputs import atomic_path, write_text
from qmolgen.runs import MODEL_FORMAT, TRAINING_FORMAT, load_checkpoint, save_checkpoint


class Payload:
    """Unpickling this creates the file `sentinel`: proof that a load ran code from the file."""

    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


def test_checkpoint_round_trip_and_kind_check(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint({"config": {"a": [1, 2]}, "generator": {"w": torch.ones(3)}}, path, MODEL_FORMAT)
    loaded = load_checkpoint(path, MODEL_FORMAT)
    assert loaded["config"] == {"a": [1, 2]} and torch.equal(loaded["generator"]["w"], torch.ones(3))
    assert loaded["versions"]["torch"] == torch.__version__
    with pytest.raises(CheckpointError, match="expected a qmolgen-training-state"):
        load_checkpoint(path, TRAINING_FORMAT)


def test_truncated_foreign_and_malicious_files_are_refused(tmp_path):
    good = tmp_path / "good.pt"
    save_checkpoint({"generator": {"w": torch.ones(100)}}, good, MODEL_FORMAT)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(truncated, MODEL_FORMAT)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.ones(2)}}, foreign)
    with pytest.raises(CheckpointError, match="not a qmolgen checkpoint"):
        load_checkpoint(foreign, MODEL_FORMAT)
    sentinel = tmp_path / "payload-ran"
    for name, write in (("pickle", lambda path: path.write_bytes(pickle.dumps(Payload(sentinel)))),
                        ("torch", lambda path: torch.save({"format": MODEL_FORMAT, "w": Payload(sentinel)}, path))):
        malicious = tmp_path / f"malicious-{name}.pt"
        write(malicious)
        with pytest.raises(CheckpointError, match="holds objects a qmolgen checkpoint never contains; refusing"):
            load_checkpoint(malicious, MODEL_FORMAT)
        assert not sentinel.exists(), f"loading the {name} payload ran its code"
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt", MODEL_FORMAT)


def test_outputs_are_never_overwritten_without_force_and_never_half_written(tmp_path):
    path = tmp_path / "out.csv"
    write_text(path, "first")
    with pytest.raises(OutputExistsError, match="--force"):
        write_text(path, "second")
    with pytest.raises(RuntimeError):
        with atomic_path(path, force=True) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("crash while writing")
    assert path.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_outputs_get_ordinary_file_permissions(tmp_path):
    import os

    path = tmp_path / "shared.csv"
    write_text(path, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
