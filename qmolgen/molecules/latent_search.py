"""Searching a trained molecule model's latent space: the spaces, the optimisers, and the search loop.

A LatentGAN's decoder is deterministic, so a point of its input space *is* a molecule, and optimisation is a
search over standard normal inputs xi:

    space "latent"  xi -> the latent source's inputs (`from_gaussian`: the circuit's input angles for a hybrid,
                    the Gaussian itself for a classical model) -> generator MLP -> code -> greedy decoder.
                    Only molecules the trained generator can produce are reachable: the search stays on its
                    learned distribution, and a quantum and a classical source are compared on equal terms.
    space "code"    xi -> tanh(mu + sd * xi) in the autoencoder's code space (mu, sd fitted to the
                    generator's own codes in atanh space) -> the same decoder. Bypasses the generator: the
                    classical reference the latent spaces are measured against.
    space "circuit" (hybrid and qcbm models) xi -> the circuit's angles w0 + 0.1 xi: the generator itself is
                    fine-tuned on the reward. A point is a distribution, not a molecule: it is scored by the mean
                    fitness of `samples_per_point` molecules drawn from the generator with those angles (every one
                    counts as a scoring call and joins the molecules seen), an evolution-strategies policy search.

Optimisers (all ask for a batch of inputs and are told their fitness; the loop keeps every molecule seen):

    cmaes   CMA-ES (Hansen's `cma` package) with IPOP restarts: the standard for continuous black-box search
            in tens to hundreds of dimensions, invariant to the fitness's scale (it uses ranks), so invalid and
            infeasible molecules need no tuned penalty.
    ga      a latent-space genetic algorithm: tournament selection, uniform crossover and preconditioned
            Crank-Nicolson mutation (which keeps the population distributed like the prior), mu + lambda
            survival. Keeps a diverse population, which GuacaMol's top-100 scores reward.
    random  draws from the prior: what the model gives without optimisation, the baseline both must beat.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch

from qmolgen.errors import ConfigError
from qmolgen.molecules.latent_gan import before_tanh, decode_codes

SPACES = ("latent", "code", "circuit")
CIRCUIT_STEP = 0.1  # radians one unit of a circuit-space point moves each angle
SAMPLES_PER_CIRCUIT = 10  # molecules drawn to score one setting of the circuit
OPTIMIZERS = ("cmaes", "ga", "random")
REFERENCE_CODES = 2000


class MoleculeSpace:
    """Standard normal inputs -> SMILES through a trained LatentGAN (see the module docstring).

    Args:
        generator, domain: a trained molecule model's (GenerativeModel.generator / .domain); the domain must be
            the sequence-decoded one (generator.decoder=sequence).
        space: "latent", "code" or "circuit" (a hybrid or qcbm model: its circuit's angles).
    """

    def __init__(self, generator, domain, space: str = "latent"):
        if space not in SPACES:
            raise ConfigError(f"space must be one of {SPACES}; got {space!r}")
        if domain.config["domain"] != "molecules" or not hasattr(generator, "codes"):
            raise ConfigError("latent-space search needs a molecule model with a latent that decides the molecule "
                              "(a LatentGAN: generator.decoder=sequence, not the language model); the graph "
                              "decoder samples atoms independently of its latent, so searching its latent "
                              "would not steer the molecules")
        self.generator, self.vocab, self.max_length = generator.eval(), domain.vocab, domain.spec["max_length"]
        self.beam = domain.beam  # the model's sample.beam: searched molecules decode as `generate` decodes them
        self.space, self.kind = space, domain.config["generator"]["kind"]
        self.samples_per_point = 1
        if space == "latent":
            self.dim = generator.latent.gaussian_dim
        elif space == "circuit":
            circuit = getattr(generator.latent, "weights", None)
            if not isinstance(circuit, torch.Tensor):
                raise ConfigError(f"space=circuit fine-tunes a circuit's angles; this model's latent source "
                                  f"({self.kind}) has none (use a hybrid or qcbm model, or space=latent / code)")
            self.start = circuit.detach().clone()
            self.dim, self.samples_per_point = circuit.numel(), SAMPLES_PER_CIRCUIT
        else:
            with torch.no_grad():
                codes = generator.codes(generator.latent(REFERENCE_CODES))
            raw = before_tanh(codes)
            self.mu, self.sd = raw.mean(0), raw.std(0).clamp_min(1e-3)
            self.dim = codes.shape[1]

    @torch.no_grad()
    def codes(self, xi: torch.Tensor) -> torch.Tensor:
        """Search points xi (standard normal) -> autoencoder codes: through the generator's latent source and MLP
        (space=latent), or directly as codes: tanh of a point around the mean and spread of the generator's own codes
        (pre-tanh), space=code."""
        if self.space == "latent":
            return self.generator.codes(self.generator.latent.from_gaussian(xi))
        return torch.tanh(self.mu + self.sd * xi)

    def decode(self, xi: torch.Tensor) -> list[str]:
        """samples_per_point SMILES strings per input row, row by row (possibly empty or invalid: the objective
        scores those)."""
        if self.space == "circuit":
            return [s for point in xi.float() for s in self._sample_with_angles(point)]
        return decode_codes(self.generator.decoder, self.vocab, self.codes(xi.float()), self.max_length, beam=self.beam)

    @torch.no_grad()
    def _sample_with_angles(self, point: torch.Tensor) -> list[str]:
        """Molecules from the generator with its circuit's angles set to start + CIRCUIT_STEP * point; the model is
        restored afterwards (angles, and a Born machine's measured pool), so the search leaves it as trained."""
        source = self.generator.latent
        saved = {k: v.clone() for k, v in source.state_dict().items()}
        born = hasattr(source, "remeasure")  # a Born machine: its distribution and shot pool follow the angles
        try:
            source.weights.copy_(self.start + CIRCUIT_STEP * point.view_as(self.start))
            if born:
                source.remeasure()
            codes = self.generator.codes(source(self.samples_per_point))
            return decode_codes(self.generator.decoder, self.vocab, codes, self.max_length, beam=self.beam)
        finally:
            source.load_state_dict(saved)
            if born:
                source.remeasure(draw_pool=False)


class RandomSearch:
    """Draws from the prior N(0, I): the no-optimisation baseline."""

    def __init__(self, dim: int, batch: int, rng: np.random.Generator):
        self.dim, self.batch, self.rng = dim, batch, rng

    def ask(self) -> np.ndarray:
        """A batch of independent standard normal points (draws from the prior)."""
        return self.rng.standard_normal((self.batch, self.dim))

    def tell(self, x: np.ndarray, fitness: np.ndarray) -> None:
        """Random search learns nothing from scores."""
        pass


class GeneticSearch:
    """Tournament selection, uniform crossover, pCN mutation, mu + lambda survival (module docstring)."""

    def __init__(self, dim: int, batch: int, rng: np.random.Generator, mutation: float = 0.3,
                 tournament: int = 3):
        self.dim, self.batch, self.rng, self.mutation, self.tournament = dim, batch, rng, mutation, tournament
        self.population: np.ndarray | None = None
        self.fitness: np.ndarray | None = None

    def _parent(self) -> np.ndarray:
        picks = self.rng.integers(len(self.population), size=self.tournament)
        return self.population[picks[np.argmax(self.fitness[picks])]]

    def ask(self) -> np.ndarray:
        """A batch of children: uniform crossover of two tournament-picked parents, then a pCN mutation that keeps the
        standard normal prior invariant (the first batch is drawn from the prior)."""
        if self.population is None:
            return self.rng.standard_normal((self.batch, self.dim))
        children = []
        for _ in range(self.batch):
            a, b = self._parent(), self._parent()
            child = np.where(self.rng.random(self.dim) < 0.5, a, b)
            s = self.mutation
            children.append(math.sqrt(1 - s * s) * child + s * self.rng.standard_normal(self.dim))
        return np.array(children)

    def tell(self, x: np.ndarray, fitness: np.ndarray) -> None:
        """Keep the best `batch` of the population and the scored children."""
        if self.population is not None:
            x, fitness = np.concatenate([self.population, x]), np.concatenate([self.fitness, fitness])
        keep = np.argsort(-fitness, kind="stable")[:self.batch]
        self.population, self.fitness = x[keep], fitness[keep]


class CmaSearch:
    """CMA-ES from the prior's centre with step 1 (the prior's scale); IPOP restarts with a doubled population
    when it converges, so a long budget keeps finding new molecules."""

    def __init__(self, dim: int, batch: int, rng: np.random.Generator):
        self.dim, self.popsize, self.rng = dim, batch, rng
        self._asked: list[np.ndarray] = []  # cma needs back the very arrays it handed out
        self._start()

    def _start(self) -> None:
        import cma

        seed = int(self.rng.integers(1, 2 ** 31 - 1))
        self.es = cma.CMAEvolutionStrategy(np.zeros(self.dim), 1.0, {"popsize": self.popsize, "seed": seed,
                                                                     "verbose": -9})

    def ask(self) -> np.ndarray:
        """CMA-ES's next population (restarting with twice the population when it stops: IPOP)."""
        if self.es.stop():
            self.popsize *= 2
            self._start()
        self._asked = self.es.ask()
        return np.array(self._asked)

    def tell(self, x: np.ndarray, fitness: np.ndarray) -> None:
        """Give CMA-ES the scores of the points it asked for (it minimises, so negated)."""
        self.es.tell(self._asked, list(-fitness))  # cma minimises


def make_optimizer(name: str, dim: int, batch: int, seed: int):
    """The optimizer named `name` (cmaes, ga or random) over `dim` dimensions, `batch` points a step, seeded."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer must be one of {OPTIMIZERS}; got {name!r}")
    rng = np.random.default_rng(seed)
    return {"cmaes": CmaSearch, "ga": GeneticSearch, "random": RandomSearch}[name](dim, batch, rng)


@dataclass
class SearchResult:
    """Every distinct valid molecule the search met, best first, and how the search went."""

    molecules: pd.DataFrame  # canonical, score, violation, fitness, properties; one row per distinct molecule
    calls: int  # molecules decoded and scored (duplicates included, as GuacaMol counts scoring calls)
    seconds: float
    valid_fraction: float
    history: list[tuple[int, float]] = field(default_factory=list)  # (calls so far, best feasible score)


class SearchLog:
    """What a search has met so far: every distinct valid molecule (its first scoring), the calls, the valid
    share and the best feasible score after each step; `result()` is the SearchResult."""

    def __init__(self, progress: Callable[[int, float], None] | None = None):
        self.seen: dict[str, dict] = {}
        self.calls, self.valid, self.best, self.history = 0, 0, -math.inf, []
        self.progress, self.start = progress, time.perf_counter()

    def record(self, scored: pd.DataFrame) -> None:
        """Add one step's scored molecules (objective.score's table) and report progress."""
        self.calls += len(scored)
        self.valid += int(scored["valid"].sum())
        for row in scored[scored["valid"]].to_dict("records"):
            self.seen.setdefault(row["canonical"], row)
        feasible = scored[scored["valid"] & (scored["violation"] == 0)]
        if len(feasible):
            self.best = max(self.best, float(feasible["score"].max()))
        self.history.append((self.calls, self.best))
        if self.progress:
            self.progress(self.calls, self.best)

    def result(self) -> SearchResult:
        """The molecules met, best fitness first (ties by canonical SMILES), and how the search went."""
        table = pd.DataFrame(list(self.seen.values()))
        if len(table):
            table = table.sort_values(["fitness", "canonical"], ascending=[False, True], kind="stable")
        return SearchResult(table.reset_index(drop=True), self.calls, time.perf_counter() - self.start,
                            self.valid / max(self.calls, 1), self.history)


def search(space: MoleculeSpace, objective, optimizer: str = "cmaes", budget: int = 5000, batch: int = 100,
           seed: int = 0, progress: Callable[[int, float], None] | None = None) -> SearchResult:
    """Run `optimizer` in `space` for `budget` scored molecules, maximising `objective`'s fitness.

    Args:
        objective: an objectives.Objective.
        batch: molecules per step (the CMA-ES / GA population size).
        progress: called after each step with (calls so far, best feasible score so far).
    """
    if budget < 1 or batch < 1:
        raise ConfigError(f"budget and batch must be >= 1; got {budget} and {batch}")
    torch.manual_seed(seed)
    opt = make_optimizer(optimizer, space.dim, batch, seed)
    log = SearchLog(progress)
    per_point = getattr(space, "samples_per_point", 1)  # molecules a point stands for (circuit space: 10)
    while budget - log.calls >= per_point:  # (a circuit setting costs samples_per_point calls: whole settings only)
        asked = opt.ask()
        x = asked[:(budget - log.calls) // per_point]  # the last step scores only what the budget has left
        scored = objective.score(space.decode(torch.from_numpy(x)))
        if len(x) == len(asked):  # a point's fitness: its molecule's, or the mean of its molecules' (circuit)
            opt.tell(x, scored["fitness"].to_numpy().reshape(len(x), per_point).mean(1))
        log.record(scored)
    return log.result()
