"""Maximum-likelihood training of the sequence networks (the autoencoder a latent GAN decodes with, and the
language-model baseline): cached by what it depends on, resumable after a crash, seeded on its own.

The result is stored in the qmolgen cache (qmolgen/cache.py) as plain arrays, keyed by the data's digest and
every setting, so a second run on the same data reuses it; while training, a checkpoint after every epoch
lets a killed run continue where it stopped. Training runs under its own random state, so whether the cache
hit or not never changes the random stream of the run around it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from qmolgen import cache
from qmolgen.devices import module_device, on_cpu
from qmolgen.errors import ConfigError
from qmolgen.molecules.sequence_model import sequence_loss
from qmolgen.runs import TRAINING_FORMAT, load_checkpoint, save_checkpoint

log = logging.getLogger("qmolgen")


@dataclass
class PretrainSettings:
    """The `autoencoder:` section's training keys (also used for the language model)."""

    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    steps_per_epoch: int | None = None  # None = one pass over the training molecules
    seed: int = 0

    def check(self) -> None:
        """Raise ConfigError naming every autoencoder setting out of range."""
        bad = [f"autoencoder.{k} must be >= 1; got {getattr(self, k)}" for k in ("epochs", "batch_size")
               if getattr(self, k) < 1]
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            bad.append(f"autoencoder.steps_per_epoch must be >= 1 or null; got {self.steps_per_epoch}")
        if bad:
            raise ConfigError("; ".join(bad))


def _store(name: str, model: nn.Module, report: dict) -> None:
    arrays = {f"w.{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    cache.store(name, report=np.array(json.dumps(report)), **arrays)


def _restore(name: str, model: nn.Module) -> dict | None:
    hit = cache.load(name)
    if hit is None:
        return None
    state = {k[2:]: torch.from_numpy(v) for k, v in hit.items() if k.startswith("w.")}
    try:
        model.load_state_dict(state)
    except RuntimeError:  # a cache entry from a different architecture: recompute rather than trust it
        return None
    return json.loads(str(hit["report"]))


def teacher_forcing_step(network: nn.Module, optimizer, tokens: torch.Tensor, *code: torch.Tensor) -> float:
    """One maximum-likelihood step of `network(tokens, *code) -> next-token logits` on a batch of padded token rows
    (columns that are padding in every row dropped first), gradients clipped to norm 1; returns the loss."""
    tokens = tokens[:, :int((tokens != 0).sum(1).max())]
    loss = sequence_loss(network(tokens, *code), tokens)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(network.parameters(), 1.0)
    optimizer.step()
    return loss.item()


def fit_sequence_model(kind: str, model: nn.Module, train_tokens: torch.Tensor, settings: PretrainSettings,
                       key_parts: dict, score: Callable[[nn.Module], dict] | None = None,
                       progress: bool = True) -> dict:
    """Train `model` (called as model(tokens) -> logits) by teacher forcing on `train_tokens`, or load it from
    the cache. Returns its report: epochs, seconds, final loss, whether it came from the cache, and what
    `score(model)` (e.g. reconstruction accuracy on held-out molecules) returns after each epoch.
    """
    settings.check()
    name = cache.key(kind, settings=vars(settings), **key_parts)
    report = _restore(name, model)
    if report is None:
        with cache.exclusive(name):  # concurrent runs train it once; the others wait, then load it
            report = _restore(name, model)
            if report is None:
                return {**_train(kind, name, model, train_tokens, settings, score, progress), "cached": False}
    log.info("%s: reusing the cached model (%s)", kind, name)
    model.eval()
    return {**report, "cached": True}


def _train(kind: str, name: str, model: nn.Module, train_tokens: torch.Tensor, settings: PretrainSettings,
           score: Callable[[nn.Module], dict] | None, progress: bool) -> dict:
    """fit_sequence_model's training, resumed from the entry's partial checkpoint if a run was killed; stores
    the model under `name` and returns its report."""
    partial = cache.cache_dir() / f"{name}.partial.pt"
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    train_tokens = train_tokens.to(module_device(model))  # train.device: the tokens go where the model is
    n = len(train_tokens)
    batches = max(1, n // settings.batch_size)
    steps = settings.steps_per_epoch or batches
    epoch, elapsed, history = 0, 0.0, []
    with torch.random.fork_rng():
        torch.manual_seed(settings.seed)
        if partial.is_file():
            state = load_checkpoint(partial, TRAINING_FORMAT)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            epoch, elapsed, history = state["epoch"], state["elapsed"], state["history"]
            torch.set_rng_state(state["rng"])
            log.info("%s: resuming after epoch %d of %d", kind, epoch, settings.epochs)
        while epoch < settings.epochs:
            model.train()
            start, total = time.perf_counter(), 0.0
            bar = tqdm(range(steps), desc=f"{kind} {epoch + 1}/{settings.epochs}", disable=not progress,
                       leave=False, unit="step")
            for i in bar:
                if i % batches == 0:
                    order = torch.randperm(n)
                loss = teacher_forcing_step(model, opt, train_tokens[order[(i % batches) * settings.batch_size:]
                                                                     [:settings.batch_size]])
                total += loss
                if i % 50 == 0:
                    bar.set_postfix(loss=f"{loss:.3f}")
            elapsed += time.perf_counter() - start
            epoch += 1
            model.eval()
            record = {"epoch": epoch, "loss": total / steps, "train_seconds": round(elapsed, 1)}
            if score is not None:
                # scoring may sample: it must not move training's random stream; it runs on the CPU (RDKit)
                with torch.random.fork_rng(), on_cpu(model):
                    record.update(score(model))
            history.append(record)
            log.info("%s epoch %s", kind, {k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()})
            save_checkpoint({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
                             "elapsed": elapsed, "history": history, "rng": torch.get_rng_state()},
                            partial, TRAINING_FORMAT)
    report = {**{k: v for k, v in history[-1].items() if k not in ("epoch", "train_seconds")},
              "epochs": epoch, "seconds": round(elapsed, 1), "history": history}
    _store(name, model, report)
    partial.unlink(missing_ok=True)
    model.eval()
    return report
