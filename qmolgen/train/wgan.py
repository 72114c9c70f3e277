"""WGAN-GP training loop, shared by every domain.

A domain supplies three things: the real data as a tensor dataset, a function that turns a batch of it
into critic inputs (a tuple of tensors), and an evaluation callback run after every epoch. Generators are
called as `generator(batch_size) -> tuple of tensors` and critics as `critic(*tensors) -> scores`; a
critic with `pack = k` scores groups of k samples (PacGAN), and the gradient penalty is taken per group.
With a `PrivateCritic` (train/privacy.py) the critic is trained by DP-SGD on Poisson-sampled batches instead.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
from tqdm.auto import tqdm

from qmolgen.devices import module_device, on_cpu, resolve_device
from qmolgen.errors import ConfigError
from qmolgen.quantum.latent import is_circuit_parameter
from qmolgen.train.privacy import PrivateCritic

log = logging.getLogger("qmolgen")

# train.coverage: generated samples per real one that the real sample's nearest is sought among. More candidates
# pull fewer of them, and only the nearest, so the rest stay free for the critic's loss
COVERAGE_POOL = 4


@dataclass
class TrainSettings:
    """The `train:` section of a recipe."""

    epochs: int = 10
    batch_size: int = 128
    n_critic: int = 5
    lr_generator: float = 1e-3
    lr_critic: float = 1e-3
    lr_quantum: float | None = None  # circuit angles; None = lr_generator. Angles need far larger steps than weights
    beta1: float = 0.5
    beta2: float = 0.9
    gp_weight: float = 10.0
    steps_per_epoch: int | None = None  # critic steps per epoch; None = one pass over the training data
    ema: float | None = None  # decay of an exponential moving average of the generator's weights per generator
    #                           step (e.g. 0.99); the average is what is monitored and saved. None = off
    coverage: float | None = None  # weight of a coverage term in the generator's loss: each real sample of the
    #                                last critic batch pulls the nearest of COVERAGE_POOL x batch generated samples
    #                                (IMLE, Li & Malik 2018), so regions of the data the critic lets the generator
    #                                drop are still reached. None = off; not with privacy (it reads real data)
    device: str = "auto"  # auto: CUDA when torch sees a GPU, else the CPU; or cpu, cuda, cuda:N (qmolgen/devices.py)

    def check(self) -> None:
        """Raises ConfigError naming every out-of-range setting."""
        problems = [f"train.{k} must be >= 1; got {getattr(self, k)}"
                    for k in ("epochs", "batch_size", "n_critic") if getattr(self, k) < 1]
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            problems.append(f"train.steps_per_epoch must be >= 1 or null; got {self.steps_per_epoch}")
        if self.ema is not None and not 0 < self.ema < 1:
            problems.append(f"train.ema must be between 0 and 1 (e.g. 0.99) or null; got {self.ema}")
        if self.coverage is not None and not self.coverage > 0:
            problems.append(f"train.coverage must be > 0 (e.g. 1.0) or null; got {self.coverage}")
        try:
            resolve_device(self.device)
        except ConfigError as exc:
            problems.append(str(exc))
        if problems:
            raise ConfigError("; ".join(problems))


def generator_groups(generator, settings: TrainSettings) -> list[dict]:
    """Optimiser parameter groups: circuit angles at settings.lr_quantum (when set), the rest at lr_generator."""
    named = list(generator.named_parameters())
    circuit = [p for name, p in named if is_circuit_parameter(name)]
    if settings.lr_quantum is None or not circuit:
        return [{"params": [p for _, p in named]}]
    classical = [p for name, p in named if not is_circuit_parameter(name)]
    return ([{"params": classical}] if classical else []) + [{"params": circuit, "lr": settings.lr_quantum}]


class AdversarialTrainer:
    """Trains a generator against a critic with the Wasserstein loss and gradient penalty.

    Args:
        generator, critic: the two networks (see module docstring).
        settings: optimiser and schedule settings.
        real_to_input: maps a tuple of real data tensors (one batch) to critic inputs.
        evaluate: called with the generator after each epoch; returns a dict of metrics to log.
        on_epoch_end: called with (trainer, record) after each epoch, to log and checkpoint.
        progress: show a tqdm progress bar.
        privacy: train the critic with DP-SGD (Poisson batches, per-sample clipping and noise); None = plain.
    """

    def __init__(self, generator, critic, settings: TrainSettings, real_to_input: Callable,
                 evaluate: Callable | None = None, on_epoch_end: Callable | None = None, progress: bool = True,
                 privacy: PrivateCritic | None = None, select=None):
        settings.check()
        pack = getattr(critic, "pack", 1)
        if settings.batch_size % pack:
            raise ConfigError(f"train.batch_size ({settings.batch_size}) must be a multiple of critic.pack ({pack})")
        self.generator, self.critic, self.settings = generator, critic, settings
        self.real_to_input, self.evaluate, self.on_epoch_end = real_to_input, evaluate, on_epoch_end
        self.progress = progress
        betas = (settings.beta1, settings.beta2)
        self.opt_g = torch.optim.Adam(generator_groups(generator, settings), lr=settings.lr_generator, betas=betas)
        self.opt_d = torch.optim.Adam(critic.parameters(), lr=settings.lr_critic, betas=betas)
        self.privacy = privacy
        if privacy is not None:
            if settings.coverage:
                raise ConfigError("train.coverage reads real data in the generator's step, outside the critic's "
                                  "privacy accounting; set train.coverage=null for a private run")
            self.opt_d = privacy.wrap(self.opt_d)
        self._last_real: tuple | None = None  # the critic's last real batch, for train.coverage
        self.epoch = 0
        self.step = 0
        self.elapsed = 0.0
        # The moving average of the generator's weights (train.ema): GAN weights wander from step to step, and
        # their average is a steadier generator (Yazici et al. 2019). Buffers (batch-norm statistics) are copied.
        self.averaged = {k: v.detach().clone() for k, v in generator.state_dict().items()} if settings.ema else None
        self._weights = {name for name, _ in generator.named_parameters()}
        # `select` (a Metric that `evaluate` reports): keep the generator of the epoch that scores best on it
        self.select, self.best = select, None  # best: {"epoch", "value", "state"}

    def _update_average(self) -> None:
        """One step of the moving average: weights lerp towards the live ones, buffers are copied."""
        for name, value in self.generator.state_dict().items():
            if name in self._weights and value.is_floating_point():
                self.averaged[name].lerp_(value.detach(), 1 - self.settings.ema)
            else:
                self.averaged[name].copy_(value)

    @contextlib.contextmanager
    def averaged_generator(self):
        """The generator with the averaged weights inside the block (itself when train.ema is off)."""
        if self.averaged is None:
            yield self.generator
            return
        live = {k: v.detach().clone() for k, v in self.generator.state_dict().items()}
        self.generator.load_state_dict(self.averaged)
        try:
            yield self.generator
        finally:
            self.generator.load_state_dict(live)

    def state_dict(self) -> dict:
        """Everything a resumed run needs: both networks, both optimisers, the counters, the weight average,
        the best epoch kept so far, the random state and the privacy accountant."""
        return {"generator": self.generator.state_dict(), "critic": self.critic.state_dict(),
                "opt_generator": self.opt_g.state_dict(), "opt_critic": self.opt_d.state_dict(),
                "epoch": self.epoch, "step": self.step, "elapsed": self.elapsed, "averaged": self.averaged,
                "best": self.best,
                "rng": torch.get_rng_state(), "privacy": self.privacy.state_dict() if self.privacy else None}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict saved; a checkpoint must have been trained with the same ema / privacy."""
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_g.load_state_dict(state["opt_generator"])
        self.opt_d.load_state_dict(state["opt_critic"])
        self.epoch, self.step, self.elapsed = state["epoch"], state["step"], state["elapsed"]
        self.best = state.get("best")
        if self.averaged is not None:
            if not state.get("averaged"):
                raise ConfigError("this checkpoint was trained without train.ema; it cannot be resumed with it")
            device = module_device(self.generator)
            self.averaged = {k: v.to(device) for k, v in state["averaged"].items()}
        torch.set_rng_state(state["rng"])
        if self.privacy is not None:
            if not state.get("privacy"):
                raise ConfigError("this checkpoint was trained without privacy.dp; it cannot be resumed with it")
            self.privacy.load_state_dict(state["privacy"])

    def _gradient_penalty(self, real: tuple, fake: tuple) -> torch.Tensor:
        """WGAN-GP's penalty: (|grad critic| - 1)^2 at random mixes of real and generated inputs."""
        batch = len(real[0])
        alpha = torch.rand(batch)
        mixed = tuple((alpha.view(-1, *[1] * (r.dim() - 1)) * r + (1 - alpha.view(-1, *[1] * (r.dim() - 1))) * f)
                      .requires_grad_(True) for r, f in zip(real, fake))
        scores = self.critic(*mixed)
        grads = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
        groups = len(scores)
        flat = torch.cat([g.reshape(groups, -1) for g in grads], dim=1)
        return ((flat.norm(dim=1) - 1) ** 2).mean()

    def critic_step(self, real: tuple) -> dict:
        """One critic update on a real batch and as many generated samples (DP-SGD when privacy is set)."""
        batch = len(real[0])
        self._last_real = real
        with torch.no_grad():  # the critic step needs no generator gradients: forward only is much cheaper
            fake = self.generator(max(batch, 2))  # >= 2: batch norm cannot train on one sample
        fake = tuple(f[:batch].detach() for f in fake)
        if self.privacy is not None:
            return self.privacy.critic_step(self.opt_d, real, fake, self.settings.gp_weight)
        loss_real = self.critic(*real).mean()
        loss_fake = self.critic(*fake).mean()
        penalty = self._gradient_penalty(real, fake)
        loss = loss_fake - loss_real + self.settings.gp_weight * penalty
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return {"loss_critic": loss.item(), "wasserstein": (loss_real - loss_fake).item(), "gp": penalty.item()}

    def generator_step(self, batch_size: int) -> dict:
        """One generator update against the critic's scores (and the coverage term; then the weight average)."""
        out = {}
        if self.settings.coverage and self._last_real is not None:
            pool = self.generator(COVERAGE_POOL * batch_size)
            fake = tuple(f[:batch_size] for f in pool)
            missed = self._coverage_distance(self._last_real, pool)
            out["coverage"] = missed.item()
            loss = -self.critic(*fake).mean() + self.settings.coverage * missed
        else:
            loss = -self.critic(*self.generator(batch_size)).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if self.averaged is not None:
            self._update_average()
        out["loss_generator"] = loss.item()
        return out

    @staticmethod
    def _coverage_distance(real: tuple, pool: tuple) -> torch.Tensor:
        """Mean squared distance from each real sample to its nearest generated one (all tensors flattened)."""
        flat_real = torch.cat([r.reshape(len(r), -1) for r in real], dim=1)
        flat_pool = torch.cat([p.reshape(len(p), -1) for p in pool], dim=1)
        return (torch.cdist(flat_real, flat_pool).min(dim=1).values ** 2).mean()

    def fit(self, dataset: tuple[torch.Tensor, ...]) -> list[dict]:
        """Train until settings.epochs epochs are done (continuing from self.epoch after a resume).

        Returns the per-epoch records (losses averaged over the epoch, timings and evaluation metrics).
        """
        s = self.settings
        device = module_device(self.generator)  # the data goes where the networks are (train.device)
        dataset = tuple(t.to(device) for t in dataset)
        n = len(dataset[0])
        batches = n // s.batch_size  # the last partial batch is dropped: a fixed batch shape
        if batches < 1:
            raise ConfigError(f"train.batch_size={s.batch_size} is larger than the {n} training samples; lower it")
        steps = s.steps_per_epoch or batches
        records = []
        for epoch in range(self.epoch, s.epochs):
            self.generator.train()
            self.critic.train()
            start = time.perf_counter()
            sums: dict[str, float] = {}
            counts: dict[str, int] = {}
            order = torch.randperm(n)
            bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{s.epochs}", disable=not self.progress,
                       leave=False, unit="step")
            for i in bar:
                k = i % batches
                if k == 0 and i > 0:
                    order = torch.randperm(n)
                idx = order[k * s.batch_size:(k + 1) * s.batch_size] if self.privacy is None \
                    else self.privacy.batch_indices(n)
                out = self.critic_step(self.real_to_input(tuple(t[idx] for t in dataset)))
                if (i + 1) % s.n_critic == 0:
                    out.update(self.generator_step(s.batch_size))
                for key, value in out.items():
                    if not math.isfinite(value):
                        raise FloatingPointError(f"{key} became {value} at epoch {epoch + 1}, step {i + 1}; "
                                                 "lower train.lr_generator/train.lr_critic")
                    sums[key] = sums.get(key, 0.0) + value
                    counts[key] = counts.get(key, 0) + 1
                self.step += 1
                if i % 20 == 0:
                    bar.set_postfix(W=f"{out['wasserstein']:.3f}")
            self.elapsed += time.perf_counter() - start
            self.epoch = epoch + 1
            record = {"epoch": self.epoch, "step": self.step, "train_seconds": round(self.elapsed, 2)}
            record.update({k: sums[k] / counts[k] for k in sums})
            if self.privacy is not None:
                record["epsilon"] = self.privacy.epsilon()
            if self.evaluate is not None:
                self.generator.eval()
                # Monitoring draws samples under its own random state, so evaluate settings never change
                # what is trained (the same seed trains the same weights whatever is monitored).
                # Scoring runs on the CPU (train.device only moves training): RDKit and the metrics' models are CPU code.
                with torch.random.fork_rng(), self.averaged_generator() as averaged, on_cpu(averaged) as generator:
                    torch.manual_seed(self.epoch)
                    record.update(self.evaluate(generator))
                    self._keep_if_best(record, generator)
            records.append(record)
            if self.on_epoch_end is not None:
                self.on_epoch_end(self, record)
        if self.best is not None:
            self.generator.load_state_dict(self.best["state"])
            log.info("kept the generator of epoch %d (%s %.4f)", self.best["epoch"], self.select.key, self.best["value"])
        elif self.averaged is not None:  # what is kept is the average
            self.generator.load_state_dict(self.averaged)
        return records

    def _keep_if_best(self, record: dict, generator) -> None:
        """Remember the generator's weights when this epoch scores best on the selection metric."""
        value = record.get(self.select.key) if self.select else None
        if value is None:
            return
        better = self.best is None or (value > self.best["value"] if self.select.higher_is_better
                                       else value < self.best["value"])
        if better:
            self.best = {"epoch": self.epoch, "value": value,
                         "state": {k: v.detach().clone() for k, v in generator.state_dict().items()}}
