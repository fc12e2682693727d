"""A path or a URI as commands carry it (``schemas.storage``): a URI stays a URI where
``Path`` would mangle it, answers what code asks of a ``Path``, and names the files beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import SchemaError
from schemas.io import check_folder
from schemas.storage import ObjectPath, as_path, beside, refuse_folder, suffix


def test_a_uri_stays_a_uri_and_answers_as_a_path_would():
    uri = as_path("s3://cat/audits/wave.2/Catalogue.PARQUET")
    assert isinstance(uri, ObjectPath) and uri == "s3://cat/audits/wave.2/Catalogue.PARQUET"
    assert str(Path("s3://cat/x")) == "s3:/cat/x"  # what as_path avoids
    assert (uri.name, uri.stem, uri.suffix) == ("Catalogue.PARQUET", "Catalogue", ".PARQUET")
    assert suffix(uri) == ".parquet" and suffix("data/x.CSV") == ".csv"
    assert {uri: 1}["s3://cat/audits/wave.2/Catalogue.PARQUET"] == 1  # a key like its str


def test_local_paths_and_file_uris_become_paths(tmp_path):
    assert as_path("data/x.parquet") == Path("data/x.parquet")
    assert as_path(f"file://{tmp_path}/a%20b.csv") == tmp_path / "a b.csv"
    assert not isinstance(as_path(tmp_path), ObjectPath)


@pytest.mark.parametrize(("given", "want"), [
    ("s3://b/out/trend.csv", "s3://b/out/trend.png"),
    ("gs://b/trend.v2.csv", "gs://b/trend.v2.png"),
    ("out/trend.csv", "out/trend.png"),
])
def test_the_file_beside_keeps_the_folder_and_the_scheme(given, want):
    assert beside(given, ".png") == want


def test_a_folder_output_refuses_a_uri_before_any_storage_is_asked(tmp_path):
    with pytest.raises(SchemaError, match=r"^s3://b/rep: curate report writes a folder"):
        check_folder("s3://b/rep", "curate report")  # no server: refused before a request
    refuse_folder(tmp_path / "rep", "curate report")  # a local folder is the check's own
    check_folder(tmp_path / "rep", "curate report")
    assert list(tmp_path.iterdir()) == []
