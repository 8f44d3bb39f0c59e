"""The export: a Hub-shaped folder (configs sft, rl and tables, a card) and JSONL files with a
tables/ folder beside them, both self-contained: moved elsewhere with the source CSVs deleted,
they load, and after use_dataset the teacher's programs score 1.0 on every row."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from datasets import load_dataset
from hypothesis import given
from hypothesis import strategies as st

from csvdsl.errors import DataError
from csvdsl.models.prompts import STUDENT_PROMPT_LIMIT, student_system_prompt, system_prompt
from csvdsl.pipeline.export import export, lengths_text
from csvdsl.pipeline.folder import FolderBusy, folder_lock
from csvdsl.pipeline.generate import generate
from csvdsl.tables.info import ColumnInfo, TableInfo, file_sha256, table_file_name
from verifier import rewards
from verifier.table_store import TableNotFound, forget_datasets

DATA = ROOT / "examples" / "data"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Tables that come as dataset rows are written to a cache of the test's own; every
    test starts with no dataset registered and no tables loaded."""
    monkeypatch.setenv("CSVDSL_CACHE", str(tmp_path / "cache"))
    forget_datasets()
    rewards._ENGINES.clear()
    yield
    forget_datasets()
    rewards._ENGINES.clear()


@pytest.fixture(scope="module")
def job(tmp_path_factory) -> Path:
    """Tasks generated from copies of the bundled CSVs (the tests delete the copies)."""
    root = tmp_path_factory.mktemp("job")
    sources = root / "csv"
    sources.mkdir()
    for name in ("flights", "penguins", "airlines"):
        shutil.copy(DATA / f"{name}.csv", sources / f"{name}.csv")
    generate([str(p) for p in sorted(sources.glob("*.csv"))], root / "run", per_table=4, seed=3, progress=False)
    return root


def teacher_columns(rows) -> tuple[list, dict]:
    completions = ["```csvdsl\n" + program + "```" for program in rows["program"]]
    return completions, {name: list(rows[name]) for name in ("answer", "program", "tables")}


def test_the_hub_folder_works_moved_with_the_csvs_deleted(job, tmp_path):
    counts = export(job / "run", hf=job / "hf")
    moved = tmp_path / "elsewhere" / "data"
    shutil.copytree(job / "hf", moved)
    sources = tmp_path / "gone"
    shutil.copytree(job / "csv", sources)  # the module's copies stay for the other tests
    rl = load_dataset(str(moved), "rl", split="train")
    sft = load_dataset(str(moved), "sft", split="train")
    assert len(rl) == counts["rl"] == counts["records"] and len(sft) == counts["sft"]
    assert rl.features["pass_rate"].dtype == "float64"
    assert load_dataset(str(moved), split="train").column_names == sft.column_names  # sft is the default config
    for row in rl:
        assert str(job) not in json.dumps(row) and "/" not in "".join(json.loads(row["tables"]).values())
    shutil.rmtree(job / "csv")
    try:
        assert rewards.use_dataset(moved) == counts["tables"] == 2  # airlines has no task of its own
        completions, columns = teacher_columns(rl)
        for reward in rewards.REWARDS:
            assert reward(prompts=rl["prompt"], completions=completions, **columns) == [1.0] * len(rl), reward.__name__
    finally:
        shutil.copytree(sources, job / "csv")


def test_a_table_no_dataset_holds_is_one_clear_error(job):
    from verifier.table_store import forget_datasets

    forget_datasets()  # what earlier tests registered is not this test's
    export(job / "run", rl=job / "jsonl" / "rl.jsonl")
    row = json.loads((job / "jsonl" / "rl.jsonl").read_text().splitlines()[0])
    columns = {name: [row[name]] * 3 for name in ("answer", "program", "tables")}
    with pytest.raises(TableNotFound) as caught:
        rewards.answer_reward(["answer 1"] * 3, **columns)
    name = next(iter(json.loads(row["tables"])))
    assert f"table {name!r}" in caught.value.message and "searched nothing" in caught.value.message
    assert "use_dataset" in caught.value.hint
    other = job / "other" / "tables"
    other.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "airlines.csv", other / table_file_name("airlines", file_sha256(str(DATA / "airlines.csv"))))
    assert rewards.use_dataset(other.parent) == 1
    with pytest.raises(TableNotFound, match=r"searched the folder .*tables \(1 table\)"):
        rewards.answer_reward(["answer 1"], **{k: v[:1] for k, v in columns.items()})


def test_use_dataset_says_what_is_not_a_dataset(tmp_path):
    with pytest.raises(DataError, match="no tables/ folder"):
        rewards.use_dataset(ROOT / "examples")
    with pytest.raises(DataError, match="neither a folder"):
        rewards.use_dataset("no/such/place/here")


