"""Spreading runs with --shard and putting them together with merge; csvdsl stats."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from conftest import csvdsl as _csvdsl
from csvdsl.pipeline.evaluation import eval_dir
from csvdsl.pipeline.generate import generate
from csvdsl.pipeline.merge import merge
from csvdsl.pipeline.shards import ShardError, parse_shard
from csvdsl.testing.server import ScriptedServer
from tests.test_teacher import GOOD, students, task_dir

DATA = Path(__file__).resolve().parents[1] / "examples" / "data"
TABLES = [str(DATA / f"{name}.csv") for name in ("airlines", "penguins", "planes")]


csvdsl = partial(_csvdsl, timeout=300)  # generate and solve runs: longer than the default


def ids(directory: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (directory / "tasks.jsonl").read_text().splitlines()]


def test_parse_shard(tmp_path):
    assert parse_shard(None) == (0, 1) and parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(ShardError):
            parse_shard(bad)
    assert csvdsl("generate", TABLES[0], "--out", str(tmp_path / "x"), "--shard", "3/2").returncode == 2


def test_generate_shards_merge_to_the_whole_run(tmp_path):
    whole = tmp_path / "whole"
    generate(TABLES, whole, per_table=3, seed=5, progress=False)
    parts = [tmp_path / f"part{i}" for i in range(2)]
    for i, part in enumerate(parts):
        generate(TABLES, part, per_table=3, seed=5, progress=False, shard=(i, 2))
    assert set(ids(parts[0])).isdisjoint(ids(parts[1]))
    merged = tmp_path / "merged"
    counts = merge(merged, parts)
    assert sorted(ids(merged)) == sorted(ids(whole)) and counts["tasks.jsonl"] == len(ids(whole))
    summary = json.loads((merged / "summary.json").read_text())
    assert summary["tasks"] == json.loads((whole / "summary.json").read_text())["tasks"]
    merge(merged, parts)  # merging again adds nothing, and counts nothing twice
    assert sorted(ids(merged)) == sorted(ids(whole))
    assert json.loads((merged / "summary.json").read_text()) == summary
    merge(parts[0], [parts[0], parts[1]])  # into one of its sources: that source is not read again
    assert sorted(ids(parts[0])) == sorted(ids(whole))


def test_solve_shards_share_a_directory_and_label_every_task(tmp_path):
    out = task_dir(tmp_path)
    generate([str(Path(__file__).parent / "data" / "people.csv")], out, per_table=4, seed=1, progress=False)
    tasks = ids(out)
    with ScriptedServer(students([GOOD])) as server:
        for i in range(2):
            done = csvdsl("solve", str(out), "--model", "s", "--base-url", server.url, "--n", "2",
                          "--hint-attempts", "0", "--shard", f"{i}/2", "--no-cache")
            assert done.returncode == 0, done.stderr
        assert len(server.requests) == 2 * len(tasks)
    files = sorted(p.name for p in out.glob("solutions*.jsonl"))
    assert files == ["solutions-0-of-2.jsonl", "solutions-1-of-2.jsonl"]
    keys = [json.loads(line)["key"] for f in files for line in (out / f).read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 2 * len(tasks)
    labels = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert sorted(entry["task"] for entry in labels) == sorted(tasks)
    assert all(entry["attempts"] == 2 for entry in labels)
    merged = tmp_path / "merged"
    merge(merged, [out])
    assert len((merged / "solutions.jsonl").read_text().splitlines()) == 2 * len(tasks)
    def verdicts(directory):  # the merge labels every student model together ("model": null)
        return [{k: v for k, v in json.loads(line).items() if k != "model"} for line in (directory / "labels.jsonl").read_text().splitlines()]

    assert verdicts(merged) == verdicts(out)


def test_stats_tables_json_and_plot(tmp_path):
    out = task_dir(tmp_path)
    wrong = 'x = people | aggregate n = count()\nanswer x.n'
    with ScriptedServer(students([GOOD, GOOD, wrong, GOOD])) as server:
        done = csvdsl("solve", str(out), "--model", "student", "--base-url", server.url, "--n", "4")
        assert done.returncode == 0, done.stderr
    shown = csvdsl("stats", str(out))
    assert shown.returncode == 0, shown.stderr
    for text in ("1 tasks, 1 labelled", "verified", "[0.75, 1)", "fails:unknown-column", "solve · student"):
        assert text in shown.stdout
    figures = json.loads(csvdsl("stats", str(out), "--format", "json", "--plot", str(tmp_path / "s.png")).stdout)
    assert figures["status"] == {"verified": 1} and figures["pass_rate_histogram"]["[0.75, 1)"] == 1
    assert figures["usage"]["solve · student"]["requests"] == 5
    assert figures["rejected"] == {"fails:unknown-column": 1}
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_solve_per_folder_and_a_bounded_answer_per_attempt(tmp_path):
    import numpy as np
    import pandas as pd

    from csvdsl.pipeline.folder import folder_lock

    table = tmp_path / "big.csv"
    pd.DataFrame({"id": range(3000), "city": np.resize(["Oslo", "Rome", "Lima"], 3000),
                  "v": np.arange(3000.0)}).to_csv(table, index=False)
    out = task_dir(tmp_path)
    generate([str(table)], out, per_table=1, seed=1, progress=False)
    args = ("solve", str(out), "--model", "s", "--n", "1", "--hint-attempts", "0", "--no-cache")
    with ScriptedServer(["The whole table:\n```csvdsl\nanswer big\n```"]) as server:
        with folder_lock(out, "solve:s", "0-of-1"):  # another solve of the same shard is running
            busy = csvdsl(*args, "--base-url", server.url)
            assert busy.returncode == 1 and "[folder-busy]" in busy.stderr and str(out) in busy.stderr
        done = csvdsl(*args, "--base-url", server.url)
        assert done.returncode == 0, done.stderr
    answer = json.loads((out / "solutions.jsonl").read_text().splitlines()[0])["answer"]
    assert answer["truncated"] is True and answer["rows_total"] == 3000 and len(answer["value"]["rows"]) == 1000
    assert len(answer["sha256"]) == 64


PEOPLE = str(Path(__file__).parent / "data" / "people.csv")


def test_solve_and_eval_take_a_model_name_with_a_slash(tmp_path):
    out = tmp_path / "job"
    generate([PEOPLE], out, per_table=2, seed=1, progress=False)
    with ScriptedServer(students([GOOD])) as server:
        for command, extra in (("solve", ("--n", "1")), ("eval", ())):
            done = csvdsl(command, str(out), "--model", "Qwen/Qwen2.5-0.5B-Instruct", "--base-url", server.url,
                          "--max-turns", "1", "--no-cache", *extra)
            assert done.returncode == 0, done.stderr
    assert [p.name for p in (out / "eval").iterdir()] == [eval_dir(out, "Qwen/Qwen2.5-0.5B-Instruct").name]
    assert (eval_dir(out, "Qwen/Qwen2.5-0.5B-Instruct") / "eval.json").exists()


def test_models_whose_names_differ_only_in_punctuation_get_their_own_eval_folders(tmp_path):
    names = ["a/b", "a_b", "a b", "gpt-4o-mini"]
    folders = [eval_dir(tmp_path, name).name for name in names]
    assert len(set(folders)) == len(names) and folders[-1] == "gpt-4o-mini"  # a safe name is kept as it is
    assert all(f.startswith(("a_b", "gpt")) for f in folders)


WTQ = Path(__file__).parent / "fixtures" / "import" / "wtq" / "data" / "pristine-unseen-tables.tsv"
WTQ_PROGRAMS = {"most gold medals": "top = t204_1 | sort Gold desc | take 1\nanswer top.Nation",
                "more than 4 gold": "n = t204_1 | filter Gold > 4 | aggregate n = count()\nanswer n.n",
                "fewer than 6 silver": "s = t204_1 | filter Silver < 6\nanswer s.Nation"}


def wtq_student(request):
    program = next((p for key, p in WTQ_PROGRAMS.items() if key in request.last_user), None)
    return f"```csvdsl\n{program}\n```" if program else "I do not know."


def test_merging_solve_shards_of_imported_tasks_keeps_every_verified_program(tmp_path):
    import shutil

    base = tmp_path / "base"
    assert csvdsl("import", "wtq", str(WTQ), "--out", str(base)).returncode == 0
    shards = [tmp_path / f"shard{i}" for i in range(2)]
    with ScriptedServer(wtq_student) as server:
        for i, shard in enumerate(shards):
            shutil.copytree(base, shard)
            done = csvdsl("solve", str(shard), "--model", "s", "--base-url", server.url, "--n", "2", "--max-turns", "1",
                          "--no-cache", "--shard", f"{i}/2")
            assert done.returncode == 0, done.stderr

    def solved(directory: Path) -> set[str]:
        return {row["id"] for row in map(json.loads, (directory / "tasks.jsonl").read_text().splitlines()) if row["program"]}

    assert solved(shards[0]) and solved(shards[1]) and solved(shards[0]).isdisjoint(solved(shards[1]))
    merged = tmp_path / "merged"
    done = csvdsl("merge", *map(str, shards), "--out", str(merged))
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr  # the same tasks, solved apart
    assert solved(merged) == solved(shards[0]) | solved(shards[1])
    labels = [json.loads(line) for line in (merged / "labels.jsonl").read_text().splitlines()]
    assert {entry["task"] for entry in labels if entry["status"] == "verified"} == solved(merged)


def _usage(directory: Path) -> list[dict]:
    path = directory / "usage.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _with_usage(directory: Path, lines: int) -> Path:
    """Usage lines as commands wrote them before each had an id."""
    row = {"command": "solve", "model": "s", "requests": 1, "cached": 0, "retries": 0, "prompt_tokens": 10,
           "completion_tokens": 2, "cost": 0.5}
    (directory / "usage.jsonl").write_text("".join(json.dumps(row) + "\n" for _ in range(lines)))
    return directory


def test_a_merge_holds_its_folder_and_a_cut_merge_resumes_without_duplicates(tmp_path, monkeypatch):
    from csvdsl.pipeline import merge as merging
    from csvdsl.pipeline.folder import folder_lock

    source = tmp_path / "source"
    generate(TABLES, source, per_table=2, seed=5, progress=False)
    _with_usage(source, 2500)
    out = tmp_path / "merged"
    with folder_lock(out, "merge"):  # another merge into the same folder is running
        busy = csvdsl("merge", str(source), "--out", str(out))
        assert busy.returncode == 1 and "[folder-busy]" in busy.stderr and str(out) in busy.stderr
    real, calls = merging.append_lines, []

    def killed_on_the_second_usage_batch(path, lines):
        if path.name == "usage.jsonl":
            calls.append(path)
            if len(calls) == 2:
                raise KeyboardInterrupt  # as a kill would, after the first batch and before the summary
        return real(path, lines)

    monkeypatch.setattr(merging, "append_lines", killed_on_the_second_usage_batch)
    with pytest.raises(KeyboardInterrupt):
        merge(out, [source])
    assert len(_usage(out)) == 1000
    monkeypatch.setattr(merging, "append_lines", real)
    merge(out, [source])
    merge(out, [source])
    usage = _usage(out)
    assert len(usage) == 2500 and len({row["id"] for row in usage}) == 2500
    assert json.loads((out / "summary.json").read_text()) == json.loads((source / "summary.json").read_text())
    done = csvdsl("stats", str(out), "--format", "json")
    assert json.loads(done.stdout)["usage"]["solve · s"]["requests"] == 2500


def test_a_source_named_twice_or_merged_with_its_shards_is_counted_once(tmp_path):
    whole = tmp_path / "whole"
    generate(TABLES, whole, per_table=2, seed=5, progress=False)
    _with_usage(whole, 30)
    parts = [tmp_path / f"part{i}" for i in range(2)]
    for i, part in enumerate(parts):
        generate(TABLES, part, per_table=2, seed=5, progress=False, shard=(i, 2))
    twice, alias = tmp_path / "twice", tmp_path / "alias"
    alias.symlink_to(whole)
    merge(twice, [whole, alias])
    assert len(_usage(twice)) == 30
    assert json.loads((twice / "summary.json").read_text()) == json.loads((whole / "summary.json").read_text())
    assert list(json.loads((twice / "merged.json").read_text())) == [str(twice.resolve()), str(whole.resolve())]
    for order in ([parts[0], parts[1], whole], [parts[0], whole], [whole, parts[1]]):
        out = tmp_path / "-".join(p.name for p in order)
        merge(out, order)
        summary = json.loads((out / "summary.json").read_text())
        assert sum(summary["tasks"].values()) == sum(summary["difficulty"].values()) == len(ids(out)) == len(ids(whole))
        assert summary["tasks"] == json.loads((whole / "summary.json").read_text())["tasks"]
