"""``csvdsl stats DIR``: what a run made. Tasks by status and difficulty, the pass-rate
histogram, why candidates were rejected, and token use and cost, as tables (or JSON), and
optionally as a PNG."""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from pathlib import Path

from csvdsl.errors import DataError
from csvdsl.pipeline.jsonl import append_lines, not_a_row, numbered_rows, read_json
from csvdsl.pipeline.records import NOT_A_TASK, SUMMARY, SUMMARY_HINT

BINS = [("0", lambda r: r == 0), ("(0, 0.25)", lambda r: 0 < r < 0.25), ("[0.25, 0.5)", lambda r: 0.25 <= r < 0.5),
        ("[0.5, 0.75)", lambda r: 0.5 <= r < 0.75), ("[0.75, 1)", lambda r: 0.75 <= r < 1), ("1", lambda r: r == 1)]
USAGE_FIELDS = ("requests", "cached", "retries", "prompt_tokens", "completion_tokens")
FIELD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, StopIteration)  # a field missing or of the wrong kind


def record_usage(directory: Path, command: str, usage: list[dict]) -> None:
    """Append a command's token use to ``DIR/usage.jsonl``, each line with an id, so ``merge``
    copies it once however often it runs."""
    directory.mkdir(parents=True, exist_ok=True)
    append_lines(directory / "usage.jsonl", [json.dumps({"id": uuid.uuid4().hex, "command": command} | row)
                                             for row in usage])


def collect(directory: Path) -> dict:
    """The figures, read a line at a time from the run's files. A line with a field missing or
    of the wrong kind is a DataError naming the line (raw rows are read, not records: stats
    needs a few fields of each, fast)."""
    directory = Path(directory)
    levels, statuses, difficulty, histogram = Counter(), Counter(), Counter(), Counter({name: 0 for name, _ in BINS})
    operation_counts, skills = Counter(), Counter()
    tasks = composed = 0
    sources = Counter()
    path = directory / "tasks.jsonl"
    for number, record in numbered_rows(path):
        try:
            level, operations = record["difficulty"]["level"], int(record["difficulty"]["operations"])
            gold = record.get("gold")  # an imported task: has a student's verified program been found yet?
            source = (f"{gold['source']}, {'verified program' if record['program'] else 'no program yet'}" if gold
                      else f"generated: {record['origin']['teacher']}")
            used = list(record["difficulty"].get("skills") or [])  # records written before skills were counted have none
            skills.update(used)
            levels[level] += 1
        except FIELD_ERRORS as error:
            raise not_a_row(path, number, "a task", _field(error), NOT_A_TASK) from None
        tasks += 1
        sources[source] += 1
        operation_counts[operations] += 1
        composed += operations >= 4 and len(used) >= 2
    labelled = 0
    path = directory / "labels.jsonl"
    for number, entry in numbered_rows(path):
        try:
            status, level, rate = entry["status"], entry["difficulty"], entry["pass_rate"]
            bucket = None if rate is None else next(name for name, test in BINS if test(rate))
            statuses[status] += 1
            if level:
                difficulty[level] += 1
        except FIELD_ERRORS as error:
            raise not_a_row(path, number, "a label", _field(error), "run `csvdsl solve` again to write the labels afresh "
                            "(it repeats no attempt)") from None
        labelled += 1
        if bucket is not None:
            histogram[bucket] += 1
    summary = read_json(directory / SUMMARY, SUMMARY_HINT)
    rejected = {} if summary is None else summary.get("rejected", {}) if isinstance(summary, dict) else None
    if not isinstance(rejected, dict) or not all(isinstance(v, (int, float)) for v in rejected.values()):
        raise DataError("json-damaged", f"{directory / SUMMARY} is not a generate summary",
                        file=str(directory / SUMMARY), hint=SUMMARY_HINT)
    usage: dict = defaultdict(lambda: dict.fromkeys(USAGE_FIELDS, 0) | {"cost": None})
    path = directory / "usage.jsonl"
    for number, row in numbered_rows(path):
        try:
            # A count or a cost a line lacks (an older csvdsl's, or one written by hand) is 0 or unknown.
            name, cost = f"{row['command']} · {row['model']}", row.get("cost")
            counts = [int(row.get(field, 0)) for field in USAGE_FIELDS]
            cost = None if cost is None else float(cost)
        except FIELD_ERRORS as error:
            raise not_a_row(path, number, "a usage record", _field(error), "fix or delete that line") from None
        total = usage[name]
        for field, count in zip(USAGE_FIELDS, counts):
            total[field] += count
        if cost is not None:
            total["cost"] = (total["cost"] or 0.0) + cost
    return {"tasks": tasks, "labelled": labelled, "sources": dict(sorted(sources.items())),
            "operations_level": dict(levels), "status": dict(statuses),
            "operations_per_task": {str(k): v for k, v in sorted(operation_counts.items())},
            "skills": dict(skills.most_common()), "composed": composed,
            "difficulty": dict(difficulty), "pass_rate_histogram": dict(histogram) if labelled else {},
            "rejected": dict(sorted(rejected.items(), key=lambda kv: -kv[1])), "usage": dict(usage)}


def _field(error: Exception) -> str:
    return f"no field {error}" if isinstance(error, KeyError) else f"{type(error).__name__}: {error}"


def print_stats(figures: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"{figures['tasks']:,} tasks, {figures['labelled']:,} labelled by students; {figures['composed']:,} with "
                  "four or more operations and two or more skills")
    sections = [("tasks by source", figures["sources"]), ("status", figures["status"]),
                ("difficulty (pass rate without the hint)", figures["difficulty"]),
                ("difficulty (plan size)", figures["operations_level"]),
                ("operations per task", figures["operations_per_task"]), ("tasks using each skill", figures["skills"]),
                ("pass rate without the hint", figures["pass_rate_histogram"]),
                ("rejected candidates", figures["rejected"])]
    for title, counts in sections:
        if not counts:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("")
        table.add_column("count", justify="right")
        table.add_column("")
        largest = max(counts.values()) or 1
        for key, value in counts.items():
            table.add_row(str(key), f"{value:,}", "█" * round(20 * value / largest))
        console.print(table)
    if figures["usage"]:
        from csvdsl.models.llm import usage_report

        console.print("token use and cost", style="italic")
        console.print(usage_report([{"model": name} | total for name, total in figures["usage"].items()]),
                      markup=False, highlight=False)


def plot(figures: dict, path: Path) -> None:
    """Four panels: status, difficulty, pass-rate histogram, rejections."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("status", figures["status"]), ("difficulty", figures["difficulty"] or figures["operations_level"]),
              ("pass rate without the hint", figures["pass_rate_histogram"]), ("rejected candidates", figures["rejected"])]
    figure, axes = plt.subplots(2, 2, figsize=(11, 7))
    for axis, (title, counts) in zip(axes.flat, panels):
        axis.set_title(title)
        if counts:
            labels = list(counts)
            axis.barh(labels[::-1], [counts[k] for k in labels][::-1], color="#4c72b0")
        else:
            axis.text(0.5, 0.5, "none yet", ha="center", va="center", transform=axis.transAxes)
            axis.set_axis_off()
    figure.suptitle(f"{figures['tasks']:,} tasks, {figures['labelled']:,} labelled")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
