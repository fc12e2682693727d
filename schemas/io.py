"""Reading and atomically writing the project's files, with one set of rules for each.

Every file the tool writes goes through :func:`atomic_path`: the content is written to a
temporary file in the destination folder and renamed over the target only when complete, so a
failure (an exception, a full disk, SIGTERM turned into an exception by the CLI) leaves the
previous version intact, no half-written file, no temporary file and no folder it made. A
command checks its outputs with :func:`check_output` before it computes anything: an output is
never one of its inputs nor an input's manifest, never a FIFO, device or folder, has the
extension of what is written, and its manifest sidecar replaces nothing but a manifest.

Every Parquet file or directory is read through :func:`parquet_dataset`, whose rules the
samplers share: every file reads, has the first file's columns with the same types, and no hive
partition key (``market=SE/``) repeats a column of its file.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import storage
from .errors import SchemaError
from .storage import is_remote, local_path

MANIFEST_SUFFIX = ".manifest.json"
TABLE_SUFFIXES = (".csv", ".parquet", ".json")
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR,
          "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
_READ_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError)


# -- where a file may be written --------------------------------------------------------------

def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return (str(text).strip().splitlines() or [type(exc).__name__])[0]


def check_target(target: str | os.PathLike) -> None:
    """SchemaError unless ``target`` can be written: absent or a regular file, in a folder
    that exists (or can be made: no part of the path is a file) and is writable; for an
    object-storage URI, a bucket that exists and can be reached (:mod:`.storage`)."""
    if is_remote(target):
        storage.check_target(target)
        return
    target = local_path(target)
    try:
        st = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise SchemaError(f"cannot write here: {_first_line(exc)}", source=str(target)) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise SchemaError(f"is {_kind(st.st_mode)}, not a regular file: give a file path",
                          source=str(target))
    folder = Path(os.path.abspath(target)).parent
    while True:
        try:
            st = os.stat(folder)
        except (FileNotFoundError, NotADirectoryError):
            folder = folder.parent
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise SchemaError(f"cannot make its folder: {_shown(folder, target)} is "
                              f"{_kind(st.st_mode) if not stat.S_ISREG(st.st_mode) else 'a file'}"
                              f", not a folder", source=str(target))
        if not os.access(folder, os.W_OK | os.X_OK):
            raise SchemaError(f"the folder {_shown(folder, target)} is not writable",
                              source=str(target))
        return


def _shown(folder: Path, target: Path) -> str:
    """``folder`` as the user spelled it in ``target`` (relative when they gave it so)."""
    for parent in Path(target).parents:
        if Path(os.path.abspath(parent)) == folder:
            return str(parent)
    return str(folder)


def check_folder(folder: str | os.PathLike, writer: str = "this command") -> None:
    """SchemaError unless ``folder`` is a local folder or can be made as one (``writer``, e.g.
    'curate report', names who fills it in the refusal of an object-storage URI)."""
    storage.refuse_folder(folder, writer)
    folder = local_path(folder)
    try:
        st = os.stat(folder)
    except (FileNotFoundError, NotADirectoryError):
        check_target(folder / "x")
        return
    if not stat.S_ISDIR(st.st_mode):
        raise SchemaError(f"is {'a file' if stat.S_ISREG(st.st_mode) else _kind(st.st_mode)}, "
                          f"not a folder", source=str(folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SchemaError("the folder is not writable", source=str(folder))


def _make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; the ones made, deepest first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
    return missing


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask: from ``/proc/self/status`` where Linux shows it (nothing changes),
    else set and restored at once under a lock."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        status = []
    shown = [line.split()[1] for line in status if line.startswith("Umask:")]
    if shown:
        return int(shown[0], 8)
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def file_mode(mode: int | None = None) -> int:
    """The permission bits a written file gets: ``mode`` when given (0o600 for secrets: key
    files, tokens), else what ``open()`` would give a new file, ``0o666 & ~umask``."""
    return mode if mode is not None else 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The file gets ``mode`` (e.g. 0o600 for a secret), else the umask's mode for a new file
    (``0o666 & ~umask``: group-readable under umask 022), not the 600 of the temporary file.
    On any failure (also a ``BaseException`` such as the CLI's SIGTERM) the temporary file and
    any folder made for it are removed; an ``OSError`` becomes a SchemaError naming the target.
    An object-storage URI's file is made locally and sent when complete (:func:`.storage.staged`).
    """
    if is_remote(target):
        with storage.staged(target) as tmp:
            yield tmp
        return
    target = local_path(target)
    check_target(target)
    made: list[Path] = []
    tmp_path: Path | None = None
    try:
        try:
            made = _make_folders(target.parent)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                       dir=target.parent)
            os.close(fd)
            tmp_path = Path(tmp)
            yield tmp_path
            os.chmod(tmp_path, file_mode(mode))
            os.replace(tmp_path, target)
        except OSError as exc:
            raise SchemaError(f"cannot write: {_first_line(exc)}", source=str(target)) from exc
    except BaseException:
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


