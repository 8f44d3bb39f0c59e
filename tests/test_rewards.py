"""Reward functions called the way TRL's GRPOTrainer calls them: prompts, completions and
completion_ids, plus the dataset's extra columns as keyword lists."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from verifier.rewards import (REWARDS, answer_reward, engine_for_tables, extract_program, format_reward, hook_reward,
                              plan_similarity_reward)

TABLES = json.dumps({"flights": str(ROOT / "examples" / "data" / "flights.csv")})
TEACHER = 'd = flights | filter dep_delay > 60 and origin in ["JFK", "LGA"]\ntop = d | group carrier aggregate n = count() | sort n desc | take 3\nanswer top.carrier'
ANSWER = {"type": "list", "value": ["B6", "DL", "9E"]}
COMPLETIONS = [
    "Delays over an hour, then count per carrier.\n```csvdsl\n" + TEACHER + "\n```",                  # the teacher's own
    [{"role": "assistant", "content": "```csvdsl\n" + TEACHER.replace('["JFK", "LGA"]', '["LGA", "JFK"]') + "\n```"}],
    "```csvdsl\nx = flights | derive late = case when dep_delay > 60 and origin in [\"JFK\", \"LGA\"] then 1 else 0 end\n"
    "y = x | group carrier aggregate n = sum(late) | sort n desc | take 3\nanswer y.carrier\n```",     # another route
    "```csvdsl\nd = flights | filter dep_delay > 60 | group carrier aggregate n = count() | sort n desc | take 3\nanswer d.carrier\n```",
    "```csvdsl\nflights | filter dep_delay >\n```",                                                     # does not parse
    "```csvdsl\nanswer flights.nope\n```",                                                              # does not check
]


def call(reward, completions=COMPLETIONS, **columns):
    n = len(completions)
    defaults = {"answer": [json.dumps(ANSWER)] * n, "program": [TEACHER] * n, "tables": [TABLES] * n}
    defaults.update(columns)
    return reward(prompts=["Which carriers ...?"] * n, completions=completions, completion_ids=[[0]] * n, **defaults)


def test_answer_reward():
    assert call(answer_reward) == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


def test_answer_reward_takes_dicts_and_order_from_the_teacher():
    shuffled = ["```csvdsl\nd = flights | filter dep_delay > 60 and origin in [\"JFK\", \"LGA\"] | group carrier aggregate n = count() | sort n\nt = d | sort n desc | take 3 | sort carrier\nanswer t.carrier\n```"]
    assert call(answer_reward, shuffled, answer=[ANSWER], program=[TEACHER], tables=[json.loads(TABLES)]) == [0.0]
    assert call(answer_reward, shuffled, answer=[ANSWER], program=[None], tables=[TABLES]) == [1.0]  # no program: order unknown


def test_plan_similarity_reward():
    scores = call(plan_similarity_reward)
    assert scores[0] == scores[1] == 1.0
    assert 0 < scores[2] < 1 and 0 < scores[3] < 1
    assert scores[4] == scores[5] == 0.0


def test_hook_reward():
    scores = call(hook_reward)
    assert scores[:2] == [1.0, 1.0] and 0 < scores[2] < 1 and scores[4:] == [0.0, 0.0]


def test_format_reward():
    assert call(format_reward) == [1.0, 1.0, 1.0, 1.0, 0.0, 0.5]
    assert format_reward(completions=["answer 1", "answer ("]) == [1.0, 0.0]


def test_missing_columns_give_none():
    assert call(answer_reward, COMPLETIONS[:1], answer=[None]) == [None]
    assert plan_similarity_reward(completions=COMPLETIONS[:1]) == [None]


def test_every_reward_returns_one_float_per_completion():
    for reward in REWARDS:
        scores = call(reward)
        assert len(scores) == len(COMPLETIONS) and all(0.0 <= s <= 1.0 for s in scores)


def test_tables_load_once_per_process():
    assert engine_for_tables(TABLES) is engine_for_tables(json.loads(TABLES))


@pytest.mark.parametrize("completion, program", [
    ("answer 1", "answer 1"),
    ("text\n```csvdsl\nanswer 1\n```\nmore\n```csvdsl\nanswer 2\n```", "answer 2"),
    ("```\nanswer 3\n```", "answer 3"),
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "```csvdsl\nanswer 4\n```"}], "answer 4"),
])
def test_extract_program(completion, program):
    assert extract_program(completion) == program


def test_rewards_never_raise_on_odd_completions():
    odd = [None, 42, "", [{"role": "assistant", "content": None}], "```csvdsl\n" + TEACHER]  # the last fence is cut off
    for reward in REWARDS:
        scores = call(reward, odd)
        assert len(scores) == len(odd) and all(s is None or 0.0 <= s <= 1.0 for s in scores), reward.__name__
    assert call(answer_reward, odd)[-1] == 1.0  # a cut-off fence still holds the program
    assert call(format_reward, odd)[:4] == [0.0, 0.0, 0.0, 0.0]


def test_format_reward_wants_an_answer():
    assert format_reward(completions=["flights | take 1"]) == [0.5]


def test_a_failing_teacher_gives_none():
    assert call(plan_similarity_reward, COMPLETIONS[:1], program=["answer flights.nope"]) == [None]


# ---------------------------------------------------------------- test-suite accuracy

from csvdsl.engine import Engine  # noqa: E402
from csvdsl.render import to_json  # noqa: E402
from verifier.variants import extremes, variant_catalogs  # noqa: E402

FLIGHTS = json.loads(TABLES)
CANON = ROOT / "tests" / "fixtures" / "canon"


def teacher_row(teacher: str, tables: str = TABLES) -> dict:
    return {"answer": json.dumps(to_json(Engine(json.loads(tables)).run(teacher).answer)), "program": teacher, "tables": tables}


def score(completions, teacher, reward=answer_reward, tables=TABLES):
    row = teacher_row(teacher, tables)
    return reward(completions=completions, **{name: [value] * len(completions) for name, value in row.items()})


def canon_pairs():
    for path in sorted(CANON.glob("*.txt")):
        for block in path.read_text().split("\n---\n"):
            kind, _, body = block.strip().partition("\n")
            before, after = body.split("\n# vs\n")
            if kind.strip() == "# same":
                yield pytest.param(before, after, id=f"{path.stem}-{len(before)}")


@pytest.mark.parametrize("before, after", list(canon_pairs()))
def test_every_canonicalization_pair_scores_one_both_ways(before, after):
    assert score([after], before) == [1.0] and score([before], after) == [1.0]


# Correct rewrites whose plans differ from the teacher's: they go through every variant.
REWRITES = [
    (TEACHER, COMPLETIONS[2]),
    ('d = flights | filter dep_delay > 60 | aggregate n = count()\nanswer d.n',
     'x = flights | derive late = case when dep_delay > 60 then 1 else 0 end | aggregate n = sum(late)\nanswer x.n'),
    ('m = flights | filter origin == "JFK" | aggregate a = mean(air_time)\nanswer m.a',
     'm = flights | filter origin == "JFK" and air_time is not null | aggregate s = sum(air_time), n = count()\n'
     'r = m | derive a = s / n\nanswer r.a'),
    ('t = flights | group origin aggregate d = max(distance) | sort d desc, origin | take 1\nanswer t.origin',
     'b = flights | aggregate d = max(distance)\nt = flights | filter distance == b.d | group origin aggregate k = count() | sort origin | take 1\nanswer t.origin'),
    ('a = flights | filter carrier == "UA" | aggregate m = mean(dep_delay)\nb = flights | filter carrier == "AA" | aggregate m = mean(dep_delay)\nanswer a.m > b.m',
     'g = flights | filter carrier in ["UA", "AA"] | group carrier aggregate m = mean(dep_delay) | sort m desc | take 1\nanswer g.carrier == "UA"'),
]


@pytest.fixture
def in_process():
    """Score in this process, so a test can look at the rewards' caches."""
    from verifier import rewards

    rewards.supervise(False)
    yield
    rewards.supervise(True)


