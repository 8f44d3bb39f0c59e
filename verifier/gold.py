"""An attempt's answer against a gold answer from an existing dataset, by the dataset's rule:
``typed`` (the verifier's comparison; named parts one by one), ``denotation`` (WikiTableQuestions),
``label`` (true or false, as TabFact), ``rounded`` (numbers equal at the gold's written
precision, as InfiAgent-DABench's formats ask)."""

from __future__ import annotations

import math
import re

from verifier.answers import AnswerMatch, Options, compare, parse_gold, typed, typed_value
from verifier.denotation import answer_texts, canonical, check_denotation, denotations

MODES = ("typed", "denotation", "label", "rounded")
ANSWER_TYPES = ("number", "string", "bool", "date", "null", "list", "table", "record")
_NAMED = re.compile(r"@\s*([A-Za-z_][A-Za-z0-9_]*)\s*\[(.*?)\]", re.DOTALL)
_OPENED = re.compile(r"@\s*[A-Za-z_][A-Za-z0-9_]*\s*\[")  # a part's start, left over when its ] is missing
_TRUE = {"true", "yes", "entailed", "1"}
_FALSE = {"false", "no", "refuted", "0"}


def named_answers(text: str) -> dict | None:
    """``@mean[34.65], @std[1.2]`` as a record answer ``{"type": "record", "value": {...}}``
    whose parts are typed answers; None when the text has no ``@name[value]``. A part without
    its ``]`` is a ValueError, not dropped."""
    parts = _NAMED.findall(text)
    if not parts:
        return None
    if _OPENED.search(_NAMED.sub("", text)):
        raise ValueError(f"an @name[value] part of {text!r} has no closing ]")
    return {"type": "record", "value": {name: parse_gold(value) for name, value in parts}}


def gold_answer(value) -> dict:
    """A gold answer given as JSON (a typed answer, a number, a bool, a list, a name -> value
    object) or as text (``"34.65"``, ``"@mean[3]"``, ``"['a', 'b']"``) as a typed answer."""
    if isinstance(value, dict) and "type" in value:
        return typed(value)
    if isinstance(value, dict):
        return {"type": "record", "value": {str(k): gold_answer(v) for k, v in value.items()}}
    if isinstance(value, str):
        return named_answers(value) or parse_gold(value)
    if value is None or isinstance(value, (bool, int, float, list, tuple)):
        return typed_value(value)
    raise ValueError(f"not an answer: {value!r}")


def gold_problem(answer: dict) -> str | None:
    """Why a typed answer cannot be a gold answer, or None when it can: an unknown type, a
    value not of its type, a number that is not finite, or nothing to match (null, an empty
    list, table or record, or such a part)."""
    kind, value = answer.get("type"), answer.get("value")
    if kind not in ANSWER_TYPES:
        return f"has the unknown type {kind!r} (one of {', '.join(ANSWER_TYPES)})"
    if not _finite(value):
        return "holds a number that is not finite"
    if kind == "null":
        return "is null"
    if not _SHAPES[kind](value):
        return f"has a value that is not a {kind}"
    if kind in ("list", "record", "table") and not (value["rows"] if kind == "table" else value):
        return f"is an empty {kind}"
    if kind == "record":
        for name, part in value.items():
            problem = gold_problem(_part(part))
            if problem:
                return f"has a part {name!r} that {problem}"
    return None


_SHAPES = {"number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
           "bool": lambda v: isinstance(v, bool), "string": lambda v: isinstance(v, str),
           "date": lambda v: isinstance(v, str), "list": lambda v: isinstance(v, list),
           "table": lambda v: isinstance(v, dict) and isinstance(v.get("columns"), list) and isinstance(v.get("rows"), list),
           "record": lambda v: isinstance(v, dict)}


def _finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def match_gold(gold: dict, answer, mode: str = "typed", texts: list[str] | None = None,
               canons: list[str] | None = None) -> AnswerMatch:
    """How well ``answer`` (a typed answer, or None for no answer) matches ``gold``.
    ``texts`` (and the tagged ``canons``) are the denotation targets as written."""
    if answer is None:
        return AnswerMatch(0.0, "no answer")
    answer = typed(answer)
    return _MATCHERS[mode](typed(gold), answer, texts, canons)


def _denotation(gold, answer, texts, canons) -> AnswerMatch:
    shown = texts or answer_texts(gold)
    targets = denotations(texts if texts is not None else shown, canons or [canonical(t) for t in shown])
    said = answer_texts(answer)
    predicted = denotations(said, [canonical(t) for t in said])
    if check_denotation(targets, predicted):
        return AnswerMatch(1.0, f"the same denotation as {shown}")
    return AnswerMatch(0.0, f"expected {shown}, got {said}")