def _sidecar(path: Path) -> Path:
    """The manifest beside ``path`` (``x.parquet`` or ``x.csv`` → ``x.manifest.json``)."""
    stem = path.name.removesuffix(".parquet") if path.suffix == ".parquet" else path.stem
    return path.with_name(stem + MANIFEST_SUFFIX)


def _same(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def is_manifest_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a manifest (a JSON object with a kind and a content hash)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and {"kind", "content_hash"} <= set(doc)


def check_output(output: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (),
                 *, suffixes: tuple[str, ...] | None = None, sidecar: bool = False) -> None:
    """Refuse, before anything is computed, an output that must not or cannot be written.

    Parameters
    ----------
    output : the path the command will write.
    inputs : the files (or folders) it reads; their manifests (``x.manifest.json``) count as
        inputs too, and an output inside an input folder is refused.
    suffixes : the extensions the output may have (what it is written as), e.g.
        ``(".parquet",)``; a name ending in ``.manifest.json`` is a dataset's manifest and is
        never a table output.
    sidecar : the command writes ``<output>.manifest.json`` too: it must be no input either,
        and may replace an older manifest only, never another file.
    """
    out = Path(output)
    where = str(output)
    check_target(output)
    if suffixes is not None:
        if out.name.endswith(MANIFEST_SUFFIX) and MANIFEST_SUFFIX not in suffixes:
            raise SchemaError(f"a name ending in {MANIFEST_SUFFIX} is a dataset's manifest: "
                              f"give an output ending in {' or '.join(suffixes)}", source=where)
        if out.suffix.lower() not in suffixes:
            raise SchemaError(f"the output must end in {' or '.join(suffixes)} (that is what "
                              f"is written), not {out.suffix or 'no extension'}", source=where)
    inputs = [p for p in inputs if p is not None]
    if is_remote(output):
        storage.check_output(output, inputs, MANIFEST_SUFFIX if sidecar else None)
        return
    out = local_path(output)  # an object in storage is never a local file: local inputs only
    given = [local_path(p) for p in inputs if not is_remote(p)]
    protected = [(p, str(p)) for p in given]
    protected += [(_sidecar(p), f"{_sidecar(p)} (the manifest of {p})") for p in given
                  if not p.is_dir()]
    targets = [out] + ([_sidecar(out)] if sidecar else [])
    for target in targets:
        for path, what in protected:
            if _same(target, path):
                raise SchemaError(f"would overwrite the input {what}; choose another output "
                                  f"path", source=where)
            if path.is_dir() and path.resolve() in target.resolve().parents:
                raise SchemaError(f"is inside the input folder {path}, whose files are all "
                                  f"read; write it elsewhere", source=where)
    if sidecar:
        side = _sidecar(out)
        if side.exists() and (not side.is_file() or not is_manifest_file(side)):
            raise SchemaError(f"its manifest would replace {side}, which is not a manifest; "
                              f"move that file or choose another output", source=where)
    for target in targets:
        check_target(target)


def refuse_overwrite(output: str | os.PathLike, inputs: list[str | os.PathLike | None]) -> None:
    """:func:`check_output` with no suffix or sidecar rule: outputs never overwrite inputs."""
    check_output(output, inputs)


# -- writing ----------------------------------------------------------------------------------

def write_text(target: str | os.PathLike, text: str, mode: int | None = None) -> None:
    """Atomically write ``text`` (UTF-8) to ``target``; ``mode`` e.g. 0o600 for secrets."""
    with atomic_path(target, mode=mode) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike, obj: Any, mode: int | None = None) -> None:
    """Atomically write ``obj`` as indented, key-sorted JSON."""
    write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", mode=mode)


def write_parquet(target: str | os.PathLike, table: pa.Table, mode: int | None = None) -> None:
    """Atomically write ``table`` to Parquet with fixed settings (byte-reproducible); ``mode``
    e.g. 0o600 for secrets (an answer key)."""
    with atomic_path(target, mode=mode) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True,
                       store_schema=True)


