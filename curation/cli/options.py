"""Option values shared by the commands: comma-separated lists and the category list."""

from __future__ import annotations

from schemas.labels import DEFAULT_CATEGORIES


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


def categories(value: str | None) -> tuple[str, ...]:
    """The ``--categories`` list, or the default six."""
    return split_list(value) or DEFAULT_CATEGORIES
