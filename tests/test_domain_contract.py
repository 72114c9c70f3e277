"""Every domain implements the whole declared contract (qmolgen.domain.Domain): nothing falls back to the
Protocol's empty stubs, and the names the CLI, plots and benchmark read come from the domain."""

import inspect

import pytest

from qmolgen.domain import Domain, DomainMetrics
from qmolgen.model import DOMAINS, MOLECULE_DECODERS

CLASSES = sorted({*DOMAINS.values(), *MOLECULE_DECODERS.values()}, key=lambda c: c.__name__)
CONTRACT = [name for name, member in vars(Domain).items()
            if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, staticmethod))]


def test_the_contract_declares_the_methods_the_trainer_and_cli_use():
    assert {"load_data", "load_reference", "write_data", "build_generator", "build_critic", "epoch_metrics",
            "final_metrics", "evaluate", "sample", "write_samples", "spec_dict", "spec_from_dict"} <= set(CONTRACT)
    for name in CONTRACT:
        assert inspect.getdoc(getattr(Domain, name)), f"Domain.{name} is not documented"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_each_domain_implements_every_method_itself(cls):
    missing = [name for name in CONTRACT
               if next(base for base in cls.__mro__ if name in vars(base)) is Domain]
    assert not missing, f"{cls.__name__} leaves {missing} to the Protocol's empty stubs"
    assert isinstance(cls.metrics, DomainMetrics) and cls.name in DOMAINS
    # the headline and summary keys are ones its final metrics report, and every summary key has a label
    assert cls.metrics.quality.key in cls.metrics.summary
    assert cls.metrics.label(cls.metrics.quality.key) == cls.metrics.quality.label
