"""Canonicalization: each rule's fixture file holds pairs of programs that must get the same
root id (``# same``) or different ones (``# different``); every program gives the same
results before and after canonicalization, and `same` pairs give equal results."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import ROOT
from csvdsl.check import check
from csvdsl.errors import DslError
from csvdsl.parse import parse
from csvdsl.program import table_types
from csvdsl.render import to_json
from csvdsl.tables import Catalog
from planner.canon import RULES
from planner.compile import compile_program
from planner.execute import execute

CANON = ROOT / "tests" / "fixtures" / "canon"


def load_pairs(path: Path) -> list[tuple[str, str, str]]:
    pairs = []
    for block in path.read_text(encoding="utf-8").split("\n---\n"):
        kind, _, body = block.strip().partition("\n")
        before, after = body.split("\n# vs\n")
        pairs.append((kind.lstrip("# ").strip(), before + "\n", after + "\n"))
    return pairs


CASES = [(path.stem, i, *pair) for path in sorted(CANON.glob("*.txt")) for i, pair in enumerate(load_pairs(path))]


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_specs([str(p) for p in sorted((ROOT / "examples" / "data").glob("*.csv"))])


def plan(text, catalog, canonical=True):
    return compile_program(check(parse(text), table_types(catalog)), canonical=canonical)


def result(text, catalog, canonical=True):
    compiled = plan(text, catalog, canonical)
    try:
        value = execute(compiled, {n: catalog[n].frame for n in catalog.names()}).answer
    except DslError as error:  # a rewrite must not change whether a program fails either
        return {"type": "error", "value": error.code}, False
    return to_json(value), value.ordered


def _normal(value):
    if isinstance(value, float):
        return "null" if math.isnan(value) else f"{value:.9g}"
    return repr(value)


def equal_results(a, b) -> bool:
    (json_a, ordered), (json_b, _) = a, b
    if json_a["type"] != json_b["type"]:
        return False
    if json_a["type"] == "table":  # modulo column order: rewrites may move derived columns
        names = sorted(json_a["value"]["columns"])
        if names != sorted(json_b["value"]["columns"]):
            return False
        rows_a, rows_b = ([tuple(_normal(dict(zip(t["value"]["columns"], r))[n]) for n in names) for r in t["value"]["rows"]]
                          for t in (json_a, json_b))
        return rows_a == rows_b if ordered else sorted(rows_a) == sorted(rows_b)
    if json_a["type"] == "list":
        items_a, items_b = list(map(_normal, json_a["value"])), list(map(_normal, json_b["value"]))
        return items_a == items_b if ordered else sorted(items_a) == sorted(items_b)
    return _normal(json_a["value"]) == _normal(json_b["value"])


def test_every_rule_has_a_fixture_file():
    assert {rule.__name__ for rule in RULES} <= {p.stem for p in CANON.glob("*.txt")}


@pytest.mark.parametrize("rule, index, kind, before, after", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_canonical_roots(rule, index, kind, before, after, catalog):
    same_root = plan(before, catalog).root == plan(after, catalog).root
    assert same_root is (kind == "same")
    if kind == "same" and rule != "binding_names":
        # the pair differs until the rule runs, so the rule is what makes them equal
        assert plan(before, catalog, canonical=False).root != plan(after, catalog, canonical=False).root


@pytest.mark.parametrize("rule, index, kind, before, after", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_rules_keep_results(rule, index, kind, before, after, catalog):
    for text in (before, after):
        assert equal_results(result(text, catalog, canonical=False), result(text, catalog, canonical=True)), text
    if kind == "same":
        assert equal_results(result(before, catalog, canonical=False), result(after, catalog, canonical=False))


def test_issue_acceptance_pair_gets_one_root(catalog):
    a = plan('a = flights | filter origin == "JFK" and dep_delay > 60 | aggregate n = count()\nanswer a.n', catalog).root
    b = plan('b = flights | filter dep_delay > 60 | filter "JFK" == origin | aggregate n = count()\nanswer b.n', catalog).root
    c = plan('b = flights | filter dep_delay > 60 | filter "LGA" == origin | aggregate n = count()\nanswer b.n', catalog).root
    assert a == b != c


def test_canonical_derive_keeps_written_column_order(catalog):
    json, _ = result("a = airlines | derive z = 1, a = 2 | take 1\nanswer a", catalog)
    assert json["value"]["columns"] == ["carrier", "name", "z", "a"]