@pytest.mark.parametrize("teacher, student", REWRITES, ids=["case-sum", "count-as-sum", "mean-as-ratio", "max-as-filter", "compare-as-rank"])
def test_correct_rewrites_with_other_plans_score_one(teacher, student, in_process):
    from verifier import rewards

    engine = engine_for_tables(TABLES)
    assert engine.run(teacher).plan.root != engine.run(extract_program(student)).plan.root  # the variants decide
    assert score([student], teacher) == [1.0]
    suite = next(s for (key, program), s in rewards._SUITES.items() if program == teacher)
    assert suite.discriminating and suite.checks


SCALAR_TASKS = [
    'd = flights | filter dep_delay > 60 and origin in ["JFK", "LGA"] | aggregate n = count()\nanswer d.n',
    't = flights | group carrier aggregate n = count() | sort n desc, carrier | take 1\nanswer t.carrier',
    'a = flights | filter carrier == "UA" | aggregate m = mean(dep_delay)\nb = flights | filter carrier == "AA" | aggregate m = mean(dep_delay)\nanswer a.m > b.m',
    'd = flights | filter origin == "EWR" | aggregate k = count_distinct(dest)\nanswer d.k',
    'd = flights | aggregate m = median(distance)\nanswer d.m',
]


def literal(value) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