def test_jsonl_files_carry_a_tables_folder(job, tmp_path):
    out = tmp_path / "jsonl"
    export(job / "run", sft=out / "sft.jsonl", rl=out / "rl.jsonl")
    files = sorted(p.name for p in (out / "tables").iterdir())
    assert files and all(name.endswith(".csv") and "-" in name for name in files)
    lines = [json.loads(line) for line in (out / "rl.jsonl").read_text().splitlines()]
    assert not any(str(job) in json.dumps(line) for line in lines)  # no path of the machine that made them
    moved = tmp_path / "moved"
    shutil.move(str(out), moved)
    rewards.use_dataset(moved / "rl.jsonl")  # a JSONL file: its tables/ folder is beside it
    completions = ["```csvdsl\n" + line["program"] + "```" for line in lines]
    columns = {name: [line[name] for line in lines] for name in ("answer", "program", "tables")}
    assert rewards.answer_reward(completions, **columns) == [1.0] * len(lines)


def test_student_conversations_get_a_short_system_prompt(job, tmp_path):
    export(job / "run", sft=tmp_path / "sft.jsonl", rl=tmp_path / "rl.jsonl")
    sft = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text().splitlines()]
    rl = [json.loads(line) for line in (tmp_path / "rl.jsonl").read_text().splitlines()]
    for row in sft:
        system = row["messages"][0]
        assert system["role"] == "system" and len(system["content"]) <= STUDENT_PROMPT_LIMIT
        assert "```csvdsl" in system["content"] and "Tables:" in system["content"]
    assert all(row["prompt"][0]["content"] == sft[i]["messages"][0]["content"] for i, row in enumerate(rl))
    export(job / "run", sft=tmp_path / "card.jsonl", system="card")
    assert json.loads((tmp_path / "card.jsonl").read_text().splitlines()[0])["messages"][0]["content"] == system_prompt()
    export(job / "run", sft=tmp_path / "none.jsonl", system="none")
    assert json.loads((tmp_path / "none.jsonl").read_text().splitlines()[0])["messages"][0]["role"] == "user"


