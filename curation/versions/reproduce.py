"""Reproducing a past dataset: redraw it from that revision's params and inputs, compare.

For a sample, the recipe comes from the revision's ``dvc.lock`` stage that wrote it (its
``curate sample`` command and the ``params.yaml`` section it names, read at that revision);
a sample added with ``dvc add`` is redrawn from the design in its own manifest, reusing the
bin edges and cluster centres the manifest stores (a redraw from params fits them again). A
curated dataset is rebuilt from the sample and labels it records. Inputs are copied from DVC
into a temporary directory; the workspace is never touched. The redraw is compared with the
stored file by content hash; when they differ, :mod:`curation.versions.tablediff` says how,
including refitted strata and package versions that changed since the sample was drawn.
"""

from __future__ import annotations

import inspect
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from curation.curated import curate_tables
from samplers import SAMPLERS, Strata
from samplers.base import BaseSampler, package_versions
from samplers.options import load_section, sample_command, sampler_from_options
from samplers.phase2 import DESIGN_NAME as PHASE2_DESIGN
from samplers.phase2 import phase2_from_manifest
from schemas import CurationError, Manifest, VersionError, content_hash
from schemas.storage import scheme

from .history import datasets_at
from .repository import Snapshot, repo_root
from .tablediff import (
    design_differences,
    fit_differences,
    package_differences,
    provenance_differences,
    table_differences,
)

CONTROL = ("input_path", "output", "params_file", "section", "batch_rows", "engine", "scheduler")


@dataclass(frozen=True)
class Reproduction:
    """The verdict on one dataset of one revision."""

    rev: str
    path: str
    kind: str
    recipe: str
    stored_hash: str
    redrawn_hash: str | None
    differences: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def reproduced(self) -> bool:
        return not self.differences


def sampler_from_manifest(manifest: Manifest, refit: bool = False) -> BaseSampler:
    """The sampler a manifest describes (its ``design`` holds every constructor parameter).

    The bin edges and cluster centres (with their scaling) the manifest stores are reused, so
    the strata do not depend on the scikit-learn release installed now; ``refit=True`` fits
    them again on the input instead.
    """
    design = dict(manifest.design)
    if design.get("name") == PHASE2_DESIGN:
        return phase2_from_manifest(manifest)[0]
    cls = SAMPLERS.get(design.get("name"))
    if cls is None:
        raise VersionError(f"the manifest names an unknown design {design.get('name')!r}")
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    kwargs = {k: design[k] for k in names if k in design}
    if design.get("neyman_col") and "neyman_s" not in design:
        kwargs["neyman_s"] = "rms"  # what neyman_col meant before the manifest recorded it
    spec = design.get("strata_spec") or {}
    strata = Strata(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})
    if strata.needs_fit and design.get("strata_fit") and not refit:
        strata = strata.with_fit(design["strata_fit"])
    kwargs["strata"] = strata
    kwargs["unit_col"] = design.get("unit_col")
    if manifest.seed is not None and "coordination" not in design:
        kwargs["seed"] = manifest.seed
    sampler = cls(**kwargs)
    if design.get("rotation"):  # a rotating panel: the wave it rotated from, and how much
        sampler.rotate_from = design["rotation"]["previous"]
        sampler.rotation = design["rotation"]["rotation"]
    return sampler


def declared_design(sampler: BaseSampler) -> dict:
    """A sampler's parameters as a manifest records them."""
    out = {}
    for key, value in sampler.get_params().items():
        if isinstance(value, Strata):
            value = value.describe()
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def _command(cmd: str | list, verb: str) -> list[str] | None:
    """The arguments after ``curate VERB`` (or ``python -m curation VERB``) in a stage cmd."""
    text = " ".join(cmd) if isinstance(cmd, list) else str(cmd)
    try:
        args = shlex.split(text)
    except ValueError:
        return None
    for i in range(1, len(args)):
        prog = PurePosixPath(args[i - 1]).name
        if args[i] == verb and prog in ("curate", "curation"):
            return args[i + 1:]
    return None


