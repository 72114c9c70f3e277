"""MST and AIM, the marginal-based differentially private synthesizers that lead the field at small epsilon,
as DP baselines for the table recipes: MST (McKenna, Miklau & Sheldon 2021, winner of the NIST 2018
challenge) and AIM (McKenna, Mullins, Sheldon & Miklau, VLDB 2022). Both measure noisy marginals of a
discretised table with the Gaussian mechanism, fit a graphical model to the measurements with private-pgm's
`mbi` (by the same authors), and sample rows from it. Written from the papers on mbi 2.x.

Privacy is accounted in zero-concentrated DP (rho) and converted to (epsilon, delta) with the bound of
Canonne, Kamath & Steinke (2020), as the authors' code does. The unit is one training row (add / remove).

What is treated as public, exactly as for the hybrid under DP (docs/tables.md): each category list, each
numerical column's minimum and maximum, and, for a column with at most `bins` distinct values, those values.
Numbers are cut into `bins` equal-width bins between minimum and maximum (no data-dependent quantiles) and
decoded to a uniform draw inside their bin, rounded as the column is.
"""

from __future__ import annotations

import logging
import math
import time
import warnings

import numpy as np
import pandas as pd

from qmolgen.errors import ConfigError
from qmolgen.tables.data import CATEGORY_SDTYPES
from qmolgen.tables.transforms import decimal_places

log = logging.getLogger("qmolgen")

MECHANISMS = ("mst", "aim")
BINS = 32  # numerical bins: fine enough for SDMetrics' shapes, coarse enough for noisy 2-way marginals
ESTIMATE_ITERS = 1000  # mirror-descent iterations of each graphical-model fit
AIM_MAX_MODEL_MB = 80  # AIM's default cap on the junction tree's size


# -- zCDP accounting ---------------------------------------------------------------------------------------

def zcdp_delta(rho: float, epsilon: float) -> float:
    """The smallest delta for which rho-zCDP implies (epsilon, delta)-DP (Canonne, Kamath & Steinke 2020,
    Proposition 7), minimised over the Renyi order alpha by bisection on its derivative."""
    if rho <= 0:
        return 0.0
    low, high = 1.01, (epsilon + 1) / (2 * rho) + 2
    for _ in range(200):
        alpha = (low + high) / 2
        if (2 * alpha - 1) * rho - epsilon + math.log1p(-1 / alpha) < 0:
            low = alpha
        else:
            high = alpha
    alpha = (low + high) / 2
    delta = math.exp((alpha - 1) * (alpha * rho - epsilon) + alpha * math.log1p(-1 / alpha)) / (alpha - 1)
    return min(delta, 1.0)


def zcdp_rho(epsilon: float, delta: float) -> float:
    """The largest rho whose zCDP guarantee implies (epsilon, delta)-DP (bisection on zcdp_delta)."""
    if epsilon <= 0 or not 0 < delta < 1:
        raise ConfigError(f"DP needs epsilon > 0 and 0 < delta < 1; got epsilon={epsilon}, delta={delta}")
    low, high = 0.0, epsilon + 1.0
    for _ in range(200):
        rho = (low + high) / 2
        if zcdp_delta(rho, epsilon) <= delta:
            low = rho
        else:
            high = rho
    return low


# -- discretisation ----------------------------------------------------------------------------------------