def test_the_card_states_what_the_hub_wants(job, tmp_path):
    counts = export(job / "run", hf=tmp_path / "hf", license="cc-by-4.0")
    card = (tmp_path / "hf" / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["en"] and meta["size_categories"] == ["n<1K"]
    assert "table-reasoning" in meta["tags"] and meta["task_categories"] == ["table-question-answering"]
    assert [c["config_name"] for c in meta["configs"]] == ["sft", "rl", "tables"]
    assert all(c["data_files"][0]["split"] == "train" for c in meta["configs"])
    figures = counts["lengths"]["sft"]["characters"]
    assert f"| sft | {figures['median']:,} | {figures['max']:,} |" in card
    assert "max_length" in card and "`pass_rate`" in card
    export(job / "run", hf=tmp_path / "hf2")
    assert yaml.safe_load((tmp_path / "hf2" / "README.md").read_text().split("---")[1])["license"] == "unknown"


def test_push_uploads_exactly_the_folder(job, tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    class FakeApi:
        def create_repo(self, repo, **options):
            calls.append(("create", repo, options))

        def upload_folder(self, folder_path, repo_id, repo_type, **options):
            calls.append(("upload", repo_id, repo_type, sorted(str(p.relative_to(folder_path))
                                                           for p in Path(folder_path).rglob("*") if p.is_file())))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    export(job / "run", hf=tmp_path / "hf", push="someone/tasks")
    assert calls[0] == ("create", "someone/tasks", {"repo_type": "dataset", "exist_ok": True})
    assert calls[1][:3] == ("upload", "someone/tasks", "dataset")
    assert [re.sub(r"[0-9a-f]{16}", "HASH", name) for name in calls[1][3]] == \
        ["README.md", "rl/train-HASH.parquet", "sft/train-HASH.parquet", "tables/train-HASH.parquet"]
    export(job / "run", push="someone/other")  # without --hf: the same folder, written to a scratch place
    assert calls[3][3] == calls[1][3]


def test_cli_export_prints_lengths_and_takes_the_flags(job, tmp_path):
    done = subprocess.run([sys.executable, "-m", "csvdsl", "export", str(job / "run"), "--hf", str(tmp_path / "hf"),
                           "--system", "none", "--license", "mit"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "sft rows: characters median" in done.stdout and "rl rows: characters median" in done.stdout
    assert "license: mit" in (tmp_path / "hf" / "README.md").read_text()
    done = subprocess.run([sys.executable, "-m", "csvdsl", "export", str(job / "run"), "--system", "big"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_an_export_from_changed_csvs_is_refused(job, tmp_path):
    changed = tmp_path / "run"
    shutil.copytree(job / "run", changed)
    record = json.loads((changed / "tasks.jsonl").read_text().splitlines()[0])
    copy = tmp_path / "flights.csv"
    shutil.copy(record["tables"][0]["file"], copy)
    copy.write_text(copy.read_text() + copy.read_text().splitlines()[-1] + "\n")
    lines = [json.loads(line) for line in (changed / "tasks.jsonl").read_text().splitlines()]
    for line in lines:
        for table in line["tables"]:
            if table["name"] == record["tables"][0]["name"]:
                table["file"] = str(copy)
    (changed / "tasks.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(Exception, match="changed since the tasks were made"):
        export(changed, hf=tmp_path / "hf")


def test_a_new_export_into_the_same_folder_loads_the_new_rows(job, tmp_path):
    export(job / "run", hf=tmp_path / "data")
    assert load_dataset(str(tmp_path / "data"), "rl", split="train")[0]["prompt"][0]["role"] == "system"
    export(job / "run", hf=tmp_path / "data", system="none")  # the files' names carry their content's hash
    assert load_dataset(str(tmp_path / "data"), "rl", split="train")[0]["prompt"][0]["role"] == "user"
    assert len(list((tmp_path / "data" / "rl").glob("*.parquet"))) == 1


def test_on_every_scalar_task_literals_and_constants_score_zero(job, tmp_path):
    export(job / "run", rl=tmp_path / "rl.jsonl")
    rewards.use_dataset(tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "rl.jsonl").read_text().splitlines()]
    scalar = [row for row in rows if json.loads(row["answer"])["type"] in ("number", "string", "bool")]
    assert len(scalar) >= 5
    for row in scalar:
        value = json.loads(row["answer"])["value"]
        text = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
        table = next(iter(json.loads(row["tables"])))
        hacks = [f"answer {text}", f"c = {table} | take 1 | derive k = {text}\nanswer c.k"]
        columns = {name: [row[name]] * len(hacks) for name in ("answer", "program", "tables")}
        assert rewards.answer_reward(hacks, **columns) == [0.0, 0.0], row["program"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """What `make demo` makes: every bundled table, 10 tasks each, seed 7, from copies of the CSVs."""
    root = tmp_path_factory.mktemp("demo")
    sources = root / "csv"
    sources.mkdir()
    for path in sorted(DATA.glob("*.csv")):
        shutil.copy(path, sources / path.name)
    generate([str(p) for p in sorted(sources.glob("*.csv"))], root / "run", per_table=10, seed=7, progress=False)
    export(root / "run", hf=root / "hf")
    shutil.rmtree(sources)
    return root


def test_done_when_the_demo_export_trains_from_anywhere(demo, tmp_path):
    moved = tmp_path / "far" / "away"
    shutil.copytree(demo / "hf", moved)
    rl = load_dataset(str(moved), "rl", split="train")
    sft = load_dataset(str(moved), "sft", split="train")
    assert len(rl) >= 20 and all(len(row["messages"][0]["content"]) <= STUDENT_PROMPT_LIMIT for row in sft)
    rewards.use_dataset(moved)
    completions, columns = teacher_columns(rl)
    assert rewards.answer_reward(completions, **columns) == [1.0] * len(rl)
    scalar = [row for row in rl if json.loads(row["answer"])["type"] in ("number", "string", "bool")]
    hacks, rows = [], []
    for row in scalar:
        value = json.loads(row["answer"])["value"]
        text = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
        table = next(iter(json.loads(row["tables"])))
        hacks += [f"answer {text}", f"c = {table} | take 1 | derive k = {text}\nanswer c.k"]
        rows += [row, row]
    columns = {name: [row[name] for row in rows] for name in ("answer", "program", "tables")}
    assert rewards.answer_reward(hacks, **columns) == [0.0] * len(hacks)


def solved_by_all(job, tmp_path) -> Path:
    """A copy of the tasks whose every task students solved every time: no RL row is worth training on."""
    folder = tmp_path / "solved"
    shutil.copytree(job / "run", folder)
    ids = [json.loads(line)["id"] for line in (folder / "tasks.jsonl").read_text().splitlines()]
    (folder / "labels.jsonl").write_text("".join(json.dumps({"task": i, "pass_rate": 1.0, "status": "verified"}) + "\n"
                                                 for i in ids))
    return folder


def test_a_part_without_rows_is_left_out_of_the_hub_folder(job, tmp_path):
    folder = solved_by_all(job, tmp_path)
    export(job / "run", hf=tmp_path / "hf")  # a full export first: its rl file must not survive the next
    counts = export(folder, sft=tmp_path / "sft.jsonl", rl=tmp_path / "rl.jsonl", hf=tmp_path / "hf")
    assert counts["rl"] == 0 and counts["sft"] > 0 and (tmp_path / "rl.jsonl").read_text() == ""
    assert not list((tmp_path / "hf" / "rl").glob("*.parquet"))
    card = (tmp_path / "hf" / "README.md").read_text()
    assert [c["config_name"] for c in yaml.safe_load(card.split("---")[1])["configs"]] == ["sft", "tables"]
    assert "not in this folder: `rl`" in card and lengths_text(counts["lengths"]).endswith("rl rows: none")
    assert len(load_dataset(str(tmp_path / "hf"), "sft", split="train")) == counts["sft"]
    assert len(load_dataset(str(tmp_path / "hf"), "tables", split="train")) == counts["tables"]
    with pytest.raises(ValueError, match="'rl' not found"):
        load_dataset(str(tmp_path / "hf"), "rl", split="train")


def test_an_export_of_no_tasks_writes_empty_files(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "tasks.jsonl").write_text("")
    counts = export(tmp_path / "run", sft=tmp_path / "sft.jsonl", hf=tmp_path / "hf")
    assert counts["records"] == counts["sft"] == counts["rl"] == counts["tables"] == 0
    assert (tmp_path / "sft.jsonl").read_text() == "" and not list((tmp_path / "hf").rglob("*.parquet"))
    assert yaml.safe_load((tmp_path / "hf" / "README.md").read_text().split("---")[1])["configs"] == []


def test_a_second_export_of_a_folder_is_refused_while_one_runs(job, tmp_path):
    with folder_lock(job / "run", "export"), pytest.raises(FolderBusy, match="csvdsl export"):
        export(job / "run", sft=tmp_path / "sft.jsonl")
    assert not (tmp_path / "sft.jsonl").exists()


def test_a_failed_export_leaves_the_files_it_had_not_finished_as_they_were(job, tmp_path, monkeypatch):
    import csvdsl.pipeline.export as module

    def broken(*args):
        raise DataError("broken", "the Hub folder cannot be made")

    monkeypatch.setattr(module, "datasets", broken)
    with pytest.raises(DataError, match="cannot be made"):
        export(job / "run", sft=tmp_path / "sft.jsonl", hf=tmp_path / "hf")
    assert not (tmp_path / "sft.jsonl").exists()  # nothing written before everything that can fail has run
    monkeypatch.undo()
    (tmp_path / "rl.jsonl").write_text("old\n")
    calls = iter(range(10**6))
    dumps = json.dumps

    def failing(value, **options):  # fails in the middle of the file
        if "prompt" in value and next(calls) == 2:
            raise OSError("disk full")
        return dumps(value, **options)

    monkeypatch.setattr(module.json, "dumps", failing)
    with pytest.raises(OSError):
        export(job / "run", rl=tmp_path / "rl.jsonl")
    assert (tmp_path / "rl.jsonl").read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["rl.jsonl"]


def table(name: str, columns: int) -> TableInfo:
    return TableInfo(name=name, sha256="0" * 64, rows=3, columns=[ColumnInfo(name=f"column_{i}", type="int")
                                                                  for i in range(columns)])


@pytest.mark.parametrize("tools", [False, True])
@given(st.lists(st.tuples(st.integers(1, 300), st.integers(0, 40)), max_size=120))
def test_the_student_prompt_holds_its_limit_for_any_tables(tools, shapes):
    tables = [table(f"t{i}_" + "x" * length, columns) for i, (length, columns) in enumerate(shapes)]
    prompt = student_system_prompt(tables, tools)
    assert len(prompt) <= STUDENT_PROMPT_LIMIT
    listed = [line for line in prompt.split("Tables:\n", 1)[1].splitlines() if line and not line.startswith("- ...")] \
        if tables else []
    assert [line.split(":")[0][2:] for line in listed] == [t.name for t in tables[:len(listed)]]  # in order, each once
    more = re.search(r"- \.\.\. and (\d+) more tables?, listed with the question$", prompt)
    assert len(listed) + (int(more.group(1)) if more else 0) == len(tables)


@pytest.mark.parametrize("count", [1, 3, 40, 400])
def test_many_tables_are_listed_compactly_then_counted(count):
    prompt = student_system_prompt([table(f"table_{i}", 12) for i in range(count)])
    assert len(prompt) <= STUDENT_PROMPT_LIMIT
    if count <= 3:  # room for every column
        assert "more" not in prompt and prompt.count("column_11 (int)") == count
    else:
        assert "- table_0: " in prompt and ("more tables" in prompt) == (count == 400)
