"""Differential checks of one program on one table (pandas against DuckDB, canonical plan
against the plan as written) and the ``csvdsl fuzz`` campaign that runs them at scale and
writes a reproducer for the first disagreement."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from csvdsl import ast
from csvdsl.check import check
from csvdsl.errors import DslError
from csvdsl.limits import Limits
from csvdsl.parse import parse
from csvdsl.program import table_types
from csvdsl.render import to_json
from csvdsl.tables import Catalog, table_from_frame
from planner.compile import compile_program
from planner.execute import execute
from planner.ops import spec_exprs
from planner.oracle import run_oracle
from planner.sql import Unsupported
from verifier.answers import Options, compare

LIMITS = Limits(max_rows=100_000, timeout=10)
TOLERANCE = Options(rel_tol=1e-6, abs_tol=1e-6)


class Disagreement(AssertionError):
    """Two ways of running one program gave different answers."""

    def __init__(self, what: str, program: str, ours, theirs):
        super().__init__(f"{what}\nprogram:\n{program}\nours:   {ours}\ntheirs: {theirs}")
        self.what, self.program, self.ours, self.theirs = what, program, ours, theirs


def _cell(value):
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if type(value).__name__ == "Decimal":
        return float(value)
    if hasattr(value, "item"):
        return _cell(value.item())
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def oracle_answer(result, answer) -> dict:
    """DuckDB's result in the typed-answer form."""
    if answer.kind == "table":
        rows = [[_cell(v) for v in row] for row in result.itertuples(index=False)]
        return {"type": "table", "value": {"columns": list(result.columns), "rows": rows}, "ordered": answer.ordered}
    if answer.kind == "list":
        return {"type": "list", "value": [_cell(v) for v in result], "ordered": answer.ordered}
    value = _cell(result)
    return {"type": "null" if value is None else answer.kind, "value": value}


def _ours(plan, tables) -> dict:
    value = execute(plan, tables, LIMITS).answer
    return {**to_json(value), "ordered": value.ordered}


codes: Counter = Counter()  # DslError codes met by check_program, for the campaign's report


def check_program(program: str, frame: pd.DataFrame, schema: dict[str, str] | None = None, name: str = "t") -> str:
    """Run ``program`` on ``frame`` every way; raise Disagreement if the answers differ, or if
    any step fails with an ``internal`` error or a non-DslError exception. Returns what
    happened: "agree", "dsl-error" (its code counted in ``codes``), or "unsupported"."""
    table = table_from_frame(name, frame)
    if schema:
        table = type(table)(table.name, None, table.frame, dict(schema))
    tables = {name: table.frame}
    types = table_types(Catalog([table]))
    try:
        checked = check(parse(program), types)
        canonical, raw = compile_program(checked), compile_program(checked, canonical=False)
        ours = _ours(canonical, tables)
    except DslError as error:
        if error.code == "internal":  # a bug a model could reach: as much a finding as a disagreement
            raise Disagreement(f"internal error: {error.message}", program, None, None) from None
        codes[error.code] += 1
        return "dsl-error"
    except Exception as error:  # noqa: BLE001 - a traceback where a DslError belongs
        raise Disagreement(f"uncaught {type(error).__name__}: {str(error)[:300]}", program, None, None) from None
    try:
        written = _ours(raw, tables)
    except DslError as error:
        raise Disagreement(f"the plan as written fails ({error.code}: {error.message}); the canonical plan runs",
                           program, ours, None) from None
    if compare(written, ours, TOLERANCE).score < 1:
        raise Disagreement("canonical plan differs from the plan as written", program, ours, written)
    try:
        theirs = oracle_answer(run_oracle(canonical, tables), canonical.node(canonical.root)["schema"])
    except Unsupported:
        return "unsupported"
    except Exception as error:  # noqa: BLE001 - DuckDB refusing what pandas ran is a finding
        raise Disagreement(f"DuckDB failed: {type(error).__name__}: {str(error)[:300]}", program, ours, None) from None
    match = compare(ours, theirs, TOLERANCE)
    if match.score < 1 and compare(_numbers_in_text(ours), _numbers_in_text(theirs), TOLERANCE).score < 1:
        raise Disagreement(f"pandas and DuckDB differ: {match.reason}", program, ours, theirs)
    return "agree"


