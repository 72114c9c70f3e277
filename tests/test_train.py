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


@pytest.mark.slow
def test_monitoring_settings_do_not_change_the_trained_weights(small_smi, tmp_path_factory):
    """Per-epoch evaluation samples under its own random state: more or fewer monitoring samples, or none of
    the molecule metrics' randomness, must leave the trained generator bit-identical."""
    import torch

    from tests.conftest import TINY_SEQUENCE, train_tiny

    weights = []
    for samples in (30, 120):
        folder = train_tiny(tmp_path_factory, "molecules", [f"data.path={small_smi}", *TINY_SEQUENCE,
                                                             f"evaluate.epoch_samples={samples}"])
        weights.append(torch.load(folder / "model.pt", weights_only=True)["generator"])
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
