"""Training runs and trained models, for every domain: `train(config)` writes a run folder;
`GenerativeModel.load(source).sample(n)` samples from a run, a model.pt file or a shipped pretrained model."""

from __future__ import annotations

import json
import logging
import resource
import sys
from pathlib import Path

import torch

from qmolgen.config import apply_settings, recipe_names
from qmolgen.devices import device_record, move_to_cpu, on_cpu, on_device, resolve_device
from qmolgen.errors import CheckpointError, ConfigError
from qmolgen.images.domain import ImageDomain
from qmolgen.molecules.domain import MoleculeDomain
from qmolgen.molecules.sequence_domain import SequenceMoleculeDomain
from qmolgen.tables.domain import TableDomain
from qmolgen.quantum.latent import circuit_resources, parameter_counts, training_circuit_cost
from qmolgen.quantum.prior import BitPrior, fit_prior
from qmolgen.report.html import write_run_html
from qmolgen.report.plots import plot_training_curves
from qmolgen.resources import pretrained_dir
from qmolgen.seeding import draw_seed, seed_everything
from qmolgen.runs import MODEL_FORMAT, TRAINING_FORMAT, RunFolder, load_checkpoint, save_checkpoint
from qmolgen.train.privacy import private_critic
from qmolgen.train.wgan import AdversarialTrainer, TrainSettings

log = logging.getLogger("qmolgen")

DOMAINS = {"molecules": MoleculeDomain, "images": ImageDomain, "tables": TableDomain}
MOLECULE_DECODERS = {"graph": MoleculeDomain, "sequence": SequenceMoleculeDomain}


def domain_class(config: dict):
    """The domain class a config names (for molecules, by its generator.decoder: sequence or graph)."""
    name = config.get("domain")
    if name not in DOMAINS:
        raise ConfigError(f"domain {name!r} is not known; available: {sorted(DOMAINS)}")
    if name == "molecules":
        decoder = config["generator"].get("decoder", "graph")  # models saved before decoders were a choice
        if decoder not in MOLECULE_DECODERS:
            raise ConfigError(f"generator.decoder must be one of {sorted(MOLECULE_DECODERS)}; got {decoder!r}")
        return MOLECULE_DECODERS[decoder]
    return DOMAINS[name]


def domain_for(config: dict, spec=None):
    """The domain object for `config` (and a trained model's `spec`)."""
    return domain_class(config)(config, spec)


