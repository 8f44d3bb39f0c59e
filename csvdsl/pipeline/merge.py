"""``csvdsl merge``: shard directories put back together, without duplicates. A merge holds
the output folder's lock, and a repeated, restarted or overlapping merge adds nothing twice."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from itertools import islice
from pathlib import Path

from csvdsl.pipeline.folder import folder_lock
from csvdsl.pipeline.gold import promote_verified
from csvdsl.pipeline.jsonl import append_lines, not_a_row, numbered_rows, read_json, repair, write_atomic
from csvdsl.pipeline.records import SUMMARY, SUMMARY_HINT, TASKS, write_summary
from csvdsl.pipeline.shards import SOLUTION_FILES
from csvdsl.pipeline.students import write_labels

LEDGER = "merged.json"  # the sources merged so far, each with the summary it added (or null)
PROMOTED = {"program", "plan", "hint", "answer", "conversation", "difficulty"}  # what solving gives a gold task
BATCH = 1000  # lines appended under one hold of a file's lock


def merge(out: Path, directories: list[Path]) -> dict:
    """Merge shard directories into ``out``: tasks by id (first seen wins; a gold task then
    gets the shortest verified program of any source), teacher conversations by table,
    attempts by key, usage lines by id; the summary is the sum of the sources' summaries, each
    added once, and only for a source that brings tasks not already merged; then the labels are
    computed afresh. Returns what was merged."""
    out = Path(out)
    with folder_lock(out, "merge"):
        return _merge(out, _distinct(out, directories))


def _distinct(out: Path, directories: list[Path]) -> list[Path]:
    """Each source once (by its resolved path), and never ``out`` itself: it adds nothing."""
    seen, kept = {out.resolve()}, []
    for directory in map(Path, directories):
        if (where := directory.resolve()) not in seen:
            seen.add(where)
            kept.append(directory)
    return kept


def _merge(out: Path, directories: list[Path]) -> dict:
    for name in (TASKS, "teacher.jsonl", "solutions.jsonl", "usage.jsonl"):
        repair(out / name)  # a line cut off by a killed merge
    counts = Counter()
    kept = {row["id"]: _digest(row) for row in _keyed(out, TASKS, "id")}  # the tasks already here
    # The summaries are decided and recorded before any line is copied, so a restart adds none twice.
    ledger = _ledger(out, directories, set(kept))
    counts["duplicates"] = _merge_tasks(out, directories, counts, kept)
    for name, files, key in (("teacher.jsonl", "teacher.jsonl", "table"), ("solutions.jsonl", SOLUTION_FILES, "key")):
        seen = {row[key] for row in _keyed(out, files, key)}
        for directory in directories:
            counts[name] += _append(out / name, _new(_keyed(directory, files, key), key, seen))
    seen = {_usage_id(row, out, number) for number, row in numbered_rows(out / "usage.jsonl")}
    for directory in directories:
        counts["usage.jsonl"] += _append(out / "usage.jsonl", _new_usage(directory, seen))
    summaries = [summary for summary in ledger.values() if isinstance(summary, dict)]
    if summaries:
        write_summary(out, _add(summaries))
    if any(out.glob(SOLUTION_FILES)):
        promote_verified(out)  # the first record seen of a gold task may be a shard's unsolved copy
        write_labels(out)
    return dict(counts)


def _ledger(out: Path, directories: list[Path], known: set[str]) -> dict:
    """``merged.json``, with the sources not merged before added: the summary of each that
    brings a task not already there (larger sources first, so a run merged with its own shards
    is counted once), null for the others; ``known``: the ids of the tasks already in ``out``.
    Written before anything is copied."""
    path = out / LEDGER
    ledger = read_json(path, "delete it; the next merge then counts the summaries of its sources afresh")
    if not isinstance(ledger, dict):
        # The first merge into this folder: its own summary stays counted. An older ledger (a
        # list) named sources the folder's summary already holds.
        ledger = {str(out.resolve()): read_json(out / SUMMARY, SUMMARY_HINT)} | dict.fromkeys(ledger if isinstance(ledger, list) else [])
    fresh = {str(d.resolve()): d for d in directories if str(d.resolve()) not in ledger}
    if not fresh:
        return ledger
    tasks = {name: {row["id"] for row in _keyed(d, TASKS, "id")} for name, d in fresh.items()}
    for name in sorted(fresh, key=lambda n: -len(tasks[n])):
        brings = not tasks[name] or not tasks[name] <= known  # a run that kept no task still counts its rejections
        known |= tasks[name]
        ledger[name] = read_json(fresh[name] / SUMMARY, SUMMARY_HINT) if brings else None
    write_atomic(path, json.dumps(ledger, indent=1) + "\n")
    return ledger


def _merge_tasks(out: Path, directories: list[Path], counts: Counter, kept: dict[str, str]) -> int:
    """Append each source's tasks whose id is not in ``kept`` (id -> digest, grown as they are);
    returns how many repeated ids were not the same task (a gold task solved in one source and
    not in another is the same task)."""
    duplicates = 0

    def new(directory: Path):
        nonlocal duplicates
        here = set()
        for row in _keyed(directory, TASKS, "id"):
            if row["id"] not in kept:
                kept[row["id"]] = _digest(row)
                here.add(row["id"])
                yield json.dumps(row, ensure_ascii=False)
            elif row["id"] in here or kept[row["id"]] != _digest(row):
                duplicates += 1  # one id twice in a source, or two tasks with one id: kept once
            here.add(row["id"])

    for directory in directories:
        counts[TASKS] += _append(out / TASKS, new(directory))
    return duplicates


def _digest(row: dict) -> str:
    """What makes a task the same task: all of it, or for a gold task all but what solving gives."""
    if row.get("gold") is not None:
        row = {k: v for k, v in row.items() if k not in PROMOTED}
    return hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()[:16]


def _keyed(directory: Path, pattern: str, key: str):
    """The rows of a folder's files named by ``pattern``, each with a text ``key`` (a line
    without one is a DataError naming it: a file from elsewhere, or edited by hand)."""
    for path in sorted(Path(directory).glob(pattern)):
        for number, row in numbered_rows(path):
            if not isinstance(row.get(key), str):
                raise not_a_row(path, number, f"a {path.name} record", f"no text field {key!r}",
                                "fix or delete that line, then merge again (nothing merged is copied twice)")
            yield row


def _new(source, key: str, seen: set):
    for row in source:
        if row[key] not in seen:
            seen.add(row[key])
            yield json.dumps(row, ensure_ascii=False)


def _usage_id(row: dict, directory: Path, number: int) -> str:
    """A usage line's id: its own, or (written before lines had one) its folder and line number."""
    return row.get("id") or hashlib.sha256(f"{directory.resolve()}:{number}".encode()).hexdigest()[:16]


def _new_usage(directory: Path, seen: set):
    for number, row in numbered_rows(directory / "usage.jsonl"):
        identity = _usage_id(row, directory, number)
        if identity not in seen:
            seen.add(identity)
            yield json.dumps(row | {"id": identity})


def _append(path: Path, lines) -> int:
    """Append ``lines`` a batch at a time (other writers wait only for one batch)."""
    count = 0
    while batch := list(islice(lines, BATCH)):
        count += append_lines(path, batch)
    return count


def _add(summaries: list[dict]) -> dict:
    """Counters added key by key, numbers added."""
    total: dict = {}
    for summary in summaries:
        for field, value in summary.items():
            if isinstance(value, dict):
                bucket = total.setdefault(field, Counter())
                bucket.update(value)
            elif isinstance(value, (int, float)):
                total[field] = total.get(field, 0) + value
    return {k: dict(v) if isinstance(v, Counter) else v for k, v in total.items()}
