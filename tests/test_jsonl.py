"""Durable JSONL: readers skip a line cut off by a kill and never write; the writer removes it,
whatever its length, before appending; whole lines stay."""

from __future__ import annotations

import json

import pytest

from csvdsl.pipeline.jsonl import append_line, repair, rows


@pytest.mark.parametrize("tail", ['{"a": 3', '{"a": "' + "x" * 200_000, ""])
def test_a_cut_off_last_line_is_removed(tmp_path, tail):
    path = tmp_path / "f.jsonl"
    for value in (1, 2):
        append_line(path, json.dumps({"a": value, "pad": "y" * 100_000}))
    with open(path, "a") as handle:
        handle.write(tail)
    before = path.read_bytes()
    assert [row["a"] for row in rows(path)] == [1, 2]
    assert path.read_bytes() == before  # reading changed nothing
    repair(path)
    append_line(path, json.dumps({"a": 4}))
    assert [row["a"] for row in rows(path)] == [1, 2, 4]


def test_a_file_that_is_one_cut_line_becomes_empty(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text('{"a": ' + "1" * 100_000)
    repair(path)
    assert path.read_text() == "" and list(rows(path)) == []
    assert list(rows(tmp_path / "missing.jsonl")) == []
