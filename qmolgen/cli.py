"""The `qmolgen` command line: parsing and dispatch only; the work is done by the library modules."""

from __future__ import annotations

import json
import logging
import sys
import traceback

import click

import qmolgen
from qmolgen.errors import QmolgenError

log = logging.getLogger("qmolgen")

EXAMPLES = """
\b
Examples:
  qmolgen recipes                                   list the shipped recipes
  qmolgen train qm9                                 train the hybrid model on QM9
  qmolgen train qm9 generator.kind=classical seed=1 the classical GAN baseline
  qmolgen train molecules data.path=my.smi          train on your own SMILES file or CSV
  qmolgen train --resume runs/qm9-hybrid-...        continue a run that was stopped
  qmolgen generate qm9 -n 10000 -o mols.csv         sample the shipped pretrained model
  qmolgen evaluate mols.csv --reference qm9         score any SMILES file
  qmolgen optimize moses --objective qed --objective 'sa<=3.5' -o best.csv
                                                    latent-space search for the best molecules
  qmolgen train digits                              the hybrid image GAN on 8x8 digits
  qmolgen generate digits -n 64 -o grid.png         a PNG grid and grid.npy from the pretrained model
  qmolgen evaluate grid.npy                         FID (digits classifier), classes covered, coverage
  qmolgen benchmark digits --seeds 3                every model of a recipe: report.md, results.csv, charts
  qmolgen benchmark all --quick                     every recipe end to end in a few minutes
"""


