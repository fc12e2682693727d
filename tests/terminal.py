"""Running a program with its output on a pseudo-terminal, as a person at a shell sees it."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios


def on_a_terminal(argv: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """Run ``argv`` with stdout and stderr on a 24 x 100 pseudo-terminal; what it showed.
    A non-zero exit fails the calling test with that text."""
    main, sub = pty.openpty()
    fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(argv, stdout=sub, stderr=sub, env=env)
    os.close(sub)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    assert proc.wait(timeout=timeout) == 0, shown.decode(errors="replace")
    os.close(main)
    return shown.decode(errors="replace")