def _stage_options(snap: Snapshot, path: str, tmp: Path) -> tuple[dict, str] | None:
    """Options, input path and a description of the ``curate sample`` stage that wrote it."""
    stage = snap.stage_of(path)
    params = sample_command(stage.get("cmd", "")) if stage else None
    if params is None:
        return None
    if "input_path" not in params:
        raise VersionError(f"{snap.rev}: the command of stage {stage['name']!r} names no input")
    merged: dict = {}
    recipe = f"stage {stage['name']!r} of dvc.lock"
    if params.get("params_file"):
        local = snap.fetch(params["params_file"], tmp / "params" / "params.yaml")
        merged = load_section(local, params.get("section"))
        recipe += f", {params['params_file']} section {params.get('section')!r}"
    merged.update({k: v for k, v in params.items() if k not in CONTROL and v is not None})
    merged["input"] = params["input_path"]
    return merged, recipe


def _in_revision(snap: Snapshot, path: str) -> str:
    """A draw's input as the revision names it: relative to its root, or an object-storage URI
    as it is (outside every revision; the redraw compares the object's recorded identity)."""
    return path if scheme(path) else snap.relative(path)


def _as_drawn(snap: Snapshot, path: str, folder: Path) -> str:
    """What the redraw reads for a file the draw read: the revision's copy, fetched under
    ``folder``, or the URI of an object."""
    if scheme(path):
        return path
    rel = snap.relative(path)
    return str(snap.fetch(rel, folder / rel))


def _redraw_sample(snap: Snapshot, path: str, stored: Manifest, tmp: Path):
    staged = _stage_options(snap, path, tmp)
    if staged is not None:
        options, recipe = staged
        source = _in_revision(snap, options.pop("input"))
        carried = options.pop("columns", None)  # `--columns`: a draw argument, not the design's
        sampler = sampler_from_options(options, f"{snap.rev}: {recipe}")
        where = f"{snap.rev}'s params"
    else:
        sampler = sampler_from_manifest(stored)
        source = _in_revision(snap, stored.population.get("source") or "")
        recipe, where = "the design in its manifest", "the manifest"
        carried = stored.design.get("columns")
    design = declared_design(sampler)
    notes = design_differences(stored.design, design, where)
    if sampler.coordinate_with:
        sampler.set_params(coordinate_with=_as_drawn(snap, sampler.coordinate_with, tmp / "prev"))
    if getattr(sampler, "rotate_from", None):
        sampler.rotate_from = _as_drawn(snap, sampler.rotate_from, tmp / "prev")
    if getattr(sampler, "predictions", None):  # a phase-2 draw's model scores, as committed
        sampler.set_params(predictions=_as_drawn(snap, sampler.predictions, tmp / "scores"))
    if not source or not (scheme(source) or snap.exists(source)):
        raise VersionError(f"{snap.rev}: the input {source or '(unrecorded)'} of {path} is not "
                           f"in that revision")
    local = _as_drawn(snap, source, tmp / "input")
    spec = getattr(sampler, "strata", None)
    refitted = isinstance(spec, Strata) and spec.needs_fit and spec.fit is None
    drawn = sampler.sample(str(local), columns=carried)
    return drawn, f"{recipe}, input {source}", notes, refitted


def _reproduce_one(snap: Snapshot, path: str, tmp: Path) -> Reproduction:
    stored_manifest, _ = snap.manifest(path)
    stored = snap.table(path).replace_schema_metadata(None)
    differences: list[str] = []
    file_hash = content_hash(stored)
    if file_hash != stored_manifest.content_hash:
        differences.append(f"the stored file's content (hash {file_hash[:12]}) does not match "
                           f"its manifest ({stored_manifest.content_hash[:12]}): it was "
                           f"modified after it was written")
    notes: list[str] = []
    refitted = False
    try:
        if stored_manifest.kind == "sample":
            redrawn, recipe, notes, refitted = _redraw_sample(snap, path, stored_manifest, tmp)
            provenance = provenance_differences(stored_manifest, redrawn.manifest)
        else:
            redrawn, recipe, provenance = _rebuild_curated(snap, path, stored_manifest, tmp)
    except VersionError:
        raise
    except CurationError as exc:
        differences.append(f"the redraw fails: {exc}")
        if stored_manifest.kind == "sample":
            differences += package_differences(stored_manifest, package_versions(), True)
        return Reproduction(snap.rev, path, stored_manifest.kind, "-",
                            stored_manifest.content_hash, None, tuple(differences), tuple(notes))
    new_hash = redrawn.manifest.content_hash
    versions = package_differences(stored_manifest, redrawn.manifest.packages, refitted) \
        if stored_manifest.kind == "sample" else []
    if new_hash != stored_manifest.content_hash or file_hash != stored_manifest.content_hash:
        differences.append(f"content hash: stored {stored_manifest.content_hash[:12]}, "
                           f"redrawn {new_hash[:12]}")
        if stored_manifest.kind == "sample":  # what may explain it first, then what differs
            differences += fit_differences(stored_manifest.design, redrawn.manifest.design)
        differences += versions + provenance + table_differences(stored, redrawn.table)
    else:
        differences = []
        if stored_manifest.packages:  # versions changed, yet the sample is the same
            notes += [f"{line}, yet the redraw is identical" for line in versions]
        notes += [f"{line}; yet the redraw is identical" for line in provenance
                  if line.startswith("the input objects")]  # object storage: ETag changed
    return Reproduction(snap.rev, path, stored_manifest.kind, recipe,
                        stored_manifest.content_hash, new_hash, tuple(differences), tuple(notes))


