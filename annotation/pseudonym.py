"""Keyed pseudonyms for user and annotator ids (HMAC-SHA256), so no raw id leaves the machine.

The key comes from ``AUDIT_CURATION_PSEUDONYM_KEY`` or, when unset, from a mode-600 key file
(``<studio dir>/pseudonym.key``) made on first use. The same key gives the same pseudonym, so
labels of one person stay linkable across pulls without naming them; without the key a
pseudonym cannot be reversed or recomputed from a guessed id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from schemas.errors import AnnotationError
from schemas.io import write_text

ENV_KEY = "AUDIT_CURATION_PSEUDONYM_KEY"


def load_key(key_file: str | os.PathLike) -> bytes:
    """The pseudonym key from the environment, else from ``key_file`` (created if missing)."""
    env = os.environ.get(ENV_KEY)
    if env:
        return env.encode()
    path = Path(key_file)
    if not path.exists():
        write_text(path, secrets.token_hex(32) + "\n", mode=0o600)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise AnnotationError(f"{path}: pseudonym key file is readable by others (mode "
                              f"{mode:o}); run `chmod 600 {path}`")
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 16:
        raise AnnotationError(f"{path}: pseudonym key is too short (use 32+ random hex digits)")
    return key.encode()


def pseudonymize(value: object, key: bytes, prefix: str = "p_") -> str:
    """``prefix`` + the first 16 hex digits of HMAC-SHA256(key, str(value)).

    Examples
    --------
    >>> a = pseudonymize("u_00000042", b"k" * 32, "u_")
    >>> a == pseudonymize("u_00000042", b"k" * 32, "u_"), len(a), a.startswith("u_")
    (True, 18, True)
    """
    digest = hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return prefix + digest[:16]
