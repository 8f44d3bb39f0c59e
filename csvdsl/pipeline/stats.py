"""``csvdsl stats DIR``: what a run made. Tasks by status and difficulty, the pass-rate
histogram, why candidates were rejected, and token use and cost, as tables (or JSON), and
optionally as a PNG."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from csvdsl.pipeline.jsonl import rows

BINS = [("0", lambda r: r == 0), ("(0, 0.25)", lambda r: 0 < r < 0.25), ("[0.25, 0.5)", lambda r: 0.25 <= r < 0.5),
        ("[0.5, 0.75)", lambda r: 0.5 <= r < 0.75), ("[0.75, 1)", lambda r: 0.75 <= r < 1), ("1", lambda r: r == 1)]
USAGE_FIELDS = ("requests", "cached", "retries", "prompt_tokens", "completion_tokens")


def collect(directory: Path) -> dict:
    """The figures, read a line at a time from the run's files."""
    directory = Path(directory)
    levels, statuses, difficulty, histogram = Counter(), Counter(), Counter(), Counter({name: 0 for name, _ in BINS})
    operation_counts, skills = Counter(), Counter()
    tasks = composed = 0
    sources = Counter()
    for record in rows(directory / "tasks.jsonl"):
        tasks += 1
        levels[record["difficulty"]["level"]] += 1
        gold = record.get("gold")  # an imported task: has a student's verified program been found yet?
        sources[f"{gold['source']}, {'verified program' if record['program'] else 'no program yet'}" if gold
                else f"generated: {record['origin']['teacher']}"] += 1
        operation_counts[record["difficulty"]["operations"]] += 1
        used = record["difficulty"].get("skills") or []  # records written before skills were counted have none
        skills.update(used)
        composed += record["difficulty"]["operations"] >= 4 and len(used) >= 2
    labelled = 0
    for entry in rows(directory / "labels.jsonl"):
        labelled += 1
        statuses[entry["status"]] += 1
        if entry["difficulty"]:
            difficulty[entry["difficulty"]] += 1
        if entry["pass_rate"] is not None:
            histogram[next(name for name, test in BINS if test(entry["pass_rate"]))] += 1
    summary_path = directory / "summary.json"
    rejected = json.loads(summary_path.read_text()).get("rejected", {}) if summary_path.exists() else {}
    usage: dict = defaultdict(lambda: dict.fromkeys(USAGE_FIELDS, 0) | {"cost": None})
    for row in rows(directory / "usage.jsonl"):
        total = usage[f"{row['command']} · {row['model']}"]
        for field in USAGE_FIELDS:
            total[field] += row[field]
        if row["cost"] is not None:
            total["cost"] = (total["cost"] or 0.0) + row["cost"]
    return {"tasks": tasks, "labelled": labelled, "sources": dict(sorted(sources.items())),
            "operations_level": dict(levels), "status": dict(statuses),
            "operations_per_task": {str(k): v for k, v in sorted(operation_counts.items())},
            "skills": dict(skills.most_common()), "composed": composed,
            "difficulty": dict(difficulty), "pass_rate_histogram": dict(histogram) if labelled else {},
            "rejected": dict(sorted(rejected.items(), key=lambda kv: -kv[1])), "usage": dict(usage)}


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
