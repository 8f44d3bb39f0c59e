"""``csvdsl import``: each format's fixture (tests/fixtures/import, in the dataset's own layout)
becomes gold tasks, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import csvdsl
from csvdsl.errors import DslError
from csvdsl.pipeline.importers import import_tasks

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SOURCES = {
    "wtq": FIXTURES / "wtq" / "data" / "pristine-unseen-tables.tsv",
    "tabfact": FIXTURES / "tabfact" / "collected_data" / "r1_training_all.json",
    "dabench": FIXTURES / "dabench" / "data" / "da-dev-questions.jsonl",
    "jsonl": FIXTURES / "jsonl" / "questions.jsonl",
}


def imported(fmt: str, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict], list[dict]]:
    done = csvdsl("import", fmt, str(SOURCES[fmt]), "--out", str(out), *extra)
    tasks = [json.loads(line) for line in (out / "tasks.jsonl").read_text().splitlines()] if (out / "tasks.jsonl").exists() else []
    problems = [json.loads(line) for line in (out / "import-problems.jsonl").read_text().splitlines()] \
        if (out / "import-problems.jsonl").exists() else []
    return done, tasks, problems


def test_wtq(tmp_path):
    done, tasks, problems = imported("wtq", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "4 wtq tasks imported" in done.stdout and "1 skipped" in done.stdout
    assert [t["gold"]["id"] for t in tasks] == ["nu-0", "nu-1", "nu-2", "nu-3"]
    first = tasks[0]
    assert first["origin"]["teacher"] == "gold" and first["program"] == "" and first["plan"] == {}
    assert first["gold"]["match"] == "denotation" and first["gold"]["source"] == "wtq:pristine-unseen-tables"
    assert tasks[2]["gold"]["texts"] == ["Great Britain", "United States"]  # targets split on |
    # Typed as the official evaluator reads them: "3" a number, "1,012" the number 1012.
    assert [t["answer"] for t in tasks[1:]] == [{"type": "number", "value": 3},
                                                {"type": "list", "value": ["Great Britain", "United States"]},
                                                {"type": "number", "value": 1012}]
    assert first["tables"][0]["name"] == "t204_1" and first["tables"][0]["rows"] == 4
    # The backslash-escaped quote of the official CSVs is read as a quote.
    table = Path(first["tables"][0]["file"]).read_text()
    assert 'Republic of ""Korea""' in table
    assert [m["role"] for m in first["conversation"]] == ["system", "user"]
    assert "Tables:\n- t204_1: 4 rows" in first["conversation"][1]["content"]
    # The table with a duplicated header is reported for its task, not fatal.
    [problem] = problems
    assert problem["id"] == "nu-4" and problem["code"] == "csv-duplicate-column"


def test_a_second_import_adds_nothing(tmp_path):
    imported("wtq", tmp_path / "out")
    done, tasks, _ = imported("wtq", tmp_path / "out")
    assert done.returncode == 0 and "0 wtq tasks imported" in done.stdout and "(4 already there)" in done.stdout
    assert len(tasks) == len({t["id"] for t in tasks}) == 4


def test_wtq_root_and_tagged_canonical_targets(tmp_path):
    # The official layout's tagged dataset gives the targets' canonical values (targetCanon).
    root = tmp_path / "WikiTableQuestions"
    (root / "data").mkdir(parents=True)
    (root / "tagged" / "data").mkdir(parents=True)
    (root / "csv").symlink_to(FIXTURES / "wtq" / "csv")
    (root / "data" / "dev.tsv").write_text("id\tutterance\tcontext\ttargetValue\n"
                                           "d-1\thow many nations won more than 4 gold medals?\tcsv/204-csv/1.csv\tthree\n")
    (root / "tagged" / "data" / "dev.tagged").write_text("id\tutterance\tcontext\ttargetValue\ttargetCanon\n"
                                                         "d-1\thow many ...\tcsv/204-csv/1.csv\tthree\t3.0\n")
    done = csvdsl("import", "wtq", str(root / "data" / "dev.tsv"), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    task = json.loads((tmp_path / "out" / "tasks.jsonl").read_text())
    assert task["gold"]["texts"] == ["three"] and task["gold"]["canons"] == ["3.0"]
    # --root points elsewhere: the contexts resolve against it.
    moved = tmp_path / "elsewhere.tsv"
    moved.write_text((root / "data" / "dev.tsv").read_text())
    done = csvdsl("import", "wtq", str(moved), "--out", str(tmp_path / "out2"), "--root", str(root))
    assert done.returncode == 0 and "1 wtq tasks imported" in done.stdout, done.stderr


def test_tabfact(tmp_path):
    done, tasks, problems = imported("tabfact", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert [t["answer"] for t in tasks] == [{"type": "bool", "value": v} for v in (True, False, True, True)]
    assert {t["gold"]["match"] for t in tasks} == {"label"} and not problems
    assert '"2019 league top scorers"' in tasks[0]["question"] and "carla dias scored the most goals" in tasks[0]["question"]
    # The #-separated table is read into typed columns.
    columns = {c["name"]: c["type"] for c in tasks[0]["tables"][0]["columns"]}
    assert columns == {"player": "string", "team": "string", "goals": "int", "games": "int"}


def test_dabench(tmp_path):
    done, tasks, problems = imported("dabench", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert len(tasks) == 2 and [p["code"] for p in problems] == ["csv-not-found"]
    assert tasks[0]["answer"] == {"type": "record", "value": {"mean_score": {"type": "number", "value": 80.1}}}
    assert tasks[1]["gold"]["texts"] == ["@min_age[25.0]", "@max_score[90.0]"]
    assert tasks[0]["gold"]["match"] == "rounded" and [t["difficulty"]["level"] for t in tasks] == ["easy", "medium"]
    assert "Constraints: Use the arithmetic mean" in tasks[0]["question"] and "@mean_score[mean]" in tasks[0]["question"]
    assert tasks[0]["tables"][0]["name"] == "scores"


def test_dabench_without_labels_is_an_error(tmp_path):
    lonely = tmp_path / "questions.jsonl"
    lonely.write_text(SOURCES["dabench"].read_text())
    done = csvdsl("import", "dabench", str(lonely), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "no labels file" in done.stderr and "--labels" in done.stderr
    assert "Traceback" not in done.stderr


def test_jsonl(tmp_path):
    done, tasks, problems = imported("jsonl", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert [t["answer"] for t in tasks] == [{"type": "number", "value": 27}, {"type": "list", "value": ["north"]},
                                            {"type": "bool", "value": True}]
    assert tasks[1]["hint"].startswith("Keep the rows") and tasks[1]["gold"]["hint"] == tasks[1]["hint"]
    assert [p["id"] for p in problems] == ["q4"]


@pytest.mark.parametrize("content, message", [
    ("not json\n", "is not JSON"),
    ('{"question": "q"}\n', "has no field tables, answer"),
    ('{"question": "q", "tables": {}, "answer": 1, "match": "fuzzy"}\n', "bad `match`"),
])
def test_bad_jsonl_is_a_clear_error(tmp_path, content, message):
    source = tmp_path / "bad.jsonl"
    source.write_text(content)
    done = csvdsl("import", "jsonl", str(source), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_usage_errors(tmp_path):
    missing = csvdsl("import", "wtq", str(tmp_path / "nope.tsv"), "--out", str(tmp_path / "out"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    unknown = csvdsl("import", "squad", str(SOURCES["wtq"]), "--out", str(tmp_path / "out"))
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


def test_limit(tmp_path):
    done, tasks, _ = imported("tabfact", tmp_path / "out", "--limit", "2")
    assert done.returncode == 0 and len(tasks) == 2


def test_stats_counts_tasks_by_source(tmp_path):
    imported("wtq", tmp_path / "out")
    done = csvdsl("stats", str(tmp_path / "out"), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sources"] == {"wtq:pristine-unseen-tables, no program yet": 4}


@pytest.mark.parametrize("fmt, name", [("wtq", "x.tsv"), ("tabfact", "x.json"), ("dabench", "x-questions.jsonl"), ("jsonl", "x.jsonl")])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                             lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
                                 ["id", "question", "tables", "answer", "utterance", "context", "targetValue",
                                  "file_name", "common_answers", "match", "hint"]), inner, max_size=4)),
                max_size=4))
def test_any_file_imports_or_is_a_clear_error(tmp_path, fmt, name, values):
    """Whatever a dataset file holds, import either writes tasks or raises a DslError: never a traceback."""
    source = tmp_path / name
    if fmt == "wtq":
        source.write_text("id\tutterance\tcontext\ttargetValue\n" + "".join(
            "\t".join(str(v) for v in (value if isinstance(value, list) else [value])) + "\n" for value in values))
    elif fmt == "tabfact":
        source.write_text(json.dumps({str(i): v for i, v in enumerate(values)}))
    else:
        source.write_text("".join(json.dumps(v) + "\n" for v in values))
        if fmt == "dabench":
            (tmp_path / "x-labels.jsonl").write_text("".join(json.dumps(v) + "\n" for v in reversed(values)))
    try:
        import_tasks(fmt, source, tmp_path / "out")
    except DslError as error:
        assert error.code.startswith(("import-", "csv-", "table-")), error.code


def test_two_sources_in_one_folder_keep_their_problems(tmp_path):
    imported("wtq", tmp_path / "out")
    _, tasks, problems = imported("jsonl", tmp_path / "out")
    assert len(tasks) == 7 and [(p["source"], p["id"]) for p in problems] == [("wtq:pristine-unseen-tables", "nu-4"),
                                                                              ("jsonl:questions", "q4")]
    _, _, problems = imported("jsonl", tmp_path / "out")  # a source's problems are replaced, not repeated
    assert len(problems) == 2


GOOD = '{"id": "ok", "question": "How many rows?", "tables": {"sales": "tables/sales.csv"}, "answer": 6}\n'


@pytest.mark.parametrize("fields, code, message", [
    ('"answer": null', "import-bad-answer", "is null"),
    ('"answer": {}', "import-bad-answer", "an empty record"),
    ('"answer": []', "import-bad-answer", "an empty list"),
    ('"answer": {"a": ""}', "import-bad-answer", "part 'a' that is null"),
    ('"answer": {"type": "bogus", "value": 1}', "import-bad-answer", "unknown type 'bogus'"),
    ('"answer": {"type": "number", "value": "x"}', "import-bad-answer", "not a number"),
    ('"answer": 1e999', "import-bad-answer", "not finite"),
    ('"answer": "@a[1], @b[x"', "import-bad-answer", "no closing ]"),
    ('"answer": 1, "level": [3]', "import-bad-format", "level [3] is not text"),
    ('"answer": 1, "id": {"x": 1}', "import-bad-format", "is not text or a number"),
    ('"answer": 1, "hint": ["a"]', "import-bad-format", "hint [\"a\"] is not text"),
    ('"answer": 1, "question": 5', "import-bad-format", "question 5 is not text"),
])
def test_a_bad_field_is_an_error_at_its_line(tmp_path, fields, code, message):
    source = tmp_path / "q.jsonl"
    line = '{"question": "q", "tables": {"sales": "tables/sales.csv"}, ' + fields + "}\n"
    source.write_text(GOOD + "\n" + line)  # a blank line counts: the bad row is line 3
    with pytest.raises(DslError) as caught:
        import_tasks("jsonl", source, tmp_path / "out")
    error = caught.value
    assert (error.code, error.file, error.line) == (code, str(source), 3) and message in error.message, error.render()
    assert error.hint and "Traceback" not in error.render()


@pytest.mark.parametrize("tables", ["{}", '{"sales": 3}', '["tables/sales.csv"]'])
def test_a_question_needs_its_tables(tmp_path, tables):
    source = tmp_path / "q.jsonl"
    source.write_text('{"question": "q", "tables": ' + tables + ', "answer": 1}\n')
    with pytest.raises(DslError, match="bad `tables`") as caught:
        import_tasks("jsonl", source, tmp_path / "out")
    assert caught.value.line == 1 and "maps each table" in caught.value.hint


def test_a_whole_number_level_is_read_as_text(tmp_path):
    source = tmp_path / "q.jsonl"
    source.write_text(GOOD.replace('"answer": 6', '"answer": 6, "level": 3'))
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "sales.csv").write_text((FIXTURES / "jsonl" / "tables" / "sales.csv").read_text())
    assert import_tasks("jsonl", source, tmp_path / "out").imported == 1
    task = json.loads((tmp_path / "out" / "tasks.jsonl").read_text())
    assert task["gold"]["level"] == task["difficulty"]["level"] == "3"


def dabench_copy(tmp_path, labels: list[dict], level=None) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "da-dev-tables").symlink_to(FIXTURES / "dabench" / "data" / "da-dev-tables")
    question = {"id": 0, "question": "Mean score?", "file_name": "scores.csv", "level": level}
    (folder / "da-dev-questions.jsonl").write_text(json.dumps(question) + "\n")
    (folder / "da-dev-labels.jsonl").write_text("".join(json.dumps(label) + "\n" for label in labels))
    return folder / "da-dev-questions.jsonl"


@pytest.mark.parametrize("answers, message", [([], "an empty record"), ([["mean"]], "[name, value] pairs"),
                                              ([["mean", ""]], "part 'mean' that is null")])
def test_dabench_refuses_a_label_without_an_answer(tmp_path, answers, message):
    source = dabench_copy(tmp_path, [{"id": 9, "common_answers": [["x", "1"]]}, {"id": 0, "common_answers": answers}])
    with pytest.raises(DslError) as caught:
        import_tasks("dabench", source, tmp_path / "out")
    error = caught.value
    assert error.code == "import-bad-answer" and message in error.message, error.render()
    assert error.file.endswith("da-dev-labels.jsonl") and error.line == 2 and error.hint


def test_dabench_reads_a_whole_number_level_as_text(tmp_path):
    source = dabench_copy(tmp_path, [{"id": 0, "common_answers": [["mean", "80.10"]]}], level=2)
    assert import_tasks("dabench", source, tmp_path / "out").imported == 1
    assert json.loads((tmp_path / "out" / "tasks.jsonl").read_text())["gold"]["level"] == "2"


def test_wtq_refuses_an_empty_target(tmp_path):
    source = tmp_path / "data" / "x.tsv"
    source.parent.mkdir()
    (tmp_path / "csv").symlink_to(FIXTURES / "wtq" / "csv")
    source.write_text("id\tutterance\tcontext\ttargetValue\n"
                      "a\thow many?\tcsv/204-csv/1.csv\t3\n\nb\twhich?\tcsv/204-csv/1.csv\t\n")
    with pytest.raises(DslError, match="empty item") as caught:
        import_tasks("wtq", source, tmp_path / "out")
    assert (caught.value.code, caught.value.line, caught.value.file) == ("import-bad-answer", 4, str(source))


def test_a_folder_as_source_is_named_as_one(tmp_path):
    done = csvdsl("import", "jsonl", str(FIXTURES / "jsonl"), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "is a directory, not a file" in done.stderr


def tabfact_copy(root: Path, tables: dict[str, str]) -> Path:
    (root / "data" / "all_csv").mkdir(parents=True)
    (root / "collected_data").mkdir()
    for name, text in tables.items():
        (root / "data" / "all_csv" / name).write_text(text)
    source = root / "collected_data" / "x.json"
    source.write_text(json.dumps({name: [[f"statement about {name}"], [1], ""] for name in tables}))
    return source


def test_tabfact_tables_without_digits_keep_their_own_names_and_files(tmp_path):
    source = tabfact_copy(tmp_path / "one", {"alpha.html.csv": "player#goals\nana#5\n", "beta.html.csv": "city#people\nlisbon#500\n",
                                             "1-2.html.csv": "a#b\n1#2\n", "1_2.html.csv": "c#d\n3#4\n"})
    import_tasks("tabfact", source, tmp_path / "out")
    tasks = [json.loads(line) for line in (tmp_path / "out" / "tasks.jsonl").read_text().splitlines()]
    names = {t["gold"]["id"].split("/")[0]: t["tables"][0]["name"] for t in tasks}
    assert names == {"alpha.html.csv": "alpha_html", "beta.html.csv": "beta_html", "1-2.html.csv": "t1_2",
                     "1_2.html.csv": "t1_2_2"}
    assert len({t["tables"][0]["file"] for t in tasks}) == 4
    assert [c["name"] for c in tasks[1]["tables"][0]["columns"]] == ["city", "people"]
    # Another dataset's file of the same name, imported into the same folder, is not the cached one.
    other = tabfact_copy(tmp_path / "two", {"alpha.html.csv": "team#wins\nporto#9\n"})
    import_tasks("tabfact", other, tmp_path / "out")
    last = json.loads((tmp_path / "out" / "tasks.jsonl").read_text().splitlines()[-1])
    assert [c["name"] for c in last["tables"][0]["columns"]] == ["team", "wins"]
