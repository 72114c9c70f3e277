"""Recipes: a YAML file (shipped name or path) plus `key.sub=value` overrides -> a validated config dict.

Every key a run may use is present in the recipe, so an unknown key is always a typo: the error lists the
valid keys. Override values are parsed as YAML (`train.epochs=5`, `data.atom_types=[C,N,O]`, `seed=null`).
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path

import yaml

from qmolgen.errors import ConfigError
from qmolgen.resources import recipes_dir


def recipe_names() -> list[str]:
    """The names of the shipped recipes (`qmolgen recipes` lists them with a line each)."""
    return sorted(p.stem for p in recipes_dir().glob("*.yaml"))


def recipe_summary(name: str) -> str:
    """The recipe's first comment line, without the '#'."""
    first = (recipes_dir() / f"{name}.yaml").read_text().splitlines()[0]
    return first.lstrip("# ").strip()


def load_recipe(name_or_path: str) -> dict:
    """A shipped recipe by name, or a recipe YAML file by path."""
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = recipes_dir() / f"{name_or_path}.yaml"
        if not path.is_file():
            names = recipe_names()
            close = difflib.get_close_matches(str(name_or_path), names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown recipe {name_or_path!r}; shipped recipes: {', '.join(names)}.{hint} "
                              "A path to a recipe .yaml file works too")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a recipe is a YAML mapping")
    if "base" in config:  # a recipe may start from another and change only what differs
        base = config.pop("base")
        config = _merge(load_recipe(base), config, f"{path} (base {base})")
    if "domain" not in config:
        raise ConfigError(f"{path}: a recipe needs a 'domain' key (or a 'base' recipe that has one)")
    config["recipe"] = path.stem
    return config


REPLACED_WHOLE = ("models",)  # a derived recipe's benchmark.models is its own set of models, not an addition


def _merge(base: dict, changes: dict, where: str) -> dict:
    """`base` with `changes` applied; a key that `base` lacks is an error, as for overrides."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if key in REPLACED_WHOLE:
            merged[key] = value
            continue
        if key not in merged:
            raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {', '.join(flat_keys(base))}")
        merged[key] = _merge(merged[key], value, where) if isinstance(value, dict) else value
    return merged


def flat_keys(config: dict, prefix: str = "") -> list[str]:
    """Every leaf key of a config as a dotted name (`train.epochs`): the keys an override may set."""
    keys = []
    for key, value in config.items():
        full = f"{prefix}{key}"
        keys += flat_keys(value, full + ".") if isinstance(value, dict) else [full]
    return keys


def apply_overrides(config: dict, overrides: list[str]) -> dict:
    """A copy of `config` with each `a.b.c=value` applied (values parsed as YAML); all problems are collected
    and raised once."""
    pairs, problems = [], []
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"{item!r} is not of the form key=value")
            continue
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        pairs.append((key.strip(), value, raw))
    return _apply(config, pairs, problems)


def apply_settings(config: dict, settings: dict) -> dict:
    """A copy of `config` with each {"a.b.c": value} set (Python values, as the API passes them); checked
    like overrides."""
    return _apply(config, [(key, value, repr(value)) for key, value in settings.items()], [])


def _apply(config: dict, pairs: list[tuple[str, object, str]], problems: list[str]) -> dict:
    config = copy.deepcopy(config)
    valid = flat_keys(config)
    for key, value, raw in pairs:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            problems.append(f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            continue
        *parents, leaf = key.split(".")
        node = config
        for p in parents:
            node = node[p]
        old = node[leaf]
        if isinstance(old, (int, float)) and not isinstance(old, bool) and isinstance(value, str):
            problems.append(f"{key} takes a number; got {raw!r}")
            continue
        if isinstance(old, bool) and not isinstance(value, bool):
            problems.append(f"{key} takes true or false; got {raw!r}")
            continue
        node[leaf] = list(value) if isinstance(value, tuple) else value  # YAML-safe in config.yaml
    if problems:
        raise ConfigError("; ".join(problems) + ". Valid keys: " + ", ".join(valid))
    return config


def load_config(recipe: str, overrides: list[str] = ()) -> dict:
    """A recipe (shipped name or .yaml path) with `key=value` overrides applied: the config a run uses."""
    return apply_overrides(load_recipe(recipe), list(overrides))
