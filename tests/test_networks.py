import torch

from qmolgen.molecules.graphs import GraphSpec
from qmolgen.molecules.networks import GraphHead

SPEC = GraphSpec(("C", "N", "O", "F"), 9)


def test_gumbel_relaxation_draws_types_with_the_predicted_probabilities():
    torch.manual_seed(0)
    head = GraphHead(SPEC)
    node_logits = torch.log(torch.tensor([0.5, 0.3, 0.1, 0.05, 0.05])).expand(20000, 9, 5)
    edge_logits = torch.zeros(20000, 9, 9, 4)
    nodes, edges = head.relaxed(node_logits, edge_logits)
    frequencies = nodes.mean(dim=(0, 1))
    assert torch.allclose(frequencies, torch.tensor([0.5, 0.3, 0.1, 0.05, 0.05]), atol=0.01)
    assert torch.equal(edges, edges.transpose(1, 2))  # symmetric, whatever the draw
    assert torch.all(edges.diagonal(dim1=1, dim2=2)[:, 0] == 1)  # no self-bonds

