"""Graph decoder (latent -> atom and bond types) and relational graph critic, MolGAN-style.

Graphs are dense: at most a few tens of atoms, so a batched (B, N, N) adjacency per bond type and an
einsum is both simpler and faster here than torch-geometric's sparse message passing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from qmolgen.errors import ConfigError
from qmolgen.molecules.graphs import GraphSpec


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given widths, each followed by tanh (MolGAN's choice)."""
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return nn.Sequential(*layers)


RELAXATIONS = ("gumbel", "straight_through", "softmax")


class GraphHead(nn.Module):
    """Turns node and edge logits into what the critic sees and what sampling decodes.

    Training (`relaxation`): 'gumbel' = straight-through Gumbel-softmax one-hots (MolGAN);
    'straight_through' = one-hot of the argmax with softmax gradients, no noise, so all diversity must come
    from the latent source; 'softmax' = the probabilities themselves.
    Sampling: softmax probabilities, decoded to a molecule by `graphs.argmax_decode`/`valence_decode`.
    """

    def __init__(self, spec: GraphSpec, temperature: float = 1.0, relaxation: str = "gumbel"):
        super().__init__()
        if relaxation not in RELAXATIONS:
            raise ConfigError(f"generator.relaxation must be one of {RELAXATIONS}; got {relaxation!r}")
        self.spec, self.temperature, self.relaxation = spec, temperature, relaxation
        n = spec.max_atoms
        self.register_buffer("upper", torch.triu(torch.ones(n, n, dtype=torch.bool), 1), persistent=False)

    def symmetric(self, edge_logits: torch.Tensor) -> torch.Tensor:
        """Edge logits averaged with their transpose, so bond (i, j) and (j, i) agree."""
        return (edge_logits + edge_logits.transpose(1, 2)) / 2

    def _relax(self, logits: torch.Tensor) -> torch.Tensor:
        if self.relaxation == "gumbel":
            return F.gumbel_softmax(logits, tau=self.temperature, hard=True)
        soft = (logits / self.temperature).softmax(-1)
        if self.relaxation == "softmax":
            return soft
        hard = F.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft)
        return hard + soft - soft.detach()

    def relaxed(self, node_logits, edge_logits) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable one-hot-like node and edge tensors (the configured relaxation), symmetric, no self-bonds."""
        nodes = self._relax(node_logits)
        # Relax the upper triangle once and mirror it, so the graph is symmetric with no self-bonds.
        edges = edge_logits.new_zeros(edge_logits.shape)
        edges[:, self.upper] = self._relax(edge_logits[:, self.upper])
        edges = edges + edges.transpose(1, 2)
        diagonal = torch.eye(self.spec.max_atoms, dtype=edges.dtype)[None, :, :, None]
        no_bond = F.one_hot(torch.tensor(0), edges.shape[-1]).to(edges)
        return nodes, edges + diagonal * no_bond

    def probabilities(self, node_logits, edge_logits) -> tuple[torch.Tensor, torch.Tensor]:
        """Softmax probabilities of node and edge types."""
        return node_logits.softmax(-1), edge_logits.softmax(-1)


class MLPGraphDecoder(nn.Module):
    """Latent vector -> node logits (B, N, atom types + 1) and symmetric edge logits (B, N, N, bond types)."""

    def __init__(self, latent_dim: int, spec: GraphSpec, hidden: list[int], temperature: float = 1.0,
                 relaxation: str = "gumbel"):
        super().__init__()
        self.spec = spec
        n, t, e = spec.max_atoms, spec.n_node_types, spec.n_edge_types
        self.body = mlp([latent_dim, *hidden])
        self.nodes = nn.Linear(hidden[-1], n * t)
        self.edges = nn.Linear(hidden[-1], n * n * e)
        self.head = GraphHead(spec, temperature, relaxation)

    def logits(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent vectors -> node logits (B, N, T) and symmetric edge logits (B, N, N, E)."""
        h = self.body(latent)
        n, t, e = self.spec.max_atoms, self.spec.n_node_types, self.spec.n_edge_types
        node_logits = self.nodes(h).view(-1, n, t)
        edge_logits = self.head.symmetric(self.edges(h).view(-1, n, n, e))
        return node_logits, edge_logits


