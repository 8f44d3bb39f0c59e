"""``csvdsl eval DIR --model M``: a model's accuracy on the tasks of DIR. Every task is solved
once per sample through the agent loop, without the hint, and checked as ``solve`` checks it
(the gold answer by the dataset's rule, else the teacher's answer). Attempts are appended to
``DIR/eval/<model>/attempts.jsonl`` as they finish, so a killed run loses nothing finished and
a re-run asks only for what is missing; ``eval.json`` and ``eval.md`` are made from that file."""

from __future__ import annotations

import asyncio
import json
import hashlib
from collections import defaultdict
from math import comb
from pathlib import Path

from csvdsl.models.llm import ModelClient, Price
from csvdsl.pipeline.folder import safe_name
from csvdsl.pipeline.jsonl import repair, rows
from csvdsl.pipeline.records import read_tasks
from csvdsl.pipeline.students import attempt_key, run_attempts

ATTEMPTS = "attempts.jsonl"
# What the official evaluators call their metric, by the rule a task's answer is matched with.
METRICS = {"denotation": "denotation accuracy", "label": "label accuracy", "rounded": "accuracy by question",
           "typed": "accuracy"}


def eval_dir(directory: Path, model: str) -> Path:
    """Where one model's evaluation of DIR lives: ``DIR/eval/<model>``, a safe folder name; a
    name that had to be changed (``Qwen/Qwen2.5``) also gets a hash of itself, so two models
    whose names differ only there (``a/b``, ``a_b``) never share a folder."""
    safe = safe_name(model).strip("._") or "model"
    if safe != model:
        safe += "-" + hashlib.sha256(model.encode()).hexdigest()[:8]
    return Path(directory) / "eval" / safe


async def run_eval(directory: Path, client: ModelClient, samples: int = 1, max_turns: int = 6,
                   token_budget: int | None = None) -> Path:
    """Make every missing attempt (task x sample); returns the evaluation's folder. An error
    that belongs to one request is that attempt's result; any other stops the run, and a
    re-run resumes."""
    out = eval_dir(directory, client.model)
    out.mkdir(parents=True, exist_ok=True)
    path = out / ATTEMPTS
    repair(path)  # this process is the file's only writer
    done = {row["key"] for row in rows(path)}
    missing = ((record, False, index) for record in read_tasks(directory) for index in range(samples)
               if attempt_key(record.id, False, index, client.model) not in done)
    try:
        await run_attempts(client, path, missing, max_turns, token_budget)
    finally:
        await client.aclose()
    return out


def evaluate(directory: Path, client: ModelClient, samples: int = 1, max_turns: int = 6,
             token_budget: int | None = None) -> dict:
    """``csvdsl eval``: the missing attempts made, then the figures from every attempt on disk,
    written to ``eval.json`` and ``eval.md``; returns the figures."""
    asyncio.run(run_eval(directory, client, samples, max_turns, token_budget))
    figures = summarize(directory, client.model, samples, client.prices)
    write_report(directory, figures)
    return figures


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of pass@k from n samples with c correct (Chen et al., 2021)."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def _ks(samples: int) -> list[int]:
    ks, k = [], 1
    while k < samples:
        ks.append(k)
        k *= 2
    return ks + [samples]


def summarize(directory: Path, model: str, samples: int, prices: dict[str, Price] | None = None) -> dict:
    """The figures from the attempts on disk: accuracy overall, by source and by difficulty,
    the official metric per source (on sample 0: the official evaluators score one answer per
    question), pass@k, mean turns and tokens, and cost."""
    by_task: dict[str, dict[int, dict]] = defaultdict(dict)
    for row in rows(eval_dir(directory, model) / ATTEMPTS):
        if row["attempt"] < samples:
            row.pop("messages", None)
            by_task[row["task"]][row["attempt"]] = row
    overall, sources, levels = _Group(), defaultdict(_Group), defaultdict(_Group)
    missing = 0
    for record in read_tasks(directory):
        attempts = list(by_task.get(record.id, {}).values())
        if len(attempts) < samples:
            missing += samples - len(attempts)
        if not attempts:
            continue
        source = record.gold.source if record.gold else f"generated:{record.origin.teacher}"
        mode = record.gold.match if record.gold else "typed"
        for group in (overall, sources[source], levels[record.difficulty.level]):
            group.add(attempts, mode)
    price = (prices or {}).get(model)
    figures = {"model": model, "samples": samples, "missing_attempts": missing, **overall.figures(samples, price),
               "by_source": {name: group.figures(samples, price) for name, group in sorted(sources.items())},
               "by_difficulty": {name: group.figures(samples, price) for name, group in sorted(levels.items())}}
    return figures


