"""Labeling configs: valid XML for any category list, and results read back as they were given."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotation.pull import project_categories
from annotation.templates import TEMPLATES, parse_result, render, to_result
from schemas.errors import AnnotationError
from schemas.labels import DEFAULT_CATEGORIES

names = st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), min_size=1,
                 max_size=8, unique=True)


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("expert", [False, True])
def test_configs_render_with_warning_first_and_every_control(template, expert):
    xml = render(template, DEFAULT_CATEGORIES, audio=True, expert=expert)
    root = ET.fromstring(xml)
    controls = {n.get("name") for n in root.iter() if n.get("name")}
    assert {"reveal", "sensitive", "categories", "severity", "unsure", "note"} <= controls
    assert ("review" in controls) == expert
    assert "Content warning" in xml.split("$title")[0]  # shown before the content
    assert project_categories(xml) == list(DEFAULT_CATEGORIES)


def test_impression_config_shows_where_and_to_whom_but_no_user():
    fields = set(re.findall(r"\$([a-z_]+)", render("impression")))
    assert fields == {"title", "creator", "context", "description", "impression"}


@given(cats=names, data=st.data())
def test_results_round_trip(cats, data):
    sensitive = data.draw(st.booleans())
    chosen = data.draw(st.lists(st.sampled_from(cats), unique=True)) if sensitive else []
    severity = data.draw(st.one_of(st.none(), st.integers(1, 3))) if sensitive else None
    unsure = data.draw(st.booleans())
    got = parse_result(to_result(sensitive, chosen, severity, unsure, "n"), cats)
    assert got["sensitive"] == sensitive
    assert [c for c in cats if got[f"cat_{c}"]] == [c for c in cats if c in chosen]
    assert got["severity"] == severity and got["unsure"] == unsure and got["note"] == "n"
    assert project_categories(render("catalogue", cats)) == cats


@pytest.mark.parametrize("bad", [[], ["Violence"], ["a b"], ["x", "x"]])
def test_bad_category_lists_are_refused(bad):
    with pytest.raises(AnnotationError, match="categories must be"):
        render("catalogue", bad)


def test_unknown_template_is_named(tmp_path):
    with pytest.raises(AnnotationError, match="nope.xml"):
        render(str(tmp_path / "nope.xml"))


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_decision_is_required_in_every_config(template):
    root = ET.fromstring(render(template))
    decision = [n for n in root.iter("Choices") if n.get("name") == "sensitive"]
    assert len(decision) == 1 and decision[0].get("required") == "true"


def test_a_custom_config_without_a_required_decision_is_refused(tmp_path):
    text = render("catalogue").replace(' required="true"', "")
    custom = tmp_path / "custom.xml"
    custom.write_text(text.replace("<!--CATEGORIES-->", ""))
    with pytest.raises(AnnotationError) as err:
        render(str(custom))
    assert "custom.xml" in str(err.value) and "required" in str(err.value)
    assert "\n" not in str(err.value)


def test_an_annotation_without_a_decision_reads_as_no_decision():
    only_shown = to_result(None)
    assert [r["from_name"] for r in only_shown] == ["reveal"]
    got = parse_result(only_shown, ["violence"])
    assert got["sensitive"] is None and got["cat_violence"] is False
    assert got["severity"] is None and got["unsure"] is False
    assert parse_result([], ["violence"])["sensitive"] is None
    # a "no" clears categories that may linger from a changed mind
    lingering = to_result(False) + [{"from_name": "categories", "type": "choices",
                                     "value": {"choices": ["violence"]}}]
    assert parse_result(lingering, ["violence"])["cat_violence"] is False
