"""Human review in Label Studio: configs, blinded tasks, push/pull, agreement, adjudication."""

from .adjudication import adjudicate, latest_versions

__all__ = ["adjudicate", "latest_versions"]
