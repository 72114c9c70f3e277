"""Differentially private critic training (DP-SGD) for the shared trainer, through Opacus.

Only the critic reads real rows, so only the critic needs DP-SGD; the generator learns from the critic's
scores alone, which is post-processing. Each critic step takes a Poisson sample of the training rows
(each row in with probability batch_size / N), computes every sampled row's own gradient of the whole
critic loss (its Wasserstein term *and* its gradient-penalty term, which also reads the row), and hands
them to Opacus's DPOptimizer, which clips each to `max_grad_norm` and adds Gaussian noise. An Opacus
accountant tracks the privacy spent.

Per-row gradients come from torch.func (vmap over grad) rather than Opacus's module hooks: the gradient
penalty differentiates the critic twice, which the hooks cannot follow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch.func import functional_call, grad, vmap

from qmolgen.errors import ConfigError

log = logging.getLogger("qmolgen")

ACCOUNTANTS = ("rdp", "prv", "gdp")
# dp_sgd: the critic trains by DP-SGD (this module). mst / aim: the GAN trains, without privacy cost, on rows
# that MST or AIM released at the recipe's epsilon (post-processing of a DP release; see tables/domain.py).
MECHANISMS = ("dp_sgd", "mst", "aim")


@dataclass
class PrivacySettings:
    """The `privacy:` section of a recipe."""

    dp: bool = False
    epsilon: float = 10.0  # target epsilon at the end of training; the noise is calibrated to reach it
    delta: float | None = None  # None = 1 / (10 N) for N training rows; must be below 1 / N
    max_grad_norm: float = 1.0  # per-row clipping bound of the critic's gradient
    accountant: str = "rdp"  # Opacus accountant: rdp | prv | gdp
    mechanism: str = "dp_sgd"  # dp_sgd | mst | aim (MECHANISMS)
    marginal_rows: int | None = None  # mst / aim: rows released to train on; null = 4 x the training rows


class PrivateCritic:
    """DP-SGD for the critic of `AdversarialTrainer`: Poisson batches, per-row clipped and noised gradients,
    privacy accounting. Rows are the privacy unit, so the critic must score one row at a time (pack = 1).

    Args:
        settings: the recipe's privacy section (with dp true).
        critic: the critic network (its parameters get per-row gradients).
        n_rows: training rows N (the sampling rate is batch_size / N).
        batch_size: expected batch size.
        total_steps: critic steps the whole run will take (the noise is calibrated for them).
    """

    def __init__(self, settings: PrivacySettings, critic: torch.nn.Module, n_rows: int, batch_size: int,
                 total_steps: int):
        from opacus.accountants import create_accountant
        from opacus.accountants.utils import get_noise_multiplier

        problems = []
        if getattr(critic, "pack", 1) != 1:
            problems.append(f"critic.pack is {critic.pack}: with privacy.dp=true the critic must score single rows "
                            "(a packed group mixes rows, so clipping one gradient would not bound one row's "
                            "influence); set critic.pack=1 (the credit_dp recipe does)")
        if settings.accountant not in ACCOUNTANTS:
            problems.append(f"privacy.accountant must be one of {ACCOUNTANTS}; got {settings.accountant!r}")
        if not settings.epsilon or settings.epsilon <= 0:
            problems.append(f"privacy.epsilon must be > 0; got {settings.epsilon}")
        if settings.max_grad_norm <= 0:
            problems.append(f"privacy.max_grad_norm must be > 0; got {settings.max_grad_norm}")
        try:
            delta = resolve_delta(settings.delta, n_rows)
        except ConfigError as exc:
            problems.append(str(exc))
        if batch_size >= n_rows:
            problems.append(f"train.batch_size ({batch_size}) must be below the {n_rows} training rows for "
                            "Poisson sampling to give any privacy amplification")
        if problems:
            raise ConfigError("privacy.dp=true: " + "; ".join(problems))
        self.settings, self.critic, self.delta = settings, critic, delta
        self.sample_rate = batch_size / n_rows
        self.batch_size, self.total_steps = batch_size, total_steps
        self.noise_multiplier = get_noise_multiplier(target_epsilon=settings.epsilon, target_delta=delta,
                                                     sample_rate=self.sample_rate, steps=total_steps,
                                                     accountant=settings.accountant)
        self.accountant = create_accountant(settings.accountant)
        log.info("DP-SGD on the critic: noise multiplier %.3f, clipping %.3g, sample rate %.4f, %d steps "
                 "for epsilon %.3g at delta %.3g (%s accountant)", self.noise_multiplier, settings.max_grad_norm,
                 self.sample_rate, total_steps, settings.epsilon, delta, settings.accountant)

    def wrap(self, optimizer: torch.optim.Optimizer):
        """The critic's optimizer as an Opacus DPOptimizer (clipping, noise, averaging over the expected batch)."""
        from opacus.optimizers import DPOptimizer

        return DPOptimizer(optimizer, noise_multiplier=self.noise_multiplier, max_grad_norm=self.settings.max_grad_norm,
                           expected_batch_size=self.batch_size, loss_reduction="mean")

    def batch_indices(self, n_rows: int) -> torch.Tensor:
        """A Poisson sample: each row independently with probability sample_rate (the batch size varies)."""
        return torch.nonzero(torch.rand(n_rows) < self.sample_rate).squeeze(1)

    def critic_step(self, optimizer, real: tuple, fake: tuple, gp_weight: float) -> dict:
        """One DP-SGD step of the critic on a Poisson batch `real` paired with as many generated `fake` rows."""
        params = {name: p.detach() for name, p in self.critic.named_parameters()}

        def score(p, *rows):
            return functional_call(self.critic, p, tuple(r.unsqueeze(0) for r in rows)).squeeze()

        def row_loss(p, real_row, fake_row, alpha):
            mixed = tuple(alpha * r + (1 - alpha) * f for r, f in zip(real_row, fake_row))
            slopes = grad(lambda *x: score(p, *x), argnums=tuple(range(len(mixed))))(*mixed)
            penalty = (torch.cat([s.reshape(-1) for s in slopes]).norm() - 1) ** 2
            distance = score(p, *real_row) - score(p, *fake_row)
            return -distance + gp_weight * penalty, (distance, penalty)

        batch = len(real[0])
        optimizer.zero_grad(set_to_none=True)
        if batch == 0:  # an empty Poisson sample still takes its (noise-only) step and is accounted for
            for p in self.critic.parameters():
                p.grad_sample = torch.zeros(1, *p.shape)
            distance = penalty = torch.zeros(1)
        else:
            alpha = torch.rand(batch)
            per_row, (distance, penalty) = vmap(grad(row_loss, has_aux=True), in_dims=(None, 0, 0, 0))(
                params, real, fake, alpha)
            for name, p in self.critic.named_parameters():
                p.grad_sample = per_row[name]
        optimizer.step()
        self.accountant.step(noise_multiplier=self.noise_multiplier, sample_rate=self.sample_rate)
        loss = -distance.mean() + gp_weight * penalty.mean()
        return {"loss_critic": loss.item(), "wasserstein": distance.mean().item(), "gp": penalty.mean().item(),
                "batch_rows": float(batch)}

    def epsilon(self) -> float:
        """The epsilon spent so far at this run's delta (0 before the first step)."""
        return float(self.accountant.get_epsilon(self.delta)) if self.accountant.history else 0.0

    def report(self) -> dict:
        """What the run spent and how it was accounted, for final_metrics.json."""
        steps = sum(h[2] for h in self.accountant.history)
        return {"dp": True, "epsilon": round(self.epsilon(), 4), "delta": self.delta,
                "target_epsilon": self.settings.epsilon, "accountant": self.settings.accountant,
                "noise_multiplier": round(self.noise_multiplier, 4), "max_grad_norm": self.settings.max_grad_norm,
                "sample_rate": self.sample_rate, "steps": steps, "sampling": "poisson",
                "unit": "one training row", "library": "opacus"}

    def state_dict(self) -> dict:
        """The accountant's history, for checkpoints."""
        return {"history": [list(h) for h in self.accountant.history]}

    def load_state_dict(self, state: dict) -> None:
        """Restore the accountant's history from a checkpoint."""
        self.accountant.history = [tuple(h) for h in state["history"]]


