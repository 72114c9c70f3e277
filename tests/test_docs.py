"""The API reference builds from the docstrings, and every public name of the documented modules has one."""

import ast
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


def test_every_module_and_public_name_in_the_package_has_its_own_docstring():
    """Beyond the reference pages: every module, public function, class and method carries its own docstring (read
    from the source, so one inherited from torch's nn.Module does not count)."""
    package = Path(__file__).resolve().parents[1] / "qmolgen"
    undocumented = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        where = path.relative_to(package.parent)
        if not ast.get_docstring(tree):
            undocumented.append(f"{where} (module)")
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name.startswith("_"):
                continue
            members = [node] + [m for m in node.body if isinstance(m, ast.FunctionDef) and not m.name.startswith("_")
                                ] if isinstance(node, ast.ClassDef) else [node]
            undocumented += [f"{where}:{m.lineno} {m.name}" for m in members if not ast.get_docstring(m)]
    assert not undocumented, f"no docstring: {undocumented}"


@pytest.mark.slow
def test_api_reference_builds(tmp_path):
    import pdoc

    pdoc.render.configure(docformat="google")
    pdoc.pdoc(*MODULES, output_directory=tmp_path)
    page = (tmp_path / "qmolgen" / "api.html").read_text()
    assert "Synthesizer" in page and "from_recipe" in page and "NotFittedError" in page
