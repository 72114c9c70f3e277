import pytest

from qmolgen.config import load_config, load_recipe, recipe_names
from qmolgen.errors import ConfigError
from qmolgen.model import domain_for
from qmolgen.molecules.graphs import GraphSpec


@pytest.fixture(scope="module")
def table_spec():
    domain = domain_for(load_config("credit"))
    domain.load_data()
    return domain.spec_dict()


def graph_decoder(name: str, kind: str) -> dict:
    """The recipe with `kind`; molecule recipes with the graph decoder, which stays a choice of all of them."""
    extra = ["generator.decoder=graph"] if load_recipe(name)["domain"] == "molecules" else []
    return load_config(name, [f"generator.kind={kind}", *extra])


@pytest.mark.parametrize("name", recipe_names())
def test_every_shipped_recipe_loads_and_builds_every_generator_kind(name, table_spec):
    config = load_recipe(name)
    assert config["recipe"] == name
    for kind in ("hybrid", "classical", "size_matched", "quantum_patch"):
        cfg = graph_decoder(name, kind)
        domain = domain_for(cfg, GraphSpec(("C", "N", "O", "F"), 9) if cfg["domain"] == "molecules" else None)
        if cfg["domain"] == "tables":  # the row layout comes from the data: fit it on the shipped table
            domain = domain_for(cfg, table_spec)
        sample = domain.build_generator()(20)
        if cfg["domain"] == "molecules":
            assert sample[0].shape == (20, 9, 5) and sample[1].shape == (20, 9, 9, 4)
        elif cfg["domain"] == "images":
            assert sample[0].shape == (20, 8, 8) and 0 <= sample[0].min() and sample[0].max() <= 1
        else:
            assert sample[0].shape == (20, domain.transformer.dim)
        assert domain.build_critic()(*sample).shape == (20 // cfg["critic"]["pack"],)


@pytest.mark.parametrize("name", [n for n in recipe_names() if load_recipe(n)["domain"] == "molecules"])
def test_molecule_recipes_build_every_sequence_generator_kind(name):
    spec = {"language": "selfies", "tokens": ["<pad>", "<bos>", "<eos>", "[C]", "[O]"], "max_length": 5}
    for kind in ("hybrid", "classical", "size_matched"):
        cfg = load_config(name, [f"generator.kind={kind}", "generator.decoder=sequence", "autoencoder.hidden=16"])
        domain = domain_for(cfg, spec)
        codes = domain.build_generator()(20)
        assert codes[0].shape == (20, cfg["autoencoder"]["code_dim"]) and codes[0].abs().max() <= 1
        assert domain.build_critic()(*codes).shape == (20,)
    cfg = load_config(name, ["generator.kind=quantum_patch", "generator.decoder=sequence"])
    with pytest.raises(ConfigError, match="quantum_patch needs generator.decoder=graph"):
        domain_for(cfg, spec)


def test_unknown_keys_are_listed_with_a_suggestion_and_the_valid_keys():
    with pytest.raises(ConfigError) as err:
        load_config("qm9", ["train.epoch=3", "nonsense=1"])
    text = str(err.value)
    assert "unknown key 'train.epoch' (did you mean 'train.epochs'?)" in text
    assert "unknown key 'nonsense'" in text and "Valid keys:" in text and "quantum.n_qubits" in text


def test_override_values_are_parsed_and_type_checked():
    cfg = load_config("qm9", ["train.epochs=3", "data.atom_types=[C,O]", "seed=7", "quantum.shots=100"])
    assert cfg["train"]["epochs"] == 3 and cfg["data"]["atom_types"] == ["C", "O"] and cfg["seed"] == 7
    with pytest.raises(ConfigError, match="train.epochs takes a number"):
        load_config("qm9", ["train.epochs=many"])
    with pytest.raises(ConfigError, match="not of the form key=value"):
        load_config("qm9", ["train.epochs"])


def test_unknown_recipe_suggests_the_closest():
    with pytest.raises(ConfigError, match="unknown recipe 'qm8'.*Did you mean 'qm9'"):
        load_recipe("qm8")
