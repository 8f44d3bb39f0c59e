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
from csvdsl.pipeline.questions import ask as _ask
from planner.words import entity, number_text, spoken

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
    labels: list[str] = field(default_factory=list)  # columns that name rows: mostly distinct text
    codes: dict[str, str] = field(default_factory=dict)  # text column -> a pattern for the code inside it


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


# Codes inside text a question can ask about, with how the question says them: the model
# family in EMB-145XR, the letters a code starts with.
CODE_PATTERNS = {"^[^-]+": "the part before the first hyphen", "^[A-Za-z]+": "the letters it starts with"}


def _code_pattern(values: pd.Series) -> str | None:
    """A pattern of CODE_PATTERNS that picks a proper part out of most values, parts that repeat
    (at most half as many as values); the data's own strings, never a program's, meet Python's
    regex here."""
    sample = values.head(2000).astype(str)
    for pattern in CODE_PATTERNS:
        parts = sample.str.extract(f"({pattern})", expand=False)
        proper = parts.notna() & (parts != sample)
        distinct = parts[proper].nunique()
        if proper.mean() >= 0.6 and 2 <= distinct <= min(200, proper.sum() / 2):  # codes that repeat
            return pattern
    return None


def profile_table(name: str, frame: pd.DataFrame, schema: dict[str, str]) -> Profile:
    profile = Profile(name, len(frame))
    for column, kind in schema.items():
        values = frame[column].dropna()
        if values.empty:
            continue
        distinct = values.nunique()
        if kind == "string" and distinct >= 0.9 * len(values) and values.map(_literal_safe).all():
            profile.labels.append(column)
        if kind == "string" and distinct > 12:
            pattern = _code_pattern(values)
            if pattern:
                profile.codes[column] = pattern
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
    return number_text(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _things(profile: Profile) -> str:
    return entity(profile.name)


def condition(rng: random.Random, profile: Profile, parts: int = 1, avoid: set[str] = frozenset()):
    """A filter condition and its English, a relative clause ("whose origin is JFK and whose
    distance is above 1,000"): (program text, English), or None."""
    options = [("cat", c) for c in profile.categorical if c not in avoid] + [("num", c) for c in profile.numeric if c not in avoid]
    if not options:
        return None
    chosen = rng.sample(options, min(parts, len(options)))
    texts, words = [], []
    for kind, column in chosen:
        spoken_column = spoken(column)
        if kind == "cat":
            values = profile.categorical[column]
            if rng.random() < 0.35 and len(values) >= 3:
                pair = rng.sample(values[:5], 2)
                texts.append(f"{_q(column)} in [{_lit(pair[0])}, {_lit(pair[1])}]")
                words.append(f"whose {spoken_column} is {_word(pair[0])} or {_word(pair[1])}")
            else:
                value = rng.choice(values[:5])
                texts.append(f"{_q(column)} == {_lit(value)}")
                words.append(f"whose {spoken_column} is {_word(value)}")
        else:
            value = rng.choice(profile.numeric[column])
            above = rng.random() < 0.6
            texts.append(f"{_q(column)} {'>' if above else '<'} {_lit(value)}")
            words.append(f"whose {spoken_column} is {'above' if above else 'below'} {_word(value)}")
    return " and ".join(texts), " and ".join(words)


def _maybe_filter(rng, profile, avoid=frozenset(), chance=0.7):
    """An optional filter step and its clause (" whose ..."), more often with two conditions."""
    if rng.random() >= chance:
        return "", ""
    found = condition(rng, profile, 1 if rng.random() < 0.5 else 2, avoid)
    if found is None:
        return "", ""
    return f" | filter {found[0]}", f" {found[1]}"


def _among(profile, clause: str) -> tuple[str, str]:
    """" among the flights whose ..." and its sentence-opening form."""
    if not clause:
        return "", ""
    return f" among the {_things(profile)}{clause}", f"among the {_things(profile)}{clause}, "


# ---------------------------------------------------------------- program families


def count_where(rng, profile, profiles):
    found = condition(rng, profile, 2 if rng.random() < 0.6 else 1)
    if found is None:
        return None
    text, words = found
    program = f"t = {_q(profile.name)} | filter {text} | aggregate n = count()\nanswer t.n"
    return Candidate("count_where", program, _ask(rng, "count_where", things=_things(profile), cond=words))


def aggregate_where(rng, profile, profiles):
    if not profile.numeric:
        return None
    column = rng.choice(sorted(profile.numeric))
    function = rng.choice(sorted(_AGG_WORDS))
    where, where_words = _maybe_filter(rng, profile, {column})
    rounded = function in ("mean", "median", "sum")
    value = "round(t.v, 2)" if rounded else "t.v"
    program = f"t = {_q(profile.name)}{where} | aggregate v = {function}({_q(column)})\nanswer {value}"
    question = _ask(rng, "aggregate_where", agg=_AGG_WORDS[function], col=spoken(column), things=_things(profile),
                    cond=where_words, rounded=", rounded to 2 decimal places" if rounded else "")
    return Candidate("aggregate_where", program, question)


def top_values(rng, profile, profiles):
    if not profile.categorical:
        return None
    column = rng.choice(sorted(profile.categorical))
    k = rng.choice([1, 3, 5])
    where, where_words = _maybe_filter(rng, profile, {column}, 0.85)
    program = (f"t = {_q(profile.name)}{where}\n  | group {_q(column)} aggregate n = count()\n"
               f"  | sort n desc, {_q(column)}\n  | take {k}\nanswer t.{_q(column)}")
    group = spoken(column)
    if k == 1:
        question = _ask(rng, "top_value", things=_things(profile), cond=where_words, group=group)
    else:
        question = _ask(rng, "top_values", things=_things(profile), cond=where_words, group=group, k=k)
    return Candidate("top_values", program, question)


def best_group(rng, profile, profiles):
    if not profile.categorical or not profile.numeric:
        return None
    group, column = rng.choice(sorted(profile.categorical)), rng.choice(sorted(profile.numeric))
    function = rng.choice(["mean", "max", "sum", "median"])
    highest = rng.random() < 0.7
    where, where_words = _maybe_filter(rng, profile, {group, column}, 0.6)
    program = (f"t = {_q(profile.name)}{where}\n  | group {_q(group)} aggregate m = {function}({_q(column)})\n"
               f"  | filter m is not null\n  | sort m{' desc' if highest else ''}, {_q(group)}\n  | take 1\nanswer t.{_q(group)}")
    among, opening = _among(profile, where_words)
    question = _ask(rng, "best_group", group=spoken(group), extreme="highest" if highest else "lowest", agg=_AGG_WORDS[function],
                    col=spoken(column), among=among, Among=opening)
    return Candidate("best_group", program, question)


def above_average(rng, profile, profiles):
    if not profile.numeric:
        return None
    column = rng.choice(sorted(profile.numeric))
    where, where_words = "", ""
    found = condition(rng, profile, 1, {column}) if rng.random() < 0.7 else None
    if found:
        where, where_words = f" and {found[0]}", f", counting only those {found[1]}"
    program = (f"a = {_q(profile.name)} | aggregate m = mean({_q(column)})\n"
               f"t = {_q(profile.name)} | filter {_q(column)} > a.m{where} | aggregate n = count()\nanswer t.n")
    question = _ask(rng, "above_average", things=_things(profile), col=spoken(column), a_col=_a(spoken(column)), cond=where_words)
    return Candidate("above_average", program, question)


def joined_top(rng, profile, profiles):
    if not profile.joins:
        return None
    other, key, label = rng.choice(profile.joins)
    where, where_words = _maybe_filter(rng, profile, {key}, 0.8)
    program = (f"t = {_q(profile.name)}{where}\n  | group {_q(key)} aggregate n = count()\n  | join {_q(other)} on {_q(key)}\n"
               f"  | sort n desc, {_q(key)}\n  | take 1\nanswer t.{_q(label)}")
    question = _ask(rng, "joined_top", things=_things(profile), cond=where_words, key=spoken(key), label=spoken(label), other=other)
    return Candidate("joined_top", program, question)


def busiest_period(rng, profile, profiles):
    if not profile.dates:
        return None
    column = rng.choice(sorted(profile.dates))
    parts = ["month", "weekday", "year"] + (["hour"] if profile.dates[column] == "datetime" else [])
    part = rng.choice(parts)
    where, where_words = _maybe_filter(rng, profile, set(), 0.8)
    program = (f"t = {_q(profile.name)}{where}\n  | derive p = {part}({_q(column)})\n  | group p aggregate n = count()\n"
               f"  | sort n desc, p\n  | take 1\nanswer t.p")
    ties = "alphabetically" if part == "weekday" else "by the smallest"
    question = _ask(rng, "busiest_period", things=_things(profile), cond=where_words, part=_DATE_PARTS[part], col=spoken(column),
                    ties=ties)
    return Candidate("busiest_period", program, question)


def ranked_groups(rng, profile, profiles):
    if not profile.categorical or not profile.numeric:
        return None
    group, column = rng.choice(sorted(profile.categorical)), rng.choice(sorted(profile.numeric))
    k = rng.choice([2, 3])
    where, where_words = _maybe_filter(rng, profile, {group, column}, 0.5)
    program = (f"t = {_q(profile.name)}{where}\n  | group {_q(group)} aggregate s = sum({_q(column)})\n  | derive r = rank(s desc)\n"
               f"  | filter r <= {k}\n  | sort r, {_q(group)}\nanswer t.{_q(group)}")
    among, _ = _among(profile, where_words)
    question = _ask(rng, "ranked_groups", group=spoken(group), k=k, col=spoken(column), among=among)
    return Candidate("ranked_groups", program, question)


def _two_values(rng, profile):
    candidates = [c for c, values in profile.categorical.items() if len(values) >= 2]
    if not candidates or not profile.numeric:
        return None
    group, column = rng.choice(sorted(candidates)), rng.choice(sorted(profile.numeric))
    first, second = rng.sample(profile.categorical[group][:5], 2)
    return group, column, first, second


def compare_groups(rng, profile, profiles):
    chosen = _two_values(rng, profile)
    if chosen is None:
        return None
    group, column, first, second = chosen
    program = (f"a = {_q(profile.name)} | filter {_q(group)} == {_lit(first)} | aggregate m = mean({_q(column)})\n"
               f"b = {_q(profile.name)} | filter {_q(group)} == {_lit(second)} | aggregate m = mean({_q(column)})\nanswer a.m > b.m")
    question = _ask(rng, "compare_groups", things=_things(profile), group=spoken(group), col=spoken(column),
                    first=_word(first), second=_word(second))
    return Candidate("compare_groups", program, question)


def difference_between_groups(rng, profile, profiles):
    chosen = _two_values(rng, profile)
    if chosen is None:
        return None
    group, column, first, second = chosen
    function = rng.choice(["mean", "median", "max"])
    program = (f"a = {_q(profile.name)} | filter {_q(group)} == {_lit(first)} | aggregate m = {function}({_q(column)})\n"
               f"b = {_q(profile.name)} | filter {_q(group)} == {_lit(second)} | aggregate m = {function}({_q(column)})\n"
               f"answer round(a.m - b.m, 2)")
    question = _ask(rng, "difference_between_groups", things=_things(profile), group=spoken(group), col=spoken(column),
                    agg=_AGG_WORDS[function], first=_word(first), second=_word(second))
    return Candidate("difference_between_groups", program, question)


def distinct_where(rng, profile, profiles):
    if not profile.categorical:
        return None
    column = rng.choice(sorted(profile.categorical))
    found = condition(rng, profile, 1, {column})
    if found is None:
        return None
    program = f"t = {_q(profile.name)} | filter {found[0]} | aggregate n = count_distinct({_q(column)})\nanswer t.n"
    question = _ask(rng, "distinct_where", col=spoken(column), things=_things(profile), cond=found[1])
    baseline = f"t = {_q(profile.name)} | aggregate n = count_distinct({_q(column)})\nanswer t.n"
    return Candidate("distinct_where", program, question, baseline)


def share_where(rng, profile, profiles):
    found = condition(rng, profile, 2 if rng.random() < 0.5 else 1)
    if found is None:
        return None
    program = (f"a = {_q(profile.name)} | aggregate n = count()\n"
               f"b = {_q(profile.name)} | filter {found[0]} | aggregate n = count()\nanswer round(100 * b.n / a.n, 1)")
    return Candidate("share_where", program, _ask(rng, "share_where", things=_things(profile), cond=found[1]))


def group_share(rng, profile, profiles):
    if not profile.categorical:
        return None
    group = rng.choice(sorted(profile.categorical))
    found = condition(rng, profile, 1, {group})
    if found is None:
        return None
    least = rng.choice([5, 10, 20])
    program = (f"t = {_q(profile.name)}\n  | group {_q(group)} aggregate n = count(), k = sum({found[0]})\n"
               f"  | filter n >= {least}\n  | derive share = k / n\n  | sort share desc, {_q(group)}\n  | take 1\nanswer t.{_q(group)}")
    question = _ask(rng, "group_share", group=spoken(group), things=_things(profile), cond=found[1], least=least)
    return Candidate("group_share", program, question)


def widest_range(rng, profile, profiles):
    if not profile.categorical or not profile.numeric:
        return None
    group, column = rng.choice(sorted(profile.categorical)), rng.choice(sorted(profile.numeric))
    where, where_words = _maybe_filter(rng, profile, {group, column}, 0.5)
    program = (f"t = {_q(profile.name)}{where}\n  | group {_q(group)} aggregate hi = max({_q(column)}), lo = min({_q(column)})\n"
               f"  | derive spread = hi - lo\n  | filter spread is not null\n  | sort spread desc, {_q(group)}\n  | take 1\n"
               f"answer t.{_q(group)}")
    among, opening = _among(profile, where_words)
    question = _ask(rng, "widest_range", group=spoken(group), col=spoken(column), among=among, Among=opening)
    return Candidate("widest_range", program, question)


def top_rows(rng, profile, profiles):
    labels = [c for c in profile.labels if c not in profile.numeric]
    if not profile.numeric or not labels:
        return None
    column, label = rng.choice(sorted(profile.numeric)), rng.choice(sorted(labels))
    k = rng.choice([3, 5])
    highest = rng.random() < 0.7
    where, where_words = _maybe_filter(rng, profile, {column, label}, 0.8)
    program = (f"t = {_q(profile.name)}{where}\n  | filter {_q(column)} is not null\n"
               f"  | sort {_q(column)}{' desc' if highest else ''}, {_q(label)}\n  | take {k}\nanswer t.{_q(label)}")
    question = _ask(rng, "top_rows", things=_things(profile), cond=where_words, label=spoken(label), k=k,
                    extreme="highest" if highest else "lowest", col=spoken(column))
    return Candidate("top_rows", program, question)


def outliers(rng, profile, profiles):
    if not profile.numeric:
        return None
    column = rng.choice(sorted(profile.numeric))
    k = rng.choice([2, 3])
    where, where_words = _maybe_filter(rng, profile, {column}, 0.8)
    x = _q(column)
    program = (f"t = {_q(profile.name)}{where}\n  | derive z = ({x} - mean({x}) over ()) / std({x}) over ()\n"
               f"  | filter abs(z) > {k}\n  | aggregate n = count()\nanswer t.n")
    question = _ask(rng, "outliers", things=_things(profile), cond=where_words, col=spoken(column), a_col=_a(spoken(column)), k=k)
    return Candidate("outliers", program, question)


def leading_code(rng, profile, profiles):
    if not profile.codes:
        return None
    column = rng.choice(sorted(profile.codes))
    pattern = profile.codes[column]
    where, where_words = _maybe_filter(rng, profile, {column}, 0.6)
    # No "p is not null" step: a null group that wins makes a null answer, which is rejected.
    program = (f"t = {_q(profile.name)}{where}\n  | derive p = extract({_q(column)}, {_lit(pattern)})\n"
               f"  | group p aggregate n = count()\n  | sort n desc, p\n  | take 1\nanswer t.p")
    question = _ask(rng, "leading_code", things=_things(profile), cond=where_words, col=spoken(column), pattern=pattern,
                    part=CODE_PATTERNS[pattern])
    return Candidate("leading_code", program, question)


def largest_share(rng, profile, profiles):
    if not profile.categorical or not profile.numeric:
        return None
    group, column = rng.choice(sorted(profile.categorical)), rng.choice(sorted(profile.numeric))
    where, where_words = _maybe_filter(rng, profile, {group, column}, 0.5)
    program = (f"t = {_q(profile.name)}{where}\n  | group {_q(group)} aggregate s = sum({_q(column)})\n"
               f"  | derive share = s / sum(s) over ()\n  | sort share desc, {_q(group)}\n  | take 1\n"
               f"answer round(100 * t.share, 1)")
    among, _ = _among(profile, where_words)
    question = _ask(rng, "largest_share", things=_things(profile), cond=where_words, among=among, group=spoken(group),
                    col=spoken(column))
    return Candidate("largest_share", program, question)


def significant_difference(rng, profile, profiles):
    chosen = _two_values(rng, profile)
    if chosen is None:
        return None
    group, column, first, second = chosen
    alpha = rng.choice([0.05, 0.01])
    program = (f"t = {_q(profile.name)}\n  | filter {_q(group)} in [{_lit(first)}, {_lit(second)}]\n"
               f"  | aggregate p = ttest_p({_q(column)}, {_q(group)} == {_lit(first)})\nanswer t.p < {_lit(alpha)}")
    question = _ask(rng, "significant_difference", things=_things(profile), group=spoken(group), col=spoken(column),
                    first=_word(first), second=_word(second), alpha=_word(alpha))
    return Candidate("significant_difference", program, question)


# Families and how often each is drawn: the multi-step ones (four operations or more, two
# skills or more) carry most of the weight, so most tasks compose several kinds of reasoning.
FAMILIES = ((count_where, 0.5), (aggregate_where, 0.5), (top_values, 3), (best_group, 3), (above_average, 0.5),
            (joined_top, 3), (busiest_period, 3), (ranked_groups, 3), (compare_groups, 2), (difference_between_groups, 2),
            (distinct_where, 0.5), (share_where, 0.5), (group_share, 3), (widest_range, 3), (top_rows, 2), (outliers, 2),
            (leading_code, 2), (largest_share, 2), (significant_difference, 0.5))


# ---------------------------------------------------------------- keeping what is meaningful


def answer_rejection(answer) -> str | None:
    """Why an answer, whoever wrote the program, makes a poor task (null, empty, more than
    MAX_LIST items, a null among them), or None."""
    if answer is None or answer.kind == "null":
        return "null-answer"
    if answer.kind == "record":  # every part must make a good answer on its own
        return next((reason for part in answer.value.values() if (reason := answer_rejection(part))), None)
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


# A table no family fits (two columns of text, say) ends its stream instead of spending its attempts.
_MISFITS = 200
_FAMILY_FUNCTIONS = [family for family, _ in FAMILIES]
_FAMILY_WEIGHTS = [weight for _, weight in FAMILIES]


def candidates(engine: Engine, table: str, profiles: dict[str, Profile], seed: int):
    """A deterministic stream of attempts for one table; it ends when no family has fitted
    the table for ``_MISFITS`` attempts in a row."""
    rng = random.Random(f"{seed}:{table}")
    seen: set[str] = set()
    misfits = 0
    while misfits < _MISFITS:
        family = rng.choices(_FAMILY_FUNCTIONS, _FAMILY_WEIGHTS)[0]
        candidate = family(rng, profiles[table], profiles)
        if candidate is None:
            misfits += 1
            yield Attempt(None, reason="no-fit")
            continue
        misfits = 0
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