def _rebuild_curated(snap: Snapshot, path: str, stored: Manifest, tmp: Path):
    from curation.curated import _hashable, describe_input

    stage = snap.stage_of(path)
    args = _command(stage.get("cmd", ""), "build") if stage else None
    recorded = {k: (stored.inputs.get(k) or {}) for k in ("sample", "labels")}
    paths = {"sample": args[0], "labels": args[1]} if args and len(args) >= 2 else \
        {k: v.get("path") for k, v in recorded.items()}
    tables, diffs = {}, []
    for key, rel in paths.items():
        rel = snap.relative(rel or "")
        if not rel or not snap.exists(rel):
            raise VersionError(f"{snap.rev}: the {key} input {rel or '(unrecorded)'} of {path} "
                               f"is not in that revision")
        tables[key] = (rel, snap.table(rel), snap.manifest(rel)[0])
        now = content_hash(_hashable(tables[key][1]))
        if recorded[key].get("content_hash") not in (None, now):
            diffs.append(f"input {rel} differs from the one the dataset was built from "
                         f"(content hash {recorded[key]['content_hash'][:12]} → {now[:12]})")
    (s_rel, sample, s_man), (l_rel, labels, l_man) = tables["sample"], tables["labels"]
    if s_man is None:
        raise VersionError(f"{snap.rev}: {s_rel} has no sample manifest")
    inputs = {"sample": describe_input(s_rel, sample, s_man),
              "labels": describe_input(l_rel, labels, l_man)}
    curated = curate_tables(sample.replace_schema_metadata(None), s_man,
                            labels.replace_schema_metadata(None), inputs, s_rel, l_rel,
                            votes=int(stored.inputs.get("votes", 1)),
                            gold_units=stored.inputs.get("gold_units", ()))
    return curated, f"rebuilt from {s_rel} and {l_rel}", diffs


def reproduce(repo: str | Path, rev: str, dataset: str | None = None) -> list[Reproduction]:
    """Redraw every sample (or the one ``dataset``) of ``rev`` and compare with the stored one.

    Curated datasets are rebuilt when named with ``dataset``. Raises VersionError for an
    unknown revision, a revision without the dataset, or data missing from cache and remote.
    """
    root = repo_root(repo)
    snap = Snapshot(root, rev)
    if dataset is not None:
        rel = snap.relative(dataset)
        if not snap.exists(rel):
            found = list(datasets_at(snap))
            raise VersionError(f"{rev} has no dataset {rel} (datasets there: "
                               f"{found or 'none'})")
        manifest, _ = snap.manifest(rel)
        if manifest is None or manifest.kind not in ("sample", "curated"):
            raise VersionError(f"{rev}:{rel} is not a sample or curated dataset (no manifest)")
        targets = [rel]
    else:
        targets = [p for p, d in datasets_at(snap).items() if d.kind == "sample"]
        if not targets:
            raise VersionError(f"{rev} has no sample dataset to reproduce")
    with tempfile.TemporaryDirectory(prefix="curate-reproduce-") as tmp:
        return [_reproduce_one(snap, rel, Path(tmp) / str(i)) for i, rel in enumerate(targets)]
