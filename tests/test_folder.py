"""One writer per folder, remembered arguments, damaged lines, duplicate ids and changed tables,
tested as a user meets them (issue 15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from csvdsl.errors import DataError
from csvdsl.pipeline.export import export
from csvdsl.pipeline.folder import FolderBusy, folder_lock, remember
from csvdsl.pipeline.jsonl import drop_damaged, rows
from csvdsl.pipeline.merge import merge
from csvdsl.pipeline.records import read_tasks
from csvdsl.tables.verify import check_table_file, current_sha256

ROOT = Path(__file__).resolve().parent.parent
PENGUINS = ROOT / "examples" / "data" / "penguins.csv"


def csvdsl(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "csvdsl", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, **kwargs)


def finish(process) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_two_concurrent_generate_runs_leave_no_duplicate_ids(tmp_path):
    out = tmp_path / "job"
    first = csvdsl("generate", PENGUINS, "--out", out, "--per-table", "25", "--quiet")
    second = csvdsl("generate", PENGUINS, "--out", out, "--per-table", "25", "--quiet")
    results = [finish(first), finish(second)]
    written = ids(out / "tasks.jsonl")
    assert len(written) == len(set(written)) == 25
    refused = [r for r in results if r[0] != 0]
    for code, _, err in refused:  # the one that found the folder busy says whose it is
        assert code == 1 and "[folder-busy]" in err and str(out) in err and "process" in err
    # Once the first is done, the second can resume: nothing is written twice.
    assert finish(csvdsl("generate", PENGUINS, "--out", out, "--per-table", "25", "--quiet"))[0] == 0
    assert len(ids(out / "tasks.jsonl")) == 25


def test_the_lock_names_the_holder_and_is_released(tmp_path):
    with folder_lock(tmp_path, "generate"):
        holder = csvdsl("generate", PENGUINS, "--out", tmp_path, "--per-table", "1", "--quiet")
        code, _, err = finish(holder)
        assert code == 1 and f"process {os.getpid()}" in err
    with folder_lock(tmp_path, "generate"):
        pass  # released when the block ended


def test_a_folder_refuses_other_arguments_unless_forced(tmp_path):
    remember(tmp_path, "generate", {"seed": 0, "tables": {"t": "abc"}})
    remember(tmp_path, "generate", {"seed": 0, "tables": {"t": "abc"}})  # the same: a resume
    with pytest.raises(DataError) as caught:
        remember(tmp_path, "generate", {"seed": 1, "tables": {"t": "abc"}})
    assert caught.value.code == "folder-arguments" and "seed: 0 before, 1 now" in caught.value.message
    remember(tmp_path, "generate", {"seed": 1, "tables": {"t": "abc"}}, force=True)
    assert json.loads((tmp_path / "job.json").read_text())["generate"]["seed"] == 1


def test_generate_with_another_seed_is_refused_then_forced(tmp_path):
    out = tmp_path / "job"
    assert finish(csvdsl("generate", PENGUINS, "--out", out, "--per-table", "2", "--quiet"))[0] == 0
    code, _, err = finish(csvdsl("generate", PENGUINS, "--out", out, "--per-table", "2", "--quiet", "--seed", "7"))
    assert code == 1 and "[folder-arguments]" in err and "--force" in err
    assert finish(csvdsl("generate", PENGUINS, "--out", out, "--per-table", "2", "--quiet", "--seed", "7", "--force"))[0] == 0


def test_a_damaged_middle_line_is_reported_and_repaired(tmp_path):
    out = tmp_path / "job"
    assert finish(csvdsl("generate", PENGUINS, "--out", out, "--per-table", "6", "--quiet"))[0] == 0
    before = ids(out / "tasks.jsonl")
    lines = (out / "tasks.jsonl").read_text().splitlines(keepends=True)
    lines[2] = lines[2][:40] + "\n"
    (out / "tasks.jsonl").write_text("".join(lines))
    code, _, err = finish(csvdsl("generate", PENGUINS, "--out", out, "--per-table", "6", "--quiet"))
    assert code == 1 and "[jsonl-damaged]" in err and "line 3 of" in err and "tasks.jsonl" in err and "--repair" in err
    assert "Traceback" not in err
    code, _, err = finish(csvdsl("generate", PENGUINS, "--out", out, "--per-table", "6", "--quiet", "--repair"))
    assert code == 0 and "dropped 1 damaged line" in err
    assert sorted(ids(out / "tasks.jsonl")) == sorted(before)  # the dropped task was made again


def test_drop_damaged_keeps_every_good_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": \n[1, 2]\n\xff\xfe\n{"a": 2}\n{"a": 3')
    with pytest.raises(DataError) as caught:
        list(rows(path))
    assert caught.value.code == "jsonl-damaged" and caught.value.line == 2
    assert drop_damaged(path) == 3
    assert [r["a"] for r in rows(path)] == [1, 2]


def _task_folder(tmp_path: Path) -> Path:
    out = tmp_path / "job"
    assert finish(csvdsl("generate", PENGUINS, "--out", out, "--per-table", "3", "--quiet"))[0] == 0
    return out


def test_export_and_merge_keep_a_repeated_id_once_and_count_it(tmp_path):
    out = _task_folder(tmp_path)
    tasks = out / "tasks.jsonl"
    lines = tasks.read_text().splitlines(keepends=True)
    tasks.write_text("".join(lines + lines[:2]))  # what two writers once left behind
    counts = export(out, sft=tmp_path / "sft.jsonl")
    assert counts["records"] == 3 and counts["duplicates"] == 2
    assert len(ids(tmp_path / "sft.jsonl")) == 3
    merged = merge(tmp_path / "merged", [out])
    assert merged["tasks.jsonl"] == 3 and merged["duplicates"] == 2


def test_a_changed_table_is_caught_with_both_hashes(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a\n1\n")
    recorded = current_sha256(str(table))
    check_table_file("t", str(table), recorded)
    table.write_text("a\n2\n")
    with pytest.raises(DataError) as caught:
        check_table_file("t", str(table), recorded)
    message = caught.value.message
    assert caught.value.code == "table-changed" and "`t`" in message and recorded in message
    assert current_sha256(str(table)) in message


def test_solve_checks_the_tables_before_running_a_student(tmp_path):
    from csvdsl.pipeline.records import TaskRecord
    from csvdsl.pipeline.students import Tables

    table = tmp_path / "penguins.csv"
    table.write_bytes(PENGUINS.read_bytes())
    out = tmp_path / "job"
    assert finish(csvdsl("generate", table, "--out", out, "--per-table", "1", "--quiet"))[0] == 0
    record = TaskRecord.model_validate(next(rows(out / "tasks.jsonl")))
    tables = Tables()
    try:
        assert tables.paths(record.tables) == {"penguins": str(table.resolve())}
        table.write_bytes(PENGUINS.read_bytes().replace(b"Adelie", b"Adelia", 1))
        tables.checked.clear()
        with pytest.raises(DataError) as caught:
            tables.session(record.tables)
        assert caught.value.code == "table-changed"
    finally:
        tables.close()


def test_folder_busy_is_a_data_error():
    assert issubclass(FolderBusy, DataError)


def test_export_catches_an_edited_table_naming_both_hashes(tmp_path):
    table = tmp_path / "penguins.csv"
    table.write_bytes(PENGUINS.read_bytes())
    out = tmp_path / "job"
    assert finish(csvdsl("generate", table, "--out", out, "--per-table", "2", "--quiet"))[0] == 0
    recorded = current_sha256(str(table))
    table.write_bytes(PENGUINS.read_bytes().replace(b"Adelie", b"Adelia", 1))
    code, _, err = finish(csvdsl("export", out))
    assert code == 1
    assert "table-changed" in err and recorded in err and current_sha256(str(table)) in err


def test_lock_names_are_safe_and_distinct_for_any_model_name(tmp_path):
    from csvdsl.pipeline.folder import lock_name

    names = ["solve:Qwen/Qwen2.5-0.5B-Instruct-0-of-1", "solve:Qwen_Qwen2.5-0.5B-Instruct-0-of-1",
             "solve:Qwen:Qwen2.5-0.5B-Instruct-0-of-1", "eval:../x", "eval:" + "m" * 300]
    files = [lock_name(name) for name in names]
    assert len(set(files)) == len(names) and all("/" not in f and len(f) < 120 for f in files)
    with folder_lock(tmp_path, "solve:Qwen/Qwen2.5-0.5B-Instruct", "0-of-1"):
        with folder_lock(tmp_path, "solve:Qwen_Qwen2.5-0.5B-Instruct", "0-of-1"):  # another model: its own lock
            pass
        with pytest.raises(FolderBusy):
            with folder_lock(tmp_path, "solve:Qwen/Qwen2.5-0.5B-Instruct", "0-of-1"):
                pass


def test_appends_from_another_process_survive_rewrites(tmp_path):
    from csvdsl.pipeline.jsonl import rewrite

    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps({"n": -1, "rewrites": 0}) + "\n")
    writer = subprocess.Popen([sys.executable, "-c", "import json, sys\nfrom csvdsl.pipeline.jsonl import append_line\n"
                               "for n in range(1500): append_line(__import__('pathlib').Path(sys.argv[1]), json.dumps({'n': n}))",
                               str(path)], cwd=ROOT)

    def bump(line: str) -> str:  # every rewrite changes the first line, so each one swaps a new file in
        row = json.loads(line)
        return json.dumps(row | {"rewrites": row["rewrites"] + 1}) + "\n" if row["n"] == -1 else line

    rewrites = 0
    while writer.poll() is None:
        rewrites += rewrite(path, bump)
    assert writer.returncode == 0 and rewrites > 10
    numbers = [row["n"] for row in rows(path)]
    assert sorted(numbers) == list(range(-1, 1500))  # none lost, none twice


def test_commands_sharing_a_folder_each_keep_their_arguments(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import sys\nfrom csvdsl.pipeline.folder import remember\n"
                              "for n in range(300): remember(sys.argv[1], f'solve:{n}', {'n': n})", str(tmp_path)], cwd=ROOT)
    mine = 0
    while other.poll() is None:  # for as long as the other process writes
        remember(tmp_path, f"generate:{mine}", {"n": mine})
        mine += 1
    assert other.returncode == 0
    assert len(json.loads((tmp_path / "job.json").read_text())) == 300 + mine  # no command's record lost to another's


WTQ = ROOT / "tests" / "fixtures" / "import" / "wtq" / "data" / "pristine-unseen-tables.tsv"
WTQ_PROGRAMS = {"most gold medals": "top = t204_1 | sort Gold desc | take 1\nanswer top.Nation",
                "more than 4 gold": "n = t204_1 | filter Gold > 4 | aggregate n = count()\nanswer n.n"}


def test_promotion_keeps_what_other_writers_did_meanwhile(tmp_path, monkeypatch):
    """A solve shard promotes gold tasks while generate appends and another shard promotes."""
    from csvdsl.pipeline import gold
    from csvdsl.pipeline.jsonl import append_line

    out = tmp_path / "job"
    assert finish(csvdsl("import", "wtq", WTQ, "--out", out))[0] == 0
    tasks = {row["question"]: row["id"] for row in rows(out / "tasks.jsonl")}
    task = {key: next(i for q, i in tasks.items() if key in q) for key in WTQ_PROGRAMS}

    def attempt(key: str) -> str:
        return json.dumps({"key": key, "task": task[key], "correct": True, "program": WTQ_PROGRAMS[key]})

    append_line(out / "solutions-0-of-2.jsonl", attempt("most gold medals"))
    real, calls = gold.promote, []

    def promote_while_others_write(*args):
        if not calls:
            calls.append(1)
            append_line(out / "tasks.jsonl", json.dumps({"id": "feedface", "note": "appended by generate meanwhile"}))
            append_line(out / "solutions-1-of-2.jsonl", attempt("more than 4 gold"))
            other = f"from csvdsl.pipeline.gold import promote_verified; promote_verified({str(out)!r})"
            assert subprocess.run([sys.executable, "-c", other], cwd=ROOT).returncode == 0  # the other shard is quicker
        return real(*args)

    monkeypatch.setattr(gold, "promote", promote_while_others_write)
    assert gold.promote_verified(out) == 2
    kept = {row["id"]: row for row in rows(out / "tasks.jsonl")}
    assert "feedface" in kept and len(kept) == len(tasks) + 1
    assert all(kept[task[key]]["program"] for key in WTQ_PROGRAMS)


def test_damaged_or_foreign_files_are_data_errors(tmp_path):
    out = _task_folder(tmp_path)
    summary = (out / "summary.json").read_text()
    (out / "summary.json").write_text(summary[: len(summary) // 2])  # a kill while it was written, before it was atomic
    for command in (("stats", out), ("merge", out, "--out", tmp_path / "merged")):
        code, _, err = finish(csvdsl(*command))
        assert code == 1 and "[json-damaged]" in err and "summary.json" in err and "hint:" in err
        assert "Traceback" not in err and "internal" not in err
    (out / "summary.json").write_text(summary)
    lines = (out / "tasks.jsonl").read_text()
    (out / "tasks.jsonl").write_text(lines + json.dumps({"id": "abc", "question": 3}) + "\n")
    for command in ("stats", "export"):
        code, _, err = finish(csvdsl(command, out))
        assert code == 1 and "[jsonl-invalid]" in err and "line 4 of" in err and "not a task" in err and "internal" not in err
    with pytest.raises(DataError) as caught:
        list(read_tasks(out))
    assert caught.value.code == "jsonl-invalid" and caught.value.line == 4
    (out / "tasks.jsonl").write_text(lines)
    (out / "labels.jsonl").write_text(json.dumps({"task": "x", "pass_rate": None}) + "\n")
    code, _, err = finish(csvdsl("stats", out))
    assert code == 1 and "[jsonl-invalid]" in err and "labels.jsonl" in err and "'status'" in err
    assert "internal" not in err
