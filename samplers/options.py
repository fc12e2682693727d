"""Sampling options → a sampler: one mapping, one set of checks, for every way a design is told.

The same options come from the command line (``curate sample --n 600``), from a section of a
parameters file (``params.yaml``) and from a past revision's ``dvc.lock`` command (a redraw).
Each is checked here once, by its declared kind, and a wrong type is an error naming the
parameter and where it came from, never a silent coercion (``n: 50.7`` is not 50, ``n: true``
is not 1, ``n_clusters: 0`` is not the default).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

import yaml

from schemas import DesignError, read_manifest
from schemas.lists import split_list
from schemas.storage import as_path, contents, is_file

from . import SAMPLERS
from .base import BaseSampler
from .phase2 import phase2_sampler
from .rotation import check_seed
from .strata import Strata

ALLOCATIONS = ("proportional", "equal", "neyman", "power")


def _whole(low: int) -> Callable:
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"a whole number of {low} or more")
        return v
    return check


def _number(low: float | None = None, high: float | None = None) -> Callable:
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int | float) or v != v \
                or (low is not None and v < low) or (high is not None and v > high):
            span = f" in [{low}, {high}]" if high is not None else ""
            raise ValueError(f"a number{span}")
        return float(v)
    return check


def _one_of(choices: Iterable[str]) -> Callable:
    choices = tuple(choices)

    def check(v):
        if v not in choices:
            raise ValueError(f"one of {list(choices)}")
        return v
    return check


def _name(v):
    if not isinstance(v, str) or not v.strip():
        raise ValueError("a column name")
    return v


def _names(v):
    if isinstance(v, str):
        return split_list(v)
    if isinstance(v, list | tuple) and all(isinstance(x, str) and x.strip() for x in v):
        return tuple(v)
    raise ValueError("column names (a comma-separated string or a list)")


#: Every sampling option, with the check that turns a raw value into the sampler's argument.
OPTIONS: dict[str, Callable] = {
    "design": _one_of(sorted(SAMPLERS)), "n": _whole(0), "seed": _whole(0),
    "strata": _names, "allocation": _one_of(ALLOCATIONS), "size": _name,
    "min_per_stratum": _whole(0), "unit_col": _name, "power": _number(),
    "neyman_col": _name, "neyman_s": _one_of(("sd", "rms")),
    "bins": _name, "n_bins": _whole(2), "clusters": _names,
    "n_clusters": _whole(2), "mixture": _number(0.0, 1.0),
    "method": _one_of(("priority", "poisson")), "coordinate_with": _name,
    "overlap": _one_of(("max", "min")), "rotate_from": _name, "rotation": _number(0.0, 1.0),
    "phase2_of": _name, "uncertainty": _name, "floor": _number(0.0, 1.0), "predictions": _name,
    "columns": _names,  # the input columns carried into the sample (a draw's, not a design's)
}
OPTION_NAMES = tuple(OPTIONS)
_INTEGERS = {"n", "seed", "min_per_stratum", "n_bins", "n_clusters"}
_FLOATS = {"power", "mixture", "floor", "rotation"}


def check_options(options: dict, source: str = "options") -> dict:
    """The options with every given value checked (None means "not given")."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise DesignError(f"{source}: unknown parameter(s) {unknown}; known: "
                          f"{sorted(OPTIONS)}")
    out = {}
    for name, value in options.items():
        if value is None:
            continue
        try:
            out[name] = OPTIONS[name](value)
        except ValueError as exc:
            raise DesignError(f"{source}: parameter {name!r} must be {exc}, got {value!r}"
                              ) from None
    return out


