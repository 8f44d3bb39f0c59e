"""The built-in teacher's words: questions in several phrasings with headers spoken as words,
hints without binding letters or contradictions, and tasks that compose several skills."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict

import pytest
from conftest import ROOT

from csvdsl import ast
from csvdsl.parse import parse
from csvdsl.pipeline.export import load_records
from csvdsl.pipeline.generate import generate
from csvdsl.pipeline.skills import skills
from csvdsl.pipeline.questions import QUESTIONS
from csvdsl.pipeline.synth import FAMILIES
from csvdsl.program import plan_program
from csvdsl.tables import Catalog
from planner.words import number_text, spoken

DATA = ROOT / "examples" / "data"
DEMO = sorted(str(p) for p in DATA.glob("*.csv"))  # what `make demo` reads, with its settings below
ENGLISH_WORDS = {"a", "total", "first", "number", "those", "values"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    summary = generate(DEMO, out, per_table=10, seed=7, progress=False)
    return load_records(out), summary


@pytest.mark.parametrize("name, words", [
    ("body_mass_g", "body mass (g)"), ("flipper_length_mm", "flipper length (mm)"),
    ("sched_arr_time", "scheduled arrival time"), ("dep_delay", "departure delay"), ("time_hour", "time hour"),
    ("unitPrice", "unit price"), ("FAA", "FAA"), ("x1", "x1"), ("Unit Price", "Unit Price"), ("carrier", "carrier"),
])
def test_headers_are_spoken_as_words(name, words):
    assert spoken(name) == words


@pytest.mark.parametrize("value, text", [(2013, "2013"), (336776, "336,776"), (-12345.5, "-12,345.5"), (0.25, "0.25"),
                                         (4.0, "4"), (1e20, "1e+20")])
def test_numbers_are_written_as_people_write_them(value, text):
    assert number_text(value) == text
    assert float(text.replace(",", "")) == value  # the value never changes


def test_every_family_has_several_phrasings():
    for family, _ in FAMILIES:
        names = [family.__name__] + (["top_value"] if family.__name__ == "top_values" else [])
        for name in names:
            assert len(set(QUESTIONS[name])) >= 2, name


def test_the_seed_picks_among_the_phrasings(tmp_path):
    generate(DEMO, tmp_path, per_table=30, seed=3, progress=False)
    templates = {name: [re.compile("^" + re.sub(r"\\\{\w+\\\}", ".*", re.escape(t)) + "$") for t in texts]
                 for name, texts in QUESTIONS.items()}
    used = defaultdict(set)
    families = Counter()
    for record in load_records(tmp_path):
        matches = {(name, i) for name, patterns in templates.items() for i, p in enumerate(patterns) if p.match(record.question)}
        assert matches, record.question
        for name, index in matches:
            used[name].add(index)
            families[name] += 1
    for name, count in families.items():
        if count >= 6:
            assert len(used[name]) >= 2, f"{name}: one phrasing in {count} questions"


def test_demo_hints_name_results_by_what_they_hold(demo):
    records, _ = demo
    for record in records:
        program = parse(record.program)
        bindings = {s.name for s in program.statements if isinstance(s, ast.Binding)}
        generated = {i.name for s in program.statements if isinstance(s, ast.Binding)
                     for t in s.pipeline.transforms for i in getattr(t, "items", ()) if hasattr(i, "name")}
        data_columns = {c.name for t in record.tables for c in t.columns}
        letters = (bindings | generated) - data_columns - ENGLISH_WORDS
        words = set(re.findall(r"(?<![\w'-])[A-Za-z_][A-Za-z0-9_]*(?![\w'-])", record.hint))  # not p-value, t-test
        found = letters & words
        assert not found, f"{found} in:\n{record.hint}"
        assert "Over all" not in record.hint, record.hint  # "over all penguins" after keeping some
        steps = [line.split(". ", 1)[1] for line in record.hint.splitlines()]
        assert len(steps) == len(set(steps)), record.hint


def test_demo_hints_do_not_contradict_a_filter(demo):
    """A step right after a filter speaks of the rows it kept ("those ..."), never of all rows."""
    records, _ = demo
    for record in records:
        lines = record.hint.splitlines()
        for before, after in zip(lines, lines[1:]):
            if re.match(r"\d+\. Keep the \w+ (whose|where|for which)", before) and after.split(". ", 1)[1].startswith(("Compute", "Over")):
                assert "those" in after or "whose" in after, f"{before}\n{after}"


def test_demo_questions_speak_headers_as_words(demo):
    records, _ = demo
    for record in records:
        for column in {c.name for t in record.tables for c in t.columns if "_" in c.name}:
            assert not re.search(rf"\b{re.escape(column)}\b", record.question), record.question
        for number in re.findall(r"(?<![\d,.])\d{5,}(?![\d,])", record.question):
            pytest.fail(f"{number} without thousands separators: {record.question}")


def test_most_demo_tasks_compose_several_skills(demo):
    records, summary = demo
    composed = [r for r in records if r.difficulty.operations >= 4 and len(r.difficulty.skills) >= 2]
    assert len(composed) >= 0.6 * len(records), Counter(r.difficulty.operations for r in records)
    assert summary.composed == len(composed)
    assert sum(summary.skills.values()) == sum(len(r.difficulty.skills) for r in records)
    assert len({level for r in records for level in [r.difficulty.level]}) == 3


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_specs(DEMO)


@pytest.mark.parametrize("program, expected", [
    ('t = flights | filter origin == "JFK" | aggregate n = count()\nanswer t.n', ["filtering", "counting"]),
    ("t = flights | group carrier aggregate m = mean(dep_delay) | sort m desc | take 1\nanswer t.carrier",
     ["superlatives", "grouping", "statistics"]),
    ("a = flights | aggregate m = mean(dep_delay)\nt = flights | filter dep_delay > a.m | aggregate n = count()\nanswer t.n",
     ["filtering", "counting", "comparison", "statistics"]),
    ("t = flights | derive p = month(time_hour) | group p aggregate n = count() | join airlines on carrier\nanswer t",
     ["counting", "time", "grouping", "joins"]),
    ("t = flights | derive r = rank(distance desc), d = arr_delay - dep_delay | filter r <= 3\nanswer t.d",
     ["filtering", "superlatives", "arithmetic", "windows"]),
    ("t = flights | filter dep_delay is not null | aggregate s = sum(distance)\nanswer t.s", []),
])
def test_skills_are_read_off_the_plan(program, expected, catalog):
    if "join airlines" in program:
        program = program.replace("group p aggregate", "group p, carrier aggregate")
    assert skills(plan_program(program, catalog)[1]) == expected


def test_generation_is_deterministic_in_its_words(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        generate([str(DATA / "penguins.csv")], out, per_table=8, seed=random.Random(5).randint(0, 99), progress=False)
    assert (first / "tasks.jsonl").read_bytes() == (second / "tasks.jsonl").read_bytes()


@pytest.mark.parametrize("program, reason", [
    ("s = people | aggregate m = mean(age), x = max(score)\nanswer mean = s.m, top = s.x", None),
    ("s = people | filter age > 1000 | aggregate m = mean(age), n = count()\nanswer mean = s.m, n = s.n", "null-answer"),
])
def test_a_record_answer_is_as_good_as_its_worst_part(program, reason):
    from csvdsl.engine import Engine
    from csvdsl.pipeline.synth import answer_rejection

    engine = Engine({"people": str(ROOT / "tests" / "data" / "people.csv")})
    assert answer_rejection(engine.run(program).answer) == reason
