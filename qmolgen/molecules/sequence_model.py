"""Sequence networks for molecules: a GRU autoencoder (tokens -> code -> tokens, greedy decoding, so one
code is one molecule) and the same decoder without a code, a language model (the strong no-latent baseline).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

BOS_INDEX, EOS_INDEX, PAD_INDEX = 1, 2, 0


class SequenceEncoder(nn.Module):
    """Tokens (B, T) -> code (B, code_dim) in [-1, 1]: a bidirectional GRU's final states through tanh."""

    def __init__(self, vocab_size: int, code_dim: int, hidden: int, embed: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=PAD_INDEX)
        self.gru = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, code_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Padded token sequences (B, L) -> codes (B, code_dim) in (-1, 1), from both GRU directions' last states."""
        lengths = (tokens != PAD_INDEX).sum(1).cpu()
        packed = pack_padded_sequence(self.embed(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.gru(packed)  # (2, B, hidden): the last state of each direction
        return torch.tanh(self.out(torch.cat([h[0], h[1]], dim=1)))


class SequenceDecoder(nn.Module):
    """Code (B, code_dim) -> next-token logits, with the code as the GRU's initial state and as an input at
    every step (so long molecules do not forget it). code_dim = 0 makes it an unconditional language model.
    """

    def __init__(self, vocab_size: int, code_dim: int, hidden: int, layers: int = 2, embed: int = 64):
        super().__init__()
        self.code_dim, self.hidden, self.layers = code_dim, hidden, layers
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=PAD_INDEX)
        self.gru = nn.GRU(embed + code_dim, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)
        if code_dim:
            self.initial = nn.Linear(code_dim, layers * hidden)
        else:
            self.initial_state = nn.Parameter(torch.zeros(layers, 1, hidden))

    def _start(self, code: torch.Tensor | None, batch: int) -> torch.Tensor:
        if not self.code_dim:
            return self.initial_state.expand(-1, batch, -1).contiguous()
        return torch.tanh(self.initial(code)).view(batch, self.layers, self.hidden).transpose(0, 1).contiguous()

    def _inputs(self, tokens: torch.Tensor, code: torch.Tensor | None) -> torch.Tensor:
        x = self.embed(tokens)
        if self.code_dim:
            x = torch.cat([x, code[:, None, :].expand(-1, x.shape[1], -1)], dim=2)
        return x

    def forward(self, tokens: torch.Tensor, code: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits (B, T - 1, V) for predicting tokens[:, 1:] from tokens[:, :-1]."""
        state = self._start(code, len(tokens))
        out, _ = self.gru(self._inputs(tokens[:, :-1], code), state)
        return self.out(out)

    def _input_gates(self, code: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The first layer's input projection, split: a (V, 3H) table of every token's share (bias included)
        and the code's share per row ((B, 3H), or None without a code). A step then adds two rows."""
        w_ih, embed_dim = self.gru.weight_ih_l0, self.embed.embedding_dim
        token_gates = self.embed.weight @ w_ih[:, :embed_dim].T + self.gru.bias_ih_l0
        return token_gates, (code @ w_ih[:, embed_dim:].T if self.code_dim else None)

    def _step(self, gates: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        """One GRU step by hand, with nn.GRU's equations (a test holds the two together): the first layer's
        input gates -> next-token logits; `state` (one (B, H) tensor per layer) is updated in place."""
        x = None
        for layer in range(self.layers):
            if layer:
                gates = x @ getattr(self.gru, f"weight_ih_l{layer}").T + getattr(self.gru, f"bias_ih_l{layer}")
            h = state[layer]
            hidden_gates = h @ getattr(self.gru, f"weight_hh_l{layer}").T + getattr(self.gru, f"bias_hh_l{layer}")
            i_r, i_z, i_n = gates.chunk(3, 1)
            h_r, h_z, h_n = hidden_gates.chunk(3, 1)
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            x = (1 - z) * torch.tanh(i_n + r * h_n) + z * h
            state[layer] = x
        logits = self.out(x)
        logits[:, PAD_INDEX] = -torch.inf  # never emitted: a molecule ends with <eos>
        return logits

    @torch.no_grad()
    def generate(self, n: int, max_steps: int, code: torch.Tensor | None = None, greedy: bool = True,
                 temperature: float = 1.0) -> torch.Tensor:
        """(n, max_steps) token indices after <bos>; rows stop at <eos> and are padded after it.

        greedy: take the most likely token at every step, so a code decodes to one molecule; otherwise draw
        each token from the softmax at `temperature` (how a language model samples).

        The GRU is stepped by hand (`_step`), and rows that have ended drop out of the batch, which together
        make sampling about twice as fast as nn.GRU.
        """
        state = list(self._start(code, n).unbind(0))
        device = state[0].device
        token_gates, code_gates = self._input_gates(code)
        token = torch.full((n,), BOS_INDEX, dtype=torch.long, device=device)
        rows = torch.arange(n, device=device)  # the rows still being decoded
        out = torch.full((n, max_steps), PAD_INDEX, dtype=torch.long, device=device)
        for step in range(max_steps):
            gates = token_gates[token] if code_gates is None else token_gates[token] + code_gates
            logits = self._step(gates, state)
            if greedy:
                token = logits.argmax(1)
            else:
                token = torch.multinomial(F.softmax(logits / temperature, dim=1), 1)[:, 0]
            out[rows, step] = token
            going = token != EOS_INDEX
            if not going.any():
                break
            if not going.all():
                rows, token = rows[going], token[going]
                state = [h[going] for h in state]
                if code_gates is not None:
                    code_gates = code_gates[going]
        return out

    @torch.no_grad()
    def beam_search(self, code: torch.Tensor, max_steps: int, width: int,
                    accept: Callable[[torch.Tensor], bool] | None = None) -> torch.Tensor:
        """(n, width, max_steps) token indices after <bos>: for each code, the `width` most likely token
        sequences found by beam search, most likely first (summed log-probabilities). Finished beams keep
        their score and are padded after <eos>.

        accept: a test of a finished beam's tokens (e.g. "RDKit parses it"). A code then stops being searched
        as soon as its most likely beam that is either unfinished or accepted is an accepted one: unfinished
        beams only lose score, so no later beam can overtake it, and the first accepted beam of the returned
        row is the one a full search would rank first among its accepted beams. Its other beams are those of
        that step. Codes whose beams have all finished stop too, with or without `accept`; stopped codes leave
        the batch, so a search costs what its longest unsettled code needs, not `max_steps` for every code."""
        n, vocab = len(code), self.out.out_features
        device = code.device
        rows = code.repeat_interleave(width, 0)  # beams of a code are adjacent: row = code * width + beam
        state = list(self._start(rows, n * width).unbind(0))
        token_gates, code_gates = self._input_gates(rows)
        scores = torch.full((n, width), -torch.inf, device=device)
        scores[:, 0] = 0.0  # one live beam at first, so the first step does not pick the same token `width` times
        seqs = torch.full((n, width, max_steps), PAD_INDEX, dtype=torch.long, device=device)
        out = seqs.clone()
        done = torch.zeros(n, width, dtype=torch.bool, device=device)
        accepted = torch.zeros(n, width, dtype=torch.bool, device=device)
        checked = torch.zeros(n, width, dtype=torch.bool, device=device)  # finished beams `accept` has tested
        token = torch.full((n * width,), BOS_INDEX, dtype=torch.long, device=device)
        codes = torch.arange(n, device=device)  # the codes still being searched
        for step in range(max_steps):
            live = len(codes)
            logp = F.log_softmax(self._step(token_gates[token] + code_gates, state), dim=1).view(live, width, vocab)
            # a finished beam has one continuation, <pad>, at no cost: it competes with its score unchanged
            logp[done] = -torch.inf
            logp[..., PAD_INDEX][done] = 0.0
            scores, flat = (scores[:, :, None] + logp).view(live, width * vocab).topk(width, dim=1)
            beam, token = flat // vocab, flat % vocab
            # only the filled prefix moves with its beam: every later position is still <pad> in every beam
            seqs[:, :, :step] = seqs[:, :, :step].gather(1, beam[:, :, None].expand(-1, -1, step))
            seqs[:, :, step] = token
            was_done = done.gather(1, beam)
            done = was_done | (token == EOS_INDEX) | (token == PAD_INDEX)
            accepted, checked = accepted.gather(1, beam), checked.gather(1, beam) & was_done
            settled = done.all(1)
            if accept is not None:
                # a code settles when its most likely beam that is unfinished or accepted is accepted; finished
                # beams are tested lazily, most likely first, only while every beam above them is a rejected one
                while True:
                    open_beams = ~done | ~checked | accepted  # beams that could still be a code's pick
                    frontier = open_beams.float().argmax(1)[:, None]
                    untested = (done & ~checked).gather(1, frontier)[:, 0] & open_beams.any(1)
                    if not untested.any():
                        break
                    for c in untested.nonzero()[:, 0].tolist():
                        b = int(frontier[c])
                        accepted[c, b], checked[c, b] = accept(seqs[c, b]), True
                settled |= accepted.gather(1, frontier)[:, 0]
            if step == max_steps - 1:
                settled[:] = True
            if settled.any():
                out[codes[settled]] = seqs[settled]
                going = ~settled
                if not going.any():
                    break
                codes, seqs, scores, done, accepted, checked = (t[going] for t in
                                                                (codes, seqs, scores, done, accepted, checked))
                beam, token = beam[going], token[going]
                keep_rows = (torch.arange(live, device=device)[going][:, None] * width
                             + torch.arange(width, device=device)).view(-1)
                state = [h[keep_rows] for h in state]
                code_gates = code_gates[keep_rows]
            offset = torch.arange(len(codes), device=device)[:, None] * width
            parent = (beam + offset).view(-1)  # each new beam continues this row's state
            state = [h[parent] for h in state]
            token = token.reshape(-1)
        return out


class SequenceAutoencoder(nn.Module):
    """Encoder + decoder, trained to reconstruct tokens from a noisy code (noise keeps nearby codes decoding
    to valid, similar molecules, which is what a GAN producing codes needs)."""

    def __init__(self, vocab_size: int, code_dim: int = 64, hidden: int = 256, layers: int = 2,
                 code_noise: float = 0.1):
        super().__init__()
        self.code_noise = code_noise
        self.encoder = SequenceEncoder(vocab_size, code_dim, hidden)
        self.decoder = SequenceDecoder(vocab_size, code_dim, hidden, layers)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-token logits from the sequences' own codes (noised while training)."""
        code = self.encoder(tokens)
        if self.training and self.code_noise:
            code = code + self.code_noise * torch.randn_like(code)
        return self.decoder(tokens, code)


def sequence_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of next-token predictions over the real (non-pad) positions."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), ignore_index=PAD_INDEX)
