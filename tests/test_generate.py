"""The batch job: deterministic, resumable tasks whose programs give their recorded answers and
whose questions name every column and constant (the export is tests/test_export.py)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from csvdsl import ast
from csvdsl.format import format_expr
from csvdsl.parse import parse
from csvdsl.pipeline.export import load_records
from csvdsl.pipeline.generate import generate
from csvdsl.program import run_program
from csvdsl.render import to_json
from csvdsl.tables import Catalog
from planner.ops import spec_exprs
from planner.words import number_text, spoken
from verifier.answers import compare

DATA = ROOT / "examples" / "data"
SPECS = [str(DATA / f"{name}.csv") for name in ("flights", "airlines", "planes", "penguins")]
PER_TABLE = 6


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tasks")
    generate(SPECS, out, PER_TABLE, seed=11, progress=False)
    return out


def test_the_same_seed_gives_the_same_bytes(generated, tmp_path):
    generate(SPECS, tmp_path, PER_TABLE, seed=11, progress=False)
    assert (tmp_path / "tasks.jsonl").read_bytes() == (generated / "tasks.jsonl").read_bytes()
    other = tmp_path / "other"
    generate(SPECS, other, PER_TABLE, seed=12, progress=False)
    assert (other / "tasks.jsonl").read_bytes() != (generated / "tasks.jsonl").read_bytes()


def test_a_cut_run_resumes_to_the_same_file(generated, tmp_path):
    full = (generated / "tasks.jsonl").read_bytes()
    lines = full.splitlines(keepends=True)
    (tmp_path / "tasks.jsonl").write_bytes(b"".join(lines[:5]) + lines[5][:40])  # killed while writing line 6
    summary = generate(SPECS, tmp_path, PER_TABLE, seed=11, progress=False)
    assert (tmp_path / "tasks.jsonl").read_bytes() == full
    assert summary.resumed == 5


def test_a_killed_process_resumes_without_duplicates(generated, tmp_path):
    command = [sys.executable, "-m", "csvdsl", "generate", *SPECS, "--out", str(tmp_path), "--per-table", str(PER_TABLE),
               "--seed", "11", "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        path = tmp_path / "tasks.jsonl"
        if path.exists() and path.read_bytes().count(b"\n") >= 3:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    process.wait()
    subprocess.run(command, cwd=ROOT, check=True)
    assert (tmp_path / "tasks.jsonl").read_bytes() == (generated / "tasks.jsonl").read_bytes()


def test_every_program_gives_its_recorded_answer(generated):
    records = load_records(generated)
    assert len(records) >= 3 * PER_TABLE  # airlines has no column to ask about; the others do
    assert len({r.id for r in records}) == len(records)
    catalogs = {}
    for record in records:
        specs = [f"{t.name}={t.file}" for t in record.tables]
        catalog = catalogs.setdefault(tuple(specs), Catalog.from_specs(specs))
        assert compare(record.answer, to_json(run_program(record.program, catalog).answer)).score == 1.0, record.program


def test_csvdsl_run_reproduces_answers(generated):
    for record in load_records(generated)[::5]:
        args = sum((["--csv", f"{t.name}={t.file}"] for t in record.tables), [])
        done = subprocess.run([sys.executable, "-m", "csvdsl", "run", "-e", record.program, *args, "--format", "json"],
                              capture_output=True, text=True, cwd=ROOT, check=True)
        assert json.loads(done.stdout) == record.answer


def _mentions(record) -> tuple[set[str], set[str]]:
    """The source columns and the constants a program uses."""
    program = parse(record.program)
    data_columns = {c.name for t in record.tables for c in t.columns}
    columns, constants = set(), set()
    for statement in program.statements:
        exprs = [statement.expr] if isinstance(statement, ast.Answer) else []
        for transform in getattr(getattr(statement, "pipeline", None), "transforms", ()):
            exprs += spec_exprs(transform)
            for field in ("keys", "columns"):
                for item in getattr(transform, field, ()):
                    name = getattr(item, "name", None) or getattr(getattr(item, "column", None), "name", None)
                    if name in data_columns:
                        columns.add(name)
            if isinstance(transform, ast.Take) and transform.count != 1:  # take 1: "which ... has the most"
                constants.add(str(transform.count))
        for expr in exprs:
            for node in ast.walk(expr):
                if isinstance(node, ast.Column) and node.name in data_columns:
                    columns.add(node.name)
                if isinstance(node, ast.Ref) and node.column in data_columns:
                    columns.add(node.column)
                if isinstance(node, ast.Literal) and node.value is not None:
                    constants.add(node.value if isinstance(node.value, str) else format_expr(node))
    return columns, constants


def test_every_question_names_its_columns_and_constants(generated):
    for record in load_records(generated):
        columns, constants = _mentions(record)
        assert columns, record.program
        # Columns may be spoken as words (body_mass_g: "body mass (g)"), numbers written with
        # separators (336,776), and a percentage's 100 as "percent"; whole words, so `dep_time`
        # does not pass as part of `sched_dep_time`.
        for word in columns | constants:
            forms = {str(word), spoken(str(word)) if word in columns else str(word)}
            if isinstance(word, str) and re.fullmatch(r"-?\d+(\.\d+)?", word):
                forms.add(number_text(float(word) if "." in word else int(word)))
            if word == "100":
                forms |= {"percent", "percentage"}
            assert any(re.search(rf"(?<![\w.]){re.escape(form)}(?![\w])", record.question) for form in forms), \
                f"{word!r} missing from: {record.question}\n{record.program}"


def test_records_carry_what_training_needs(generated):
    record = load_records(generated)[0]
    assert [m.role for m in record.conversation] == ["system", "user", "assistant"]
    assert "csvdsl" in record.conversation[0].content and record.question in record.conversation[1].content
    assert record.conversation[2].content.startswith("```csvdsl\n")
    assert record.hint.startswith("1. Start from the ")
    assert record.plan["root"] and record.tables[0].sha256 and record.origin.teacher == "synth"
    levels = {r.difficulty.level for r in load_records(generated)}
    assert len(levels) >= 2  # a spread of difficulty


def test_cli_generate_then_export(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "csvdsl", "generate", SPECS[3], "--out", str(out), "--per-table", "3"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "tasks per table" in done.stdout and "rejected candidates" in done.stdout
    assert json.loads((out / "summary.json").read_text())["tasks"] == {"penguins": 3}
    done = subprocess.run([sys.executable, "-m", "csvdsl", "export", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert (out / "sft.jsonl").exists() and (out / "rl.jsonl").exists() and (out / "hf" / "README.md").exists()
