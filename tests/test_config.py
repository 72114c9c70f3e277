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


@pytest.mark.parametrize("name", recipe_names())
def test_every_shipped_recipe_loads_and_builds_every_generator_kind(name, table_spec):
    config = load_recipe(name)
    assert config["recipe"] == name
    for kind in ("hybrid", "classical", "size_matched", "quantum_patch"):
        cfg = load_config(name, [f"generator.kind={kind}"])
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
