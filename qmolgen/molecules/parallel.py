"""Codes -> molecule table across worker processes, so that generation scales with the CPUs.

Most of the time of generating a molecule is spent after the latent: the GRU decoding token by token, SELFIES ->
SMILES (pure Python), RDKit's parsing and canonical form, and, when asked for, QED / logP / SA. Forked workers do
all of that, each on a share of the codes, and the shares come back in order. Greedy decoding is deterministic,
so the table is the same for any number of workers (tests check it).
"""

from __future__ import annotations

import logging
import multiprocessing
import os

import pandas as pd
import torch

from qmolgen.molecules.domain import samples_table
from qmolgen.molecules.latent_gan import decode_codes
from qmolgen.molecules.tokens import canonical_or_none

log = logging.getLogger("qmolgen")

SHARE = 1000  # codes per task: small enough to balance the workers, large enough to batch the GRU
AUTO_MIN_MOLECULES = 5000  # below this, starting workers costs more than it saves

# What forked workers inherit instead of receiving it pickled: the decoder and how to read its output.
_WORK: dict = {}


def auto_workers(n: int) -> int:
    """The worker count `qmolgen generate` uses by default: every CPU for 5,000 molecules or more, else one."""
    return (os.cpu_count() or 1) if n >= AUTO_MIN_MOLECULES else 1


def _table(decoder, vocab, codes: torch.Tensor, max_length: int, properties: bool,
           beam: int | None) -> pd.DataFrame:
    strings = decode_codes(decoder, vocab, codes, max_length, beam=beam)
    return samples_table([(canonical_or_none(s), s) for s in strings], properties)


def _share_table(codes: torch.Tensor) -> pd.DataFrame:
    torch.set_num_threads(1)  # the workers are the parallelism; one thread each also avoids OpenMP after fork
    w = _WORK
    return _table(w["decoder"], w["vocab"], codes, w["max_length"], w["properties"], w["beam"])


def decoded_table(decoder, vocab, codes: torch.Tensor, max_length: int, properties: bool = True,
                  workers: int = 1, beam: int | None = None) -> pd.DataFrame:
    """The samples table (see molecules.domain.samples_table) of greedily decoded `codes` (beam: unparsable
    ones decoded again, see latent_gan.valid_first_beam), made by `workers` processes. One worker, fewer than
    two shares of codes, or a platform without fork: this process does it."""
    shares = torch.split(codes, SHARE)
    if workers > 1 and len(shares) > 1 and "fork" not in multiprocessing.get_all_start_methods():
        log.info("workers: this platform cannot fork worker processes; decoding in this process")
        workers = 1
    if workers <= 1 or len(shares) < 2:
        return _table(decoder, vocab, codes, max_length, properties, beam)
    _WORK.update(decoder=decoder.eval(), vocab=vocab, max_length=max_length, properties=properties, beam=beam)
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(shares))) as pool:
            tables = pool.map(_share_table, shares)
    finally:
        _WORK.clear()
    return pd.concat(tables, ignore_index=True)
