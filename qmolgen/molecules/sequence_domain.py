"""The molecule domain with a sequence decoder (generator.decoder=sequence), as the trainer sees it.

Generator kinds:
    hybrid          quantum circuit latent -> MLP -> autoencoder code -> greedy GRU decoder (LatentGAN)
    classical       Gaussian latent of the circuit's latent size -> the same MLP and decoder
    size_matched    uniform noise -> tanh MLP with <= the circuit's parameter count -> the same MLP and decoder
    language_model  no latent and no critic: the decoder alone trained by maximum likelihood and sampled token
                    by token (the strong classical reference every comparison needs)

Before the GAN trains, the autoencoder is pretrained (or loaded from the cache) on the training split and the
training molecules are encoded once: the critic compares generated codes with those.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from qmolgen.domain import Domain
from qmolgen.errors import ConfigError
from qmolgen.molecules.data import smiles_list, write_smiles_file
from qmolgen.molecules.domain import (METRICS, kept_epoch_metric, latent_usage, samples_table,
                                     write_molecule_outputs)
from qmolgen.molecules.files import write_grid
from qmolgen.molecules.latent_gan import (CODE_SPACES, CodeCritic, CodeGenerator, LanguageModel, checked_beam,
                                          critic_codes, decode_codes, encode_codes, valid_first_beam)
from qmolgen.molecules.metrics import classify, evaluate_smiles, smiles_digest
from qmolgen.molecules.moses_metrics import moses_report
from qmolgen.molecules.parallel import decoded_table
from qmolgen.molecules.pretrain import PretrainSettings, fit_sequence_model
from qmolgen.molecules.sequence_model import SequenceAutoencoder, SequenceDecoder, sequence_loss
from qmolgen.molecules.sequences import SequenceData, load_sequences_section
from qmolgen.molecules.tokens import Vocabulary, canonical_or_none
from qmolgen.quantum.latent import LATENT_KINDS, latent_source

log = logging.getLogger("qmolgen")

KINDS = (*LATENT_KINDS, "language_model")
FIXED_LATENT_SAMPLES = 1000
HELD_OUT_MOLECULES = 2000  # scored for reconstruction and validation loss while pretraining


def spread_subset(indices: np.ndarray, n: int) -> np.ndarray:
    """At most n of a split's indices, evenly spaced over it. A split is in file order, and files are often
    sorted (QM9 by size): its first n molecules are not a fair sample (QM9: 99.5 % reconstructed against 98.3 %
    over the whole validation split)."""
    if len(indices) <= n:
        return indices
    return indices[np.linspace(0, len(indices) - 1, n).round().astype(int)]


class SequenceMoleculeDomain(Domain):
    """Everything the shared trainer, the CLI and the benchmark need for sequence-decoded molecules."""

    name = "molecules"
    metrics = METRICS
    write_data = staticmethod(write_smiles_file)

    def __init__(self, config: dict, spec: dict | None = None):
        kind = config["generator"]["kind"]
        if kind not in KINDS:
            raise ConfigError(f"generator.kind must be one of {KINDS} with generator.decoder=sequence; got "
                              f"{kind!r} (quantum_patch needs generator.decoder=graph)")
        self.config, self.kind = config, kind
        self.spec = spec
        self.selection_metric = kept_epoch_metric(config)  # checked here, before the autoencoder's pretraining
        if self.selection_metric is not None and kind == "language_model":
            raise ConfigError("evaluate.keep=best_val_fcd picks among the adversarial trainer's epochs; the language "
                              "model trains by likelihood and keeps its last epoch: set evaluate.keep=last")
        self.vocab = Vocabulary(spec["tokens"][3:], spec["language"]) if spec else None
        self.data: SequenceData | None = None
        self.network = None  # the pretrained autoencoder or language model, once load_data has run
        self.pretrain_report: dict = {}
        self._train_set: set[str] | None = None
        self.progress = True  # pretraining's progress bar; the CLI turns it off with --quiet
        self.beam = checked_beam(config["sample"].get("beam"), "sample.beam")  # models saved before it: None
        self.code_space = config["generator"].get("code_space", "code")  # models saved before it: code
        if self.code_space not in CODE_SPACES:
            raise ConfigError(f"generator.code_space must be one of {CODE_SPACES}; got {self.code_space!r}")

    @property
    def adversarial(self) -> bool:
        """Whether the shared adversarial trainer trains this generator (not the language model)."""
        return self.kind != "language_model"

    # -- data and pretraining --------------------------------------------------------------------------
    def load_data(self) -> tuple[torch.Tensor, ...]:
        """Read, tokenise and split the data, pretrain (or load) the autoencoder and return the training molecules'
        codes (the language model: their tokens)."""
        a = self.config["autoencoder"]
        self.load_reference()
        train_tokens = self.data.tokens[self.data.split["train"]]
        if not self.adversarial:
            return (train_tokens,)
        self.network = self._pretrain(SequenceAutoencoder(len(self.vocab), a["code_dim"], a["hidden"], a["layers"],
                                                          a["code_noise"]), "autoencoder", train_tokens)
        codes = encode_codes(self.network.encoder, train_tokens)
        return (critic_codes(codes, self.code_space),)

    def load_reference(self) -> None:
        """Read, tokenise and split the data (no pretraining): all that evaluate needs."""
        a = self.config["autoencoder"]
        self.data = load_sequences_section(self.config)
        self.vocab = self.data.vocab
        self.spec = {"language": a["language"], "tokens": self.vocab.tokens, "max_length": self.data.max_length}
        self._train_set = set(self.data.subset("train"))
        log.info("data: %d molecules used of %d lines (%d train); %d %s tokens, longest %d",
                 self.data.report.n_used, self.data.report.n_lines, len(self.data.split["train"]), len(self.vocab),
                 a["language"], self.data.max_length)

    def _settings(self, seed: int) -> PretrainSettings:
        a = self.config["autoencoder"]
        return PretrainSettings(a["epochs"], a["batch_size"], a["lr"], a["steps_per_epoch"], seed)

    def _pretrain(self, network, kind: str, train_tokens: torch.Tensor, seed: int | None = None):
        a, d = self.config["autoencoder"], self.config["data"]
        seed = a["seed"] if seed is None else seed
        key = {"molecules": smiles_digest(self.data.smiles), "split": d["split_seed"],
               "architecture": {k: a[k] for k in ("language", "code_dim", "hidden", "layers", "code_noise")},
               "max_length": self.data.max_length}
        score = self._reconstruction if kind == "autoencoder" else self._likelihood
        self.pretrain_report = fit_sequence_model(kind, network, train_tokens, self._settings(seed), key, score,
                                                  self.progress)
        return network

    def _reconstruction(self, autoencoder: SequenceAutoencoder, split: str = "valid") -> dict:
        """Share of (at most 2,000) held-out molecules of `split` that decode back to themselves."""
        idx = spread_subset(self.data.split[split], HELD_OUT_MOLECULES)
        codes = encode_codes(autoencoder.encoder, self.data.tokens[idx])
        decoded = decode_codes(autoencoder.decoder, self.vocab, codes, self.data.max_length)
        exact = [canonical_or_none(s) == self.data.smiles[i] for s, i in zip(decoded, idx)]
        return {f"reconstruction_{split}": float(np.mean(exact))}

    def _likelihood(self, model: LanguageModel) -> dict:
        """The language model's loss on (up to 2,000) validation molecules, and the GAN runs' per-epoch sample
        metrics (FCD against the validation split with evaluate.fcd), so convergence compares across models."""
        idx = spread_subset(self.data.split["valid"], HELD_OUT_MOLECULES)
        tokens = self.data.tokens[idx]
        with torch.no_grad():
            loss = float(sequence_loss(model(tokens), tokens))
        return {"loss_valid": loss, **self.epoch_metrics(model)}

    def fit_likelihood(self, generator: LanguageModel, dataset: tuple[torch.Tensor, ...]) -> dict:
        """Train the language model (cached like the autoencoder, seeded by the run's seed)."""
        self._pretrain(generator, "language_model", dataset[0], seed=self.config["seed"])
        return self.pretrain_report

    def data_report(self) -> dict:
        """Lines read and left out (with reasons), vocabulary, length limit, split and the autoencoder's pretraining."""
        report = self.data.report.to_dict()
        report.update({"language": self.vocab.language, "vocabulary": len(self.vocab),
                       "max_length": self.data.max_length,
                       "split": {k: len(v) for k, v in self.data.split.items()}})
        if self.adversarial:
            report["autoencoder"] = {k: v for k, v in self.pretrain_report.items() if k != "history"}
        return report

    def spec_dict(self) -> dict:
        """Language, tokens and maximum length: what a trained sequence model needs besides its weights."""
        return dict(self.spec)

    @staticmethod
    def spec_from_dict(d: dict) -> dict:
        """The spec back from spec_dict's output, checked to plain types."""
        return {"language": d["language"], "tokens": list(d["tokens"]), "max_length": int(d["max_length"])}

    # -- networks --------------------------------------------------------------------------------------
    def _decoder(self, code_dim: int) -> SequenceDecoder:
        a = self.config["autoencoder"]
        return SequenceDecoder(len(self.vocab), code_dim, a["hidden"], a["layers"])

    def build_generator(self):
        """The latent source -> MLP -> pretrained decoder (LatentGAN), or the language model alone."""
        a, g = self.config["autoencoder"], self.config["generator"]
        if not self.adversarial:
            return LanguageModel(self._decoder(0))
        decoder = self._decoder(a["code_dim"])
        if self.network is not None:
            decoder.load_state_dict(self.network.decoder.state_dict())
        return CodeGenerator(latent_source(self.kind, self.config["quantum"]), a["code_dim"], list(g["hidden"]),
                             decoder, self.code_space)

    def build_critic(self) -> CodeCritic | None:
        """The MLP critic on codes; None for the language model (trained by likelihood)."""
        if not self.adversarial:
            return None
        return CodeCritic(self.config["autoencoder"]["code_dim"], list(self.config["critic"]["hidden"]))

    def real_to_input(self, batch: tuple[torch.Tensor]) -> tuple[torch.Tensor]:
        """Real codes are what the critic reads already."""
        return batch

    # -- sampling and metrics --------------------------------------------------------------------------
    def sample_strings(self, generator, n: int, fixed_latent: bool = False, greedy_too: bool = False):
        """n decoded strings (SMILES, possibly invalid), after the beam fallback where sample.beam asks for it.
        fixed_latent: every sample from one latent vector, which tells whether the latent decides the molecule
        (a deterministic decoder gives one molecule). greedy_too: (strings, the same codes' greedy decodes)."""
        max_length = self.spec["max_length"]
        generator.eval()
        if not self.adversarial:
            if fixed_latent:  # no latent: the language model's randomness is its token draws
                strings = []
            else:
                strings = decode_codes(generator.decoder, self.vocab, None, max_length, n=n, greedy=False,
                                       temperature=self.config["sample"]["temperature"])
            return (strings, strings) if greedy_too else strings
        with torch.no_grad():
            latent = generator.latent(1 if fixed_latent else n)
            codes = generator.codes(latent.expand(n, -1))
        greedy = decode_codes(generator.decoder, self.vocab, codes, max_length)
        strings = greedy
        if self.beam:
            strings = valid_first_beam(generator.decoder, self.vocab, codes, greedy, max_length, self.beam)
        return (strings, greedy) if greedy_too else strings

    def _score(self, strings: list[str], reference: list[str], fcd: bool, properties: bool = True) -> dict:
        return evaluate_smiles(strings, self._train_set, reference, with_fcd=fcd, with_properties=properties)

    def epoch_metrics(self, generator) -> dict:
        """Metrics of a few samples after every epoch; FCD (with evaluate.fcd) against the validation split."""
        e = self.config["evaluate"]
        metrics = self._score(self.sample_strings(generator, e["epoch_samples"]), self.data.subset("valid"),
                              e["fcd"], properties=False)
        if "fcd" in metrics:
            metrics["val_fcd"] = metrics.pop("fcd")
        return {k: metrics[k] for k in ("validity", "uniqueness", "novelty", "vun", "int_div", "val_fcd")
                if k in metrics}

    def final_metrics(self, generator) -> dict:
        """The full report on evaluate.final_samples samples against the test split, the latent-usage check,
        and the autoencoder's reconstruction accuracy on the test split."""
        e = self.config["evaluate"]
        strings, greedy = self.sample_strings(generator, e["final_samples"], greedy_too=True)
        metrics = self._score(strings, self.data.subset("test"), e["fcd"])
        # validity_no_repair: the greedy decodes' own, whatever post-processing the model applies after them
        metrics["validity_no_repair"] = sum(classify(greedy)[2]) / len(greedy)
        metrics["repair"] = f"valid-first beam of width {self.beam}" if self.beam and self.adversarial else "none"
        metrics.update(self._moses_metrics(strings, e["fcd"]))
        n_fixed = min(FIXED_LATENT_SAMPLES, e["final_samples"])
        fixed = self.sample_strings(generator, n_fixed, fixed_latent=True)
        if fixed:
            metrics.update(latent_usage(fixed))
        if self.adversarial:
            metrics.update(self._reconstruction(self.network, "test"))
        return metrics

    def evaluate(self, samples) -> dict:
        """Molecule and MOSES metrics of `samples` (SMILES list or a samples table) against the test split."""
        strings = smiles_list(samples, "samples", missing_is_invalid=True)
        fcd = self.config["evaluate"]["fcd"]
        return {**self._score(strings, self.data.subset("test"), fcd), **self._moses_metrics(strings, fcd)}

    def _moses_metrics(self, strings: list[str], with_fcd: bool) -> dict:
        """MOSES's metrics against the test split, and the scaffold test split where the dataset has one."""
        return moses_report(strings, {name: self.data.subset(name) for name in self.data.split}, with_fcd)

    def sample(self, generator, n: int, properties: bool = True, where: list[str] | tuple[str, ...] = (),
               similar_to: str | None = None, workers: int = 1, beam: int | None = None) -> pd.DataFrame:
        """n molecules (smiles, valid and, with properties, qed, logp, sa). With `where` conditions on molecule
        properties (e.g. ["qed>=0.7", "sa<=3.5"]): n molecules meeting them all, drawn from the model's own
        distribution by annealed SMC in its latent source's input space (molecules/optimize.py); the report is
        logged and kept in `last_conditional_report`, and each conditioned property gets a column.
        `similar_to` (SMILES) is the molecule a `similarity` condition compares with. `workers` processes decode
        and describe unconditional LatentGAN samples (molecules/parallel.py; the same table for any number).
        `beam`: the width of the valid-first beam fallback for greedy decodes that do not parse (0: off; None:
        the model's sample.beam)."""
        if beam is None:
            beam = self.beam
        elif checked_beam(beam, "beam") and not self.adversarial:
            raise ConfigError("beam decodes a LatentGAN's codes again; the language model draws its tokens and has "
                              "no code to decode: leave beam out")
        if not where:
            if self.adversarial:
                with torch.no_grad():
                    generator.eval()
                    codes = generator.codes(generator.latent(n))
                return decoded_table(generator.decoder, self.vocab, codes, self.spec["max_length"], properties,
                                     workers, beam)
            if workers > 1:
                log.info("workers: the language model samples its tokens in this process (its draws are sequential)")
            strings = self.sample_strings(generator, n)
            return samples_table([(canonical_or_none(s), s) for s in strings], properties)
        from qmolgen.molecules.optimize import build_objective, sample_conditioned

        if workers > 1:
            log.info("workers: conditional sampling runs in this process (its levels are sequential)")

        objective, _ = build_objective(constraints=list(where), similar_to=similar_to, need_objective=False)
        conditioned, self.last_conditional_report = sample_conditioned(generator, self, objective, n)
        r = self.last_conditional_report
        log.info("conditional generation: %d molecules meeting %s (%.1f %% of unconditional samples do), achieved "
                 "%.3f, %d distinct, %.1f molecules/s (%s)", n, r["conditions"], 100 * r["unconditional_fraction"],
                 r["achieved_fraction"], r["distinct"], r["molecules_per_second"], r["method"])
        table = samples_table([(s if ok else None, s) for s, ok in zip(conditioned.smiles, conditioned.valid)],
                              properties)
        for name in objective.names:
            if name not in table.columns:
                table[name] = conditioned[name].to_numpy()
        return table

    def write_samples(self, table: pd.DataFrame, path: str | None, force: bool = False) -> str:
        """Write the molecule table (CSV) or SMILES file atomically."""
        return write_molecule_outputs(table, path, force)

    def write_preview(self, generator, path, n: int = 24) -> None:
        """A grid drawing of n sampled molecules."""
        write_grid(self.sample(generator, n).smiles.tolist(), path, force=True)