@pytest.mark.parametrize("teacher", SCALAR_TASKS)
def test_literals_and_constants_dressed_as_data_score_zero(teacher):
    value = json.loads(teacher_row(teacher)["answer"])["value"]
    hacks = [f"answer {literal(value)}",
             f"c = flights | take 1 | derive k = {literal(value)}\nanswer c.k",
             f"c = flights | aggregate n = count() | derive k = {literal(value)}\nanswer c.k",
             f"# the answer is {value}\nx = flights | filter dep_delay > -1000 | take 1 | select k = {literal(value)}\nanswer x.k"]
    assert score(hacks, teacher) == [0.0] * len(hacks)
    assert score(["```csvdsl\n" + teacher + "\n```"], teacher) == [1.0]


def test_a_literal_list_scores_zero():
    assert call(answer_reward, ['answer ["B6", "DL", "9E"]', 'c = flights | take 3 | derive k = "B6"\nanswer c.k']) == [0.0, 0.0]


def test_variants_keep_schema_and_types_and_are_deterministic():
    engine = engine_for_tables(TABLES)
    first = variant_catalogs(engine.catalog, "key") + extremes(engine.catalog, "key")
    again = variant_catalogs(engine.catalog, "key") + extremes(engine.catalog, "key")
    original = engine.catalog["flights"]
    for (kind, catalog), (_, same) in zip(first, again):
        table = catalog["flights"]
        assert table.schema == original.schema, kind
        assert list(table.frame.dtypes) == list(original.frame.dtypes), kind
        assert table.frame.equals(same["flights"].frame), kind
        assert not table.frame.equals(original.frame), kind
        whole = [c for c, k in original.schema.items() if k == "int"]
        assert (table.frame[whole].dropna() % 1 == 0).all().all(), kind  # whole numbers stay whole
    assert not variant_catalogs(engine.catalog, "other")[0][1]["flights"].frame.equals(first[0][1]["flights"].frame)



