"""The Engine: programs share node results by id through a byte-bounded LRU cache."""

from __future__ import annotations

import pandas as pd
import pytest

from csvdsl.engine import Engine
from csvdsl.render import to_json
from planner.cache import ResultCache, frame_bytes

PEOPLE = "tests/data/people.csv"


def programs(n):
    # 16 "students" filter the same way, then each asks something different.
    asks = ["count()", "mean(score)", "max(age)", "min(score)", "count(city)", "sum(age)", "median(age)", "count_distinct(city)"]
    return [f'x = people | filter age > 20 and city != "Rome"\ny = x | aggregate v = {asks[i % len(asks)]}\nanswer y.v' for i in range(n)]


def test_shared_sub_plans_run_once():
    engine = Engine({"people": PEOPLE})
    for text in programs(16):
        engine.run(text)
    stats = engine.stats
    # the shared filter missed once and hit 15 times; the 8 distinct aggregates hit on repeats
    assert stats.misses == 1 + 8
    assert stats.hits == 15 + 8


def test_cached_and_uncached_results_agree():
    cached, uncached = Engine({"people": PEOPLE}), Engine({"people": PEOPLE}, cache_bytes=0)
    for text in programs(8) * 2:
        assert to_json(cached.run(text).answer) == to_json(uncached.run(text).answer)
    assert uncached.stats.hits == 0 and cached.stats.hits > 0


def test_lru_eviction_keeps_the_cache_under_its_byte_bound():
    frames = {f"n{i}": pd.DataFrame({"x": range(1000)}) for i in range(5)}
    size = frame_bytes(frames["n0"])
    cache = ResultCache(capacity=3 * size)
    for key, frame in frames.items():
        cache.put(key, frame)
    assert cache.stats.bytes <= 3 * size and cache.stats.evictions == 2
    assert cache.get("n0") is None and cache.get("n4") is frames["n4"]
    cache.get("n2")  # n2 becomes most recent, so n3 goes next
    cache.put("n5", pd.DataFrame({"x": range(1000)}))
    assert cache.get("n3") is None and cache.get("n2") is not None


def test_a_result_larger_than_the_cache_is_not_kept():
    cache = ResultCache(capacity=100)
    cache.put("big", pd.DataFrame({"x": range(1000)}))
    assert cache.stats.entries == 0 and cache.get("big") is None


def test_engine_takes_paths_and_frames():
    engine = Engine({"people": PEOPLE, "extra": pd.DataFrame({"k": [1, 2, 3]})})
    assert engine.run("e = extra | aggregate s = sum(k)\nanswer e.s").answer.value == 6
    with pytest.raises(Exception) as caught:
        Engine({"missing": "no/such/file.csv"})
    assert getattr(caught.value, "code", None) == "csv-not-found"


def test_frame_bytes_counts_block_by_block_as_column_by_column():
    """frame_bytes sums the blocks' buffers: the same total as the columns' (views count their part)."""
    frame = Engine({"people": PEOPLE}).tables["people"]
    wide = frame.assign(twice=frame["age"] * 2, label=frame["city"].astype("category"), flag=frame["age"] > 30)
    for case in (frame, frame.copy(), wide, wide.copy(), wide[["age", "city"]], wide[wide["age"] > 30], wide.iloc[::2],
                 wide.head(0), pd.DataFrame(), pd.DataFrame({"a": pd.array([1, None], dtype="Int64")})):
        assert frame_bytes(case) == sum(column.array.nbytes for _, column in case.items())


def test_small_sorts_order_rows_as_pandas_does():
    """Up to SMALL_SORT rows a sort is done in Python: stable, nulls last either way, as sort_values."""
    import random
    from types import SimpleNamespace

    import numpy as np

    from planner.ops import _small_order

    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(2, 40))
        frame = pd.DataFrame({
            "i": rng.integers(0, 4, n),
            "f": np.where(rng.random(n) < 0.2, np.nan, np.array([-0.0, 0.0, 0.5, -1.5, np.inf])[rng.integers(0, 5, n)]),
            "s": pd.Series(rng.choice(["a", "B", "b", "é", "aa", ""], n), dtype="str").mask(rng.random(n) < 0.2),
            "d": pd.Series(pd.to_datetime(rng.integers(0, 3, n), unit="D")).mask(rng.random(n) < 0.2),
            "b": pd.array(np.where(rng.random(n) < 0.3, None, rng.random(n) < 0.5), dtype="boolean"),
        }, index=rng.permutation(n) * 3)
        names = random.Random(trial).sample(list(frame.columns), k=int(rng.integers(1, 4)))
        keys = [SimpleNamespace(column=SimpleNamespace(name=c), descending=bool(rng.random() < 0.5)) for c in names]
        expected = frame.sort_values(names, ascending=[not k.descending for k in keys], kind="stable", na_position="last")
        assert frame.take(_small_order(frame, keys)).index.equals(expected.index), (names, [k.descending for k in keys])


@pytest.mark.parametrize("step", [
    "group city aggregate n = count()", "group city aggregate m = mean(score), n = count(), a = max(age)",
    "group city, age aggregate s = sum(score)", "derive old = age > 30 | group old, city aggregate n = count()",
    "filter age > 1000 | group city aggregate n = count()", "group city aggregate n = count() * 2, m = median(score)",
    "aggregate m = mean(score), n = count(), c = max(city)", "filter age > 1000 | aggregate m = mean(score), c = max(city)",
])
def test_bare_aggregates_build_the_table_the_joined_way(step, monkeypatch):
    """A group or aggregate whose items are bare aggregates is built in one frame: the same
    values and types as through the joined table."""
    import planner.ops as ops

    text = f"d = people | {step}\nanswer d"
    fast = Engine({"people": PEOPLE}, cache_bytes=0).run(text).answer.value
    monkeypatch.setattr(ops, "_bare_aggregates", lambda *args: None)
    slow = Engine({"people": PEOPLE}, cache_bytes=0).run(text).answer.value
    pd.testing.assert_frame_equal(fast, slow)


