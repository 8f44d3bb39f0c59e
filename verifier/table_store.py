"""Where a dataset's tables are. Exported rows name their tables by name and sha256
(``{"flights": "9f86d0..."}``); ``use_dataset`` says where to find them: an export folder
(its ``tables/`` folder of CSV files, or its ``tables`` config), a JSONL file beside a
``tables/`` folder, or a dataset repository on the Hub. A name mapped to a path is used as
that path, so hand-written rows (``{"flights": "data/flights.csv"}``) keep working."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from csvdsl.errors import DataError
from csvdsl.tables.info import TABLES_FOLDER, file_sha256, is_sha256, parse_table_file_name, table_file_name

TABLES_CONFIG = "tables"  # the dataset config that holds the tables


class TableNotFound(DataError):
    """A row names a table that no registered dataset holds: a setup mistake, raised (never
    scored as None row after row)."""


@dataclass
class _Source:
    """One place tables were found: a description for messages, and sha256 -> local CSV path."""

    where: str
    files: dict[str, str] = field(default_factory=dict)


_SOURCES: list[_Source] = []  # the most recent use_dataset first
_GENERATION = [0]  # bumped whenever the registered datasets change: cached resolutions are stale


def generation() -> int:
    """How many times the registered datasets have changed (a key for caching resolutions)."""
    return _GENERATION[0]


def cache_dir() -> Path:
    """Where tables that came as dataset rows are written as CSV files (content-addressed, so
    shared by every dataset): ``$CSVDSL_CACHE/tables``, else ``~/.cache/csvdsl/tables``."""
    root = os.environ.get("CSVDSL_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "csvdsl")
    return Path(root) / "tables"


def use_dataset(path_or_repo, cache: Path | None = None) -> int:
    """Make the tables of an exported dataset available to the rewards and the environment;
    returns how many it holds. ``path_or_repo``: the folder ``csvdsl export --hf`` wrote (or
    the same folder downloaded from the Hub), a folder or JSONL file with a ``tables/`` folder
    beside it, or a Hub dataset repository id. Tables registered last are searched first."""
    source = _load(str(path_or_repo), cache or cache_dir())
    _SOURCES[:] = [s for s in _SOURCES if s.where != source.where]
    _SOURCES.insert(0, source)
    _GENERATION[0] += 1
    return len(source.files)


def forget_datasets() -> None:
    """Forget every dataset registered with ``use_dataset``."""
    _SOURCES.clear()
    _GENERATION[0] += 1


def resolve(tables: dict) -> dict[str, str]:
    """Table names mapped to local CSV paths, from names mapped to sha256 (or to paths)."""
    return {name: _find(name, ref) for name, ref in tables.items()}


def _find(name: str, ref) -> str:
    if not isinstance(ref, str):
        raise TableNotFound("table-reference", f"table {name!r} is given as {ref!r}, not a sha256 or a path",
                            hint='rows name tables as {"name": "<sha256>"} or {"name": "path/to/file.csv"}')
    if not is_sha256(ref):
        if Path(ref).is_file():
            return ref
        raise TableNotFound("table-not-found", f"table {name!r}: no file at {ref}",
                            hint="rows exported by csvdsl name tables by hash; call verifier.rewards.use_dataset(FOLDER) "
                                 "with the export folder")
    for source in _SOURCES:
        if ref in source.files:
            return source.files[ref]
    searched = "; ".join(f"{s.where} ({len(s.files)} table{'s' if len(s.files) != 1 else ''})" for s in _SOURCES)
    raise TableNotFound(
        "table-not-found", f"table {name!r} (sha256 {ref[:16]}...) is in no dataset: searched "
        + (searched or "nothing, since no dataset was registered"),
        hint="call verifier.rewards.use_dataset(PATH_OR_REPO) with the folder `csvdsl export` wrote (or its Hub repo) "
             "before training", file="dataset")


def _load(text: str, cache: Path) -> _Source:
    path = Path(text)
    if path.is_file():  # a JSONL file: its tables/ folder is beside it
        path = path.parent
    if path.is_dir():
        folder = path / TABLES_FOLDER
        csvs = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        if csvs:
            return _Source(f"the folder {folder}", _index(csvs))
        parquet = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        if parquet:  # read as files: `datasets` would cache a local folder by its name, not its content
            import pyarrow.parquet as pq

            rows = [row for file in parquet for row in pq.read_table(file).to_pylist()]
            return _from_rows(rows, f"the dataset at {path}", cache)
        raise DataError("no-tables", f"{path} has no {TABLES_FOLDER}/ folder of CSV files and no `{TABLES_CONFIG}` config",
                        hint="give the folder `csvdsl export` wrote (--hf DIR, or the folder of --rl/--sft files)")
    if "/" in text and not text.startswith((".", "/")) and text.count("/") == 1:
        return _from_rows(_dataset_rows(text), f"the Hub dataset {text}", cache)
    raise DataError("no-tables", f"{text} is neither a folder, a file, nor a Hub dataset id (owner/name)",
                    hint="give the folder `csvdsl export` wrote, or the repo it was pushed to")


def _index(csvs: list[Path]) -> dict[str, str]:
    """sha256 -> path for files named by ``table_file_name`` whose content has the hash they claim."""
    files = {}
    for csv in csvs:
        named = parse_table_file_name(csv.name)
        digest = file_sha256(str(csv))
        if named is not None and digest.startswith(named[1]):
            files[digest] = str(csv)
    return files


def _dataset_rows(path_or_repo: str):
    from datasets import load_dataset

    try:
        return load_dataset(path_or_repo, TABLES_CONFIG, split="train")
    except Exception as error:  # datasets raises many kinds; the user needs one message
        raise DataError("no-tables", f"cannot load the `{TABLES_CONFIG}` config of {path_or_repo}: {error}",
                        hint="export with `csvdsl export DIR --hf OUT`: OUT holds the sft, rl and tables configs") from None


def _from_rows(rows, where: str, cache: Path) -> _Source:
    """Each row's CSV bytes written once to the content-addressed cache (checked against its hash)."""
    files = {}
    for row in rows:
        data, digest = row["csv"], row["sha256"]
        target = cache / digest / table_file_name(row["name"], digest)
        if not target.is_file():
            if hashlib.sha256(data).hexdigest() != digest:
                raise DataError("table-corrupt", f"table {row['name']!r} in {where} does not have the sha256 it claims",
                                hint="export the dataset again")
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
                handle.write(data)
            os.replace(handle.name, target)
        files[digest] = str(target)
    return _Source(where, files)
