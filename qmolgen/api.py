"""The Python API, in SDV's fit / sample / save / load manner; the `qmolgen` command line is a thin layer over it.

    from qmolgen import Synthesizer

    synth = Synthesizer.from_recipe("credit", **{"train.epochs": 5})
    synth.fit(my_dataframe)                  # or a list of SMILES, an image array, or a file path
    rows = synth.sample(1000, seed=0)        # a DataFrame (molecules: a table of SMILES; images: an array)
    synth.evaluate(rows)                     # the domain's metrics against the held-out data
    synth.save("credit.pt")                  # the CLI's weights-only model file
    again = Synthesizer.load("credit.pt")    # also a run folder, or a recipe name (its shipped model)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from qmolgen.config import apply_settings, load_recipe
from qmolgen.errors import ConfigError, DataError, NotFittedError, OutputExistsError
from qmolgen.model import GenerativeModel, resolve_seed, train_model
from qmolgen.runs import RunFolder

log = logging.getLogger("qmolgen")


class Synthesizer:
    """A generative model of one recipe: configure, fit on data, sample, evaluate, save and load.

    Args:
        config: a complete config, as `qmolgen.config.load_config` returns it; usually built by
            `Synthesizer.from_recipe`.
    """

    def __init__(self, config: dict):
        self.config = config
        self._model: GenerativeModel | None = None
        self.metrics: dict | None = None  # final_metrics.json of the last fit
        self.run_path: Path | None = None  # the run folder of the last fit, when one was kept
        self.source: str | None = None  # what `load` read: a model file, run folder or recipe name

    @classmethod
    def from_recipe(cls, recipe: str = "qm9", **settings: Any) -> "Synthesizer":
        """A synthesizer for a shipped recipe name or a recipe .yaml path, with settings by their dotted keys,
        e.g. `Synthesizer.from_recipe("qm9", **{"train.epochs": 5, "generator.kind": "classical"})`.

        Raises:
            ConfigError: an unknown recipe or key, or a value of the wrong type (all problems at once).
        """
        return cls(apply_settings(load_recipe(recipe), settings))

    @classmethod
    def load(cls, source: str | os.PathLike) -> "Synthesizer":
        """A fitted synthesizer from a model.pt file, a run folder, or a recipe name (its shipped pretrained
        model). Files are loaded weights-only: nothing in them is executed.

        Raises:
            CheckpointError: nothing usable at `source`, or a corrupt or foreign file.
        """
        model = GenerativeModel.load(source)
        synth = cls(model.config)
        synth._model = model
        synth.source = str(source)
        path = Path(source)
        if path.is_dir() and (path / "final_metrics.json").is_file():
            synth._finished(RunFolder(path), keep=True)
        return synth

    @classmethod
    def resume(cls, run_folder: str | os.PathLike, progress: bool = False) -> "Synthesizer":
        """Continue a stopped run from its last completed epoch; the result equals an uninterrupted run."""
        synth = cls(RunFolder.open(run_folder).config())
        run, synth._model = train_model(resume=str(run_folder), progress=progress)
        synth._finished(run, keep=True)
        return synth

    @property
    def domain(self) -> str:
        """molecules, images or tables."""
        return self.config["domain"]

    @property
    def fitted(self) -> bool:
        """Whether the synthesizer can sample: fitted here, or loaded from a trained model."""
        return self._model is not None

    def fit(self, data: Any = None, *, out: str | os.PathLike | None = None, force: bool = False,
            progress: bool = False) -> "Synthesizer":
        """Train on `data`: a file path, or data in memory (molecules: a list of SMILES or a DataFrame with a
        'smiles' column; images: an (N, 8, 8) array in [0, 1]; tables: a DataFrame). None trains on the
        recipe's own dataset. The recipe's seed is used; a missing one is drawn and recorded in `config`.

        Args:
            out: keep the run folder there (config, per-epoch metrics, checkpoints, model.pt, figures; a copy of
                in-memory data, so `Synthesizer.resume(out)` can continue a stopped run). Without it the run
                lives in a temporary folder that is removed after fitting, data copy included.
            force: reuse a non-empty `out` folder.
            progress: show progress bars.
        Raises:
            DataError: the data cannot be used (every problem named, with where and how to fix it).
            ConfigError: the recipe's settings are not valid.
        """
        config, in_memory = self.config, data
        if isinstance(data, (str, os.PathLike)):
            config, in_memory = apply_settings(config, {"data.path": str(data)}), None
        config = resolve_seed(config)  # drawn here, so the run's config and self.config agree
        with contextlib.ExitStack() as stack:
            folder = out
            if folder is None:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qmolgen-run-"))) / "run"
            try:
                run, self._model = train_model(config, str(folder), force=force, progress=progress, data=in_memory)
            except DataError as exc:
                if in_memory is None or self.domain != "molecules":  # only SMILES lists are written line by line
                    raise
                raise DataError(f"{exc}. (The data passed to fit was written one item per line: line n is item "
                                f"n - 1 of it.)") from None
            self.config = self._model.config
            self._finished(run, keep=out is not None)
        return self

    def _finished(self, run: RunFolder, keep: bool) -> None:
        """Keep a finished run's metrics and folder on the synthesizer."""
        self.metrics = json.loads((run.path / "final_metrics.json").read_text())
        self.run_path = run.path if keep else None

    def _fitted_model(self, action: str) -> GenerativeModel:
        """The trained model, or NotFittedError saying what could not be done before fitting."""
        if self._model is None:
            raise NotFittedError(f"cannot {action} before fitting: call fit(data) first, or "
                                 "Synthesizer.load(path) for a trained model")
        return self._model

    def sample(self, n: int, seed: int | None = None, **options: Any):
        """n samples in the domain's natural type: molecules a DataFrame (smiles, valid, qed, logp, sa; pass
        properties=False to skip the three property columns), images an (n, 8, 8) array in [0, 1], tables a
        DataFrame with the training table's columns. The same seed gives the same samples.

        Tables take `where=["Status=bad", "Age>=40"]`: n rows that meet every condition (= and != on categories;
        =, !=, <, <=, >, >= on numbers), drawn from the model's own conditional distribution by annealed
        sequential Monte Carlo in its input space, not by rejection; a condition the model never meets raises
        DataError. The run's report (achieved fraction, rows/s) is logged.

        Raises:
            NotFittedError: the synthesizer was neither fitted nor loaded.
        """
        return self._fitted_model("sample").sample(n, seed=seed, **options)

    def evaluate(self, samples: Any, data: Any = None) -> dict:
        """The domain's metrics (the same as final_metrics.json) of `samples` against the held-out split of the
        training data: the test split for molecules and images, the hold-out rows for tables.

        Args:
            samples: what `sample` returns, or the same type from elsewhere (a list of SMILES works too).
            data: the training data again, needed after `load` when the model was fitted on in-memory data
                (a model remembers its data's path, not the data); None re-reads the recorded path.
        Raises:
            NotFittedError: the synthesizer was neither fitted nor loaded.
            DataError: the samples are of the wrong type or shape, or the data cannot be read.
        """
        model = self._fitted_model("evaluate")
        domain = model.domain
        if data is not None or getattr(domain, "data", None) is None:
            domain = type(domain)(model.config, domain.spec_from_dict(domain.spec_dict()))
            if data is None:
                domain.load_reference()
            else:
                with tempfile.TemporaryDirectory(prefix="qmolgen-data-") as tmp:
                    path = data if isinstance(data, (str, os.PathLike)) else domain.write_data(data, Path(tmp))
                    domain.config = apply_settings(model.config, {"data.path": str(path)})
                    domain.load_reference()
            if data is None:
                model.domain = domain  # keep the loaded data for the next call
        return domain.evaluate(samples)

    def write_samples(self, samples: Any, path: str | os.PathLike | None = None, force: bool = False) -> str:
        """Write samples in the format of `path`'s extension (molecules .csv/.smi/.sdf, or CSV on stdout when
        path is None; images .png and .npy; tables .csv/.parquet with SDV metadata beside), atomically and
        never over an existing file unless force. Returns a line saying what was written."""
        return self._fitted_model("write samples").domain.write_samples(samples, str(path) if path else None, force)

    @property
    def privacy(self) -> dict | None:
        """The differential-privacy guarantee the model was trained under (epsilon, delta, mechanism,
        accountant), as recorded in its model file; None for a model trained without DP."""
        return self._fitted_model("read the privacy of").privacy

    def export_table(self, n: int, path: str | os.PathLike, seed: int | None = None, chunk_size: int = 10_000,
                     force: bool = False, progress: bool = False, where: list[str] | tuple[str, ...] = ()) -> str:
        """Tables: write n synthetic rows to a .csv or .parquet file, `chunk_size` rows at a time (memory depends
        on chunk_size, not on n), with the SDV metadata JSON beside it and a .provenance.json saying what made
        the rows (model, seed, conditions and how well they were met, the DP guarantee or its absence). With
        `where` conditions (e.g. ["Status=bad", "Age>=40"]) every row meets them all (see `sample`). The same
        model, seed and conditions write byte-identical files.

        Raises:
            ConfigError: the model is not a table model, or a condition does not fit its columns.
        """
        from qmolgen import __version__
        from qmolgen.seeding import seed_everything
        from qmolgen.tables.files import export_rows

        model = self._fitted_model("export")
        if self.domain != "tables":
            raise ConfigError(f"export writes tables; this is a {self.domain} model (use sample / write_samples)")
        if where:  # a malformed condition fails here, before any file is opened
            from qmolgen.tables.conditions import parse_conditions

            parse_conditions(list(where), model.domain.transformer.columns)
        if seed is not None:
            seed_everything(seed)
        reports: list[dict] = []

        def sample(k: int):
            rows = model.sample(k, where=where)
            if where:
                reports.append(model.domain.last_conditional_report)
            return rows

        def provenance() -> dict:
            conditional = None
            if reports:
                conditional = {"achieved_fraction": min(r["achieved_fraction"] for r in reports),
                               "unconditional_fraction": min(r["unconditional_fraction"] for r in reports),
                               "distinct_rows_per_chunk": [r["distinct_rows"] for r in reports],
                               "method": "annealed SMC in the generator's input space (tables/conditional.py)"}
            return {"rows": n, "seed": seed, "where": list(where), "conditional": conditional,
                    "model": {"source": self.source, "recipe": self.config.get("recipe"),
                              "generator": self.config["generator"]["kind"], "data": self.config["data"]["path"]},
                    "privacy": model.privacy or {"dp": False, "note": "trained without differential privacy"},
                    "qmolgen": __version__}

        return export_rows(sample, n, str(path), model.domain.metadata_dict, model.domain.transformer, chunk_size,
                           force, progress, provenance)

    def optimize(self, objectives: list[str] | str, *, constraints: list[str] | tuple[str, ...] = (),
                 similar_to: str | None = None, min_similarity: float | None = None, scorer: Any = None,
                 scorer_column: str | None = None, optimizer: str = "cmaes", space: str = "latent",
                 budget: int = 5000, n: int = 100, seed: int = 0, progress: bool = False):
        """Molecules: search the model's latent space for the n best distinct molecules (molecules/optimize.py).

        Args:
            objectives: summed and maximised: "qed", "2*qed", "-sa", "logp", "mw", "tpsa", "similarity",
                "scorer", or a GuacaMol task ("celecoxib_rediscovery", "osimertinib_mpo", ...); texts with a
                comparison ("sa<=3.5") are constraints.
            constraints: more constraints, e.g. ["mw>=250", "similarity>=0.4"].
            similar_to, min_similarity: the molecule `similarity` compares with, and a lower bound on it.
            scorer: a CSV path of SMILES with measured values; trains the `scorer` property (a random forest on
                Morgan fingerprints; its cross-validated error is in the report).
            optimizer: "cmaes", "ga", "random" (prior draws: the baseline) or "finetune" (reward fine-tuning of a
                copy of the decoder, rounds of 500 sampled molecules; space must be "latent").
            space: "latent" (the latent source's inputs), "code" (the autoencoder's code space) or "circuit"
                (hybrid / qcbm models: the circuit's angles, fine-tuned on the objective; each setting is scored by
                the mean of 10 molecules).
            budget: molecules decoded and scored in all. n: molecules returned.
        Returns:
            (DataFrame of rank, smiles, score, each property, passes_filters; best first, constraints met) and the
            report dict (calls, seconds, validity, top-k scores, filter pass rate, the GuacaMol score when the
            objective is one of its tasks, the scorer's CV error).
        Raises:
            ConfigError: not a LatentGAN molecule model, or an objective / constraint that does not parse.
        """
        from qmolgen.molecules.optimize import build_objective, optimize

        model = self._fitted_model("optimize")
        if self.domain != "molecules":
            raise ConfigError(f"optimize searches molecule models; this is a {self.domain} model")
        objective, scorer_report = build_objective([objectives] if isinstance(objectives, str) else objectives,
                                                   constraints, similar_to, min_similarity, scorer, scorer_column,
                                                   seed)

        def report_progress(calls: int, best: float) -> None:
            if calls % max(budget // 10, 1) < 100 or calls >= budget:  # about ten lines per search
                log.info("optimize: %d / %d molecules scored, best feasible score %.4f", calls, budget, best)

        best, report = optimize(model, objective, optimizer, space, budget, n, seed,
                                progress=report_progress if progress else None)
        report["source"] = self.source
        if scorer_report:
            report["scorer"] = scorer_report
        return best, report

    def write_optimized(self, best, report: dict, path: str | os.PathLike, force: bool = False) -> str:
        """Write `optimize`'s molecules as CSV at `path` and its report as JSON beside it (atomically, never over
        existing files unless force); returns a summary line."""
        from qmolgen.outputs import atomic_path, write_text

        path = Path(path)
        if path.suffix.lower() != ".csv":
            raise ConfigError(f"optimize writes CSV; got {path}")
        report_path = path.with_suffix(".json")
        if report_path.exists() and not force:
            raise OutputExistsError(f"{report_path} already exists; pass --force to overwrite it")
        with atomic_path(path, force) as tmp:
            best.to_csv(tmp, index=False, float_format="%.4f")
        write_text(report_path, json.dumps(report, indent=2) + "\n", force)
        guacamol = report.get("guacamol")
        extra = (f"; GuacaMol {guacamol['task']} score {guacamol['score']:.3f} (best published "
                 f"{guacamol['best_published']:.3f})" if guacamol else "")
        return (f"wrote {len(best)} molecules to {path} (report {report_path}): best {report['best_score']:.4f}, "
                f"{report['scoring_calls']} scored in {report['seconds']} s, {report['filters_pass_rate']:.0%} pass "
                f"the medicinal-chemistry filters{extra}")

    def save(self, path: str | os.PathLike, force: bool = False) -> None:
        """Write the model as a weights-only model.pt file, the same format as a run folder's model.pt.

        Raises:
            NotFittedError: nothing to save yet.
            CheckpointError: `path` exists and force is False.
        """
        self._fitted_model("save").save(path, force=force)

    def __repr__(self) -> str:
        state = "fitted" if self.fitted else "not fitted"
        return (f"Synthesizer(recipe={self.config.get('recipe')!r}, domain={self.domain!r}, "
                f"kind={self.config['generator']['kind']!r}, {state})")
