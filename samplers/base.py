"""The sampler contract: configured in ``__init__`` (which only stores), one verb ``sample``."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd
import pyarrow as pa

from schemas import Manifest, __version__, write_with_manifest

DESIGN_COLUMNS = ("unit_id", "stratum", "inclusion_prob", "design_weight", "prn")

#: The distributions whose version can change a sample: the hash and sums (numpy), reading and
#: type conversion (pandas, pyarrow), fitted bins and clusters (scikit-learn on scipy), the
#: cluster engine (dask, distributed), and this package.
SAMPLE_PACKAGES = ("numpy", "pandas", "pyarrow", "scikit-learn", "scipy", "dask", "distributed")


def package_version() -> str:
    """This package's version (``audit-curation``, from its installed metadata)."""
    return __version__


def package_versions() -> dict[str, str]:
    """``{distribution: version}`` of :data:`SAMPLE_PACKAGES` and audit-curation, as installed
    (a distribution that is not installed is left out)."""
    out = {"audit-curation": package_version()}
    for name in SAMPLE_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


@dataclass(frozen=True)
class Sample:
    """A drawn sample: the sampled rows (source columns + design columns) and its manifest."""

    table: pa.Table
    manifest: Manifest

    def __len__(self) -> int:
        return self.table.num_rows

    def to_pandas(self) -> pd.DataFrame:
        return self.table.to_pandas()

    def write(self, path) -> None:
        """Atomically write the Parquet file (manifest in its metadata) and its sidecar JSON."""
        write_with_manifest(path, self.table, self.manifest)

    @property
    def allocation(self) -> pd.DataFrame:
        return pd.DataFrame(self.manifest.allocation)

    def thin_strata(self) -> tuple[list[str], list[str]]:
        """(strata allocated no unit, strata allocated one unit), each holding more units.

        No estimate can speak for the first (their units have π = 0); the second give no
        variance estimate under stratified SRS (a lonely unit). Both deserve a warning.
        """
        rows = self.manifest.allocation or []
        empty = [str(a["stratum"]) for a in rows if a["n_h"] == 0 and a["N_h"] > 0]
        single = [str(a["stratum"]) for a in rows if a["n_h"] == 1 and a["N_h"] > 1]
        return empty, single


class BaseSampler:
    """Parameters are the constructor's arguments, stored verbatim (scikit-learn style)."""

    design_name: str = "base"

    def get_params(self) -> dict[str, Any]:
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def set_params(self, **params: Any) -> BaseSampler:
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
