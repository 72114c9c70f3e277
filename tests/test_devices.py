"""train.device: which device a run trains on, refused at config time when it is not there."""

import pytest
import torch

from qmolgen.config import load_config
from qmolgen.devices import resolve_device
from qmolgen.errors import ConfigError
from qmolgen.model import train
from qmolgen.train.wgan import TrainSettings


def test_auto_takes_a_gpu_only_when_torch_sees_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") and resolve_device(None) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("CPU") == torch.device("cpu")


def test_a_missing_or_unknown_device_is_refused_before_anything_runs(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="train.device=cuda but torch sees no GPU.*use train.device=auto or cpu"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="train.device must be auto, cpu, cuda or cuda:N; got 'tpu'"):
        TrainSettings(device="tpu").check()
    config = load_config("credit", ["train.device=cuda:1"])
    with pytest.raises(ConfigError, match="cuda:1 but torch sees no GPU"):
        train(config, out=str(tmp_path / "run"), progress=False)
    assert not (tmp_path / "run").exists()  # refused before a run folder was made