def _numbers_in_text(answer):
    """The answer with each text that is a float read as the number: `str(std(y))` may differ
    in the last digit between two engines that sum in different orders."""
    def number(cell):
        if isinstance(cell, str):
            try:
                value = float(cell)
            except ValueError:
                return cell
            return value if math.isfinite(value) else cell
        return cell

    value = answer.get("value")
    if answer.get("type") == "table":
        value = {**value, "rows": [[number(c) for c in row] for row in value["rows"]]}
    elif answer.get("type") == "list":
        value = [number(c) for c in value]
    else:
        value = number(value)
    return {**answer, "value": value}


def features(program: str) -> Counter:
    """Which transforms and functions a program uses (for the coverage table)."""
    used = Counter()
    for statement in parse(program).statements:
        if isinstance(statement, ast.Answer):
            nodes = list(ast.walk(statement.expr))
        else:
            nodes = []
            for transform in statement.pipeline.transforms:
                used[type(transform).__name__.lower()] += 1
                nodes.extend(node for expr in spec_exprs(transform) for node in ast.walk(expr))
        for node in nodes:
            if isinstance(node, ast.Call):
                used[f"{node.name}()"] += 1
            elif not isinstance(node, (ast.Column, ast.Literal, ast.InputRef, ast.Ref, ast.TableRef)):
                used[type(node).__name__] += 1
    return used


_ROUND = 50  # examples per round of a campaign bounded in time


def campaign(examples: int, seconds: float | None, seed: int, out: Path, report=print) -> int:
    """Run generated programs on generated tables until ``examples`` or ``seconds`` run out.
    On a disagreement, write program, table and both answers to ``out`` and return 1."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from csvdsl.testing.strategies import SCHEMA, programs, tables

    outcomes, coverage, started = Counter(), Counter(), time.monotonic()
    codes.clear()

    def run(count: int, run_seed: int) -> None:
        @hypothesis_seed(run_seed)
        @settings(max_examples=count, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink))
        @given(frame=tables(), program=programs(SCHEMA))
        def one(frame, program):
            check_one(frame, program)

        one()

    def check_one(frame, program) -> None:
        try:
            outcomes[check_program(program, frame, SCHEMA)] += 1
        except Disagreement as error:
            error.frame = frame  # Hypothesis raises the last, shrunk, example's error
            raise
        coverage.update(features(program))
        done = sum(outcomes.values())
        if done % 1000 == 0:
            rate = done / (time.monotonic() - started)
            report(f"{done:,} examples, {rate:,.0f}/s, {dict(outcomes)}")

    try:
        if seconds is None:
            run(examples, seed)
        else:  # rounds of a few examples each: Hypothesis cannot be told to stop at a time
            for round_ in itertools.count():
                remaining = examples - sum(outcomes.values())
                if remaining <= 0 or time.monotonic() - started > seconds:
                    break
                run(min(remaining, _ROUND), seed + round_)
    except (Disagreement, BaseExceptionGroup) as raised:
        found = [raised] if isinstance(raised, Disagreement) else [e for e in raised.exceptions if isinstance(e, Disagreement)]
        if not found:
            raise
        for number, error in enumerate(found):  # Hypothesis can find several distinct failures
            target = out if number == 0 else out / f"failure-{number + 1}"
            write_reproducer(target, error.program, getattr(error, "frame", None), error)
            report(f"disagreement: {error.what}\nreproducer written to {target}")
        return 1
    elapsed = time.monotonic() - started
    total = sum(outcomes.values())
    report(f"{total:,} examples in {elapsed:.1f} s ({total / max(elapsed, 1e-9):,.0f}/s): {dict(outcomes)}")
    report("errors by code: " + (", ".join(f"{code} {n}" for code, n in codes.most_common()) or "none"))
    report("coverage: " + ", ".join(f"{name} {count}" for name, count in sorted(coverage.items())))
    return 0


def write_reproducer(out: Path, program: str, frame: pd.DataFrame | None, error: Disagreement) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "program.dsl").write_text(program, encoding="utf-8")
    if frame is not None:
        frame.to_csv(out / "t.csv", index=False)
        frame.to_pickle(out / "t.pkl")  # exact dtypes, for replaying
    (out / "results.json").write_text(json.dumps({"what": error.what, "ours": error.ours, "theirs": error.theirs},
                                                 indent=2, default=str), encoding="utf-8")
