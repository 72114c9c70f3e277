"""Differentially private critic training (privacy.dp): per-row gradients, calibration, accounting, errors."""

import json

import pytest
import torch

from qmolgen.errors import ConfigError
from qmolgen.tables.networks import RowCritic
from qmolgen.train.privacy import PrivacySettings, PrivateCritic
from tests.conftest import TINY_CREDIT, train_tiny


def row_loss_by_autograd(critic, real_row, fake_row, alpha, gp_weight):
    """One row's critic loss (Wasserstein term + gradient penalty) and its gradient, the slow plain way."""
    mixed = (alpha * real_row + (1 - alpha) * fake_row).unsqueeze(0).requires_grad_(True)
    slope, = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    penalty = (slope.norm() - 1) ** 2
    loss = -(critic(real_row[None]).sum() - critic(fake_row[None]).sum()) + gp_weight * penalty
    return torch.autograd.grad(loss, list(critic.parameters()))


def test_per_row_gradients_match_autograd_row_by_row():
    torch.manual_seed(0)
    critic = RowCritic(6, [16, 8])
    private = PrivateCritic(PrivacySettings(dp=True, epsilon=5.0), critic, n_rows=1000, batch_size=50,
                            total_steps=10)
    captured = {}

    class Capture:  # stands in for the DPOptimizer: keeps the per-row gradients it is handed
        def zero_grad(self, set_to_none=True):
            pass

        def step(self):
            captured.update({name: p.grad_sample.clone() for name, p in critic.named_parameters()})

    real, fake = torch.randn(5, 6), torch.randn(5, 6)
    torch.manual_seed(1)
    out = private.critic_step(Capture(), (real,), (fake,), gp_weight=10.0)
    torch.manual_seed(1)
    alpha = torch.rand(5)  # the same interpolation weights the step drew
    for i in range(5):
        expected = row_loss_by_autograd(critic, real[i], fake[i], alpha[i], 10.0)
        for (name, _), grad in zip(critic.named_parameters(), expected):
            assert torch.allclose(captured[name][i], grad, atol=1e-5), name
    assert out["batch_rows"] == 5 and out["gp"] >= 0


@pytest.mark.slow
def test_noise_is_calibrated_to_the_target_and_the_accountant_agrees():
    critic = RowCritic(4, [8])
    private = PrivateCritic(PrivacySettings(dp=True, epsilon=3.0), critic, n_rows=2000, batch_size=100,
                            total_steps=200)
    assert private.delta == pytest.approx(1 / 20000) and private.sample_rate == pytest.approx(0.05)
    optimizer = private.wrap(torch.optim.SGD(critic.parameters(), lr=0.01))
    for _ in range(200):
        batch = len(private.batch_indices(2000))
        private.critic_step(optimizer, (torch.randn(batch, 4),), (torch.randn(batch, 4),), gp_weight=10.0)
    spent = private.report()
    assert spent["steps"] == 200 and 2.7 < spent["epsilon"] <= 3.0 + 0.05
    # Fewer steps spend less; resuming from the saved history continues the same account.
    again = PrivateCritic(PrivacySettings(dp=True, epsilon=3.0), critic, 2000, 100, 200)
    again.load_state_dict(json.loads(json.dumps(private.state_dict())))
    assert again.epsilon() == pytest.approx(private.epsilon())


def test_poisson_batches_vary_around_the_expected_size():
    private = PrivateCritic(PrivacySettings(dp=True), RowCritic(4, [8]), n_rows=10000, batch_size=500,
                            total_steps=10)
    sizes = [len(private.batch_indices(10000)) for _ in range(50)]
    assert len(set(sizes)) > 10 and 450 < sum(sizes) / len(sizes) < 550


@pytest.mark.parametrize("settings, pack, message", [
    (PrivacySettings(dp=True), 10, "critic.pack=1"),
    (PrivacySettings(dp=True, delta=0.01), 1, r"privacy.delta must be in \(0, 1/N\)"),
    (PrivacySettings(dp=True, epsilon=0), 1, "privacy.epsilon must be > 0"),
    (PrivacySettings(dp=True, accountant="moments"), 1, "privacy.accountant must be one of"),
])
def test_settings_that_would_break_the_guarantee_are_refused(settings, pack, message):
    with pytest.raises(ConfigError, match=message):
        PrivateCritic(settings, RowCritic(4, [8], pack=pack), n_rows=1000, batch_size=100, total_steps=10)


@pytest.mark.slow
def test_credit_dp_run_reports_what_it_spent(tmp_path_factory):
    folder = train_tiny(tmp_path_factory, "credit_dp", [*TINY_CREDIT, "privacy.epsilon=4"])
    final = json.loads((folder / "final_metrics.json").read_text())
    spent = final["privacy"]
    assert spent["dp"] and spent["accountant"] == "rdp" and spent["sampling"] == "poisson"
    assert spent["steps"] == 10 and 3.5 < spent["epsilon"] <= 4.05
    assert spent["delta"] < 1 / 2227  # N = the training rows (half the table is held out)
    epochs = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert epochs[0]["epsilon"] < epochs[1]["epsilon"] == pytest.approx(spent["epsilon"], abs=1e-3)
    # SDMetrics quality is the mean of its two properties
    assert final["quality"] == pytest.approx((final["column_shapes"] + final["column_pair_trends"]) / 2, abs=1e-6)


@pytest.mark.slow
def test_a_private_run_resumed_from_its_checkpoint_ends_as_an_uninterrupted_one(tmp_path):
    from qmolgen.quantum.latent import GaussianLatent
    from qmolgen.runs import TRAINING_FORMAT, load_checkpoint, save_checkpoint
    from qmolgen.tables.networks import MLPRowDecoder, RowGenerator
    from qmolgen.tables.transforms import Span
    from qmolgen.train.wgan import AdversarialTrainer, TrainSettings

    spans = [Span("x", "tanh", 1), Span("c", "softmax", 3)]
    data = (torch.rand(200, 4),)

    def trainer(epochs):
        torch.manual_seed(0)
        generator = RowGenerator(GaussianLatent(4), MLPRowDecoder(4, spans, [8], 0.2))
        critic = RowCritic(4, [8])
        settings = TrainSettings(epochs=epochs, batch_size=20, n_critic=2, steps_per_epoch=5)
        privacy = PrivateCritic(PrivacySettings(dp=True), critic, n_rows=200, batch_size=20, total_steps=10)
        return AdversarialTrainer(generator, critic, settings, lambda batch: batch, progress=False, privacy=privacy)

    straight = trainer(2)
    straight.fit(data)
    killed = trainer(1)  # stopped after its first epoch
    killed.fit(data)
    save_checkpoint({"trainer": killed.state_dict()}, tmp_path / "last.pt", TRAINING_FORMAT)
    resumed = trainer(2)
    resumed.load_state_dict(load_checkpoint(tmp_path / "last.pt", TRAINING_FORMAT)["trainer"])
    resumed.fit(data)
    assert resumed.privacy.epsilon() == pytest.approx(straight.privacy.epsilon())
    assert straight.privacy.epsilon() > killed.privacy.epsilon()
    for name, weight in straight.generator.state_dict().items():
        assert torch.equal(resumed.generator.state_dict()[name], weight), name