class Discretizer:
    """Table <-> integer codes per column (mbi's data model), from the SDV metadata's sdtypes.

    Categories (and booleans) get one code each, plus one for missing; numbers one code per bin (or per value,
    for a column with at most `bins` distinct values) plus one for missing; id columns are left out and get
    fresh identifiers 0, 1, 2, ... when decoding.
    """

    def __init__(self, columns: dict[str, dict], bins: int = BINS):
        self.columns, self.bins = columns, bins
        self.specs: dict[str, dict] = {}

    def fit(self, table: pd.DataFrame) -> "Discretizer":
        """Read each column's public domain (categories, range, few distinct values) from `table`."""
        for name in table.columns:
            sdtype = self.columns[name]["sdtype"]
            values = table[name]
            spec = {"sdtype": sdtype, "missing": bool(values.isna().any())}
            if sdtype in CATEGORY_SDTYPES:
                spec["levels"] = sorted(values.dropna().unique().tolist(), key=str)
            elif sdtype == "numerical":
                present = values.dropna().astype(float).to_numpy()
                distinct = np.unique(present)
                spec.update(low=float(present.min()), high=float(present.max()),
                            integer=bool(pd.api.types.is_integer_dtype(values)),
                            decimals=decimal_places(present))
                if len(distinct) <= self.bins:
                    spec["levels"] = distinct.tolist()
                else:
                    spec["edges"] = np.linspace(spec["low"], spec["high"], self.bins + 1).tolist()
            elif sdtype != "id":
                raise ConfigError(f"column {name!r}: the MST / AIM baselines handle categorical, boolean, numerical "
                                  f"and id columns; sdtype {sdtype!r} is not supported (drop the column with "
                                  "data.drop_columns to compare on the rest)")
            self.specs[name] = spec
        self.order = list(table.columns)
        return self

    def sizes(self) -> dict[str, int]:
        """Codes per modelled column (missing included)."""
        return {name: self._values(spec) + spec["missing"] for name, spec in self.specs.items() if spec["sdtype"] != "id"}

    @staticmethod
    def _values(spec: dict) -> int:
        """Codes for present values (missing adds one)."""
        return len(spec["levels"]) if "levels" in spec else len(spec["edges"]) - 1

    def encode(self, table: pd.DataFrame) -> dict[str, np.ndarray]:
        """Integer codes per modelled column (mbi's data model); missing values get the last code."""
        codes = {}
        for name, spec in self.specs.items():
            if spec["sdtype"] == "id":
                continue
            values, missing = table[name], table[name].isna().to_numpy()
            n_values = self._values(spec)
            if spec["sdtype"] in CATEGORY_SDTYPES:
                index = {v: i for i, v in enumerate(spec["levels"])}
                code = values.map(lambda v: index.get(v, -1) if not pd.isna(v) else n_values).to_numpy()
            elif "levels" in spec:
                code = np.searchsorted(np.asarray(spec["levels"]), values.fillna(spec["low"]).astype(float).to_numpy())
            else:
                inner = np.asarray(spec["edges"])[1:-1]
                code = np.searchsorted(inner, values.fillna(spec["low"]).astype(float).to_numpy(), side="right")
            code = np.where(missing, n_values, code).astype(np.int64)
            if (code < 0).any():
                raise ConfigError(f"column {name!r} holds values the discretiser was not fitted on")
            codes[name] = code
        return codes

    def decode(self, codes: dict[str, np.ndarray], rng: np.random.Generator) -> pd.DataFrame:
        """Codes back to a table: categories as they were, numbers drawn uniformly within their bin."""
        n = len(next(iter(codes.values())))
        out = {}
        for name in self.order:
            spec = self.specs[name]
            if spec["sdtype"] == "id":
                out[name] = np.arange(n)
                continue
            code, n_values = codes[name], self._values(spec)
            missing = code >= n_values
            code = np.minimum(code, n_values - 1)
            if spec["sdtype"] in CATEGORY_SDTYPES:
                column = pd.Series(np.asarray(spec["levels"], dtype=object)[code])
                column[missing] = None
                out[name] = column.to_numpy()
                continue
            if "levels" in spec:
                values = np.asarray(spec["levels"])[code]
            else:
                edges = np.asarray(spec["edges"])
                values = rng.uniform(edges[code], edges[code + 1])
                values = np.clip(np.round(values, spec["decimals"]), spec["low"], spec["high"])
            if missing.any():
                values = np.where(missing, np.nan, values.astype(float))
            elif spec["integer"]:
                values = values.astype(np.int64)
            out[name] = values
        return pd.DataFrame(out)


# -- the mechanisms ----------------------------------------------------------------------------------------