def write_table(target: str | os.PathLike, table: pa.Table) -> None:
    """Atomically write a result table as Parquet, CSV or JSON, chosen by the extension."""
    suffix = Path(target).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise SchemaError(f"unsupported output extension {suffix!r}; use .parquet, .csv or .json",
                          source=str(target))
    if suffix == ".parquet":
        write_parquet(target, table)
    elif suffix == ".csv":
        with atomic_path(target) as tmp:
            table.to_pandas().to_csv(tmp, index=False)
    else:
        with atomic_path(target) as tmp:
            table.to_pandas().to_json(tmp, orient="records", indent=2)


# -- reading ----------------------------------------------------------------------------------

def _hive_keys(relative: Path) -> dict[str, str]:
    return dict(part.split("=", 1) for part in relative.parent.parts if "=" in part)


def check_parquet_folder(root: str | os.PathLike) -> None:
    """The rules every reader of a directory of Parquet files applies (SchemaError naming the
    file and column at fault): every file reads, has exactly the first file's columns with the
    same types, and no hive partition key repeats a column of its file. ``root`` may be an
    object-storage prefix (``s3://bucket/catalogue/``)."""
    fs, root, files, named = storage.parquet_files(root)
    first: tuple[Path, pa.Schema] | None = None
    for path in files:
        try:
            schema = pq.read_schema(str(path), filesystem=fs)
        except _READ_ERRORS as exc:
            raise SchemaError(f"cannot read Parquet: {_first_line(exc)}; remove or replace the "
                              f"file", source=str(named[path])) from None
        keys = _hive_keys(path.relative_to(root))
        clash = [k for k in keys if k in schema.names]
        if clash:
            raise SchemaError(f"the hive partition folder {clash[0]}={keys[clash[0]]} repeats "
                              f"the file's column {clash[0]!r}; drop the column from the files "
                              f"or rename the folders", source=str(named[path]))
        if first is None:
            first = (named[path], schema)
            continue
        name, ref = first
        missing = [c for c in ref.names if c not in schema.names]
        extra = [c for c in schema.names if c not in ref.names]
        if missing or extra:
            what = (f"lacks column(s) {missing}" if missing else "") + \
                (" and " if missing and extra else "") + \
                (f"has column(s) {extra} that {name} lacks" if extra else "")
            raise SchemaError(f"schema disagrees with {name}: {what}; rewrite the files with "
                              f"one schema", source=str(named[path]))
        for field in schema:
            want = ref.field(field.name).type
            if field.type != want:
                raise SchemaError(f"schema disagrees with {name}: column {field.name!r} is "
                                  f"{field.type} here but {want} there; rewrite the file with "
                                  f"the dataset's schema", source=str(named[path]))


def _checked(path: Path) -> bool:
    """Whether ``path`` is a folder, after the checks of :func:`parquet_dataset`."""
    if is_remote(path):
        folder = storage.kind(path) == "folder"
        if folder:
            check_parquet_folder(path)
        return folder
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise SchemaError("no such file or directory", source=str(path)) from None
    if stat.S_ISDIR(st.st_mode):
        check_parquet_folder(path)
        return True
    if not stat.S_ISREG(st.st_mode):
        raise SchemaError(f"is {_kind(st.st_mode)}, not a Parquet file or folder",
                          source=str(path))
    return False


def parquet_dataset(path: str | os.PathLike):
    """A Parquet file or directory (hive-partitioned) as a ``pyarrow.dataset``, after the
    checks of :func:`check_parquet_folder`; a missing path, a FIFO or an unreadable file is a
    SchemaError naming it."""
    import pyarrow.dataset as ds

    fs, where = storage.resolve(path) if is_remote(path) else (None, local_path(path))
    _checked(path if fs is not None else where)
    try:
        return ds.dataset(where, filesystem=fs, format="parquet", partitioning="hive")
    except _READ_ERRORS as exc:
        raise SchemaError(f"cannot read Parquet: {_first_line(exc)}", source=str(path)) from None


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> pa.Table:
    """Read a Parquet file or directory (the rules of :func:`parquet_dataset`), turning I/O and
    format failures into SchemaError; ``path`` may be an object-storage URI."""
    fs, where = storage.resolve(path) if is_remote(path) else (None, local_path(path))
    try:
        if _checked(path if fs is not None else where):
            import pyarrow.dataset as ds

            return ds.dataset(where, filesystem=fs, format="parquet",
                              partitioning="hive").to_table(columns=columns)
        return pq.read_table(where, columns=columns, filesystem=fs)
    except _READ_ERRORS as exc:
        raise SchemaError(f"cannot read Parquet: {_first_line(exc)}", source=str(path)) from exc