def resources_used() -> dict:
    """This process's peak resident memory so far (and the GPU's peak allocation when on one), in MB, and
    torch's CPU thread count, without which training times from different machines or runs don't compare."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    out = {"peak_rss_mb": round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1),
           "cpu_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def resolve_seed(config: dict) -> dict:
    """Fill in a drawn seed when the recipe has none, so every run records the seed it used."""
    if config.get("seed") is None:
        config = {**config, "seed": draw_seed()}
        log.info("no seed given; drew seed=%d (recorded in config.yaml)", config["seed"])
    return config


def train(config: dict | None = None, out: str | None = None, resume: str | None = None, force: bool = False,
          progress: bool = True, data=None) -> RunFolder:
    """Train the recipe in `config` (or continue the run folder `resume`) and write its outputs; returns the run
    folder (see train_model)."""
    return train_model(config, out, resume, force, progress, data)[0]


def train_model(config: dict | None = None, out: str | None = None, resume: str | None = None,
                force: bool = False, progress: bool = True, data=None) -> tuple[RunFolder, "GenerativeModel"]:
    """Train the recipe in `config` (or continue the run folder `resume`); returns the run folder and the
    trained model, whose domain still holds the data (for `evaluate`).

    `data`, when given, is in-memory training data (see each domain's write_data): it is written into the run
    folder and config's data.path points there, so the run can be resumed like any other. A run killed at
    any point can be continued from its last completed epoch with resume=<run folder>; it then finishes with
    the same numbers as an uninterrupted run.
    """
    if resume:
        run = RunFolder.open(resume)
        config = run.config()
        device = resolve_device(config["train"].get("device"))
    else:
        config = resolve_seed(config)
        device = resolve_device(config["train"].get("device"))  # refused before a run folder is made
        run = RunFolder.create(config, out, force)
        if data is not None:
            written = domain_class(config).write_data(data, run.path)
            config = apply_settings(config, {"data.path": str(written.resolve())})
            run.write_config(config)
    log.info("run folder: %s", run.path)
    if device.type != "cpu":
        log.info("training on %s", device_record(device))
    with on_device(device):
        final, domain, generator = _train_on_device(config, run, resume, progress)
    move_to_cpu(generator, domain)  # scoring, sampling and saved models are on the CPU
    final.update(device_record(device))
    final.update(circuit_resources(generator))
    log.info("final evaluation")
    final.update(domain.final_metrics(generator))
    final.update(resources_used())  # of this process: a resumed run counts from its resumption
    run.write_json("final_metrics.json", final)
    generator.eval()
    model = GenerativeModel(config, domain, generator, final.get("privacy"))
    model.save(run.model_path, force=True)
    plot_training_curves(run.metrics(), run.path / "training_curves.png", domain.metrics.labels)
    model.write_preview(run.path / "samples.png")
    write_run_html(run.path)
    return run, model


def _train_on_device(config: dict, run: RunFolder, resume, progress: bool) -> tuple[dict, object, torch.nn.Module]:
    """Load the data, build, pretrain and train the generator (under the run's device); returns final_metrics.json's
    training part, the domain and the trained generator."""
    seed_everything(config["seed"])
    domain = domain_for(config)
    domain.progress = progress
    dataset = domain.load_data()
    run.write_json("data_report.json", domain.data_report())
    for name, content in getattr(domain, "run_files", dict)().items():  # e.g. the tables' detected metadata
        run.write_json(name, content)
    generator = domain.build_generator()
    prior_report = _fit_prior(config, run, domain, dataset, generator, resume)
    if getattr(domain, "adversarial", True):
        final = _train_adversarially(config, run, domain, dataset, generator, resume, progress)
    else:  # the language-model baseline: maximum likelihood, resumable and cached by its own loop
        report = domain.fit_likelihood(generator, dataset)
        for record in report["history"]:
            run.append_metrics(record)
        final = {"seed": config["seed"], "generator": config["generator"]["kind"], "epochs": report["epochs"],
                 "train_seconds": report["seconds"], **parameter_counts(generator)}
    final.update(prior_report)
    return final, domain, generator


def _fit_prior(config: dict, run: RunFolder, domain, dataset, generator, resume) -> dict:
    """For the prior kinds (qcbm, prior_*): fit the prior to the data's bits before the GAN and record the fit in
    prior.json; a resumed run keeps the fitted prior from its checkpoint. Returns the fit report ({} otherwise)."""
    prior = getattr(generator, "latent", None)
    if not isinstance(prior, BitPrior):
        return {}
    if resume and (run.path / "prior.json").is_file():
        prior.freeze()  # its fitted weights (and measured pool) come back with the checkpoint
        return json.loads((run.path / "prior.json").read_text())
    with on_cpu(prior):  # a few qubits' distribution: small, and its fit draws from seeded CPU generators
        report = fit_prior(prior, [t.cpu() for t in dataset], domain.real_to_input, config["quantum"], config["seed"])
    log.info("prior: %s", {k: round(v, 4) if isinstance(v, float) else v for k, v in report.items()})
    run.write_json("prior.json", report)
    return report


def _train_adversarially(config: dict, run: RunFolder, domain, dataset, generator, resume, progress) -> dict:
    """The shared WGAN-GP trainer on `dataset`, checkpointing the run folder after every epoch; returns the
    training part of final_metrics.json."""
    critic = domain.build_critic()
    try:
        settings = TrainSettings(**config["train"])
    except TypeError as exc:
        raise ConfigError(f"train section: {exc}") from exc

    def checkpoint(trainer: AdversarialTrainer, record: dict | None) -> None:
        if record is not None:
            run.append_metrics(record)
            shown = {k: round(v, 3) if isinstance(v, float) else v for k, v in record.items()}
            log.info("epoch %s", shown)
        save_checkpoint({"config": config, "spec": domain.spec_dict(), "trainer": trainer.state_dict()},
                        run.last_checkpoint, TRAINING_FORMAT)

    n_rows = len(dataset[0])
    steps_per_epoch = settings.steps_per_epoch or max(1, n_rows // settings.batch_size)
    privacy = private_critic(config.get("privacy"), critic, n_rows, settings.batch_size,
                             settings.epochs * steps_per_epoch)
    trainer = AdversarialTrainer(generator, critic, settings, domain.real_to_input, domain.epoch_metrics,
                                 checkpoint, progress, privacy, getattr(domain, "selection_metric", None))
    if resume and run.last_checkpoint.exists():
        state = load_checkpoint(run.last_checkpoint, TRAINING_FORMAT)
        trainer.load_state_dict(state["trainer"])
        run.truncate_metrics(trainer.epoch)
        log.info("resuming %s after epoch %d of %d", run.path, trainer.epoch, settings.epochs)
    else:
        checkpoint(trainer, None)  # epoch 0: a crash in the first epoch still leaves something to resume
    trainer.fit(dataset)
    final = {"seed": config["seed"], "generator": config["generator"]["kind"], "epochs": trainer.epoch,
             "train_seconds": round(trainer.elapsed, 1), **parameter_counts(generator)}
    generator_steps = trainer.epoch * (steps_per_epoch // settings.n_critic)
    final.update(training_circuit_cost(generator, trainer.step, generator_steps, settings.batch_size))
    if trainer.best is not None:
        final["selected_epoch"] = trainer.best["epoch"]
    if getattr(domain, "privacy", None):  # trained on rows a DP mechanism released (tables: privacy.mechanism)
        final["privacy"] = domain.privacy
    if privacy is not None:
        final["privacy"] = privacy.report()
        log.info("privacy spent: epsilon %.3f at delta %.3g (%s accountant)", final["privacy"]["epsilon"],
                 privacy.delta, privacy.settings.accountant)
    return final


class GenerativeModel:
    """A trained generator with its config, in the SDV manner: `GenerativeModel.load(src).sample(n)`."""

    def __init__(self, config: dict, domain, generator, privacy: dict | None = None):
        self.config, self.domain, self.generator = config, domain, generator
        self.privacy = privacy  # the DP guarantee training spent (epsilon, delta, how), kept in the model file

    @classmethod
    def load(cls, source: str | Path) -> "GenerativeModel":
        """From a shipped recipe name (its pretrained model), a run folder, or a model.pt file.

        Raises:
            CheckpointError: nothing usable at `source`, or the file is corrupt or not a qmolgen model.
        """
        source = Path(source)
        if source.is_dir():
            path = source / "model.pt"
            if not path.is_file():
                raise CheckpointError(f"run folder {source} has no model.pt: the run did not finish; "
                                      f"continue it with `qmolgen train --resume {source}`")
        elif source.is_file():
            path = source
        elif len(source.parts) > 1 or source.suffix:  # a path that is not there, not a recipe name
            raise CheckpointError(f"{source} does not exist; give a run folder, a model.pt file or a recipe name")
        else:
            path = pretrained_dir() / f"{source.name}.pt"
            if not path.is_file():
                recipes = recipe_names()
                shipped = [name for name in recipes if (pretrained_dir() / f"{name}.pt").is_file()]
                if source.name in recipes:
                    raise CheckpointError(f"recipe {source.name} ships no pretrained model (pretrained: "
                                          f"{', '.join(shipped) or 'none'}); train one with `qmolgen train "
                                          f"{source.name} -o runs/{source.name}` and give that folder")
                raise CheckpointError(f"{source} is neither a run folder, a model file, nor a recipe with a "
                                      f"pretrained model (pretrained: {', '.join(shipped) or 'none'})")
        payload = load_checkpoint(path, MODEL_FORMAT)
        config = payload["config"]
        kind = domain_class(config)
        domain = kind(config, kind.spec_from_dict(payload["spec"]))
        generator = domain.build_generator()
        try:
            generator.load_state_dict(payload["generator"])
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: weights do not fit the model its config describes: {exc}") from exc
        if isinstance(getattr(generator, "latent", None), BitPrior):
            generator.latent.freeze()  # a trained prior: sampled from its fixed distribution
        generator.eval()
        return cls(config, domain, generator, payload.get("privacy"))

    def save(self, path: str | Path, force: bool = False) -> None:
        """Save config, spec and weights as a weights-only checkpoint; an existing file needs force=True."""
        if path and Path(path).exists() and not force:
            raise CheckpointError(f"{path} already exists; pass force=True to overwrite it")
        save_checkpoint({"config": self.config, "spec": self.domain.spec_dict(),
                         "generator": self.generator.state_dict(), "privacy": self.privacy}, path, MODEL_FORMAT)

    def sample(self, n: int, seed: int | None = None, **options):
        """n samples in the domain's form: molecules a table (smiles, valid, qed, logp, sa; pass
        properties=False to leave out the three property columns, the slow part), images an (n, 8, 8) array
        of pixels in [0, 1], tables a DataFrame."""
        if n < 1:
            raise ConfigError(f"the number of samples must be >= 1; got {n}")
        if seed is not None:
            seed_everything(seed)
        return self.domain.sample(self.generator, n, **options)

    def write_preview(self, path: str | Path) -> None:
        """A picture of a few samples (molecule grid, image grid or table preview)."""
        self.domain.write_preview(self.generator, path)