def _planes(folder) -> str:
    """A table where almost every model is a 737: no sample, shuffle or few rows moves its most common prefix."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [f"737-{800 + n}" for n in range(40)] + ["A320-214", "A321-231"]
    (folder / "planes.csv").write_text("tailnum,model\n" + "".join(f"N{n}X,{model}\n" for n, model in enumerate(rows)))
    return json.dumps({"planes": str(folder / "planes.csv")})


def test_an_answer_no_sample_moves_is_checked_on_the_tables_without_its_rows(tmp_path, in_process):
    from verifier import rewards

    tables = _planes(tmp_path)
    teacher = 't = planes | derive p = extract(model, "^[^-]+") | group p aggregate n = count() | sort n desc, p | take 1\nanswer t.p'
    rewrite = 't = planes | derive p = extract(model, "^[0-9A-Z]+") | group p aggregate n = count() | sort n desc, p | take 1\nanswer t.p'
    hacks = ['answer "737"', 'c = planes | take 1 | derive k = "737"\nanswer c.k']
    assert score([rewrite] + hacks, teacher, tables=tables) == [1.0, 0.0, 0.0]
    suite = next(s for (key, program), s in rewards._SUITES.items() if program == teacher)
    assert suite.discriminating and any(key.endswith('#without:[["737"], []]') for key, _, _ in suite.checks)


def test_variants_are_seeded_by_the_tables_content_not_where_they_are(tmp_path, in_process):
    from verifier import rewards

    frames = []
    for folder in ("here", "there/else"):
        tables = _planes(tmp_path / folder)
        key = rewards._tables_key(tables)
        frames.append([v.catalog["planes"].frame for _, v in rewards._variant_engines(key, engine_for_tables(tables), extreme=True)])
    assert all(a.equals(b) for a, b in zip(*frames))


# ---------------------------------------------------------------- conversations


TWO_TURNS = [
    {"role": "assistant", "content": "First the long delays.\n```csvdsl\nd = flights | filter dep_delay > 60 and origin in [\"JFK\", \"LGA\"]\n```"},
    {"role": "user", "content": "bound d: 252 rows, 19 columns"},
    {"role": "assistant", "content": "```csvdsl\ntop = d | group carrier aggregate n = count() | sort n desc | take 3\nanswer top.carrier\n```"},
]


def test_a_two_turn_solution_scores_one():
    for reward in REWARDS:
        assert call(reward, [TWO_TURNS]) == [1.0], reward.__name__


def test_failed_turns_are_dropped_and_the_last_answer_counts():
    conversation = [
        {"role": "assistant", "content": "```csvdsl\nd = flights | filter dep_dely > 60\n```"},  # fails: nothing bound
        {"role": "user", "content": "The program failed: ..."},
        *TWO_TURNS,
        {"role": "user", "content": "answer (list): ..."},
        {"role": "assistant", "content": "```csvdsl\nd = flights | take 1\n```"},  # after the answer: no effect
    ]
    assert call(answer_reward, [conversation]) == [1.0]
    wrong_last = TWO_TURNS + [{"role": "assistant", "content": "```csvdsl\nanswer d.carrier\n```"}]
    assert call(answer_reward, [wrong_last]) == [0.0]


def test_tool_calls_hold_programs():
    def call_turn(program, as_text=False):
        arguments = json.dumps({"program": program}) if as_text else {"program": program}
        return {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "run", "arguments": arguments}}]}

    conversation = [call_turn('d = flights | filter dep_delay > 60 and origin in ["JFK", "LGA"]'),
                    {"role": "tool", "name": "run", "content": "bound d: 252 rows, 19 columns"},
                    call_turn("top = d | group carrier aggregate n = count() | sort n desc | take 3\nanswer top.carrier", True)]
    assert call(answer_reward, [conversation]) == [1.0]
    assert call(format_reward, [conversation]) == [1.0]


def test_format_reward_is_zero_for_what_is_not_a_program():
    texts = ["gibberish", "flights", "The answer is 830.", "", "```csvdsl\n```"]
    assert call(format_reward, texts) == [0.0] * len(texts)
    assert format_reward(completions=texts) == [0.0] * len(texts)
    assert call(format_reward, ["describe flights", "flights | take 3"]) == [0.5, 0.5]


@settings(max_examples=20, deadline=None)
@given(threshold=st.integers(-20, 400), origin=st.sampled_from(["JFK", "LGA", "EWR"]))
def test_rewrites_pay_and_written_down_answers_do_not_whatever_the_task(threshold, origin):
    teacher = f'd = flights | filter dep_delay > {threshold} and origin == "{origin}" | aggregate n = count()\nanswer d.n'
    rewrite = (f'x = flights | filter origin == "{origin}"\n'
               f'y = x | derive late = case when dep_delay > {threshold} then 1 else 0 end | aggregate n = sum(late)\nanswer y.n')
    value = json.loads(teacher_row(teacher)["answer"])["value"]
    assert score([rewrite, f"answer {value}", f"c = flights | take 1 | derive k = {value}\nanswer c.k"], teacher) == [1.0, 0.0, 0.0]


def test_a_completion_that_overruns_is_stopped_and_scores_zero():
    """Completions are scored in the supervised worker: past the deadline it is killed and
    replaced, the completion scores 0.0, and the next completion is scored as usual."""
    import time

    from verifier import rewards

    rewards.supervise(True, timeout=1.0)
    try:
        assert score([COMPLETIONS[2]], TEACHER) == [1.0]  # the worker is up
        restarts = rewards._SUPERVISION.pool.workers[0].restarts
        started = time.monotonic()
        assert rewards._SUPERVISION.score_all(time.sleep, [(30, {})]) == [0.0]  # a call that would hold the step for 30 s
        assert time.monotonic() - started < 10
        assert rewards._SUPERVISION.pool.workers[0].restarts == restarts + 1
        assert score([COMPLETIONS[2], "answer 224"], TEACHER) == [1.0, 0.0]
    finally:
        rewards.supervise(True)


def test_without_drops_the_rows_holding_an_answer_written_literally():
    from csvdsl.tables import Catalog, table_from_frame
    from verifier.variants import answer_parts, without

    frame = pd.DataFrame({"code": ["a.b-1", "axb-2", "c (d)", None], "n": [1.5, 2.0, 3.0, 4.0]})
    catalog = Catalog([table_from_frame("t", frame)])
    kept = without(catalog, "k", *answer_parts(["a.b", "c (d)"]))["t"].frame["code"]
    assert kept.iloc[0] == "axb-2" and len(kept) == 2 and kept.isna().iloc[1]
    assert without(catalog, "k", *answer_parts([2]))["t"].frame["n"].tolist() == [1.5, 3.0, 4.0]
    assert without(catalog, "k", *answer_parts(["zzz", True, ""])) is None


def test_a_row_whose_tables_cannot_be_read_scores_zero_and_the_others_are_scored():
    """In the worker (the default) and in process alike."""
    from verifier import rewards

    for on in (True, False):
        rewards.supervise(on)
        try:
            assert format_reward(completions=["answer 1", "answer 2"], tables=[TABLES, "{not json"]) == [1.0, 0.0]
        finally:
            rewards.supervise(True)


def test_a_tables_key_is_read_once_per_text_and_is_bounded():
    """A tables column's text is parsed once: the same content in other spellings gives one
    key, other tables another; the memo of texts keeps at most its capacity."""
    from verifier import rewards

    spaced = json.dumps(json.loads(TABLES), indent=1)
    assert rewards._tables_key(TABLES) == rewards._tables_key(spaced) == rewards._tables_key(json.loads(TABLES))
    other = json.dumps({"flights": str(ROOT / "examples" / "data" / "airlines.csv")})
    assert rewards._tables_key(other) != rewards._tables_key(TABLES)
    for n in range(rewards._KEYS.capacity + 10):
        rewards._tables_key(json.dumps({"t": f"{n}.csv"}))
    assert len(rewards._KEYS) == rewards._KEYS.capacity
    assert rewards._tables_key(TABLES) == json.dumps(json.loads(TABLES), sort_keys=True)  # made again after eviction


def test_variant_tables_are_stored_one_block_per_column_type():
    """Variants are copied whole once, so a filter of one takes a few blocks, not one per column."""
    engine = engine_for_tables(TABLES)
    for kind, catalog in variant_catalogs(engine.catalog, "key") + extremes(engine.catalog, "key"):
        frame = catalog["flights"].frame
        assert len(frame._mgr.blocks) == len(frame.copy()._mgr.blocks) < frame.shape[1], kind  # consolidated already
