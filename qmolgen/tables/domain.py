"""The table domain as the trainer sees it: a table and its metadata, generator and critic from config,
sampling rows, quality metrics.

Generator kinds (config `generator.kind`), identical but for the latent source / decoder:
    hybrid         quantum circuit latent -> MLP row decoder
    classical      Gaussian latent of the same size -> the same decoder (the classical GAN)
    size_matched   uniform noise -> tanh MLP with <= the circuit's parameter count -> the same decoder
    quantum_patch  patch circuits whose Born probabilities fill the row's spans; no trainable classical layer
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from qmolgen.domain import Domain, DomainMetrics, Metric
from qmolgen.errors import ConfigError
from qmolgen.quantum.latent import PatchQuantumGenerator, generator_source
from qmolgen.tables.data import TableData, check_columns, columns_metadata, load_table_section, write_table_file
from qmolgen.tables.files import write_correlations, write_distributions, write_table
from qmolgen.tables.metrics import evaluate_table, quality
from qmolgen.tables.networks import BornRowDecoder, MLPRowDecoder, RowCritic, RowGenerator
from qmolgen.tables.transforms import RowTransformer
from qmolgen.train.privacy import privacy_settings, resolve_delta

log = logging.getLogger("qmolgen")


METRICS = DomainMetrics(
    quality=Metric("quality", "SDMetrics quality", True),
    validation=Metric("val_quality", "SDMetrics quality against the hold-out", True),
    collapse="1 − SDMetrics CategoryCoverage averaged over categorical columns: the share of real categories "
             "never generated",
    summary=("quality", "quality_holdout"),
    labels={"quality": "SDMetrics quality", "quality_holdout": "SDMetrics quality (hold-out)"})


SELECTION = Metric("sel_quality", "SDMetrics quality against the set-aside training rows", True)


def build_generator(config: dict, transformer: RowTransformer) -> RowGenerator:
    """Latent source (any generator kind) + the MLP row decoder, or patch circuits + the Born decoder."""
    g, spans = config["generator"], transformer.spans
    choices = g.get("choices", "sample")  # models trained before the setting existed drew their choices
    source = generator_source(config, lambda q: math.ceil(BornRowDecoder.probabilities_needed(spans) / 2 ** q["patch_qubits"]))
    if isinstance(source, PatchQuantumGenerator):
        return RowGenerator(source, BornRowDecoder(spans, g["temperature"], choices))
    return RowGenerator(source, MLPRowDecoder(source.dim, spans, list(g["decoder_hidden"]), g["temperature"], choices))


@torch.no_grad()
def sample_rows(generator: RowGenerator, transformer: RowTransformer, n: int, batch_size: int = 5000) -> pd.DataFrame:
    """n decoded rows, `batch_size` at a time, in eval mode."""
    generator.eval()
    parts = [transformer.inverse(generator.sample(min(batch_size, n - start)).numpy())
             for start in range(0, n, batch_size)]
    return pd.concat(parts, ignore_index=True)


class TableDomain(Domain):
    """Everything table-specific the shared trainer and the CLI need, built from one config."""

    name = "tables"
    metrics = METRICS
    write_data = staticmethod(write_table_file)

    def __init__(self, config: dict, spec: dict | None = None):
        self.config = config
        self.data: TableData | None = None
        self.transformer = RowTransformer.from_dict(spec["transformer"]) if spec else None
        self.metadata_dict = spec["metadata"] if spec else None
        self.privacy: dict | None = None  # what a DP mechanism that released the training rows spent
        self.selection_rows: pd.DataFrame | None = None  # rows the kept epoch is picked on (evaluate.selection)

    def load_data(self) -> tuple[torch.Tensor]:
        """The training rows as the model's float matrix; with privacy.mechanism mst or aim, the rows that
        mechanism released instead (the real ones are then read only by that mechanism and by evaluation)."""
        self.data = load_table_section(self.config["data"])
        self.metadata_dict = self.data.metadata.to_dict()
        self._set_aside_selection_rows()
        train = self.released_rows(self.data.subset("train"))
        g = self.config["generator"]
        self.transformer = RowTransformer(g["max_modes"], g["numerical"], g["spread_ties"]).fit(
            train, columns_metadata(self.data.metadata))
        log.info("data: %d rows x %d columns (%d train, %d hold-out); %d model features",
                 len(self.data.table), self.data.table.shape[1], len(train), len(self.data.split["holdout"]),
                 self.transformer.dim)
        return (torch.from_numpy(self.transformer.transform(train)),)

    @property
    def selection_metric(self) -> Metric | None:
        """What the trainer keeps the best epoch by: quality against the set-aside training rows (evaluate.selection)."""
        return SELECTION if self.config["evaluate"].get("selection") else None

    def _selection_share(self) -> float:
        """evaluate.selection, checked (0 = keep the last epoch)."""
        share = self.config["evaluate"].get("selection") or 0.0
        if share and not 0 < share < 1:
            raise ConfigError(f"evaluate.selection must lie between 0 and 1 (0 = keep the last epoch); got {share}")
        return share

    def _set_aside_selection_rows(self) -> None:
        """With evaluate.selection = s > 0, a seeded share s of the training rows is set aside: never trained on,
        scored after every epoch to pick the generator kept. The hold-out stays untouched, and the final metrics
        compare with the rows actually trained on. Under DP-SGD this would read real rows outside the guarantee,
        so it is refused; with privacy.mechanism mst / aim the share is set aside from the released rows instead
        (released_rows), which is post-processing."""
        share = self._selection_share()
        settings = privacy_settings(self.config.get("privacy"))
        if not share or (settings is not None and settings.mechanism != "dp_sgd"):
            return
        if settings is not None:
            raise ConfigError("evaluate.selection reads real rows outside the DP-SGD guarantee; set it to 0 with "
                              "privacy.mechanism=dp_sgd (with mst / aim it picks on released rows)")
        train = self.data.split["train"]
        order = np.random.default_rng(self.config["data"]["split_seed"] + 1).permutation(len(train))
        n = max(2, round(share * len(train)))
        self.data.split = {**self.data.split, "train": np.sort(train[order[n:]]), "selection": np.sort(train[order[:n]])}
        self.selection_rows = self.data.subset("selection")

    def released_rows(self, train: pd.DataFrame) -> pd.DataFrame:
        """`train` itself, or with privacy.mechanism mst / aim the rows that mechanism releases from it at
        privacy.epsilon and privacy.delta. Everything trained on them is post-processing of that release, so
        the model, its transform included, carries the mechanism's (epsilon, delta) guarantee given the public
        domain (categories, ranges). Rerun with the same seed (a resumed run), it releases the same rows."""
        settings = privacy_settings(self.config.get("privacy"))
        self.privacy = None
        if settings is None or settings.mechanism == "dp_sgd":
            return train
        from qmolgen.baselines.marginal import synthesize

        delta = resolve_delta(settings.delta, len(train))
        columns = next(iter(self.metadata_dict["tables"].values()))["columns"]
        rows, self.privacy = synthesize(settings.mechanism, train, columns, settings.epsilon, delta,
                                        settings.marginal_rows or 4 * len(train), self.config["seed"])
        rows = rows[train.columns]
        share = self._selection_share()
        if share:  # pick the epoch on released rows set aside from training: post-processing, no privacy cost
            n = max(2, round(share * len(rows)))
            self.selection_rows, rows = rows.iloc[:n].reset_index(drop=True), rows.iloc[n:].reset_index(drop=True)
        log.info("training on %d rows released by %s at epsilon %g, delta %.3g", len(rows), settings.mechanism,
                 settings.epsilon, delta)
        return rows

    def load_reference(self) -> None:
        """Read and split the data: all that evaluate needs."""
        self.load_data()

    def data_report(self) -> dict:
        """What was read: sizes, split, sdtypes, missing values, where the metadata came from."""
        table = self.data.table
        return {"dataset": self.config["data"]["path"], "n_rows": len(table), "n_columns": table.shape[1],
                "split": {k: len(v) for k, v in self.data.split.items()},
                "sdtypes": {c["name"]: c["sdtype"] for c in self.transformer.columns},
                "missing": {k: int(v) for k, v in table.isna().sum().items() if v},
                "metadata": "loaded from " + self.config["data"]["metadata"] if self.config["data"]["metadata"]
                else "detected (metadata.json in the run folder; edit it and pass data.metadata=... to change it)",
                "model_features": self.transformer.dim}

    def run_files(self) -> dict:
        """Extra JSON files for the run folder: the metadata used, for the user to check and edit."""
        return {"metadata.json": self.metadata_dict}

    def spec_dict(self) -> dict:
        """What sampling needs without the data: the row transform and the metadata."""
        return {"transformer": self.transformer.to_dict(), "metadata": self.metadata_dict}

    @staticmethod
    def spec_from_dict(d: dict) -> dict:
        """The spec back from spec_dict's output (it is plain data already)."""
        return d

    def build_generator(self) -> RowGenerator:
        """The row generator config['generator']['kind'] names, sized by the fitted row transformer."""
        return build_generator(self.config, self.transformer)

    def build_critic(self) -> RowCritic:
        """The MLP critic over row matrices (scoring `critic.pack` rows at a time)."""
        c = self.config["critic"]
        return RowCritic(self.transformer.dim, list(c["hidden"]), c["pack"])

    def real_to_input(self, batch: tuple[torch.Tensor]) -> tuple[torch.Tensor]:
        """Real row matrices go to the critic as they are."""
        return batch

    def epoch_metrics(self, generator: RowGenerator) -> dict:
        """SDMetrics quality of a few synthetic rows against the never-trained-on hold-out rows, as val_quality,
        val_column_shapes and val_column_pair_trends (monitoring only: nothing is selected on it), and with
        evaluate.selection the quality against the set-aside training rows, sel_quality, which is."""
        rows = sample_rows(generator, self.transformer, self.config["evaluate"]["epoch_samples"])
        out = {f"val_{k}": v for k, v in quality(self.data.subset("holdout"), rows, self.metadata_dict).items()}
        if self.selection_rows is not None:  # what the best epoch is picked by (never the hold-out)
            out[SELECTION.key] = quality(self.selection_rows, rows, self.metadata_dict)["quality"]
        return out

    def final_metrics(self, generator: RowGenerator) -> dict:
        """Quality, ML efficacy and privacy of evaluate.final_samples rows (null = as many as the training rows)."""
        train, holdout = self.data.subset("train"), self.data.subset("holdout")
        n = self.config["evaluate"]["final_samples"] or len(train)
        synthetic = sample_rows(generator, self.transformer, n)
        return evaluate_table(synthetic, train, holdout, self.metadata_dict, self.config["data"]["target"])

    def evaluate(self, samples: pd.DataFrame) -> dict:
        """Quality, ML efficacy and privacy of a synthetic DataFrame against the training and hold-out rows."""
        check_columns(samples, self.data.table, "samples")
        train, holdout = self.data.subset("train"), self.data.subset("holdout")
        return evaluate_table(samples[train.columns], train, holdout, self.metadata_dict, self.config["data"]["target"])

    def sample(self, generator: RowGenerator, n: int, where: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
        """n rows; with `where` conditions (e.g. ["Status=bad", "Age>=40"]) n rows that meet them all, drawn from
        the model's conditional distribution (tables/conditional.py); the sampling report is logged and kept in
        `last_conditional_report`."""
        if not where:
            return sample_rows(generator, self.transformer, n)
        from qmolgen.tables.conditional import ConditionalSampler
        from qmolgen.tables.conditions import parse_conditions

        conditions = parse_conditions(list(where), self.transformer.columns)
        rows, self.last_conditional_report = ConditionalSampler(generator, self.transformer, conditions).sample(n)
        r = self.last_conditional_report
        log.info("conditional sampling: %d rows meeting %s (%.1f %% of unconditional rows do), achieved %.3f, "
                 "%d distinct, %.0f rows/s", n, " and ".join(r["conditions"]), 100 * r["unconditional_fraction"],
                 r["achieved_fraction"], r["distinct_rows"], r["rows_per_second"])
        return rows

    def write_samples(self, table: pd.DataFrame, path: str | None, force: bool = False) -> str:
        """Write rows as .csv / .parquet with the SDV metadata beside (CSV on stdout without a path)."""
        return write_table(table, self.metadata_dict, path, force)

    def write_preview(self, generator: RowGenerator, path, n: int = 2000) -> None:
        """PNG of each column's distribution, synthetic against the training rows, and beside it
        correlations.png: the column-pair association heat maps, real, synthetic and their difference."""
        real = self.data.subset("train") if self.data is not None else None
        rows = sample_rows(generator, self.transformer, n)
        write_distributions(rows, real, self.transformer, path)
        if real is not None:
            write_correlations(rows, real, self.transformer, Path(path).with_name("correlations.png"))
