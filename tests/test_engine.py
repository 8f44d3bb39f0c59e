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