class _Group:
    """Attempts of some tasks, for one row of the report."""

    def __init__(self):
        self.tasks: list[tuple[int, int]] = []  # (samples, correct) per task
        self.first: list[float] = []  # sample 0's score per task: the official metrics
        self.parts: list[float] = []  # answer_match of every attempt (sub-question accuracy)
        self.turns = self.prompt_tokens = self.completion_tokens = self.attempts = 0
        self.modes: set[str] = set()
        self.stops: dict[str, int] = defaultdict(int)

    def add(self, attempts: list[dict], mode: str) -> None:
        self.modes.add(mode)
        self.tasks.append((len(attempts), sum(a["correct"] for a in attempts)))
        first = next((a for a in attempts if a["attempt"] == 0), None)
        if first is not None:
            self.first.append(float(first["correct"]))
        for a in attempts:
            self.attempts += 1
            self.parts.append(a["answer_match"])
            self.turns += a["turns"]
            self.prompt_tokens += a["prompt_tokens"]
            self.completion_tokens += a["completion_tokens"]
            self.stops[a["stop"]] += 1

    def figures(self, samples: int, price: Price | None) -> dict:
        """One row's figures; a mean over nothing is None."""
        metric = {METRICS[m] for m in self.modes}
        official = {"name": metric.pop(), "value": _mean(self.first)} if len(metric) == 1 else None
        per = lambda total: total / self.attempts if self.attempts else None  # noqa: E731
        result = {"tasks": len(self.tasks), "attempts": self.attempts, "accuracy": _mean([c / n for n, c in self.tasks]),
                  "official": official,
                  "pass_at_k": {str(k): _mean([pass_at_k(n, c, k) for n, c in self.tasks if n >= k]) for k in _ks(samples)},
                  "mean_turns": per(self.turns), "mean_prompt_tokens": per(self.prompt_tokens),
                  "mean_completion_tokens": per(self.completion_tokens),
                  "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                  "cost": (self.prompt_tokens * price.input + self.completion_tokens * price.output) / 1e6 if price else None,
                  "stops": dict(sorted(self.stops.items()))}
        if self.modes == {"rounded"}:
            result["sub_question_accuracy"] = _mean(self.parts)
        return result


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def report_table(figures: dict) -> str:
    """The figures as a Markdown table: one row overall, then per source and per difficulty."""
    ks = list(figures["pass_at_k"])
    header = ["", "tasks", "accuracy", "official metric"] + [f"pass@{k}" for k in ks] + \
        ["turns", "tokens in/out", "cost"]
    lines = [f"{figures['model']}: {figures['tasks']} tasks x {figures['samples']} sample(s)"
             + (f"; {figures['missing_attempts']} attempts missing (re-run to finish)" if figures["missing_attempts"] else ""),
             "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def row(name: str, f: dict) -> str:
        official = f"{f['official']['name']} {_percent(f['official']['value'])}" if f["official"] else "-"
        if "sub_question_accuracy" in f:
            official += f"; by sub-question {_percent(f['sub_question_accuracy'])}"
        cells = [name, str(f["tasks"]), _percent(f["accuracy"]), official] + [_percent(f["pass_at_k"][k]) for k in ks] + \
            ["-" if f["mean_turns"] is None else f"{f['mean_turns']:.2f}",
             "-" if f["mean_turns"] is None else f"{f['mean_prompt_tokens']:,.0f}/{f['mean_completion_tokens']:,.0f}",
             "-" if f["cost"] is None else f"${f['cost']:.4f}"]
        return "| " + " | ".join(cells) + " |"

    lines.append(row("all", figures))
    for title in ("by_source", "by_difficulty"):
        for name, f in figures[title].items():
            lines.append(row(f"{title[3:]}: {name}", f))
    return "\n".join(lines) + "\n"


def write_report(directory: Path, figures: dict) -> Path:
    """``eval.json`` and ``eval.md`` beside the attempts; returns the folder."""
    out = eval_dir(directory, figures["model"])
    (out / "eval.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    (out / "eval.md").write_text(report_table(figures), encoding="utf-8")
    return out


def plot(figures: dict, path: Path) -> None:
    """Accuracy by source and by difficulty, and pass@k."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    for axis, title in zip(axes, ("by_source", "by_difficulty")):
        names = list(figures[title])
        axis.barh(names[::-1], [100 * (figures[title][n]["accuracy"] or 0) for n in names][::-1], color="#4c72b0")
        axis.set_xlim(0, 100)
        axis.set_title(f"accuracy (%) {title.replace('_', ' ')}")
    ks = list(figures["pass_at_k"])
    axes[2].plot([int(k) for k in ks], [100 * (figures["pass_at_k"][k] or 0) for k in ks], marker="o")
    axes[2].set_ylim(0, 100)
    axes[2].set_xticks([int(k) for k in ks])
    axes[2].set_title("pass@k (%)")
    axes[2].set_xlabel("k")
    figure.suptitle(f"{figures['model']}: {figures['tasks']} tasks, accuracy {_percent(figures['accuracy'])}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
