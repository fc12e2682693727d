"""Option values written as text: comma-separated lists, on the command line and in params."""

from __future__ import annotations


def split_list(value: str | list | tuple | None) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")``; a list (from params.yaml) is taken as it is.

    Examples
    --------
    >>> split_list(" market, age_band ,"), split_list(None), split_list(["a"])
    (('market', 'age_band'), (), ('a',))
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(s.strip() for s in value.split(",") if s.strip())
    return tuple(value)
