"""Peer systems the table recipes are compared with, fitted on the same training rows and scored by the same
metrics: SDV's synthesizers (sdv.py) and the marginal-based DP mechanisms MST and AIM (marginal.py)."""

from __future__ import annotations

from qmolgen.errors import ConfigError

SDV_PEERS = ("gaussian_copula", "ctgan", "tvae")
DP_PEERS = ("mst", "aim")  # differentially private at the recipe's privacy.epsilon / privacy.delta
PEERS = (*SDV_PEERS, *DP_PEERS)


def peer_model_name(peer: str) -> str:
    """How a peer is named in benchmark reports: sdv_ctgan, ..., mst, aim."""
    return f"sdv_{peer}" if peer in SDV_PEERS else peer


def fit_and_score(config: dict, peer: str, seed: int, options: dict | None = None) -> dict:
    """Fit `peer` on the recipe's training rows (its data section and split), sample as many rows as qmolgen's
    runs score, and score them like a qmolgen run: the dict final_metrics.json holds. DP peers spend the
    recipe's privacy.epsilon at its privacy.delta (null: 1/(10 N), as the hybrid's DP-SGD does)."""
    from qmolgen.seeding import seed_everything
    from qmolgen.tables.data import load_table_section
    from qmolgen.tables.metrics import evaluate_table

    if peer not in PEERS:
        raise ConfigError(f"unknown peer {peer!r}; available: {', '.join(PEERS)}")
    d, options = config["data"], options or {}
    data = load_table_section(d)
    train, holdout = data.subset("train"), data.subset("holdout")
    metadata = data.metadata.to_dict()
    rows = config["evaluate"]["final_samples"] or len(train)
    seed_everything(seed)
    extra = {}
    if peer in DP_PEERS:
        from qmolgen.baselines.marginal import synthesize

        from qmolgen.train.privacy import resolve_delta

        privacy = config.get("privacy") or {}
        epsilon = privacy.get("epsilon") or 1.0
        delta = resolve_delta(privacy.get("delta"), len(train))
        columns = next(iter(metadata["tables"].values()))["columns"]
        synthetic, extra["privacy"] = synthesize(peer, train, columns, epsilon, delta, rows, seed, **options)
        seconds = extra["privacy"]["seconds"]
    else:
        from qmolgen.baselines.sdv import SDVBaseline

        model = SDVBaseline(peer, data.metadata, **options).fit(train)
        synthetic, seconds = model.sample(rows), model.fit_seconds
    return {"seed": seed, "generator": peer_model_name(peer), "options": options, "train_seconds": round(seconds, 1),
            "params_quantum": None, "params_classical": None,
            **evaluate_table(synthetic, train, holdout, metadata, d["target"]), **extra}
