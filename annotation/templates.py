"""The labeling configs of ``annotation/configs/`` rendered for a category list, and the reading
of an annotation's result back into the label fields of :mod:`schemas.labels`.

A config is a Label Studio XML template with three markers: ``<!--WARNING-->`` (the content
warning, naming the categories), ``<!--CATEGORIES-->`` (one ``Choice`` per category, its alias
the category name) and ``<!--AUDIO-->`` (when tasks carry ``audio``, an audio player after
the transcript and metadata, shown only when the annotator asks to listen). A
custom config (a path) must keep the control names ``sensitive``, ``categories``, ``severity``,
``unsure`` and ``note``, and its decision control ``sensitive`` must be ``required="true"``.

An annotation whose result has no decision (no ``sensitive`` choice and no category) reads as
``sensitive = None``: no vote, never a negative (``schemas.labels.counted``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path

from schemas.errors import AnnotationError
from schemas.labels import DEFAULT_CATEGORIES, category_columns

CONFIG_DIR = Path(__file__).parent / "configs"
TEMPLATES = ("catalogue", "impression")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


_LABELS = {"hate_harassment": "Hate or harassment", "self_harm": "Self-harm"}
#: The audio comes last and only on request: title, metadata and transcript are read first, and
#: the player (task field ``audio``, :func:`annotation.tasks.audio_player`) shows only once
#: "Listen" is chosen, loads nothing before it is played and never plays by itself.
AUDIO_PLAYER = ('<Choices name="listen" toName="description" choice="single" showInline="true">'
                '<Choice value="Listen to the audio (nothing plays until you press play)"/>'
                '</Choices><View visibleWhen="choice-selected" whenTagName="listen" '
                'whenChoiceValue="Listen to the audio (nothing plays until you press play)">'
                '<HyperText name="audio" value="$audio" inline="true"/></View>')


def category_label(name: str) -> str:
    """What annotators read for a category name: ``dangerous_acts`` → ``Dangerous acts``."""
    return _LABELS.get(name) or name.replace("_", " ").capitalize()


def check_categories(categories: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    cats = tuple(categories)
    bad = [c for c in cats if not _NAME.match(c)]
    if not cats or bad or len(set(cats)) != len(cats):
        raise AnnotationError(f"categories must be distinct lower-case names like "
                              f"'self_harm' (got {list(cats)})")
    return cats


def render(template: str | Path = "catalogue",
           categories: tuple[str, ...] | list[str] = DEFAULT_CATEGORIES,
           audio: bool = False, expert: bool = False) -> str:
    """The Label Studio XML of ``template`` (a name of :data:`TEMPLATES` or an XML path);
    ``expert`` adds the annotators' answers (task field ``review``) for adjudication.

    Examples
    --------
    >>> xml = render("catalogue", ["violence", "self_harm"])
    >>> 'alias="self_harm"' in xml and "Show the content" in xml and "<Audio" not in xml
    True
    """
    cats = check_categories(categories)
    path = CONFIG_DIR / f"{template}.xml" if str(template) in TEMPLATES else Path(template)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise AnnotationError(f"{path}: no such labeling config; use one of {list(TEMPLATES)} "
                              f"or a path to an XML file") from None
    choices = "\n        ".join(f'<Choice value="{escape(category_label(c))}" alias="{c}"/>'
                               for c in cats)
    warning = ("This item was sampled for a sensitive-content audit and may contain: "
               + ", ".join(category_label(c).lower() for c in cats)
               + ". Reveal it only when ready; skip it or mark it for an expert at any time.")
    player = AUDIO_PLAYER if audio else ""
    if expert:  # the expert sees what the annotators answered, next to the content
        player += ('<View style="padding: 8px; background: #eef3fb">'
                   '<Header value="What the annotators answered" size="5"/>'
                   '<Text name="review" value="$review"/></View>')
    text = (text.replace("<!--CATEGORIES-->", choices)
            .replace("<!--WARNING-->", f'<Header value="{escape(warning)}" size="6"/>')
            .replace("<!--AUDIO-->", player))
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise AnnotationError(f"{path}: labeling config is not valid XML ({exc})") from None
    decision = [n for n in root.iter("Choices") if n.get("name") == "sensitive"]
    if not any((n.get("required") or "").lower() == "true" for n in decision):
        raise AnnotationError(f"{path}: labeling config needs a required decision control "
                              f'(<Choices name="sensitive" required="true">), or annotations '
                              f"without a decision could be submitted")
    return text


def _choices(result: list[dict], name: str) -> list[str]:
    out: list[str] = []
    for r in result:
        if r.get("from_name") == name and r.get("type") == "choices":
            out += [str(v) for v in (r.get("value") or {}).get("choices", [])]
    return out


def parse_result(result: list[dict] | None, categories: tuple[str, ...] | list[str]
                 ) -> dict:
    """Label fields (``sensitive``, ``cat_*``, ``severity``, ``unsure``, ``note``) of one
    annotation result; choices may carry the alias or the shown value.

    The decision is the ``sensitive`` choice; without one, a chosen category implies
    "sensitive"; with neither, ``sensitive`` is None (no decision: no vote). After a "no",
    categories and severity are cleared (they may linger from a changed mind).

    Examples
    --------
    >>> r = [{"from_name": "categories", "type": "choices",
    ...       "value": {"choices": ["violence"]}},
    ...      {"from_name": "severity", "type": "choices", "value": {"choices": ["High"]}}]
    >>> f = parse_result(r, ["violence", "self_harm"])
    >>> f["sensitive"], f["cat_violence"], f["cat_self_harm"], f["severity"], f["unsure"]
    (True, True, False, 3, False)
    >>> shown = [{"from_name": "reveal", "type": "choices",
    ...           "value": {"choices": ["Show the content"]}}]
    >>> parse_result(shown, ["violence"])["sensitive"] is None
    True
    """
    result = result or []
    by_label = {category_label(c).lower(): c for c in categories}
    chosen = {c if c in categories else by_label.get(c.lower(), c)
              for c in _choices(result, "categories")}
    decision = {v.lower() for v in _choices(result, "sensitive")}
    severity_map = {"1": 1, "2": 2, "3": 3, "low": 1, "medium": 2, "high": 3}
    severities = [severity_map[v.lower()] for v in _choices(result, "severity")
                  if v.lower() in severity_map]
    if decision & {"yes", "contains sensitive content"}:
        sensitive: bool | None = True
    elif decision & {"no", "nothing sensitive"}:
        sensitive = False
    else:
        sensitive = True if chosen & set(categories) else None
    if not sensitive:
        chosen = set()
    notes = [t for r in result if r.get("from_name") == "note"
             for t in (r.get("value") or {}).get("text", [])]
    fields: dict = {"sensitive": sensitive}
    for c, col in zip(categories, category_columns(categories), strict=True):
        fields[col] = c in chosen
    fields["severity"] = max(severities) if sensitive and severities else None
    fields["unsure"] = bool({v.lower() for v in _choices(result, "unsure")}
                            & {"unsure", "unsure / needs expert"})
    fields["note"] = "\n".join(str(t) for t in notes) if notes else None
    return fields


def to_result(sensitive: bool | None, chosen: tuple[str, ...] | list[str] = (),
              severity: int | None = None, unsure: bool = False, note: str | None = None,
              to_name: str = "description") -> list[dict]:
    """An annotation result of the configs for these answers (the inverse of
    :func:`parse_result`), as the labeling interface would send it; ``sensitive=None`` is an
    annotation submitted without a decision.

    Examples
    --------
    >>> f = parse_result(to_result(True, ["violence"], 2), ["violence", "self_harm"])
    >>> f["sensitive"], f["cat_violence"], f["cat_self_harm"], f["severity"]
    (True, True, False, 2)
    """
    def choice(name: str, values: list[str]) -> dict:
        return {"from_name": name, "to_name": to_name, "type": "choices",
                "value": {"choices": values}}

    result = [choice("reveal", ["Show the content"])]
    if sensitive is not None:
        result.append(choice("sensitive", ["yes" if sensitive else "no"]))
    if sensitive and chosen:
        result.append(choice("categories", list(chosen)))
    if sensitive and severity is not None:
        result.append(choice("severity", [str(int(severity))]))
    if unsure:
        result.append(choice("unsure", ["unsure"]))
    if note:
        result.append({"from_name": "note", "to_name": to_name, "type": "textarea",
                       "value": {"text": [note]}})
    return result
