"""``csvdsl merge``: shard directories put back together, without duplicates."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from csvdsl.pipeline.jsonl import append_line, repair, rows
from csvdsl.pipeline.shards import SOLUTION_FILES, solution_rows
from csvdsl.pipeline.students import write_labels


def merge(out: Path, directories: list[Path]) -> dict:
    """Merge shard directories into ``out``: tasks by id (a repeated id kept once, and counted
    as ``duplicates``), teacher conversations by table,
    attempts by key (first seen wins), usage lines appended, summaries added up; then the
    labels are computed afresh. Returns what was merged."""
    out.mkdir(parents=True, exist_ok=True)
    target = Path(out).resolve()
    directories = [d for d in directories if Path(d).resolve() != target]  # merging a directory into itself adds nothing
    for name in ("tasks.jsonl", "teacher.jsonl", "solutions.jsonl", "usage.jsonl"):
        repair(out / name)  # this process writes them now
    counts = Counter()
    for name, key in (("tasks.jsonl", "id"), ("teacher.jsonl", "table")):
        seen = {row[key] for row in rows(out / name)}
        before = set(seen)  # merging a source again adds nothing and is no duplicate
        for directory in directories:
            for row in rows(Path(directory) / name):
                if row[key] not in seen:
                    seen.add(row[key])
                    append_line(out / name, json.dumps(row, ensure_ascii=False))
                    counts[name] += 1
                elif name == "tasks.jsonl" and row[key] not in before:
                    counts["duplicates"] += 1  # one id from two sources (or twice in one): kept once
    seen = {row["key"] for row in solution_rows(out)}
    for directory in directories:
        for row in solution_rows(directory):
            if row["key"] not in seen:
                seen.add(row["key"])
                append_line(out / "solutions.jsonl", json.dumps(row, ensure_ascii=False))
                counts["solutions.jsonl"] += 1
    # Counts are added once per source directory, however often the merge is run.
    ledger = out / "merged.json"
    merged = json.loads(ledger.read_text()) if ledger.exists() else []
    fresh = [d for d in directories if str(Path(d).resolve()) not in merged]
    for directory in fresh:
        for row in rows(Path(directory) / "usage.jsonl"):
            append_line(out / "usage.jsonl", json.dumps(row))
    summaries = [json.loads(p.read_text()) for d in [out, *fresh] if (p := Path(d) / "summary.json").exists()]
    ledger.write_text(json.dumps(merged + [str(Path(d).resolve()) for d in fresh], indent=1) + "\n", encoding="utf-8")
    if summaries:
        (out / "summary.json").write_text(json.dumps(_add(summaries), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if any(Path(out).glob(SOLUTION_FILES)):
        write_labels(out)
    return dict(counts)


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
