"""Reward functions called the way TRL's GRPOTrainer calls them: prompts, completions and
completion_ids, plus the dataset's extra columns as keyword lists."""

from __future__ import annotations

import json

import pytest

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
