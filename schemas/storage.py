"""Tables where the data lives: object-storage URIs (``s3://``, ``gs://``, ...) beside paths.

A URI is opened with pyarrow's filesystems (``pyarrow.fs.FileSystem.from_uri``), so the
credentials and endpoint come from the environment exactly as pyarrow and the AWS/Google SDKs
read them (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` or
``AWS_ENDPOINT_URL_S3``, ``AWS_DEFAULT_REGION``, ``GOOGLE_APPLICATION_CREDENTIALS``, ...); they
never appear in an argument, a message or a manifest. ``file://`` URIs are local paths.

Writing an object is atomic as the storage allows: the finished file is built locally and sent
when complete (pyarrow sends an object up to its part size in one PUT, a larger one as a
multipart upload that becomes visible only when completed), so no reader sees part of it and a
failure leaves the previous object. An object's identity (its ETag, else a SHA-256 of its bytes)
goes into the manifest of a sample drawn from it, so that a redraw can show it read the same
bytes.

Commands carry what they were given through :func:`as_path`: a local ``Path``, or an
:class:`ObjectPath` (the URI, which ``Path`` would mangle into ``s3:/b/x``), so every verb that
reads or writes a table takes either. A command that fills a folder with several files
(``curate report``, ``demo-data``, ``demo``) refuses a URI (:func:`refuse_folder`): objects
written one by one are no single version a reader could trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from .errors import SchemaError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HINT = ("check the credentials and endpoint in the environment (AWS_ACCESS_KEY_ID, "
         "AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, ...)")


def scheme(path: Any) -> str | None:
    """The URI scheme of ``path`` (``s3``, ``gs``, ``file``, ...), None for a plain path."""
    if not isinstance(path, str):  # a Path is never a URI (it would have lost the "//")
        return None
    match = _SCHEME.match(path)
    return match.group(1).lower() if match else None


def is_remote(path: Any) -> bool:
    """Whether ``path`` is a URI of a filesystem other than the local one (``file://``)."""
    return scheme(path) not in (None, "file")


def local_path(path: str | os.PathLike) -> Path:
    """A local path; a ``file://`` URI becomes the path it names."""
    if scheme(path) == "file":
        return Path(unquote(urlparse(os.fspath(path)).path))
    return Path(path)


def _line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text[:300]


def _error(uri: str, exc: BaseException, doing: str) -> SchemaError:
    text = _line(exc)
    denied = any(k in text.upper() for k in ("ACCESS_DENIED", "ACCESSDENIED", "FORBIDDEN",
                                             "INVALIDACCESSKEYID", "SIGNATURE", "CREDENTIAL"))
    hint = f"; {_HINT}" if denied else ""
    return SchemaError(f"cannot {doing}: {text}{hint}", source=uri)


def resolve(uri: str):
    """``(pyarrow filesystem, path inside it)`` of a URI; SchemaError naming it on failure."""
    import pyarrow as pa
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(os.fspath(uri))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as exc:
        raise _error(str(uri), exc, "open the storage") from None


def _info(fs, path: str, uri: str):
    try:
        return fs.get_file_info(path)
    except OSError as exc:
        raise _error(uri, exc, "reach the object") from None


def _bucket_missing(fs, path: str, uri: str) -> bool:
    import pyarrow.fs as pafs

    bucket = path.split("/", 1)[0]
    return _info(fs, bucket, uri).type == pafs.FileType.NotFound


def kind(uri: str) -> str:
    """'file' or 'folder' (a prefix holding objects); SchemaError for a missing object or
    bucket, or storage that cannot be reached."""
    import pyarrow.fs as pafs

    fs, path = resolve(uri)
    info = _info(fs, path, uri)
    if info.type == pafs.FileType.File:
        return "file"
    if info.type == pafs.FileType.Directory:
        return "folder"
    if _bucket_missing(fs, path, uri):
        raise SchemaError(f"no such bucket {path.split('/', 1)[0]!r}", source=uri)
    raise SchemaError("no such object or prefix", source=uri)


def parquet_files(root: str | os.PathLike) -> tuple[Any, Any, list, dict]:
    """``(filesystem or None, root, files, {file: how messages name it})`` of a folder or an
    object-storage prefix, the files a pyarrow dataset reads: names starting with '.' or '_'
    (in any part below the root) left out, sorted."""
    if not is_remote(root):
        top, files = local_path(root), []
        for folder, dirs, names in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            files += [Path(folder) / f for f in sorted(names) if not f.startswith((".", "_"))]
        return None, top, sorted(files), {f: f for f in files}
    import pyarrow.fs as pafs

    fs, path = resolve(root)
    top = PurePosixPath(path.rstrip("/"))
    try:
        infos = fs.get_file_info(pafs.FileSelector(str(top), recursive=True))
    except OSError as exc:
        raise _error(str(root), exc, "list the prefix") from None
    found = [PurePosixPath(i.path) for i in infos if i.type == pafs.FileType.File]
    found = sorted(f for f in found
                   if not any(p.startswith((".", "_")) for p in f.relative_to(top).parts))
    return fs, top, found, {f: uri_of(str(root), f) for f in found}


def uri_of(uri: str, path: PurePosixPath | str) -> str:
    """The URI of ``path`` (a path inside the filesystem of ``uri``)."""
    return f"{scheme(uri)}://{path}"


def identity(uri: str) -> list[dict[str, Any]]:
    """``[{uri, etag, size}]`` of the object at ``uri`` or of every object under the prefix:
    the ETag the storage reports, else ``sha256:`` of the bytes."""
    fs, path = resolve(uri)
    files = [PurePosixPath(path)] if kind(uri) == "file" else parquet_files(uri)[2]
    out = []
    for f in files:
        try:
            with fs.open_input_file(str(f)) as fh:
                meta = {k.decode().lower() if isinstance(k, bytes) else k.lower(): v
                        for k, v in (fh.metadata() or {}).items()}
                size = fh.size()
                tag = meta.get("etag") or meta.get("generation")
                if not tag:
                    digest = hashlib.sha256()
                    while chunk := fh.read(1 << 22):
                        digest.update(chunk)
                    tag = "sha256:" + digest.hexdigest()
        except OSError as exc:
            raise _error(uri_of(uri, f), exc, "read the object") from None
        tag = tag.decode() if isinstance(tag, bytes) else str(tag)
        out.append({"uri": uri_of(uri, f), "etag": tag.strip('"'), "size": int(size)})
    return out


def read_bytes(uri: str) -> bytes | None:
    """The bytes of the object at ``uri``, None when it does not exist."""
    import pyarrow.fs as pafs

    fs, path = resolve(uri)
    if _info(fs, path, uri).type != pafs.FileType.File:
        return None
    try:
        with fs.open_input_stream(path) as fh:
            return fh.read()
    except OSError as exc:
        raise _error(uri, exc, "read the object") from None


def check_target(uri: str) -> None:
    """SchemaError unless an object can be written at ``uri``: its bucket exists and can be
    reached with the environment's credentials, and ``uri`` is no prefix holding objects."""
    import pyarrow.fs as pafs

    fs, path = resolve(uri)
    if "/" not in path.strip("/"):
        raise SchemaError("give an object key inside the bucket, not the bucket", source=uri)
    if _bucket_missing(fs, path, uri):
        raise SchemaError(f"no such bucket {path.split('/', 1)[0]!r}: create it first",
                          source=uri)
    if _info(fs, path, uri).type == pafs.FileType.Directory:
        raise SchemaError("is a prefix holding objects (a folder), not an object: give a "
                          "file name", source=uri)


@contextlib.contextmanager
def staged(uri: str) -> Iterator[Path]:
    """A local temporary file, sent as the object ``uri`` when the block succeeds (else
    removed: nothing is written)."""
    check_target(uri)
    with tempfile.TemporaryDirectory(prefix=".curate-") as folder:
        tmp = Path(folder) / Path(str(uri)).name
        yield tmp
        upload(uri, tmp)


def upload(uri: str, local: Path) -> None:
    """Send the finished local file ``local`` as the object ``uri`` (module docstring)."""
    uri = str(uri)
    if scheme(uri) == "s3":  # opened at close: one PutObject (up to the part size)
        fs, path = resolve(uri + ("&" if "?" in uri else "?") + "allow_delayed_open=true")
    else:
        fs, path = resolve(uri)
    data = local.read_bytes()
    try:
        with fs.open_output_stream(path) as out:
            out.write(data)
    except OSError as exc:
        raise _error(uri, exc, "write the object") from None


def check_output(output: str, inputs: list, sidecar_suffix: str | None) -> None:
    """``schemas.io.check_output`` of an object-storage output (after its suffix checks): it
    and its sidecar (``sidecar_suffix``) are no input, no input's manifest and in no input
    prefix (URIs compared as names: an object has one), and can be written."""
    side = str(output).removesuffix(".parquet") + sidecar_suffix if sidecar_suffix else None
    remote = [str(p).rstrip("/") for p in inputs if is_remote(p)]
    for target in [str(output)] + ([side] if side else []):
        for p in remote:
            for what in (p, p.removesuffix(".parquet") + ".manifest.json"):
                if target.rstrip("/") == what:
                    raise SchemaError(f"would overwrite the input {what}; choose another "
                                      f"output path", source=str(output))
            if target.startswith(p + "/"):
                raise SchemaError(f"is inside the input prefix {p}, whose objects are all "
                                  f"read; write it elsewhere", source=str(output))
        check_target(target)


# -- a path or a URI, as readers and writers of every verb take it ----------------------------

class ObjectPath(str):
    """An object-storage URI (it *is* the str, which every reader here takes) answering what
    code asks of a ``Path`` it was given: ``name``, ``stem``, ``suffix``, ``exists()``,
    ``is_file()``, ``is_dir()``. ``Path(uri)`` would mangle it (``s3://b/x`` → ``s3:/b/x``)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return PurePosixPath(urlparse(self).path).name

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    def exists(self) -> bool:
        return exists(self)

    def is_file(self) -> bool:
        return is_file(self)

    def is_dir(self) -> bool:
        return self.exists() and not self.is_file()


def as_path(path: str | os.PathLike) -> Path | ObjectPath:
    """What a command carries for a file it was given: a ``Path`` for a local path (a
    ``file://`` URI as the path it names), an :class:`ObjectPath` for object storage."""
    return ObjectPath(path) if is_remote(path) else local_path(path)


def exists(path: str | os.PathLike) -> bool:
    """Whether a file, folder, object or prefix is at ``path`` (a missing bucket: False;
    storage that cannot be reached: SchemaError)."""
    if not is_remote(path):
        return local_path(path).exists()
    import pyarrow.fs as pafs

    fs, where = resolve(str(path))
    return _info(fs, where, str(path)).type != pafs.FileType.NotFound


def check_objects(paths) -> None:
    """SchemaError naming the first object-storage URI of ``paths`` whose object (or prefix)
    or bucket is missing (:func:`kind`), before a reader says it less plainly; local paths
    are left to the readers."""
    for path in paths:
        if is_remote(path):
            kind(str(path))


def is_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file or an object (not a folder or a prefix)."""
    if not is_remote(path):
        return local_path(path).is_file()
    import pyarrow.fs as pafs

    fs, where = resolve(str(path))
    return _info(fs, where, str(path)).type == pafs.FileType.File


def suffix(path: str | os.PathLike) -> str:
    """The extension of ``path`` or of a URI's object name, lower case (``.parquet``)."""
    name = PurePosixPath(urlparse(str(path)).path).name if is_remote(path) else Path(path).name
    return PurePosixPath(name).suffix.lower()


def beside(path: str | os.PathLike, ending: str) -> str:
    """The file beside ``path`` named by its stem and ``ending`` (``x.csv``, ``.png`` →
    ``x.png``), a URI for a URI."""
    if not is_remote(path):
        out = local_path(path)
        return str(out.with_name(out.stem + ending))
    head, _, name = str(path).rpartition("/")
    return f"{head}/{PurePosixPath(name).stem}{ending}"


def readable(path: str | os.PathLike):
    """What a reader (pandas, ``pyarrow.csv``) opens for ``path``: the local path, or a buffer
    of the object's bytes; a missing object or bucket is a SchemaError naming it."""
    if not is_remote(path):
        return local_path(path)
    import io

    return io.BytesIO(contents(path))


def contents(path: str | os.PathLike) -> bytes:
    """The bytes of the file or object at ``path``; SchemaError naming a missing one."""
    if not is_remote(path):
        try:
            return local_path(path).read_bytes()
        except OSError as exc:
            raise SchemaError(f"cannot read: {_line(exc)}", source=str(path)) from None
    if kind(str(path)) == "folder":  # else the error of a missing bucket or object
        raise SchemaError("is a prefix holding objects, not an object: give a file name",
                          source=str(path))
    data = read_bytes(str(path))
    if data is None:
        raise SchemaError("no such object", source=str(path))
    return data


def parquet_schema(path: str | os.PathLike):
    """The Arrow schema of the Parquet file or object at ``path`` (footer only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fs, where = resolve(str(path)) if is_remote(path) else (None, str(local_path(path)))
    try:
        return pq.read_schema(where, filesystem=fs)
    except (OSError, pa.ArrowInvalid) as exc:
        if is_remote(path):
            kind(str(path))  # a missing object or bucket says so
        raise SchemaError(f"cannot read Parquet: {_line(exc)}", source=str(path)) from None


def refuse_folder(folder: str | os.PathLike, writer: str) -> None:
    """SchemaError for an object-storage URI given as the folder ``writer`` fills with several
    files: they would be objects written one by one, which no reader can take as one version."""
    local_only(folder, f"{writer} writes a folder of several files; give a local path (and "
                       f"copy the folder up when it is complete, e.g. `aws s3 cp --recursive`)")


def local_only(path: str | os.PathLike | None, why: str) -> None:
    """SchemaError ``why`` (what the file is and what to give) when ``path`` is an
    object-storage URI: for files that are no table, such as local state rewritten in place."""
    if is_remote(path):
        raise SchemaError(why, source=str(path))
