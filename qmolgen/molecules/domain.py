"""The molecule domain as the trainer sees it: data, generator and critic from config, sampling, metrics.

Generator kinds (config `generator.kind`), identical but for the latent source / decoder:
    hybrid         quantum circuit latent -> MLP graph decoder
    classical      Gaussian latent of the same size -> the same decoder (the classical GAN)
    size_matched   uniform noise -> tanh MLP with <= the circuit's parameter count -> the same decoder
    quantum_patch  patch circuits whose Born probabilities fill the graph tensors; no trainable classical layer
"""

from __future__ import annotations

import logging
import math
import sys

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from qmolgen.domain import Domain, DomainMetrics, Metric
from qmolgen.errors import ConfigError
from qmolgen.molecules import graphs
from qmolgen.molecules.files import write_grid, write_molecules
from qmolgen.molecules.data import MoleculeData, load_molecules_section, smiles_list, write_smiles_file
from qmolgen.molecules.graphs import GraphSpec
from qmolgen.molecules.metrics import evaluate_smiles, properties
from qmolgen.molecules.networks import BornGraphDecoder, GraphGenerator, MLPGraphDecoder, RelationalGraphCritic
from qmolgen.quantum.latent import PatchQuantumGenerator, generator_source

log = logging.getLogger("qmolgen")

DECODINGS = ("valence", "argmax")

METRICS = DomainMetrics(  # both molecule domains (graph and sequence decoders)
    quality=Metric("fcd", "FCD", False),
    validation=Metric("val_fcd", "FCD of the epoch's samples against the validation split", False),
    collapse="1 − uniqueness: the share of valid molecules that repeat an earlier one",
    also=(Metric("vun", "V·U·N", True),
          Metric("validity", "validity (graph: valence-repaired; sequence: after sample.beam)", True),
          Metric("validity_no_repair", "validity, no repair (greedy decodes)", True),
          Metric("uniqueness", "uniqueness", True),
          # Latent usage: 1/n when one latent vector gives one output (valid or not); as high as `uniqueness`
          # when the decoder ignores its latent.
          Metric("uniqueness_latent_fixed", "uniqueness with the latent fixed (low = the latent decides)", False)),
    summary=("validity", "uniqueness", "novelty", "vun", "fcd"),
    labels={"fcd": "FCD", "val_fcd": "FCD (validation)", "vun": "V·U·N"})

KEEP = ("last", "best_val_fcd")


def kept_epoch_metric(config: dict) -> Metric | None:
    """evaluate.keep, checked: the metric the trainer keeps the best epoch by (the validation FCD, from samples
    of the validation split's own, never the test split), or None to keep the last epoch.

    Raises:
        ConfigError: an unknown value, or best_val_fcd without the FCD it needs (evaluate.fcd=false).
    """
    e = config["evaluate"]
    keep = e.get("keep", "last")
    if keep not in KEEP:
        raise ConfigError(f"evaluate.keep must be one of {KEEP}; got {keep!r}")
    if keep == "last":
        return None
    if not e.get("fcd", True):
        raise ConfigError("evaluate.keep=best_val_fcd picks the epoch by its validation FCD, which "
                          "evaluate.fcd=false turns off; set evaluate.fcd=true or evaluate.keep=last")
    return METRICS.validation


def build_generator(config: dict, spec: GraphSpec) -> GraphGenerator:
    """The generator named by config['generator']['kind'] for graphs of `spec`."""
    g = config["generator"]
    source = generator_source(config, lambda q: math.ceil(BornGraphDecoder.features_needed(spec) / 2 ** q["patch_qubits"]))
    if isinstance(source, PatchQuantumGenerator):
        return GraphGenerator(source, BornGraphDecoder(spec, g["temperature"], g["relaxation"]))
    return GraphGenerator(source, MLPGraphDecoder(source.dim, spec, list(g["decoder_hidden"]), g["temperature"],
                                                  g["relaxation"]))


def build_critic(config: dict, spec: GraphSpec) -> RelationalGraphCritic:
    """The relational graph critic (critic.conv, critic.aggregate, critic.head, critic.pack)."""
    c = config["critic"]
    return RelationalGraphCritic(spec, list(c["conv"]), c["aggregate"], list(c["head"]), c["pack"])


