"""The shared trainer's optimiser setup."""

import pytest
import torch

from qmolgen.config import load_config
from qmolgen.images.domain import build_generator
from qmolgen.train.wgan import TrainSettings, generator_groups


@pytest.mark.parametrize("kind,circuit_params", [("hybrid", 48), ("quantum_patch", 120), ("classical", 0)])
def test_circuit_angles_get_their_own_learning_rate(kind, circuit_params):
    generator = build_generator(load_config("digits", [f"generator.kind={kind}"]))
    groups = generator_groups(generator, TrainSettings(lr_generator=2e-4, lr_quantum=0.01))
    optimiser = torch.optim.Adam(groups, lr=2e-4)
    rates = {g["lr"]: sum(p.numel() for p in g["params"]) for g in optimiser.param_groups}
    total = sum(p.numel() for p in generator.parameters())
    expected = {0.01: circuit_params, 2e-4: total - circuit_params}
    assert rates == {lr: n for lr, n in expected.items() if n}  # the patch GAN has no classical group
    single = generator_groups(generator, TrainSettings(lr_generator=2e-4, lr_quantum=None))
    assert len(single) == 1 and sum(p.numel() for p in single[0]["params"]) == total
