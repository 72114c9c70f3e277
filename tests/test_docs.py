"""The API reference builds from the docstrings, and every public name of the documented modules has one."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "build_api.sh"
MODULES = re.search(r"qmolgen qmolgen\.api[^\n]*", SCRIPT.read_text()).group(0).split()


def public_members(module):
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield f"{module.__name__}.{name}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if inspect.isfunction(member) or isinstance(member, (property, classmethod, staticmethod)):
                        yield f"{module.__name__}.{name}.{attr}", getattr(obj, attr) if not isinstance(member, property) else member


def test_every_public_name_of_the_documented_modules_has_a_docstring():
    undocumented = [name for module in MODULES for name, obj in public_members(importlib.import_module(module))
                    if not inspect.getdoc(obj)]
    assert not undocumented, f"no docstring: {undocumented}"


@pytest.mark.slow
def test_api_reference_builds(tmp_path):
    import pdoc

    pdoc.render.configure(docformat="google")
    pdoc.pdoc(*MODULES, output_directory=tmp_path)
    page = (tmp_path / "qmolgen" / "api.html").read_text()
    assert "Synthesizer" in page and "from_recipe" in page and "NotFittedError" in page