class BornGraphDecoder(nn.Module):
    """Fixed map from Born probabilities to graph logits, for the pure quantum GAN: log-probabilities of
    consecutive basis states fill the node and upper-triangle edge slots. No trainable parameters."""

    def __init__(self, spec: GraphSpec, temperature: float = 1.0, relaxation: str = "gumbel"):
        super().__init__()
        self.spec = spec
        self.head = GraphHead(spec, temperature, relaxation)
        n = spec.max_atoms
        self.n_node_values = n * spec.n_node_types
        self.n_edge_values = n * (n - 1) // 2 * spec.n_edge_types

    @staticmethod
    def features_needed(spec: GraphSpec) -> int:
        """Born probabilities needed: node types for every atom and edge types for every atom pair."""
        n = spec.max_atoms
        return n * spec.n_node_types + n * (n - 1) // 2 * spec.n_edge_types

    def logits(self, probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Patch probabilities -> node and edge logits (log of the rescaled probabilities)."""
        n, t, e = self.spec.max_atoms, self.spec.n_node_types, self.spec.n_edge_types
        # Each patch's probabilities sum to one; rescale so a uniform patch gives logits near zero.
        logp = torch.log(probs * probs.shape[1] + 1e-6)
        node_logits = logp[:, : self.n_node_values].reshape(-1, n, t)
        upper = torch.triu(torch.ones(n, n), 1).bool()
        edge_logits = logp.new_zeros(len(probs), n, n, e)
        edge_logits[:, upper] = logp[:, self.n_node_values: self.n_node_values + self.n_edge_values].reshape(-1, upper.sum(), e)
        edge_logits = edge_logits + edge_logits.transpose(1, 2)
        return node_logits, edge_logits


class GraphGenerator(nn.Module):
    """Latent source + graph decoder: the one generator shape shared by the hybrid and every baseline."""

    def __init__(self, latent: nn.Module, decoder: nn.Module):
        super().__init__()
        self.latent, self.decoder = latent, decoder

    def forward(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Discrete (straight-through) one-hot graphs for the critic."""
        return self.decoder.head.relaxed(*self.decoder.logits(self.latent(batch_size)))

    def probabilities(self, batch_size: int, fixed_latent: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Node and edge type probabilities for sampling; fixed_latent: all from one latent vector."""
        latent = self.latent(1).expand(batch_size, -1) if fixed_latent else self.latent(batch_size)
        return self.decoder.head.probabilities(*self.decoder.logits(latent))


class RelationalGraphCritic(nn.Module):
    """Relational graph convolutions (one weight per bond type, MolGAN) -> gated sum over atoms -> MLP.

    With pack > 1 the critic scores groups of `pack` graphs jointly (PacGAN): a generator that repeats
    itself produces groups no real batch has, which is the signal against mode collapse.
    """

    def __init__(self, spec: GraphSpec, conv: list[int], aggregate: int, head: list[int], pack: int = 1):
        super().__init__()
        self.pack = pack
        t, e = spec.n_node_types, spec.n_edge_types
        self.relations = e - 1  # "no bond" carries no message
        self.layers = nn.ModuleList()
        width = 0  # the first layer sees the atom types alone
        for size in conv:
            self.layers.append(nn.Linear(width + t, size * (self.relations + 1)))
            width = size
        self.conv_sizes = conv
        self.gate = nn.Linear(width + t, aggregate)
        self.value = nn.Linear(width + t, aggregate)
        self.head = nn.Sequential(mlp([aggregate * pack, *head]), nn.Linear(head[-1], 1))

    def embed(self, nodes: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        """Relational graph convolutions over the bond types, then a gated sum over atoms: (B, aggregate)."""
        adjacency = edges[..., 1:].permute(0, 3, 1, 2)  # (B, R, N, N)
        h = nodes.new_zeros(*nodes.shape[:2], 0)
        for layer, size in zip(self.layers, self.conv_sizes):
            messages = layer(torch.cat([h, nodes], -1)).view(*nodes.shape[:2], self.relations + 1, size)
            self_loop = messages[:, :, 0]
            neighbours = torch.einsum("brij,bjrf->bif", adjacency, messages[:, :, 1:])
            h = torch.tanh(self_loop + neighbours)
        hx = torch.cat([h, nodes], -1)
        return torch.tanh((torch.sigmoid(self.gate(hx)) * torch.tanh(self.value(hx))).sum(1))

    def forward(self, nodes: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        """Critic scores, one per packed group of `pack` graphs."""
        embedding = self.embed(nodes, edges)
        return self.head(embedding.reshape(len(embedding) // self.pack, -1)).squeeze(-1)
