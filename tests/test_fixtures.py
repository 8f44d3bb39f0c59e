"""Every program in tests/fixtures runs to its expected answer or fails with its expected error.

A fixture file starts with header comments: ``# csv: t1 t2`` (tables), then either
``# expect: JSON`` (the ``--format json`` answer) or ``# error: CODE LINE:COL HINT-TEXT``.
The rest of the file is the program."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from conftest import ROOT
from csvdsl.errors import DslError
from csvdsl.format import format_program
from csvdsl.parse import parse
from csvdsl.program import run_program
from csvdsl.render import to_json

FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("*/*.dsl"))
_HEADERS = ("# csv:", "# expect:", "# error:")


def load_fixture(path: Path) -> dict:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = {}
    while lines and lines[0].startswith(_HEADERS):
        key, _, value = lines.pop(0)[2:].partition(":")
        header[key] = value.strip()
    return {"csv": header["csv"].split(), "expect": header.get("expect"), "error": header.get("error"),
            "program": "\n".join(lines) + "\n"}


def same(expected, actual) -> bool:
    """JSON values equal, numbers within a relative 1e-9."""
    if isinstance(expected, float) or isinstance(actual, float):
        return isinstance(actual, (int, float)) and not isinstance(actual, bool) and isinstance(expected, (int, float)) \
            and math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(same, expected, actual))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and expected.keys() == actual.keys() and all(same(expected[k], actual[k]) for k in expected)
    return type(expected) is type(actual) and expected == actual


def check_fixture(fixture: dict, run) -> None:
    """``run(program)`` gives the fixture's answer, or raises its error at its position."""
    if fixture["expect"] is not None:
        expected, actual = json.loads(fixture["expect"]), to_json(run(fixture["program"]).answer)
        assert same(expected, actual), f"expected {expected}\n     got {actual}"
        return
    code, position, hint = fixture["error"].split(" ", 2)
    line, column = map(int, position.split(":"))
    with pytest.raises(DslError) as caught:
        run(fixture["program"])
    error = caught.value
    assert (error.code, error.line, error.column) == (code, line, column), error.render()
    assert hint in (error.hint or ""), error.render()
    assert "^" in error.render()


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture(path, catalogs):
    fixture = load_fixture(path)
    catalog = catalogs(fixture["csv"])
    check_fixture(fixture, lambda program: run_program(program, catalog))


@pytest.mark.parametrize("path", [p for p in FIXTURES if load_fixture(p)["expect"]], ids=lambda p: p.stem)
def test_fixture_round_trips_through_the_formatter(path):
    program = parse(load_fixture(path)["program"])
    text = format_program(program)
    assert parse(text) == program
    assert format_program(parse(text)) == text
