"""LatentGAN for molecules (Prykhodko et al. 2019): a generator maps the latent source to autoencoder codes, a
critic tells them from the codes of real molecules, and the autoencoder's greedy decoder turns a code into
one molecule. The latent source (quantum circuit, Gaussian, size-matched control) is therefore the only
randomness in a sample: one latent vector is one molecule.
"""

from __future__ import annotations

import torch
from torch import nn

from qmolgen.devices import module_device
from qmolgen.errors import ConfigError
from qmolgen.molecules.sequence_model import SequenceDecoder, SequenceEncoder
from qmolgen.molecules.tokens import Vocabulary, canonical_or_none


def leaky_mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given sizes, each followed by LeakyReLU(0.2)."""
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


class CodeGenerator(nn.Module):
    """Latent source -> MLP -> code in [-1, 1] (the autoencoder's code range) -> frozen sequence decoder.

    The trainer sees `generator(batch) -> (codes,)`; sampling decodes codes with `decoder`, whose weights are
    part of this module's state so a saved model is self-contained (they are frozen: not trained by the GAN
    and not counted as its parameters).

    code_space "atanh": the MLP's last layer is linear and the code is its tanh, and the trainer (critic and
    coverage term) sees the pre-tanh values, matched against atanh of the real codes (`critic_codes`). A
    noise-robust autoencoder puts a quarter of its code values beyond +-0.9, where a tanh output's gradient
    vanishes: in code space the GAN's codes kept 40 % of the real codes' variance (docs/results-molecules.md).
    """

    def __init__(self, latent: nn.Module, code_dim: int, hidden: list[int], decoder: SequenceDecoder,
                 code_space: str = "code"):
        super().__init__()
        self.latent = latent
        self.pre_tanh = code_space == "atanh"
        head = [] if self.pre_tanh else [nn.Tanh()]  # no parameters either way: saved weights load in both
        self.net = nn.Sequential(leaky_mlp([latent.dim, *hidden]), nn.Linear(hidden[-1], code_dim), *head)
        self.decoder = decoder
        self.decoder.requires_grad_(False)

    def codes(self, latent: torch.Tensor) -> torch.Tensor:
        """Latent vectors -> autoencoder codes."""
        out = self.net(latent)
        return torch.tanh(out) if self.pre_tanh else out

    def forward(self, batch_size: int) -> tuple[torch.Tensor]:
        """A batch of generated codes as the critic reads them (pre-tanh in code_space atanh), as a 1-tuple (the
        trainer's generator interface)."""
        return (self.net(self.latent(batch_size)),)


CODE_SPACES = ("code", "atanh")
ATANH_LIMIT = 0.999  # real codes are clamped here before atanh: encoders saturate to exactly +-1 in float32


def before_tanh(codes: torch.Tensor) -> torch.Tensor:
    """atanh of autoencoder codes, finite at saturated values: the values a tanh output layer would have had."""
    return torch.atanh(codes.clamp(-ATANH_LIMIT, ATANH_LIMIT))


def critic_codes(codes: torch.Tensor, code_space: str) -> torch.Tensor:
    """Real autoencoder codes in the space the critic compares them in (see CodeGenerator)."""
    return before_tanh(codes) if code_space == "atanh" else codes


class CodeCritic(nn.Module):
    """MLP critic on autoencoder codes (no normalisation layer: the gradient penalty is per sample)."""

    pack = 1

    def __init__(self, code_dim: int, hidden: list[int]):
        super().__init__()
        self.net = nn.Sequential(leaky_mlp([code_dim, *hidden]), nn.Linear(hidden[-1], 1))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """Critic scores of codes, (B,)."""
        return self.net(codes).squeeze(1)


class LanguageModel(nn.Module):
    """An unconditional sequence model sampled token by token: the no-latent baseline. Trained by maximum
    likelihood (molecules/pretrain.py), not adversarially."""

    def __init__(self, decoder: SequenceDecoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits for teacher-forced token sequences."""
        return self.decoder(tokens)


@torch.no_grad()
def encode_codes(encoder: SequenceEncoder, tokens: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Codes of real molecules (no noise), in batches."""
    encoder.eval()
    device = module_device(encoder)
    return torch.cat([encoder(tokens[i:i + batch_size].to(device)) for i in range(0, len(tokens), batch_size)])


@torch.no_grad()
def decode_codes(decoder: SequenceDecoder, vocab: Vocabulary, codes: torch.Tensor | None, max_length: int,
                 n: int | None = None, greedy: bool = True, temperature: float = 1.0,
                 batch_size: int = 2000, beam: int | None = None) -> list[str]:
    """SMILES strings decoded from codes (greedy: one molecule per code), or n unconditional samples when
    codes is None (a language model). Strings may be empty or unparsable; callers count them. beam: greedy
    decodes that do not parse are replaced by `valid_first_beam` with this width (None: none are)."""
    decoder.eval()
    total = len(codes) if codes is not None else n
    out = []
    for start in range(0, total, batch_size):
        part = None if codes is None else codes[start:start + batch_size].to(module_device(decoder))
        size = min(batch_size, total - start)
        ids = decoder.generate(size, max_length + 1, part, greedy=greedy, temperature=temperature)
        out += vocab.decode(ids.cpu().numpy())
    if beam and codes is not None:
        out = valid_first_beam(decoder, vocab, codes, out, max_length, beam)
    return out


def checked_beam(width, where: str) -> int | None:
    """A beam width as given (None or 0: no beam fallback), or a ConfigError naming `where`."""
    if width is None:
        return None
    if isinstance(width, bool) or not isinstance(width, int) or width < 0:
        raise ConfigError(f"{where} is the width of the beam search that decodes unparsable greedy decodes again: "
                          f"a whole number >= 1, or 0 / null for none; got {width!r}")
    return width or None


@torch.no_grad()
def valid_first_beam(decoder: SequenceDecoder, vocab: Vocabulary, codes: torch.Tensor, strings: list[str],
                     max_length: int, width: int, batch_size: int = 500, stop_early: bool = True) -> list[str]:
    """`strings`, the greedy decodes of `codes`, with each one RDKit cannot parse replaced by the most likely
    of its code's `width` beam-search decodes that parses (kept as it was when none does).

    A post-processing step for SMILES decoders, whose greedy decode of a generated code is often one bracket
    or ring closure off: it is deterministic, so one code is still one molecule, and callers report validity
    before it as well (validity_no_repair). stop_early: each code's search ends at its first parsing beam that
    no unfinished beam can overtake (the same pick; False searches to the end, kept for benchmarks/beam_fallback.py)."""
    invalid = [i for i, s in enumerate(strings) if canonical_or_none(s) is None]
    out = list(strings)
    device = module_device(decoder)

    parsed: dict[str, bool] = {}  # the search's verdicts, so the pick below does not parse a beam again

    def string_parses(string: str) -> bool:
        if string not in parsed:
            parsed[string] = canonical_or_none(string) is not None
        return parsed[string]

    def parses(tokens: torch.Tensor) -> bool:  # lets the search stop a code at its first parsing beam
        return string_parses(vocab.decode(tokens[None].cpu().numpy())[0])

    for start in range(0, len(invalid), batch_size):
        rows = invalid[start:start + batch_size]
        beams = decoder.beam_search(codes[rows].to(device), max_length + 1, width,
                                    accept=parses if stop_early else None).cpu().numpy()
        for i, candidates in zip(rows, beams):
            out[i] = next((s for s in vocab.decode(candidates) if string_parses(s)), strings[i])
        parsed.clear()
    return out
