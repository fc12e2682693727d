"""Human review in Label Studio: configs, blinded tasks, push/pull, agreement, adjudication."""

from schemas import __version__

from .adjudication import adjudicate, latest_versions
from .agreement import agreement
from .connection import Connection, resolve
from .expert import expert_queue
from .ledger import Ledger
from .pseudonym import pseudonymize
from .pull import PullResult, pull
from .push import PushResult, push
from .tasks import build_tasks
from .templates import parse_result, render, to_result

__all__ = ["Connection", "Ledger", "PullResult", "PushResult", "__version__", "adjudicate",
           "agreement", "build_tasks", "expert_queue", "latest_versions", "parse_result",
           "pseudonymize", "pull", "push", "render", "resolve", "to_result"]