def test_a_plans_order_is_found_once_and_filtered_per_outputs():
    import networkx as nx

    plan = Engine({"people": PEOPLE}).run("a = people | filter age > 20\nb = a | aggregate n = count()\nanswer b.n").plan
    everything = list(nx.lexicographical_topological_sort(plan.graph))
    assert plan.needed() == everything and plan.needed() == everything  # the second from the kept order
    answer = [o for o in plan.outputs if o.kind == "answer"]
    assert plan.needed(answer) == [n for n in everything if n in nx.ancestors(plan.graph, plan.root) | {plan.root}]


def test_the_workers_reader_splits_messages_that_arrive_together():
    """Replies read in chunks: several framed messages in one read, and one split over reads."""
    import os

    from csvdsl.worker import _HEADER, _Reader

    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb", buffering=0) as source, os.fdopen(write_end, "wb", buffering=0) as sink:
        reader = _Reader(source)
        sink.write(b"".join(_HEADER.pack(len(m)) + m for m in (b"one", b"", b"three")) + _HEADER.pack(4) + b"fo")
        assert [reader.message(1.0) for _ in range(3)] == [b"one", b"", b"three"]
        sink.write(b"ur")
        assert reader.message(1.0) == b"four"
        with pytest.raises(TimeoutError):
            reader.message(0.05)  # nothing more was sent


def test_number_comparisons_and_logic_on_arrays_agree_with_the_series_ops(monkeypatch):
    """Columns of plain numbers are compared in numpy, and and/or combine the arrays: the same
    three-valued results as pandas' Series ops (NaN is null; a constant past int64 falls back)."""
    import itertools

    import numpy as np

    import planner.evaluate as ev
    from csvdsl import ast

    rng = np.random.default_rng(3)
    n = 40
    frame = pd.DataFrame({"i": rng.integers(-3, 3, n), "u": rng.integers(0, 3, n).astype("uint8"),
                          "f": np.where(rng.random(n) < 0.3, np.nan, rng.integers(-3, 3, n) * 0.5),
                          "b": rng.random(n) < 0.5}, index=pd.RangeIndex(n) * 2)
    scope = ev.Scope(frame, [frame])
    operands = [ast.Column("i"), ast.Column("u"), ast.Column("f"), ast.Literal(1), ast.Literal(-1.5), ast.Literal(2**63 + 5)]
    conditions = [ast.Binary(op, a, b) for op in ev._COMPARE for a, b in itertools.product(operands, repeat=2)
                  if isinstance(a, ast.Column) or isinstance(b, ast.Column)]
    conditions += [ast.Logical(op, parts) for op in ("and", "or") for parts in itertools.product(
        [conditions[0], conditions[7], ast.Column("b"), ast.Literal(True), ast.Literal(None)], repeat=2)]

    def results():
        out = []
        for condition in conditions:
            value = ev.evaluate(condition, scope)
            out.append((value.astype(object).where(value.notna(), None).tolist(), str(value.dtype)) if isinstance(value, pd.Series) else value)
        return out

    fast = results()
    monkeypatch.setattr(ev, "_compare_numbers", lambda *args: None)

    def series_logical(expr, scope):  # the Series ops, as before
        values = [ev._as_bool(ev.evaluate(o, scope)) for o in expr.operands]
        out = values[0]
        for value in values[1:]:
            out = (out & value) if expr.op == "and" else (out | value)
        return None if out is pd.NA else out

    monkeypatch.setitem(ev._EVAL, ast.Logical, series_logical)
    assert fast == results()


def test_a_plans_kept_order_follows_its_graph():
    """The memo of the order is the graph's: a plan given another graph orders that one."""
    import dataclasses

    engine = Engine({"people": PEOPLE})
    plan = engine.run("a = people | filter age > 20\nanswer a").plan
    other = engine.run("b = people | filter age > 30 | take 2\nanswer b").plan
    plan.needed()
    moved = dataclasses.replace(plan, graph=other.graph, outputs=other.outputs)
    assert moved.needed() == other.needed() != plan.needed()


def test_normalize_stores_whole_numbers_and_booleans_without_nulls_natively():
    """Only int and bool columns are looked at: floats of whole numbers without nulls become
    int64, nullable booleans without nulls bool; everything else is left as it is."""
    import numpy as np

    from csvdsl.check import TableType
    from planner.execute import _normalize

    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, np.nan], "c": pd.array([True, False], dtype="boolean"),
                          "d": pd.array([True, None], dtype="boolean"), "e": [1.5, 2.0], "f": ["x", "y"], "g": [3, 4]})
    schema = TableType((("a", "int"), ("b", "int"), ("c", "bool"), ("d", "bool"), ("e", "float"), ("f", "string"), ("g", "int")))
    out = _normalize(frame, schema)
    assert [str(t) for t in out.dtypes] == ["int64", "float64", "bool", "boolean", "float64", str(frame["f"].dtype), "int64"]
    assert out["a"].tolist() == [1, 2] and out["c"].tolist() == [True, False]
    same = frame[["b", "d", "e"]]
    assert _normalize(same, TableType((("b", "int"), ("d", "bool"), ("e", "float")))) is same  # nothing to change