def private_critic(section: dict | None, critic: torch.nn.Module, n_rows: int, batch_size: int,
                   total_steps: int) -> PrivateCritic | None:
    """The PrivateCritic a recipe's `privacy:` section asks for, or None (no section, or dp false)."""
    settings = privacy_settings(section)
    if settings is None or settings.mechanism != "dp_sgd":
        return None
    return PrivateCritic(settings, critic, n_rows, batch_size, total_steps)


def resolve_delta(delta: float | None, n_rows: int) -> float:
    """privacy.delta, or 1/(10 N) when null, for N training rows.

    Raises:
        ConfigError: delta outside (0, 1/N), where DP protects nobody in particular.
    """
    delta = delta if delta is not None else 1 / (10 * n_rows)
    if not 0 < delta < 1 / n_rows:
        raise ConfigError(f"privacy.delta must be in (0, 1/N) = (0, {1 / n_rows:.3g}) for N = {n_rows} training "
                          f"rows; got {delta} (null picks 1/(10 N))")
    return delta


def privacy_settings(section: dict | None) -> PrivacySettings | None:
    """The recipe's `privacy:` section, checked; None when there is none or dp is false."""
    if not section:
        return None
    try:
        settings = PrivacySettings(**section)
    except TypeError as exc:
        raise ConfigError(f"privacy section: {exc}") from exc
    if settings.mechanism not in MECHANISMS:
        raise ConfigError(f"privacy.mechanism must be one of {MECHANISMS}; got {settings.mechanism!r}")
    return settings if settings.dp else None
