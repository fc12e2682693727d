"""The local server's log, with secrets redacted: what ``label-studio`` prints goes through
:func:`redact` line by line into a mode-600 file.

Label Studio logs every request line, and the invite link (``/user/signup/?token=...``) carries
the organization's invite token; API tokens can appear as ``Token ...``/``Bearer ...`` or in a
query string. Run as a script (stdlib only) it copies its standard input to the log file::

    python annotation/logfilter.py LOGFILE   # secrets to redact literally: $LOGFILTER_SECRETS
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

MASK = "[redacted]"
SECRETS_VAR = "LOGFILTER_SECRETS"  # newline-separated values to redact wherever they appear
_PATTERNS = (
    re.compile(r"(?i)((?:token|key|password|secret|refresh|access)=)[^&\s\"'<>]+"),
    re.compile(r"(?i)\b((?:Token|Bearer)\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)(\"(?:token|api_key|password|refresh|access)\"\s*:\s*\")[^\"]+"),
)


def redact(line: str, secrets: tuple[str, ...] = ()) -> str:
    """``line`` with token-like values and the given ``secrets`` masked.

    Examples
    --------
    >>> redact('"GET /user/signup/?token=AbC123 HTTP/1.1" 200')
    '"GET /user/signup/?token=[redacted] HTTP/1.1" 200'
    >>> redact("Authorization: Token 0123456789abcdef", ())
    'Authorization: Token [redacted]'
    >>> redact("key s3cr3t-value in a line", ("s3cr3t-value",))
    'key [redacted] in a line'
    """
    for secret in secrets:
        if secret:
            line = line.replace(secret, MASK)
    for pattern in _PATTERNS:
        line = pattern.sub(lambda m: m.group(1) + MASK, line)
    return line


def open_private(path: str | os.PathLike):
    """``path`` opened for appending (binary), created or chmod-ed to mode 600."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab", buffering=0)


def scrub(path: str | os.PathLike, secrets: tuple[str, ...] = ()) -> None:
    """Redact an existing log file in place (a log written before redaction) and make it 600."""
    path = Path(path)
    if not path.exists():
        return
    text = path.read_bytes().decode("utf-8", "replace")
    clean = "".join(redact(line, secrets) for line in text.splitlines(keepends=True))
    tmp = path.with_name(f".{path.name}.tmp")
    with open_private(tmp) as out:
        out.truncate(0)
        out.write(clean.encode())
    os.replace(tmp, path)
    os.chmod(path, 0o600)


def secrets_from_env() -> tuple[str, ...]:
    return tuple(s for s in os.environ.get(SECRETS_VAR, "").split("\n") if len(s) >= 6)


def main(argv: list[str]) -> int:
    """Copy standard input to the log file ``argv[0]``, line by line, redacted."""
    secrets = secrets_from_env()
    with open_private(argv[0]) as out:
        for raw in sys.stdin.buffer:
            out.write(redact(raw.decode("utf-8", "replace"), secrets).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