def truth(answer: dict) -> bool | None:
    """An answer read as true or false: a bool, yes/no words, 1/0, or a one-value list of them."""
    kind, value = answer["type"], answer["value"]
    if kind == "list" and len(value) == 1:
        value = value[0]
    elif kind == "table" and len(value["rows"]) == 1 and len(value["columns"]) == 1:
        value = value["rows"][0][0]
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if isinstance(value, (int, float)) and value in (0, 1):
        text = str(int(value))
    return True if text in _TRUE else False if text in _FALSE else None


def _label(gold, answer, texts, canons) -> AnswerMatch:
    expected, said = truth(gold), truth(answer)
    if said is None:
        return AnswerMatch(0.0, f"expected {str(expected).lower()}, got a {answer['type']} that is not true or false")
    if said == expected:
        return AnswerMatch(1.0, f"both are {str(said).lower()}")
    return AnswerMatch(0.0, f"expected {str(expected).lower()}, got {str(said).lower()}")


def _parts(answer: dict) -> dict | None:
    """A record's parts, or a one-row table's cells by column name (a record before records existed)."""
    if answer["type"] == "record":
        return {name.lower(): _part(part) for name, part in answer["value"].items()}
    if answer["type"] == "table" and len(answer["value"]["rows"]) == 1:
        table = answer["value"]
        return {name.lower(): _typed_cell(cell) for name, cell in zip(table["columns"], table["rows"][0])}
    return None


def _part(value) -> dict:
    """A record's part: a typed answer already, or a raw value (as a record answer holds them)."""
    return typed(value) if isinstance(value, dict) and "type" in value else _typed_cell(value)


def _typed_cell(value) -> dict:
    """A cell as a typed answer; text that is a number or a bool (``"34.65"``, ``"1,000"``,
    ``"True"``) is read as one, other text stays text."""
    if not isinstance(value, str):
        return gold_answer(value)
    text = value.strip()
    if text.lower() in ("true", "false"):
        return {"type": "bool", "value": text.lower() == "true"}
    try:
        number = float(canonical(text))
    except ValueError:
        return {"type": "string", "value": value}
    return {"type": "number", "value": number} if math.isfinite(number) else {"type": "string", "value": value}


def _typed_or_rounded(rounded: bool):
    def match(gold, answer, texts, canons) -> AnswerMatch:
        if gold["type"] != "record":
            return _one(gold, answer, rounded)
        if not gold["value"]:  # imported before import refused it: nothing to match, so nothing verified
            return AnswerMatch(0.0, "the gold answer has no parts")
        parts = _parts(answer)
        if parts is None:
            return AnswerMatch(0.0, f"expected the parts {', '.join(gold['value'])}, got a {answer['type']}")
        right, notes = 0, []
        for name, expected in gold["value"].items():
            found = parts.get(name.lower())
            if found is None:
                notes.append(f"{name}: missing")
                continue
            verdict = _one(_part(expected), found, rounded)
            right += verdict.score == 1.0
            notes.append(f"{name}: {verdict.reason}")
        return AnswerMatch(right / len(gold["value"]), "; ".join(notes))

    return match


def _one(gold: dict, answer: dict, rounded: bool) -> AnswerMatch:
    if rounded and gold["type"] == "number" and isinstance(gold["value"], float):
        inner = answer
        if answer["type"] in ("list", "table"):
            inner = _single(answer) or answer
        if inner["type"] == "number" and not isinstance(inner["value"], bool):
            tolerance = 0.5 * 10 ** -_decimals(gold["value"]) + 1e-12
            if abs(inner["value"] - gold["value"]) <= tolerance:
                return AnswerMatch(1.0, f"{inner['value']} is {gold['value']} at its precision")
            return AnswerMatch(0.0, f"expected {gold['value']}, got {inner['value']}")
    return compare(gold, answer, Options(case_insensitive=rounded))


def _single(answer: dict) -> dict | None:
    value = answer["value"]
    if answer["type"] == "list" and len(value) == 1:
        return _typed_cell(value[0])
    if answer["type"] == "table" and len(value["rows"]) == 1 and len(value["columns"]) == 1:
        return _typed_cell(value["rows"][0][0])
    return None


def _decimals(number: float) -> int:
    """Decimal places as written (``34.65`` -> 2); a number in exponent form counts as exact."""
    text = repr(number)
    if "e" in text or "E" in text or not math.isfinite(number):
        return 12
    return len(text.split(".")[1]) if "." in text else 0


_MATCHERS = {"typed": _typed_or_rounded(False), "rounded": _typed_or_rounded(True),
             "denotation": _denotation, "label": _label}
