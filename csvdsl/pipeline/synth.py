"""The built-in teacher: samples multi-step programs from the tables' schemas and data (typed
templates, the TAPEX recipe), runs them through one Engine, keeps those whose answer is
meaningful, and words each question from the same parts as its program, so the question
names every column and constant the program uses. Deterministic for a seed."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from csvdsl import ast
from csvdsl.engine import Engine
from csvdsl.errors import DslError, quote_name
from csvdsl.format import format_expr

MAX_VALUES = 8
MAX_LIST = 10
_AGG_WORDS = {"mean": "average", "max": "largest", "min": "smallest", "median": "median", "sum": "total"}
_DATE_PARTS = {"month": "month", "weekday": "weekday", "year": "year", "hour": "hour"}


@dataclass
class Profile:
    """What the synthesizer knows of a table: which columns are categories, numbers, dates,
    their frequent values and quantiles, and the other tables it can join on a key."""

    name: str
    rows: int
    categorical: dict[str, list] = field(default_factory=dict)  # column -> frequent values
    numeric: dict[str, list] = field(default_factory=dict)  # column -> thresholds
    dates: dict[str, str] = field(default_factory=dict)  # column -> date | datetime
    joins: list[tuple[str, str, str]] = field(default_factory=list)  # (other table, key, label column)


def _literal_safe(value) -> bool:
    return not isinstance(value, str) or (0 < len(value) <= 30 and value.isprintable() and '"' not in value and "\\" not in value)


def _threshold(value: float, whole: bool):
    if whole:
        return int(round(value))
    return float(f"{value:.3g}")


# Numbers that identify or date things rather than measure them: no sums or averages of these.
_NOT_MEASURES = re.compile(r"(^|_)(id|code|no|num|number|zip|key|flight|year|month|day|hour|minute)($|_)", re.IGNORECASE)


def _a(word: str) -> str:
    return f"an {word}" if word[:1].lower() in "aeiou" else f"a {word}"


def profile_table(name: str, frame: pd.DataFrame, schema: dict[str, str]) -> Profile:
    profile = Profile(name, len(frame))
    for column, kind in schema.items():
        values = frame[column].dropna()
        if values.empty:
            continue
        distinct = values.nunique()
        if kind in ("date", "datetime"):
            profile.dates[column] = kind
        elif kind == "string" and 2 <= distinct <= 60 and distinct < len(values) / 2:
            top = [v for v, _ in Counter(values.tolist()).most_common(MAX_VALUES) if _literal_safe(v)]
            if len(top) >= 2:
                profile.categorical[column] = top
        elif kind in ("int", "float") and distinct > 12 and not _NOT_MEASURES.search(column):
            whole = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
            quantiles = values.astype(float).quantile([0.1, 0.25, 0.5, 0.75, 0.9]).tolist()
            profile.numeric[column] = sorted({_threshold(q, whole) for q in quantiles})
        elif kind == "int" and 2 <= distinct <= 12:
            profile.categorical[column] = sorted(int(v) for v in values.unique())
    return profile


def link_profiles(profiles: dict[str, Profile], frames: dict[str, pd.DataFrame], schemas: dict[str, dict]) -> None:
    """Record joins: another table shares a column that is a key there (unique, no nulls)."""
    for name, profile in profiles.items():
        for other, frame in frames.items():
            if other == name:
                continue
            for column in schemas[name]:
                if column in frame.columns and frame[column].notna().all() and frame[column].is_unique:
                    labels = [c for c, k in schemas[other].items() if k == "string" and c != column]
                    if labels:
                        profile.joins.append((other, column, labels[0]))


@dataclass(frozen=True)
class Candidate:
    family: str
    program: str
    question: str
    baseline: str | None = None  # the same question without its filter: an equal answer means the filter is idle


# ---------------------------------------------------------------- conditions


def _q(name: str) -> str:
    return quote_name(name)


def _lit(value) -> str:
    return format_expr(ast.Literal(value))


def _word(value) -> str:
    return str(value)


def condition(rng: random.Random, profile: Profile, parts: int = 1, avoid: set[str] = frozenset()):
    """A filter condition and its English: (program text, English), or None."""
    options = [("cat", c) for c in profile.categorical if c not in avoid] + [("num", c) for c in profile.numeric if c not in avoid]
    if not options:
        return None
    chosen = rng.sample(options, min(parts, len(options)))
    texts, words = [], []
    for kind, column in chosen:
        if kind == "cat":
            values = profile.categorical[column]
            if rng.random() < 0.35 and len(values) >= 3:
                pair = rng.sample(values[:5], 2)
                texts.append(f"{_q(column)} in [{_lit(pair[0])}, {_lit(pair[1])}]")
                words.append(f"{column} is {_word(pair[0])} or {_word(pair[1])}")
            else:
                value = rng.choice(values[:5])
                texts.append(f"{_q(column)} == {_lit(value)}")
                words.append(f"{column} is {_word(value)}")
        else:
            value = rng.choice(profile.numeric[column])
            above = rng.random() < 0.6
            texts.append(f"{_q(column)} {'>' if above else '<'} {_lit(value)}")
            words.append(f"{column} is {'above' if above else 'below'} {_word(value)}")
    return " and ".join(texts), " and ".join(words)


def _maybe_filter(rng, profile, avoid=frozenset(), chance=0.6):
    if rng.random() >= chance:
        return "", ""
    found = condition(rng, profile, 1 if rng.random() < 0.7 else 2, avoid)
    if found is None:
        return "", ""
    return f" | filter {found[0]}", f" where {found[1]}"


# ---------------------------------------------------------------- program families


def count_where(rng, profile, profiles):
    found = condition(rng, profile, 1 if rng.random() < 0.5 else 2)
    if found is None:
        return None
    text, words = found
    program = f"t = {_q(profile.name)} | filter {text} | aggregate n = count()\nanswer t.n"
    return Candidate("count_where", program, f"In {profile.name}, how many rows are there where {words}?")


def aggregate_where(rng, profile, profiles):
    if not profile.numeric:
        return None
    column = rng.choice(sorted(profile.numeric))
    function = rng.choice(sorted(_AGG_WORDS))
    where, where_words = _maybe_filter(rng, profile, {column})
    rounded = function in ("mean", "median", "sum")
    value = "round(t.v, 2)" if rounded else "t.v"
    program = f"t = {_q(profile.name)}{where} | aggregate v = {function}({_q(column)})\nanswer {value}"
    question = f"In {profile.name}, what is the {_AGG_WORDS[function]} {column}{where_words}" + (
        ", rounded to 2 decimal places?" if rounded else "?")
    return Candidate("aggregate_where", program, question)


def top_values(rng, profile, profiles):
    if not profile.categorical:
        return None
    column = rng.choice(sorted(profile.categorical))
    k = rng.choice([1, 3, 5])
    where, where_words = _maybe_filter(rng, profile, {column})
    program = (f"t = {_q(profile.name)}{where}\n  | group {_q(column)} aggregate n = count()\n"
               f"  | sort n desc, {_q(column)}\n  | take {k}\nanswer t.{_q(column)}")
    which = f"which value of {column} occurs" if k == 1 else f"which {k} values of {column} occur"
    question = f"In {profile.name}{where_words}, {which} most often (ties broken by {column}, in order)?"
    return Candidate("top_values", program, question)


def best_group(rng, profile, profiles):
    if not profile.categorical or not profile.numeric:
        return None
    group, column = rng.choice(sorted(profile.categorical)), rng.choice(sorted(profile.numeric))
    function = rng.choice(["mean", "max", "sum", "median"])
    highest = rng.random() < 0.7
    program = (f"t = {_q(profile.name)}\n  | group {_q(group)} aggregate m = {function}({_q(column)})\n  | filter m is not null\n"
               f"  | sort m{' desc' if highest else ''}, {_q(group)}\n  | take 1\nanswer t.{_q(group)}")
    question = (f"In {profile.name}, which {group} has the {'highest' if highest else 'lowest'} "
                f"{_AGG_WORDS[function]} {column} (ties broken by {group})?")
    return Candidate("best_group", program, question)


def above_average(rng, profile, profiles):
    if not profile.numeric:
        return None
    column = rng.choice(sorted(profile.numeric))
    where, where_words = "", ""
    found = condition(rng, profile, 1, {column}) if rng.random() < 0.5 else None
    if found:
        where, where_words = f" and {found[0]}", f" and {found[1]}"
    program = (f"a = {_q(profile.name)} | aggregate m = mean({_q(column)})\n"
               f"t = {_q(profile.name)} | filter {_q(column)} > a.m{where} | aggregate n = count()\nanswer t.n")
    question = f"In {profile.name}, how many rows have {_a(column)} above the average {column}{where_words}?"
    return Candidate("above_average", program, question)


def joined_top(rng, profile, profiles):
    if not profile.joins:
        return None
    other, key, label = rng.choice(profile.joins)
    where, where_words = _maybe_filter(rng, profile, {key})
    program = (f"t = {_q(profile.name)}{where}\n  | group {_q(key)} aggregate n = count()\n  | join {_q(other)} on {_q(key)}\n"
               f"  | sort n desc, {_q(key)}\n  | take 1\nanswer t.{_q(label)}")
    question = (f"Counting the rows of {profile.name}{where_words} for each {key}, what is the {label} in {other} "
                f"of the {key} with the most rows (ties broken by {key})?")
    return Candidate("joined_top", program, question)


def busiest_period(rng, profile, profiles):
    if not profile.dates:
        return None
    column = rng.choice(sorted(profile.dates))
    parts = ["month", "weekday", "year"] + (["hour"] if profile.dates[column] == "datetime" else [])
    part = rng.choice(parts)
    where, where_words = _maybe_filter(rng, profile, set(), 0.5)
    program = (f"t = {_q(profile.name)}{where}\n  | derive p = {part}({_q(column)})\n  | group p aggregate n = count()\n"
               f"  | sort n desc, p\n  | take 1\nanswer t.p")
    ties = "alphabetically" if part == "weekday" else "by the smallest"
    question = f"In {profile.name}{where_words}, which {_DATE_PARTS[part]} of {column} has the most rows (ties broken {ties})?"
    return Candidate("busiest_period", program, question)


def ranked_groups(rng, profile, profiles):
    if not profile.categorical or not profile.numeric:
        return None
    group, column = rng.choice(sorted(profile.categorical)), rng.choice(sorted(profile.numeric))
    k = rng.choice([2, 3])
    program = (f"t = {_q(profile.name)}\n  | group {_q(group)} aggregate s = sum({_q(column)})\n  | derive r = rank(s desc)\n"
               f"  | filter r <= {k}\n  | sort r, {_q(group)}\nanswer t.{_q(group)}")
    question = (f"In {profile.name}, which values of {group} rank in the top {k} by total {column} "
                f"(from the highest, ties broken by {group})?")
    return Candidate("ranked_groups", program, question)


def compare_groups(rng, profile, profiles):
    candidates = [c for c, values in profile.categorical.items() if len(values) >= 2]
    if not candidates or not profile.numeric:
        return None
    group, column = rng.choice(sorted(candidates)), rng.choice(sorted(profile.numeric))
    first, second = rng.sample(profile.categorical[group][:5], 2)
    program = (f"a = {_q(profile.name)} | filter {_q(group)} == {_lit(first)} | aggregate m = mean({_q(column)})\n"
               f"b = {_q(profile.name)} | filter {_q(group)} == {_lit(second)} | aggregate m = mean({_q(column)})\nanswer a.m > b.m")
    question = f"In {profile.name}, is the average {column} higher where {group} is {_word(first)} than where {group} is {_word(second)}?"
    return Candidate("compare_groups", program, question)


def distinct_where(rng, profile, profiles):
    if not profile.categorical:
        return None
    column = rng.choice(sorted(profile.categorical))
    found = condition(rng, profile, 1, {column})
    if found is None:
        return None
    program = f"t = {_q(profile.name)} | filter {found[0]} | aggregate n = count_distinct({_q(column)})\nanswer t.n"
    question = f"In {profile.name}, how many distinct values of {column} appear where {found[1]}?"
    baseline = f"t = {_q(profile.name)} | aggregate n = count_distinct({_q(column)})\nanswer t.n"
    return Candidate("distinct_where", program, question, baseline)


FAMILIES = (count_where, aggregate_where, top_values, best_group, above_average, joined_top,
            busiest_period, ranked_groups, compare_groups, distinct_where)


# ---------------------------------------------------------------- keeping what is meaningful


def answer_rejection(answer) -> str | None:
    """Why an answer, whoever wrote the program, makes a poor task (null, empty, more than
    MAX_LIST items, a null among them), or None."""
    if answer is None or answer.kind == "null":
        return "null-answer"
    if answer.kind in ("list", "table"):
        size = len(answer.value)
        if size == 0:
            return "empty-answer"
        if size > MAX_LIST:
            return "long-answer"
        if answer.kind == "list" and any(v is None for v in answer.value):
            return "null-in-answer"
    return None


def rejection(run) -> str | None:
    """Why a run's answer is not worth a task, or None when it is."""
    answer = run.answer
    reason = answer_rejection(answer)
    if reason:
        return reason
    plan, frames = run.plan, run.execution.frames
    needed = plan.needed()
    groups = [n for n in needed if plan.node(n)["op"] == "group" and n in frames]
    if groups and answer.kind in ("list", "string", "number", "date", "bool"):
        size = len(answer.value) if answer.kind == "list" else 1
        if len(frames[groups[0]]) <= size:
            return "answer-is-every-group"  # "which 3 origins..." when there are 3
    for node in needed:
        attrs = plan.node(node)
        if attrs["op"] != "filter" or node not in frames:
            continue
        kept, before = len(frames[node]), len(frames[attrs["inputs"][0]])
        if kept == 0:
            return "filter-keeps-nothing"
        if kept == before:
            return "filter-keeps-everything"
    return None


@dataclass
class Attempt:
    candidate: Candidate | None
    run: object = None
    reason: str | None = None


def candidates(engine: Engine, table: str, profiles: dict[str, Profile], seed: int):
    """An endless, deterministic stream of attempts for one table."""
    rng = random.Random(f"{seed}:{table}")
    seen: set[str] = set()
    while True:
        family = rng.choice(FAMILIES)
        candidate = family(rng, profiles[table], profiles)
        if candidate is None:
            yield Attempt(None, reason="no-fit")
            continue
        try:
            run = engine.run(candidate.program)
        except DslError as error:
            yield Attempt(candidate, reason=f"error:{error.code}")
            continue
        reason = rejection(run)
        if reason is None and candidate.baseline and engine.run(candidate.baseline).answer.value == run.answer.value:
            reason = "filter-does-not-matter"
        if reason is None and run.plan.root in seen:
            reason = "duplicate"
        if reason is None:
            seen.add(run.plan.root)
        yield Attempt(candidate, run, reason)
