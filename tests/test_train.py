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


def test_the_weight_average_is_what_is_monitored_and_kept():
    import torch
    from torch import nn

    from qmolgen.errors import ConfigError
    from qmolgen.train.wgan import AdversarialTrainer, TrainSettings

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))

        def forward(self, batch: int):
            return (self.net(torch.randn(batch, 2)),)

    torch.manual_seed(0)
    data = (torch.randn(256, 2) * 0.5 + 2,)
    seen = []

    def evaluate(generator):
        seen.append({k: v.clone() for k, v in generator.state_dict().items()})
        return {}

    settings = TrainSettings(epochs=2, batch_size=32, n_critic=1, lr_generator=0.01, lr_critic=0.01, ema=0.9,
                             steps_per_epoch=20)
    generator = Generator()
    checkpoints = []  # what a checkpoint holds at the end of each epoch: the live weights and the average
    trainer = AdversarialTrainer(generator, nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1)),
                                 settings, lambda b: b, evaluate,
                                 lambda t, record: checkpoints.append(
                                     {k: v.clone() for k, v in t.state_dict()["generator"].items()}),
                                 progress=False)
    trainer.fit(data)
    kept = generator.state_dict()
    for name in ("net.0.weight", "net.2.bias"):
        assert torch.equal(kept[name], trainer.averaged[name]) and torch.equal(seen[-1][name], kept[name])
        assert not torch.equal(kept[name], checkpoints[-1][name])  # the average, not the last step's weights
    assert torch.equal(kept["net.1.running_mean"], trainer.averaged["net.1.running_mean"])
    with pytest.raises(ConfigError, match="train.ema must be between 0 and 1"):
        TrainSettings(ema=1.0).check()


def test_coverage_distance_is_each_real_samples_nearest_generated_one():
    from qmolgen.train.wgan import AdversarialTrainer

    real = (torch.tensor([[0.0, 0.0], [10.0, 0.0]]),)
    pool = (torch.tensor([[1.0, 0.0], [0.0, 0.0], [9.0, 0.0], [50.0, 50.0]]),)
    assert AdversarialTrainer._coverage_distance(real, pool).item() == pytest.approx((0 + 1) / 2)


def test_the_coverage_term_reaches_a_cluster_the_critic_lets_the_generator_drop():
    """Data in two clusters, three quarters in one: the plain GAN, in these steps, puts nothing near the small
    cluster; with the coverage term every point of it has a generated sample close by."""
    from torch import nn

    from qmolgen.errors import ConfigError
    from qmolgen.train.wgan import AdversarialTrainer, TrainSettings

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))

        def forward(self, batch: int):
            return (self.net(torch.randn(batch, 2)),)

    torch.manual_seed(0)
    small_cluster = torch.randn(128, 2) * 0.1 + torch.tensor([6.0, 6.0])
    data = torch.cat([torch.randn(384, 2) * 0.1, small_cluster])
    gap = {}
    for coverage in (None, 1.0):
        torch.manual_seed(1)
        generator = Generator()
        critic = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 1))
        settings = TrainSettings(epochs=1, batch_size=64, n_critic=2, lr_generator=0.003, lr_critic=0.003,
                                 steps_per_epoch=300, coverage=coverage)
        records = AdversarialTrainer(generator, critic, settings, lambda b: b, progress=False).fit((data,))
        assert ("coverage" in records[0]) == (coverage is not None)
        with torch.no_grad():
            samples = generator(2000)[0]
        gap[coverage] = torch.cdist(small_cluster, samples).min(dim=1).values.mean().item()
    assert gap[None] > 2.0 and gap[1.0] < 0.5, gap  # measured: 4.5 and 0.07
    with pytest.raises(ConfigError, match="train.coverage must be > 0"):
        TrainSettings(coverage=0).check()
    with pytest.raises(ConfigError, match="privacy accounting"):
        AdversarialTrainer(Generator(), critic, TrainSettings(coverage=1.0), lambda b: b, privacy=object())