def to_onehot(nodes: torch.Tensor, edges: torch.Tensor, spec: GraphSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Node and edge type indices -> one-hot tensors, as the critic reads graphs."""
    return F.one_hot(nodes, spec.n_node_types).float(), F.one_hot(edges, spec.n_edge_types).float()


def gumbel_perturb(probs: torch.Tensor) -> torch.Tensor:
    """Probabilities whose argmax is a draw from `probs` (Gumbel-max trick); their order still reflects
    the model's confidence, which the valence decoder uses to rank bonds."""
    gumbel = -torch.log(-torch.log(torch.rand_like(probs).clamp_min(1e-10)))
    return (torch.log(probs.clamp_min(1e-10)) + gumbel).softmax(-1)


@torch.no_grad()
def sample_smiles(generator: GraphGenerator, n: int, decode: str, stochastic: bool = False,
                  batch_size: int = 1000, fixed_latent: bool = False) -> list[tuple[str | None, str]]:
    """Sample n graphs and decode them: (canonical SMILES or None if not sanitisable, raw SMILES) each.

    stochastic: draw every atom and bond type from its predicted distribution, as the Gumbel-softmax
    relaxation does in training; otherwise take the most likely type, so the latent is the only randomness.
    fixed_latent: every sample from one latent vector (does the latent decide the molecule?).
    """
    if decode not in DECODINGS:
        raise ConfigError(f"sample.decode must be one of {DECODINGS}; got {decode!r}")
    spec = generator.decoder.spec
    generator.eval()
    out = []
    for start in range(0, n, batch_size):
        node_p, edge_p = generator.probabilities(min(batch_size, n - start), fixed_latent)
        if stochastic:
            node_p = gumbel_perturb(node_p)
            upper = torch.triu(torch.ones(spec.max_atoms, spec.max_atoms, dtype=torch.bool), 1)
            edges_upper = gumbel_perturb(edge_p[:, upper])
            edge_p = torch.zeros_like(edge_p)
            edge_p[:, upper] = edges_upper
            edge_p = edge_p + edge_p.transpose(1, 2)
        node_p, edge_p = node_p.numpy(), edge_p.numpy()
        for i in range(len(node_p)):
            if decode == "argmax":
                nodes, edges = graphs.argmax_decode(node_p[i], edge_p[i])
            else:
                nodes, edges = graphs.valence_decode(node_p[i], edge_p[i], spec)
            out.append(graphs.to_smiles(graphs.build_molecule(nodes, edges, spec)))
    return out


def samples_table(samples: list[tuple[str | None, str]], with_properties: bool = True) -> pd.DataFrame:
    """One row per sample: SMILES (canonical if valid, else the raw attempt), strict validity and, with
    with_properties, QED, logP and SA score (about 1 ms a molecule: most of the cost of generating)."""
    smiles = [canonical or raw for canonical, raw in samples]
    valid = [canonical is not None and graphs.is_single_fragment(canonical) for canonical, _ in samples]
    table = pd.DataFrame({"smiles": smiles, "valid": valid})
    if with_properties:
        values = [properties(s) if ok else (np.nan, np.nan, np.nan) for s, ok in zip(smiles, valid)]
        table[["qed", "logp", "sa"]] = np.array(values, dtype=float).reshape(-1, 3)
    return table


def latent_usage(fixed_latent_outputs: list[str]) -> dict:
    """Distinct outputs among samples that all share one latent vector: one (uniqueness 1/n) when the latent
    decides the molecule, about as many as samples when the decoder ignores it. Outputs are compared as
    strings, invalid ones included: a deterministic decoder whose one output does not parse still gives one."""
    distinct = len(set(fixed_latent_outputs))
    return {"uniqueness_latent_fixed": distinct / len(fixed_latent_outputs), "distinct_latent_fixed": distinct}


def write_molecule_outputs(table: pd.DataFrame, path: str | None, force: bool = False) -> str:
    """To `path` in the format of its extension, or as CSV on stdout when path is None."""
    if not path:
        table.to_csv(sys.stdout, index=False, float_format="%.4f")
        return f"wrote {len(table)} molecules to stdout; {int(table.valid.sum())} valid"
    return write_molecules(table, path, force)


class MoleculeDomain(Domain):
    """Everything molecule-specific the shared trainer and the CLI need, built from one config."""

    name = "molecules"
    metrics = METRICS
    adversarial = True  # trained by the shared adversarial trainer
    write_data = staticmethod(write_smiles_file)

    def __init__(self, config: dict, spec: GraphSpec | None = None):
        self.config = config
        self.spec = spec
        self.selection_metric = kept_epoch_metric(config)  # checked here, before any training
        self.data: MoleculeData | None = None
        self._train_set: set[str] | None = None

    def load_data(self) -> tuple[torch.Tensor, ...]:
        """Read, check and split the SMILES; the training graphs as node and edge type tensors."""
        self.data = load_molecules_section(self.config["data"])
        self.spec = self.data.spec
        self._train_set = set(self.data.subset("train"))
        train = self.data.split["train"]
        log.info("data: %d molecules used of %d lines (%d train); atom types %s, max %d atoms",
                 self.data.report.n_used, self.data.report.n_lines, len(train), list(self.spec.atom_types),
                 self.spec.max_atoms)
        return self.data.nodes[train], self.data.edges[train]

    def load_reference(self) -> None:
        """Read and split the data: all that evaluate needs."""
        self.load_data()

    def data_report(self) -> dict:
        """Lines read and left out (with reasons), atom types, size limit and split."""
        report = self.data.report.to_dict()
        report.update({"atom_types": list(self.spec.atom_types), "max_atoms": self.spec.max_atoms,
                       "split": {k: len(v) for k, v in self.data.split.items()}})
        return report

    def spec_dict(self) -> dict:
        """Atom types and maximum atoms: what a trained graph model needs besides its weights."""
        return {"atom_types": list(self.spec.atom_types), "max_atoms": self.spec.max_atoms}

    @staticmethod
    def spec_from_dict(d: dict) -> GraphSpec:
        """The GraphSpec back from spec_dict's output."""
        return GraphSpec(tuple(d["atom_types"]), int(d["max_atoms"]))

    def build_generator(self) -> GraphGenerator:
        """See the module-level build_generator."""
        return build_generator(self.config, self.spec)

    def build_critic(self) -> RelationalGraphCritic:
        """See the module-level build_critic."""
        return build_critic(self.config, self.spec)

    def real_to_input(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Training graphs as one-hot tensors."""
        return to_onehot(*batch, self.spec)

    def epoch_metrics(self, generator: GraphGenerator) -> dict:
        """Metrics on a few samples, logged after every epoch: no property distributions, and FCD (with
        evaluate.fcd) against the validation split, held out from training and apart from the test split
        of the final numbers, so that choosing an epoch by it does not touch the test split."""
        e = self.config["evaluate"]
        decoded = self._sample(generator, e["epoch_samples"])
        metrics = evaluate_smiles([c for c, _ in decoded], self._train_set, self.data.subset("valid"),
                                  with_fcd=e["fcd"], with_properties=False)
        raw = self._sample(generator, e["epoch_samples"], "argmax")
        metrics["validity_argmax"] = sum(c is not None and "." not in c for c, _ in raw) / e["epoch_samples"]
        if "fcd" in metrics:
            metrics["val_fcd"] = metrics.pop("fcd")
        return {k: metrics[k] for k in ("validity", "validity_argmax", "uniqueness", "novelty", "vun", "int_div",
                                        "val_fcd") if k in metrics}

    def final_metrics(self, generator: GraphGenerator) -> dict:
        """The full report on evaluate.final_samples samples, against the run's own test split."""
        e = self.config["evaluate"]
        decoded = self._sample(generator, e["final_samples"])
        metrics = evaluate_smiles([c for c, _ in decoded], self._train_set, self.data.subset("test"),
                                  with_fcd=e["fcd"])
        raw = self._sample(generator, e["final_samples"], "argmax")
        raw_metrics = evaluate_smiles([c for c, _ in raw], self._train_set, with_fcd=False, with_properties=False)
        metrics.update({f"{k}_argmax": raw_metrics[k] for k in ("validity", "validity_loose", "vu", "vun")})
        metrics["repair"] = self.config["sample"]["decode"]  # valence decoding repairs; validity_argmax does not
        n_fixed = min(1000, e["final_samples"])
        s = self.config["sample"]
        fixed = sample_smiles(generator, n_fixed, s["decode"], s["stochastic"], fixed_latent=True)
        metrics.update(latent_usage([canonical or raw for canonical, raw in fixed]))
        return metrics

    def evaluate(self, samples) -> dict:
        """Molecule metrics of `samples` (SMILES list or a samples table) against the test split."""
        smiles = smiles_list(samples, "samples", missing_is_invalid=True)
        return evaluate_smiles(smiles, self._train_set, self.data.subset("test"), with_fcd=self.config["evaluate"]["fcd"])

    def _sample(self, generator: GraphGenerator, n: int, decode: str | None = None):
        s = self.config["sample"]
        return sample_smiles(generator, n, decode or s["decode"], s["stochastic"])

    def sample(self, generator: GraphGenerator, n: int, properties: bool = True, workers: int = 1,
               beam: int | None = None) -> pd.DataFrame:
        """n molecules as a table (SMILES, validity and, with properties, QED / logP / SA). The graph decoder
        samples in this process whatever `workers` says (only the LatentGAN decodes in worker processes)."""
        if beam:
            raise ConfigError("beam decodes a sequence decoder's codes again; this model has the graph decoder "
                              "(its sample.decode chooses how graphs become molecules): leave beam out")
        if workers > 1:
            log.info("workers: the graph decoder samples in this process")
        return samples_table(self._sample(generator, n), properties)

    def write_samples(self, table: pd.DataFrame, path: str | None, force: bool = False) -> str:
        """Write the molecule table (CSV) or SMILES file atomically."""
        return write_molecule_outputs(table, path, force)

    def write_preview(self, generator: GraphGenerator, path, n: int = 24) -> None:
        """A grid drawing of n sampled molecules."""
        write_grid(self.sample(generator, n).smiles.tolist(), path, force=True)
