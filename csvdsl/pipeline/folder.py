"""A job's folder has one run of each command (or part) at a time and remembers what it was
made with.

``folder_lock(DIR, "generate")`` takes an exclusive lock (``fcntl.flock`` on ``DIR/.lock-*``,
released by the kernel when the process dies, so a killed run never leaves a stale lock); a
second process gets ``FolderBusy`` naming the folder and the holder's PID. Different commands
may share a folder: the files they share are written under each file's own short lock
(``csvdsl.pipeline.jsonl``). ``remember(DIR, "generate", arguments, force)`` records a run's
arguments in ``DIR/job.json`` and refuses a resume with different ones unless ``force``."""

from __future__ import annotations

import hashlib
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

from csvdsl.errors import DataError
from csvdsl.pipeline.jsonl import locked, write_atomic

JOB = "job.json"


class FolderBusy(DataError):
    """Another process writes this folder now."""


@contextmanager
def folder_lock(directory: Path, command: str, part: str | None = None):
    """Hold the exclusive lock of ``directory`` for ``command`` (one lock per ``part``, e.g.
    a solve shard, so shards can share a folder) for the block; raise ``FolderBusy`` at once
    if another process holds it."""
    import fcntl

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / lock_name(command + (f"-{part}" if part else ""))
    handle = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise FolderBusy("folder-busy", f"{directory} is being written by another `csvdsl {command}` "
                             f"(process {holder})", file=str(directory),
                             hint=f"wait for process {holder} to finish, or use another folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def safe_name(name: str) -> str:
    """``name`` with every run of characters a file name should not hold made one ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def lock_name(name: str) -> str:
    """A lock file's name for any command and model name (``solve:Qwen/Qwen2.5-0.5B``): the
    name made safe and short, then a hash of the whole, so two names never share a lock."""
    return f".lock-{safe_name(name)[:80]}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def remember(directory: Path, command: str, arguments: dict, force: bool = False) -> None:
    """Record ``arguments`` as the folder's for ``command``; a resume with different ones is
    refused (``DataError("folder-arguments")``) unless ``force``, which records the new ones."""
    path = Path(directory) / JOB
    with locked(path):  # other commands on this folder record theirs in the same file
        try:
            recorded = json.loads(path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            recorded = {}  # an unreadable record is rewritten
        recorded = recorded if isinstance(recorded, dict) else {}
        arguments = json.loads(json.dumps(arguments, sort_keys=True, default=str))
        before = recorded.get(command)
        if before is not None and before != arguments and not force:
            changed = sorted(k for k in before.keys() | arguments.keys() if before.get(k) != arguments.get(k))
            shown = "; ".join(f"{k}: {json.dumps(before.get(k))} before, {json.dumps(arguments.get(k))} now" for k in changed)
            raise DataError("folder-arguments", f"{directory} was made by `csvdsl {command}` with other arguments "
                            f"({shown})", file=str(directory), hint="resume with the same arguments, use another folder, "
                            "or pass --force to mix them")
        recorded[command] = arguments
        write_atomic(path, json.dumps(recorded, indent=2, sort_keys=True) + "\n")


@contextmanager
def job(directory: Path, command: str, arguments: dict, *, force: bool = False, repair: tuple[Path, ...] = (),
        part: str | None = None, report=None):
    """A command's hold on its folder: the lock, then (with ``repair``) damaged lines dropped
    from those files, then its arguments checked against the folder's."""
    from csvdsl.pipeline.jsonl import drop_damaged

    with folder_lock(directory, command, part):
        for path in repair:
            dropped = drop_damaged(Path(path))
            if dropped and report is not None:
                report(f"--repair: dropped {dropped} damaged line{'s' if dropped != 1 else ''} from {path}")
        remember(directory, command, arguments, force)
        yield


def generate_arguments(specs: list[str], seed: int, teacher: str, per_table: int, model: str | None = None,
                       explore_turns: int | None = None) -> dict:
    """What a generate folder remembers: the seed, the teacher and the tables (by content)."""
    from csvdsl.tables.catalog import split_spec
    from csvdsl.tables.verify import current_sha256

    tables = {}
    for spec in specs:
        name, path = split_spec(spec)
        tables[name] = current_sha256(path) if Path(path).is_file() else path  # a missing file is reported on loading
    arguments = {"seed": seed, "teacher": teacher, "per_table": per_table, "tables": tables}
    return arguments | ({"model": model, "explore_turns": explore_turns} if teacher == "model" else {})