class Cli(click.Group):
    """Turns library errors into `Error: ...` on stderr with exit 1; tracebacks only with --debug."""

    def invoke(self, ctx):
        """Run the command; a qmolgen error becomes a one-line message and exit code 1 instead of a traceback."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted. A training run can be continued with `qmolgen train --resume RUN_FOLDER`.",
                       err=True)
            sys.exit(130)
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            message = str(exc) if isinstance(exc, QmolgenError) else (
                f"{type(exc).__name__}: {exc} (unexpected; rerun with --debug for the traceback and report it)")
            click.echo(f"Error: {message}", err=True)
            sys.exit(1)


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


@click.group(cls=Cli, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(qmolgen.__version__, prog_name="qmolgen")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors on stderr; no progress bars.")
@click.pass_context
def main(ctx, debug, quiet):
    """Hybrid quantum-classical generative models: a PennyLane circuit makes the latent vector, a
    PyTorch decoder makes the sample, a critic trains both. Data goes to -o or stdout; logs to stderr."""
    ctx.obj = {"debug": debug, "quiet": quiet}
    _setup_logging(quiet)


def _progress(ctx) -> bool:
    return not ctx.obj["quiet"] and sys.stderr.isatty()


@main.command(epilog="A rerun with the same --out keeps finished runs and redoes the rest; a run that fails is "
                     "recorded (error.txt in its folder, a line in the report) and the others go on.")
@click.argument("recipe")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True, help="Seeds 0..N-1 per model.")
@click.option("--budget", multiple=True, metavar="KEY=VALUE",
              help="Override for every run (repeatable), e.g. --budget train.epochs=5.")
@click.option("--quick", is_flag=True, help="The recipe's quick budget (benchmark.quick): minutes, not hours.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs at a time, each with an equal share of the CPU cores.")
@click.option("--models", help="Only these models and peers, comma-separated (default: all of the recipe's), "
                                "e.g. --models hybrid,hybrid_mst,mst.")
@click.option("--grid", multiple=True, metavar="KEY=V1,V2,...",
              help="Every model at every combination, e.g. --grid quantum.n_qubits=4,8 --grid quantum.shots=100,1000.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local processes, or Ray tasks (pip install -e \".[ray]\").")
@click.option("--address", help="Ray: the cluster to join (default: a local Ray instance); --out must be shared "
                                "storage every node sees at the same path.")
@click.option("--out", "-o", help="Output folder (default: runs/benchmark-RECIPE).")
def benchmark(recipe, seeds, budget, quick, jobs, models, grid, backend, address, out):
    """Train every model of RECIPE (or `all` recipes) under one budget over seeds; write report.md,
    results.csv and charts."""
    from pathlib import Path

    from qmolgen.benchmark.plan import ALL_RECIPES, plan
    from qmolgen.benchmark.report import write_report
    from qmolgen.benchmark.sweep import run_sweep

    recipes = ALL_RECIPES if recipe == "all" else (recipe,)
    cells = [cell for name in recipes for cell in plan(name, seeds, list(budget), quick, list(grid))]
    if models:
        wanted = [m.strip() for m in models.split(",") if m.strip()]
        unknown = sorted(set(wanted) - {c.model.split("@")[0] for c in cells})
        if unknown:
            raise click.BadParameter(f"no model {', '.join(unknown)} in {recipe}; models: "
                                     f"{', '.join(dict.fromkeys(c.model for c in cells))}", param_hint="--models")
        cells = [c for c in cells if c.model.split("@")[0] in wanted]
    folder = Path(out or f"runs/benchmark-{recipe}")
    if address and backend != "ray":
        raise click.UsageError("--address is for --backend ray")
    counts = run_sweep(cells, folder, jobs, backend, address)
    command = " ".join(["qmolgen benchmark", recipe, f"--seeds {seeds}", *(f"--budget {b}" for b in budget),
                        *(["--quick"] if quick else []), *([f"--jobs {jobs}"] if jobs > 1 else []),
                        *([f"--models {models}"] if models else []), *(f"--grid {g}" for g in grid),
                        *([f"--backend {backend}"] if backend != "local" else []),
                        *([f"--address {address}"] if address else []), f"--out {folder}"])
    report = write_report(cells, folder, command)
    click.echo(f"{report}: {counts['finished']} runs finished now, {counts['kept']} kept from before, "
               f"{counts['failed']} failed", err=True)


@main.command()
def recipes():
    """List the shipped recipes."""
    from qmolgen.config import recipe_names, recipe_summary

    for name in recipe_names():
        click.echo(f"{name:12s} {recipe_summary(name)}")


@main.command(epilog="Any key of the recipe can be overridden: qmolgen train qm9 train.epochs=5 quantum.n_qubits=6")
@click.argument("recipe", required=False)
@click.argument("overrides", nargs=-1)
@click.option("--out", "-o", help="Run folder (default: runs/RECIPE-KIND-TIMESTAMP).")
@click.option("--resume", type=click.Path(exists=True, file_okay=False), help="Continue this run folder.")
@click.option("--force", is_flag=True, help="Reuse a non-empty --out folder.")
@click.pass_context
def train(ctx, recipe, overrides, out, resume, force):
    """Train RECIPE (a shipped name or a recipe .yaml), with key=value overrides."""
    from qmolgen.api import Synthesizer
    from qmolgen.config import load_config
    from qmolgen.runs import RunFolder

    if resume:
        if recipe or overrides:
            raise click.UsageError("--resume continues a run with its own config; give no recipe or overrides")
        synth = Synthesizer.resume(resume, progress=_progress(ctx))
    else:
        if not recipe:
            raise click.UsageError("give a recipe (see `qmolgen recipes`) or --resume RUN_FOLDER")
        synth = Synthesizer(load_config(recipe, overrides))
        synth.fit(out=out or RunFolder.default_path(synth.config), force=force, progress=_progress(ctx))
    from qmolgen.model import domain_class

    described = domain_class(synth.config).metrics
    summary = ", ".join(f"{described.label(k)}={synth.metrics[k]:.3f}" if isinstance(synth.metrics[k], float) else
                        f"{k}={synth.metrics[k]}" for k in described.summary
                        if isinstance(synth.metrics.get(k), (int, float)))
    click.echo(f"done: {synth.run_path} ({summary})", err=True)


def _sampling_seed(seed: int | None) -> int:
    """The seed given, or a drawn one that is logged so the samples can be repeated."""
    if seed is None:
        from qmolgen.seeding import draw_seed

        seed = draw_seed()
        log.info("sampling with seed=%d (pass --seed to repeat)", seed)
    return seed


@main.command()
@click.argument("source")
@click.option("-n", "--num", "n", type=int, default=1000, show_default=True, help="Number of samples.")
@click.option("-o", "--output", help="Output file. Molecules: .csv, .smi or .sdf (CSV on stdout if omitted); "
              "images: .png or .npy (the grid and the array are both written).")
@click.option("--seed", type=int, help="Sampling seed (default: drawn and printed).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("--no-properties", is_flag=True,
              help="Molecules: leave out the QED, logP and SA columns (about 1 ms a molecule, most of the time).")
@click.option("--condition", multiple=True, metavar="CONDITION",
              help="Molecules: only ones meeting it, e.g. --condition 'qed>=0.7' --condition 'sa<=3.5' (properties: "
                   "qed, logp, sa, mw, tpsa, similarity, GuacaMol task scores); drawn from the model's own "
                   "distribution by annealed SMC in its latent space, not by rejection.")
@click.option("--similar-to", metavar="SMILES", help="Molecules: the molecule a `similarity` condition compares with.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Molecules: processes that decode and describe the samples (the same output for any number; "
                   "default: every CPU for 5,000 molecules or more, else 1).")
@click.option("--beam", type=click.IntRange(min=0), metavar="WIDTH",
              help="Molecules, LatentGAN: a greedy decode that does not parse is decoded again by beam search of "
                   "this width, and its most likely beam that parses kept (0: off; default: the model's sample.beam).")
def generate(source, n, output, seed, force, no_properties, condition, similar_to, workers, beam):
    """Sample SOURCE: a run folder, a model.pt file, or a recipe name (its shipped pretrained model)."""
    from qmolgen.api import Synthesizer
    from qmolgen.molecules.parallel import auto_workers

    synth = Synthesizer.load(source)
    seed = _sampling_seed(seed)
    options = {"properties": False} if no_properties else {}
    if condition:
        options.update(where=list(condition), similar_to=similar_to)
    if workers is not None:
        options["workers"] = workers
    if beam is not None:
        options["beam"] = beam
    if options and synth.domain != "molecules":
        used = " and ".join(o for o, given in (("--no-properties", no_properties), ("--condition", condition),
                                               ("--workers", workers is not None), ("--beam", beam is not None))
                            if given)
        raise click.UsageError(f"{used} {'is' if ' and ' not in used else 'are'} for molecule models; {source} is a "
                               f"{synth.domain} model (tables take `qmolgen export --where`)")
    if synth.domain == "molecules" and not condition:
        options.setdefault("workers", auto_workers(n))
    samples = synth.sample(n, seed=seed, **options)
    log.info(synth.write_samples(samples, output, force))


@main.command(epilog="Objectives are summed and maximised: qed, 2*qed, -sa, logp, mw, tpsa, similarity, scorer, or a "
              "GuacaMol task (celecoxib_rediscovery, qed, isomers_c11h24, median_molecules_1, osimertinib_mpo). "
              "Constraints: 'sa<=3.5', 'mw>=250' (also allowed as --objective).")
@click.argument("source")
@click.option("--objective", "objectives", multiple=True, required=True, metavar="OBJECTIVE",
              help="What to maximise (repeatable; the terms are summed), or a constraint such as 'sa<=3.5'.")
@click.option("--similar-to", metavar="SMILES", help="Molecule for the `similarity` property (Morgan counts, r=2).")
@click.option("--min-similarity", type=click.FloatRange(0, 1), help="Constraint: similarity to --similar-to >= this.")
@click.option("--scorer", type=click.Path(dir_okay=False), metavar="CSV",
              help="SMILES with measured values: trains the `scorer` property (random forest; CV error printed).")
@click.option("--scorer-column", help="The value column of --scorer (default: its only numeric column).")
@click.option("--optimizer", type=click.Choice(["cmaes", "ga", "random", "finetune"]), default="cmaes",
              show_default=True, help="CMA-ES, a latent genetic algorithm, prior draws (the no-optimisation baseline), "
              "or reward fine-tuning of the decoder (hill-climbing; space=latent only).")
@click.option("--space", type=click.Choice(["latent", "code", "circuit"]), default="latent", show_default=True,
              help="Search the latent source's inputs (the model's own distribution), the autoencoder's codes, or "
                   "(hybrid / qcbm models) the circuit's angles, each setting scored by 10 molecules it generates.")
@click.option("--budget", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Molecules decoded and scored in all.")
@click.option("-n", "--num", "n", type=click.IntRange(min=1), default=100, show_default=True,
              help="Best distinct molecules to write.")
@click.option("-o", "--output", required=True, help="Output CSV (rank, smiles, score, properties, passes_filters); "
              "the report is written beside it as .json.")
@click.option("--seed", type=int, help="Search seed (default: drawn and printed).")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.pass_context
def optimize(ctx, source, objectives, similar_to, min_similarity, scorer, scorer_column, optimizer, space, budget, n,
             output, seed, force):
    """Search the latent space of SOURCE (a molecule run folder, model.pt, or `moses` / `qm9`) for the molecules
    that best meet the objectives, or (--optimizer finetune) hill-climb a copy of its decoder on them."""
    from pathlib import Path

    from qmolgen.api import Synthesizer
    from qmolgen.errors import OutputExistsError

    for path in (Path(output), Path(output).with_suffix(".json")):  # before the search, not after it
        if path.exists() and not force:
            raise OutputExistsError(f"{path} already exists; pass --force to overwrite it or choose another -o path")
    synth = Synthesizer.load(source)
    best, report = synth.optimize(list(objectives), similar_to=similar_to, min_similarity=min_similarity,
                                  scorer=scorer, scorer_column=scorer_column, optimizer=optimizer, space=space,
                                  budget=budget, n=n, seed=_sampling_seed(seed), progress=_progress(ctx))
    log.info(synth.write_optimized(best, report, output, force))


@main.command()
@click.argument("source")
@click.option("-n", "--num", "n", type=click.IntRange(min=1), default=10_000, show_default=True, help="Rows to write.")
@click.option("-o", "--output", required=True, help="Output table: .csv or .parquet (metadata JSON beside it).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Rows sampled and written at a time; memory depends on this, not on -n.")
@click.option("--seed", type=int, help="Sampling seed (default: drawn and printed).")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--where", multiple=True, metavar="CONDITION",
              help="Only rows meeting it, e.g. --where Status=bad --where 'Age>=40' (=, != on categories; "
                   "=, !=, <, <=, >, >= on numbers); sampled from the model's conditional distribution.")
@click.pass_context
def export(ctx, source, n, output, chunk_size, seed, force, where):
    """Write a synthetic table from SOURCE (a table run folder, model.pt, or `credit` / `credit_dp` for the
    pretrained models), its SDV metadata and a provenance file (model, seed, conditions, privacy) beside it."""
    from qmolgen.api import Synthesizer

    synth = Synthesizer.load(source)
    if synth.domain != "tables":
        raise click.UsageError(f"{source} is a {synth.domain} model; export writes tables "
                               "(use `qmolgen generate` for molecules and images)")
    log.info(_privacy_line(synth.privacy))
    log.info(synth.export_table(n, output, _sampling_seed(seed), chunk_size, force, _progress(ctx), where))


def _privacy_line(privacy: dict | None) -> str:
    if not privacy:
        return "privacy: this model was trained without differential privacy"
    how = privacy.get("mechanism") or "DP-SGD on the critic"
    return (f"privacy: ({privacy['epsilon']:.3g}, {privacy['delta']:.3g})-differential privacy per training row "
            f"({how}, {privacy.get('accountant', '')} accounting)")


@main.command()
@click.argument("samples", type=click.Path(exists=True, dir_okay=False))
@click.option("--reference", "-r", help="Recipe name or run folder whose splits are the real data (default: qm9 "
              "for molecules, digits for images); for molecules also a SMILES file.")
@click.option("--no-fcd", is_flag=True, help="Molecules: skip the Frechet ChemNet Distance (the slowest metric).")
@click.option("--real", help="Tables: the real table (.csv/.parquet) the synthetic one imitates.")
@click.option("--holdout", help="Tables: real rows that were not trained on (for efficacy, DCR and the attack).")
@click.option("--metadata", help="Tables: SDV metadata JSON (default: the one beside SAMPLES, else detected).")
@click.option("--target", help="Tables: the column ML efficacy predicts.")
@click.option("-o", "--output", help="Also write the metrics as JSON to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def evaluate(samples, reference, no_fcd, real, holdout, metadata, target, output, force):
    """Score generated SAMPLES against real data: molecules (.smi/.txt, or CSV with a 'smiles' column)
    against a reference's train (novelty) and test split, images (.npy, (N, 8, 8) in [0, 1]), or a
    synthetic table (.csv/.parquet) against --real (and --holdout) for quality and privacy."""
    from qmolgen.outputs import write_text

    from qmolgen.model import DOMAINS

    if real:
        from qmolgen.tables.evaluation import evaluate_files

        domain, metrics = "tables", evaluate_files(samples, real, holdout, metadata, target)
    elif holdout or metadata or target:
        raise click.UsageError("--holdout, --metadata and --target are for tables: give the real table with --real")
    elif samples.lower().endswith(".npy"):
        from qmolgen.images.evaluation import evaluate_file as evaluate_images_file

        domain, metrics = "images", evaluate_images_file(samples, reference or "digits")
    else:
        from qmolgen.molecules.evaluation import evaluate_file

        domain, metrics = "molecules", evaluate_file(samples, reference or "qm9", with_fcd=not no_fcd)
    described = DOMAINS[domain].metrics
    for key, value in metrics.items():
        label = described.label(key)
        click.echo(f"{label:24s} {value:.4f}" if isinstance(value, float) else f"{label:24s} {value}")
    if output:
        write_text(output, json.dumps(metrics, indent=2) + "\n", force)
