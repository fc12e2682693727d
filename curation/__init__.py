"""The curate CLI, estimators, representation metrics, curated datasets, versions, reports."""

__all__ = ["__version__"]


def __getattr__(name: str):
    # lazy, so that `python -m curation` reaches the CLI's signal handlers before any heavy
    # import (schemas loads pandas and pyarrow)
    if name == "__version__":
        from schemas import __version__

        return __version__
    raise AttributeError(f"module 'curation' has no attribute {name!r}")
