"""Row generator (latent source + row decoder), the Born-probability row decoder of the pure quantum
model, and the MLP critic. Rows are the float matrices of `transforms.RowTransformer`: tanh spans hold
normalised values, softmax spans one categorical choice each."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from qmolgen.errors import ConfigError
from qmolgen.tables.transforms import Span


CHOICES = ("argmax", "sample")


class SpanHead(nn.Module):
    """Turns raw decoder outputs into rows: tanh on value spans, and on choice spans (categories, modes,
    missingness) one of two rules, both at temperature `tau`:

    argmax  the softmax of logits / tau while training; the most likely option when sampling. Every choice
            is a function of the latent, so the critic can teach the generator how choices depend on the
            other columns (with `sample` the generator learned to leave them as independent draws: the
            credit table's Status came out unrelated to the rest).
    sample  CTGAN's: a Gumbel-softmax relaxation while training; a draw from the softmax when sampling.
    """

    def __init__(self, spans: list[Span], tau: float, choices: str = "argmax"):
        super().__init__()
        if choices not in CHOICES:
            raise ConfigError(f"generator.choices must be one of {CHOICES}; got {choices!r}")
        self.spans, self.tau, self.choices = spans, tau, choices

    def forward(self, raw: torch.Tensor, sample: bool = False) -> torch.Tensor:
        """Raw decoder outputs -> encoded rows: softmax (or one-hot samples, sample=True) for categories and mode
        indicators, tanh for numeric values, span by span."""
        out, start = [], 0
        for span in self.spans:
            block = raw[:, start:start + span.size]
            start += span.size
            if span.activation == "tanh":
                out.append(torch.tanh(block))
            elif sample:
                draw = block.argmax(-1) if self.choices == "argmax" else \
                    torch.multinomial(block.softmax(-1), 1).squeeze(-1)
                out.append(F.one_hot(draw, span.size).to(block))
            elif self.choices == "argmax":
                out.append((block / self.tau).softmax(-1))
            else:
                out.append(F.gumbel_softmax(block, tau=self.tau, hard=False))
        return torch.cat(out, dim=1)


class MLPRowDecoder(nn.Module):
    """Latent vector -> standardised per dimension (as in the image decoder: every latent source on the
    same scale) -> ReLU layers -> one raw value per row-matrix column."""

    def __init__(self, latent_dim: int, spans: list[Span], hidden: list[int], tau: float, choices: str = "argmax"):
        super().__init__()
        layers, width = [nn.BatchNorm1d(latent_dim, affine=False)], latent_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        self.net = nn.Sequential(*layers, nn.Linear(width, sum(s.size for s in spans)))
        self.head = SpanHead(spans, tau, choices)

    def raw(self, latent: torch.Tensor) -> torch.Tensor:
        """Latent vectors -> raw outputs before the span head."""
        return self.net(latent)


class BornRowDecoder(nn.Module):
    """Fixed map from patch-circuit Born probabilities to rows, for the pure quantum model: each choice
    span takes as many consecutive probabilities as it has options (their logs are its logits), each value
    span takes two, p and q, and becomes (p - q) / (p + q) in [-1, 1] (stored as its atanh, since the head
    applies tanh). No trainable parameters."""

    def __init__(self, spans: list[Span], tau: float, choices: str = "argmax"):
        super().__init__()
        self.spans = spans
        self.head = SpanHead(spans, tau, choices)

    @staticmethod
    def probabilities_needed(spans: list[Span]) -> int:
        """Born probabilities needed: two per numeric value and one per category or mode."""
        return sum(2 if s.activation == "tanh" else s.size for s in spans)

    def raw(self, probs: torch.Tensor) -> torch.Tensor:
        """Patch probabilities -> raw outputs (log-odds for categories, a difference of two for numeric values)."""
        scaled = probs * probs.shape[1]  # a uniform patch gives values near 1, logits near 0
        out, start = [], 0
        for span in self.spans:
            if span.activation == "tanh":
                p, q = scaled[:, start], scaled[:, start + 1]
                value = ((p - q) / (p + q + 1e-6)).clamp(-0.999, 0.999)
                out.append(torch.atanh(value)[:, None])
                start += 2
            else:
                out.append(torch.log(scaled[:, start:start + span.size] + 1e-6))
                start += span.size
        return torch.cat(out, dim=1)


class RowGenerator(nn.Module):
    """Latent source + row decoder: the one generator shape shared by the hybrid and every baseline."""

    def __init__(self, latent: nn.Module, decoder: nn.Module):
        super().__init__()
        self.latent, self.decoder = latent, decoder

    def forward(self, batch_size: int) -> tuple[torch.Tensor]:
        """A batch of generated encoded rows (relaxed), as a 1-tuple (the trainer's generator interface)."""
        return (self.decoder.head(self.decoder.raw(self.latent(batch_size))),)

    @torch.no_grad()
    def sample(self, batch_size: int) -> torch.Tensor:
        """A batch of encoded rows with categories sampled as one-hot vectors, for decoding to a table."""
        return self.decoder.head(self.decoder.raw(self.latent(batch_size)), sample=True)


class RowCritic(nn.Module):
    """MLP critic with LeakyReLU; with pack > 1 it scores groups of `pack` rows (PacGAN, as CTGAN does)."""

    def __init__(self, dim: int, hidden: list[int], pack: int = 1):
        super().__init__()
        if not hidden:
            raise ConfigError("critic.hidden needs at least one layer width")
        self.pack = pack
        layers, width = [], dim * pack
        for size in hidden:
            layers += [nn.Linear(width, size), nn.LeakyReLU(0.2)]
            width = size
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """Critic scores, one per packed group of `pack` rows."""
        return self.net(rows.reshape(len(rows) // self.pack, -1)).squeeze(-1)
