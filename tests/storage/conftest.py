"""A local S3-compatible server (moto in server mode on 127.0.0.1, a free port), the
environment that points pyarrow and DVC at it, and a bucket holding a demo catalogue."""

from __future__ import annotations

import socket
import uuid

import boto3  # moto's own dependency
import moto.server as moto_server  # the test extra's moto[server]: no skip, CI must run these
import pytest

from tests.cli import run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """``http://127.0.0.1:<port>`` of a moto S3 server, stopped at the end of the session."""
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch) -> dict[str, str]:
    """The environment a user sets for S3 (credentials never on the command line)."""
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": s3_endpoint, "AWS_EC2_METADATA_DISABLED": "true"}
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def s3(s3_env):
    """A boto3 S3 client of the server (to set up buckets and look at objects)."""
    return boto3.client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"])


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """A local demo catalogue and recommendation log (the copies the S3 objects are of)."""
    out = tmp_path_factory.mktemp("demo")
    code, text = run("demo-data", out, "--items", 3000, "--impressions", 6000, "--seed", 5)
    assert code == 0, text
    return out


@pytest.fixture
def bucket(s3, demo) -> str:
    """A new bucket holding ``catalogue.parquet`` and a hive-partitioned copy of it under
    ``catalogue/market=XX/part-0.parquet``; its name."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    name = f"cat-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    s3.upload_file(str(demo / "catalogue.parquet"), name, "catalogue.parquet")
    table = pq.read_table(demo / "catalogue.parquet")
    for market in sorted(set(table.column("market").to_pylist())):
        part = table.filter(pc.equal(table["market"], market)).drop_columns(["market"])
        local = demo / f"part-{market}.parquet"
        pq.write_table(part, local)
        s3.upload_file(str(local), name, f"catalogue/market={market}/part-0.parquet")
    return name


def keys(s3, bucket: str) -> list[str]:
    """Every object key of ``bucket``, sorted."""
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def bucket_of(s3, folder, files, prefix: str) -> str:
    """A new bucket (``<prefix>-<random>``) holding ``files`` of the local ``folder``: its
    ``s3://name/`` URI."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    for f in files:
        s3.upload_file(str(folder / f), name, f)
    return f"s3://{name}/"


def refused(code: int, text: str, *wanted: str) -> None:
    """A one-line error (exit 1, no traceback) whose line holds every ``wanted`` text."""
    lines = text.strip().splitlines()
    assert code == 1 and lines[-1].startswith("Error: "), text
    assert "Traceback" not in text and "internal error" not in text, text
    for w in wanted:
        assert w in lines[-1], text