def sampler_from_options(options: dict, source: str = "options") -> BaseSampler:
    """The sampler that ``options`` (names as in params.yaml) describe."""
    o = check_options(options, source)
    if {"phase2_of", "uncertainty", "floor", "predictions"} & set(o):
        return phase2_sampler(o, source)
    design = o.get("design", "stratified")
    if o.get("n") is None:
        raise DesignError(f"{source}: the sample size n is required (--n or `n:` in the "
                          f"params section)")
    seed = o.get("seed", 0)
    strata = Strata(columns=o.get("strata", ()), bins=o.get("bins"),
                    n_bins=o.get("n_bins", 4), clusters=o.get("clusters", ()),
                    n_clusters=o.get("n_clusters", 8), seed=seed)
    common = dict(n=o["n"], seed=seed, strata=strata,
                  allocation=o.get("allocation", "proportional"),
                  min_per_stratum=o.get("min_per_stratum", 0), power=o.get("power", 0.5),
                  neyman_col=o.get("neyman_col"), neyman_s=o.get("neyman_s", "sd"),
                  unit_col=o.get("unit_col"),
                  coordinate_with=o.get("coordinate_with"), overlap=o.get("overlap", "max"))
    if design == "stratified":
        for key in ("size", "mixture", "method"):
            if key in o:
                raise DesignError(f"{source}: {key!r} applies to importance or poisson "
                                  f"designs only")
        return _linked(SAMPLERS[design](**common), o, source)
    extra = dict(size=o.get("size"), mixture=o.get("mixture"))
    if design == "importance":
        extra["method"] = o.get("method", "priority")
    elif "method" in o:
        raise DesignError(f"{source}: 'method' applies to the importance design only")
    return _linked(SAMPLERS[design](**common, **extra), o, source)


def _linked(sampler: BaseSampler, o: dict, source: str) -> BaseSampler:
    """The sampler with its rotating-panel link (samplers/rotation.py); an explicit seed that
    differs from the previous wave's is an error, and the seed used is the previous one's."""
    sampler.rotate_from, sampler.rotation = o.get("rotate_from"), o.get("rotation")
    previous = o.get("rotate_from") or o.get("coordinate_with")
    if previous and is_file(previous):  # a file or an object (s3://...)
        prev_seed = read_manifest(previous).seed
        if prev_seed is not None:
            if "seed" in o:
                check_seed(o["seed"], int(prev_seed), previous, explicit=True)
            sampler.seed = int(prev_seed)
    return sampler


def load_section(path: str | Path, section: str | None) -> dict:
    """The sampling options of ``section`` of a YAML parameters file or object (dotted names
    reach nested sections), checked."""
    path = as_path(path)  # an s3://... URI stays one
    if path.is_dir():
        raise DesignError(f"{path}: is a directory, not a parameters file")
    if not path.exists():
        raise DesignError(f"{path}: no such parameters file")
    try:
        doc = yaml.safe_load(contents(path).decode("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DesignError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise DesignError(f"{path}: a parameters file is a mapping of sections")
    node = doc
    for part in (section or "").split(".") if section else []:
        if not isinstance(node, dict) or part not in node:
            raise DesignError(f"{path}: no section {section!r} (has {sorted(doc)})")
        node = node[part]
    if not isinstance(node, dict):
        raise DesignError(f"{path}: section {section!r} is not a mapping")
    where = f"{path} section {section!r}" if section else str(path)
    check_options(dict(node), where)
    return dict(node)


def sample_command(cmd: str | list) -> dict | None:
    """The ``curate sample`` invocation in a pipeline stage's command, as raw options:
    ``input_path``, ``output``, ``params_file``, ``section`` and every sampling option (values
    converted to the option's kind); None when the command is not a sample command."""
    text = " ".join(cmd) if isinstance(cmd, list) else str(cmd)
    try:
        args = shlex.split(text)
    except ValueError:
        return None
    start = next((i + 1 for i in range(1, len(args)) if args[i] == "sample"
                  and PurePosixPath(args[i - 1]).name in ("curate", "curation")), None)
    if start is None:
        return None
    out: dict = {}
    rest = args[start:]
    i = 0
    while i < len(rest) and rest[i] not in ("&&", ";", "|", ">", ">>"):
        token = rest[i]
        if token.startswith("--") or token == "-o":
            name, _, value = token.lstrip("-").partition("=")
            if not value:
                i += 1
                value = rest[i] if i < len(rest) else ""
            name = {"o": "output", "params": "params_file"}.get(name, name.replace("-", "_"))
            out[name] = _convert(name, value)
        elif "input_path" not in out:
            out["input_path"] = token
        i += 1
    if "phase2_of" in out:  # `curate sample --phase2-of PHASE1`: phase 1 is the input
        out.setdefault("input_path", out["phase2_of"])
    return out


def _convert(name: str, value: str):
    """A command-line value as the option's kind; text that is not one stays text, for
    :func:`check_options` to name."""
    kind = int if name in _INTEGERS else float if name in _FLOATS else None
    if kind is None:
        return value
    try:
        return kind(value)
    except ValueError:
        return value