def _import_mbi():
    """mbi, imported quietly: its import warns about JAX's float32 default and compilation cache; the tables
    here are small (float32 is enough) and the cache is turned off as mbi advises."""
    try:
        import jax

        jax.config.update("jax_enable_compilation_cache", False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import mbi
    except ImportError as exc:
        raise ConfigError(f"MST and AIM need the `dp` extra ({exc}); install it with: pip install -e '.[dp]' "
                          "(setup.sh does)") from exc
    return mbi


def _estimate(domain, measurements, warm_start=None):
    """mbi's graphical model fitted to the measurements by mirror descent (warm-started when given a model)."""
    from mbi import estimation

    return estimation.MirrorDescent().estimate(domain, measurements, iters=ESTIMATE_ITERS, warm_start=warm_start)


def _measure(data, cliques, sigma: float, rng: np.random.Generator) -> list:
    """Gaussian measurements of the marginals on `cliques`, each with noise `sigma`."""
    from mbi import LinearMeasurement

    out = []
    for clique in cliques:
        x = np.asarray(data.project(clique).datavector())
        out.append(LinearMeasurement(x + rng.normal(0, sigma, x.size), tuple(clique), stddev=sigma))
    return out


def exponential_mechanism(scores: np.ndarray, epsilon: float, sensitivity: float, rng: np.random.Generator) -> int:
    """Index drawn with probability proportional to exp(epsilon * score / (2 * sensitivity))."""
    logits = 0.5 * epsilon / sensitivity * (scores - scores.max())
    p = np.exp(logits)
    return int(rng.choice(len(scores), p=p / p.sum()))


def _compress(data, oneway: list, rng_sigma: float):
    """MST's domain compression: values whose noisy count is below 3 sigma are merged into one, so that 2-way
    marginals spend no cells on values the data barely has. Returns the compressed data, the matching 1-way
    measurements and the mapping that `Dataset.decompress` undoes."""
    from mbi import LinearMeasurement
    from mbi.marginal_loss import WeightedQuery

    mapping, measurements = {}, []
    for m in oneway:
        (name,) = m.clique
        y = np.asarray(m.noisy_measurement)
        supported = y >= 3 * rng_sigma
        if (~supported).sum() <= 1:
            measurements.append(m)
            continue
        k = int(supported.sum())
        new = np.full(len(y), k)
        new[supported] = np.arange(k)
        mapping[name] = new
        merged = int((~supported).sum())
        # The merged cell sums `merged` noisy counts: scaled by 1/sqrt(merged) its noise is sigma again.
        weights = np.r_[np.ones(k), 1 / math.sqrt(merged)]
        measured = np.r_[y[supported], y[~supported].sum() / math.sqrt(merged)]
        measurements.append(LinearMeasurement(measured, (name,), stddev=m.stddev, query=WeightedQuery(weights)))
    return data.compress(mapping), measurements, mapping


def mst(data, rho: float, rows: int, rng: np.random.Generator):
    """MST: a third of rho for all 1-way marginals, a third to pick a maximum spanning tree of 2-way marginals
    (exponential mechanism on how badly the 1-way model gets each pair), a third to measure the tree's pairs."""
    sigma = math.sqrt(3 / (2 * rho))
    attributes = list(data.domain.attributes)
    # Each row changes every 1-way marginal by one: the whole set has L2 sensitivity sqrt(d), hence sigma * sqrt(d).
    oneway = _measure(data, [(a,) for a in attributes], sigma * math.sqrt(len(attributes)), rng)
    data, oneway, mapping = _compress(data, oneway, sigma * math.sqrt(len(attributes)))
    pairs = _spanning_tree(data, oneway, rho / 3, rng)
    twoway = _measure(data, pairs, sigma * math.sqrt(max(1, len(pairs))), rng)
    model = _estimate(data.domain, oneway + twoway)
    return model.synthetic_data(rows).decompress(mapping), {"cliques": [list(p) for p in pairs]}


def _spanning_tree(data, oneway: list, rho: float, rng: np.random.Generator) -> list[tuple]:
    """MST's selection: the d - 1 pairs of a spanning tree, each chosen by the exponential mechanism
    (rho/(d-1) each) among pairs that join two components, scored by how badly the 1-way model gets them."""
    import itertools

    import networkx as nx

    estimate = _estimate(data.domain, oneway)
    attributes = list(data.domain.attributes)
    error = {}
    for pair in itertools.combinations(attributes, 2):
        x = np.asarray(data.project(pair).datavector())
        error[pair] = float(np.abs(x - np.asarray(estimate.project(pair).datavector())).sum())
    components = nx.utils.UnionFind(attributes)
    edges = len(attributes) - 1
    epsilon = math.sqrt(8 * rho / max(1, edges))
    chosen = []
    for _ in range(edges):
        candidates = [p for p in error if components[p[0]] != components[p[1]]]
        pick = candidates[exponential_mechanism(np.array([error[p] for p in candidates]), epsilon, 1.0, rng)]
        components.union(*pick)
        chosen.append(pick)
    return chosen


def aim(data, rho: float, rows: int, rng: np.random.Generator, max_model_mb: float = AIM_MAX_MODEL_MB):
    """AIM with the workload of all 2-way marginals (what SDMetrics' pair trends score): rounds of selecting
    the worst-approximated candidate marginal (exponential mechanism, 10 % of each round's budget) and
    measuring it (90 %), with the per-round budget doubled whenever a measurement no longer changes the model
    much, until rho is spent; candidate cliques are capped so the junction tree stays within max_model_mb."""
    import itertools

    import jax
    from mbi.junction_tree import hypothetical_model_size

    domain = data.domain
    attributes = list(domain.attributes)
    workload = list(itertools.combinations(attributes, 2))
    # Candidates are the workload's cliques and their subsets, weighted by how much of the workload they cover.
    candidates = {w: 1.0 for w in workload} | {(a,): float(sum(a in w for w in workload)) for a in attributes}
    answers = {c: np.asarray(data.project(c).datavector()) for c in candidates}
    rounds = 16 * len(attributes)
    sigma = math.sqrt(rounds / (2 * 0.9 * rho))
    epsilon = math.sqrt(8 * 0.1 * rho / rounds)
    measurements = _measure(data, [(a,) for a in attributes], sigma, rng)
    rho_used = len(attributes) * 0.5 / sigma**2
    model = _estimate(domain, measurements)
    chosen, final = [], False
    while not final:
        if rho - rho_used < 2 * (0.5 / sigma**2 + epsilon**2 / 8):  # spend what is left in one last round
            remaining = rho - rho_used
            sigma, epsilon, final = math.sqrt(1 / (2 * 0.9 * remaining)), math.sqrt(8 * 0.1 * remaining), True
        rho_used += epsilon**2 / 8 + 0.5 / sigma**2
        size_limit = max_model_mb * rho_used / rho
        cliques = [tuple(m.clique) for m in measurements]
        small = [c for c in candidates if hypothetical_model_size(domain, cliques + [c]) <= size_limit]
        scores = np.array([candidates[c] * (np.abs(answers[c] - np.asarray(model.project(c).datavector())).sum()
                                            - math.sqrt(2 / math.pi) * sigma * domain.size(c)) for c in small])
        clique = small[exponential_mechanism(scores, epsilon, max(candidates[c] for c in small), rng)]
        before = np.asarray(model.project(clique).datavector())
        measurements += _measure(data, [clique], sigma, rng)
        model = _estimate(domain, measurements, warm_start=model)
        chosen.append(list(clique))
        after = np.asarray(model.project(clique).datavector())
        if np.abs(after - before).sum() <= math.sqrt(2 / math.pi) * sigma * domain.size(clique):
            sigma, epsilon = sigma / 2, epsilon * 2  # the model already knew this marginal: spend more per round
        # Every round's new cliques are new shapes that JAX compiles afresh and would keep: each compiled function
        # holds memory maps, and at epsilon 10 (hundreds of rounds) the process ran into the kernel's limit of
        # 65,530 maps and died mid-fit ("LLVM compilation error: Cannot allocate memory"). Drop them each round.
        jax.clear_caches()
    return model.synthetic_data(rows), {"cliques": chosen, "rounds": len(chosen)}


def synthesize(name: str, train: pd.DataFrame, columns: dict[str, dict], epsilon: float, delta: float,
               rows: int, seed: int, bins: int = BINS) -> tuple[pd.DataFrame, dict]:
    """Fit `name` (mst | aim) on `train` at (epsilon, delta)-DP and return `rows` synthetic rows and a report
    (what was spent, how it was accounted, the measured cliques)."""
    if name not in MECHANISMS:
        raise ConfigError(f"unknown marginal mechanism {name!r}; available: {', '.join(MECHANISMS)}")
    mbi = _import_mbi()
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # mbi draws synthetic rows and decompressed values from numpy's global generator
    start = time.perf_counter()
    discretizer = Discretizer(columns, bins).fit(train)
    sizes = discretizer.sizes()
    data = mbi.Dataset(discretizer.encode(train), mbi.Domain(list(sizes), list(sizes.values())))
    rho = zcdp_rho(epsilon, delta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthetic, details = (mst if name == "mst" else aim)(data, rho, rows, rng)
    table = discretizer.decode({k: np.asarray(v) for k, v in synthetic.to_dict().items()}, rng)
    table = table.iloc[rng.permutation(len(table))].reset_index(drop=True)  # mbi's rounding emits rows in blocks
    seconds = time.perf_counter() - start
    log.info("%s fitted and sampled in %.1f s (epsilon %.3g, delta %.3g, rho %.4g)", name, seconds, epsilon, delta, rho)
    return table, {"dp": True, "epsilon": epsilon, "delta": delta, "rho": rho, "mechanism": name,
                   "accountant": "zCDP (Canonne-Kamath-Steinke conversion)", "unit": "one training row",
                   "library": "mbi", "bins": discretizer.bins, "seconds": round(seconds, 1), **details}
