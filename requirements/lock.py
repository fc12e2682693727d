"""Write requirements/lock.txt: the exact version of every package ``.[test]`` installs.

The lock pins what the project runs with, so that a fresh install (``make setup``, ``make
setup-test``, CI on a new machine) gets the releases the suite passed with, not whatever is
newest that day: a new pandas or scikit-learn can change how inputs are read or how bins and
clusters are fitted, and with it a redrawn sample. The Makefile installs with the lock as a pip
constraints file (``pip install -c requirements/lock.txt -e '.[test]'``).

Two ways to write it:

* ``python requirements/lock.py`` (``make lock``) resolves ``.[test]`` afresh on the package
  index with pip (``pip install --dry-run --ignore-installed --report``): the newest releases
  that pyproject.toml's ranges allow, for this Python and platform. Then ``make setup-test``
  installs them and ``make test`` says whether they work; commit the lock only if it does.
* ``python requirements/lock.py --from-env`` pins what is installed in this environment now,
  restricted to what ``.[test]`` requires (the closure of its requirements, markers evaluated
  here), e.g. after upgrading one package by hand and running the suite.

Either way the lock also pins pip, at the version running the script (``make lock`` upgrades
it first); the project itself (installed editable) is not in it.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path

try:
    from packaging.requirements import Requirement
except ImportError:  # pragma: no cover - pip always vendors it
    from pip._vendor.packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
PROJECT = "audit-curation"
EXTRAS = ("test", "studio")
SKIP = {"pip", PROJECT}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> list[str]:
    """The requirements of PROJECT[EXTRAS] as pyproject.toml declares them now (not as the
    installed, possibly older, metadata of the editable install says)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = project.get("optional-dependencies", {})
    return [*project.get("dependencies", []), *(r for e in EXTRAS for r in extra.get(e, []))]


def closure_from_env() -> dict[str, str]:
    """{name: version} of every installed distribution that PROJECT[EXTRAS] requires,
    directly or not."""
    found: dict[str, str] = {}
    todo = [(Requirement(line), {""}) for line in declared()]
    seen: set[tuple[str, frozenset]] = set()
    while todo:
        req, extras = todo.pop()
        if req.marker is not None and not any(req.marker.evaluate({"extra": e})
                                              for e in extras):
            continue
        key = (canonical(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            sys.exit(f"{req.name} is required but not installed: make setup-test first")
        if not req.specifier.contains(dist.version, prereleases=True):
            sys.exit(f"{req.name} {dist.version} is installed but {req} is required")
        if canonical(req.name) not in SKIP:
            found[dist.metadata["Name"]] = dist.version
        todo += [(Requirement(line), set(req.extras) or {""}) for line in dist.requires or []]
    return found


def resolve_fresh() -> dict[str, str]:
    """{name: version} that pip resolves for ``.[test]`` on the index, ignoring what is
    installed (nothing is installed)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--dry-run",
                        "--ignore-installed", "--report", str(report),
                        f"{ROOT}[{','.join(EXTRAS)}]"], check=True)
        data = json.loads(report.read_text())
    return {item["metadata"]["name"]: item["metadata"]["version"] for item in data["install"]
            if canonical(item["metadata"]["name"]) not in SKIP}


def write(pins: dict[str, str], how: str, path: Path = LOCK) -> None:
    pins = {**pins, "pip": version("pip")}
    py = platform.python_version_tuple()
    lines = [
        "# Exact versions of everything `pip install -e '.[test]'` installs (the suite passed",
        "# with them). Installed as a constraints file by `make setup` / `make setup-test`.",
        f"# Written by requirements/lock.py ({how})",
        f"# for CPython {py[0]}.{py[1]} on {platform.system()} {platform.machine()}. "
        f"Refresh with `make lock`.",
        *[f"{name}=={pins[name]}" for name in sorted(pins, key=canonical)],
    ]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}: {len(pins)} packages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-env", action="store_true",
                        help="pin what is installed here instead of resolving afresh")
    parser.add_argument("-o", "--output", type=Path, default=LOCK,
                        help="where to write it [requirements/lock.txt]")
    args = parser.parse_args()
    if args.from_env:
        write(closure_from_env(), "--from-env: what was installed", args.output)
    else:
        write(resolve_fresh(), "resolved on the package index", args.output)


if __name__ == "__main__":
    main()
