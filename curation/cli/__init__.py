"""The ``curate`` command-line interface (one module per group of verbs).

Started as the program (``curate`` or ``python -m curation``), a SIGINT or SIGTERM that comes
while the modules are still being imported ends the process with one line: nothing has been
read or written yet. :func:`curation.cli.main.main` then turns both signals into an exception,
so that a command that is stopped cleans up (no temporary file) and says so in one line.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def _started_as_program() -> bool:
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return argv0.name == "curate" or (argv0.name == "__main__.py"
                                      and argv0.parent.name == "curation")


def _stopped_while_starting(signum, _frame) -> None:
    name = signal.Signals(signum).name
    os.write(2, f"Error: interrupted by {name} while starting; nothing was read or "
                f"written\n".encode())
    os._exit(128 + signum)


if _started_as_program():
    for _sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_sig, _stopped_while_starting)
