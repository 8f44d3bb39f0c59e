"""Plans run on DuckDB (``Engine(..., backend="duckdb")``): the tables are loaded into one
in-memory database once; an output is one query built from planner/sql.py's translation; a
node the translation does not cover runs on pandas and is registered for the nodes after it;
results are typed as the pandas executor types them, so answers compare equal. A rerun of a
program (same node ids) reuses its SQL text and DuckDB's prepared statement for it."""

from __future__ import annotations

import itertools
import json
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from csvdsl import ast
from csvdsl.check import TABLES_TYPE
from csvdsl.errors import ExecutionError, LimitError
from csvdsl.limits import Deadline, Limits, timeout_error
from planner.bounds import overflow_risk
from planner.cache import LruDict
from planner.compile import Output, Plan, node_span
from planner.execute import Budget, Execution, execute, frame_bytes, run_node, source_table, table_value
from planner.oracle import connect
from planner.sql import ROW, Unsupported, input_relation, node_select, quote, relation, with_clause
from planner.sql_answer import answer_select, answer_value
from planner.sql_order import ordered_nodes, row_bound

# Computed on pandas from their inputs' rows: an answer planner/sql_answer.py leaves (a table, a
# list, an input of many rows) reads a row or a column, describe summarizes a table it has.
_ON_PANDAS = {"answer", "describe"}
_ARROW_TYPES = {}  # filled below: Arrow text as pandas' own str dtype
REGISTERED = 64  # results computed on pandas kept registered in DuckDB, per Engine
_RESULT_TYPES = {"int": "BIGINT", "float": "DOUBLE"}  # HUGEINT sums would come back as floats
# Results the plan bounds to this many rows come through numpy: Arrow's conversion to pandas
# costs about a millisecond whatever the size, numpy's grows faster with the rows (strings).
SMALL_RESULT = 1000
_NUMPY_KINDS = {"int", "float", "bool", "string", "date", "datetime"}  # typed_frame types them alike
TRANSLATIONS = 4096  # SQL texts kept per backend: a node id names one translation
PREPARED = 256  # queries kept prepared per backend: a rerun skips DuckDB's parsing and planning


@dataclass
class DuckDBExecution(Execution):
    """An Execution whose ``frames`` are fetched when read; ``fallbacks`` says which nodes ran
    on pandas, and why."""

    fallbacks: list[str] = field(default_factory=list)


class _Refused(Exception):
    """DuckDB failed where the reference semantics (pandas) decides: run that part on pandas."""


class DuckDBBackend:
    """The tables of one Engine in one DuckDB database. Queries run one at a time (a lock):
    DuckDB parallelizes each query itself."""

    def __init__(self, tables: dict[str, pd.DataFrame], cache=None):
        try:
            import duckdb
        except ModuleNotFoundError:
            raise ExecutionError("duckdb-missing", "the DuckDB engine needs the duckdb package, which is not installed",
                                 hint="pip install 'csvdsl[duckdb]', or run on pandas (--engine pandas)") from None

        self._duckdb = duckdb
        self.connection = connect()
        # A hostile program must not fill the disk: no spilling; memory is bounded per run.
        self.connection.execute("SET temp_directory = ''")
        self.connection.execute("SET max_temp_directory_size = '0B'")
        self.tables: dict[str, pd.DataFrame] = {}
        self.cache = cache
        self._lock = threading.RLock()
        # node id -> a result computed on pandas, registered under relation(id) (the latest few)
        self._registered: OrderedDict[str, pd.DataFrame] = OrderedDict()
        self._memory_limit = None
        self._loaded_bytes = 0
        self._copied: set[str] = set()
        # A node's SELECT (or why it has none), its fetch queries, the nodes outputs need, by node
        # id: programs rerun the same nodes (rewards, the REPL); each text costs ~50 us to write.
        self.translations = LruDict(TRANSLATIONS)
        self._prepared: OrderedDict[str, str] = OrderedDict()  # query -> its prepared statement's name
        self._names = itertools.count()
        for name, frame in tables.items():
            self.add(name, frame)

    def add(self, name: str, frame: pd.DataFrame) -> None:
        """A table the plans may read; it is copied into the database when a plan first reads it
        (so loading many tables, or opening the REPL, does not wait for copies nobody uses)."""
        with self._lock:
            self.tables[name] = frame
            self._copied.discard(name)
            self._loaded_bytes = sum(frame_bytes(f) for f in self.tables.values())
            for nid in list(self._registered):  # results of the old table are stale
                self.connection.unregister(relation(nid))
            self._registered.clear()
            self.translations.clear()  # node ids name tables, not their columns: texts may be stale too
            while self._prepared:
                self.connection.execute(f"DEALLOCATE {self._prepared.popitem()[1]}")

    def copy_in(self, name: str) -> None:
        """Copy a table into the database once, with its row order as ``__rn``."""
        if name in self._copied:
            return
        if ROW in self.tables[name].columns:  # the translation keeps the row order in that name
            raise _Refused(f"table {name} has a column named {ROW}, the name the SQL keeps the row order in")
        loading = self.tables[name].assign(**{ROW: np.arange(len(self.tables[name]), dtype=np.int64)})
        self.connection.register("__csvdsl_load", loading)
        try:
            self.connection.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS SELECT * FROM __csvdsl_load")
        finally:
            self.connection.unregister("__csvdsl_load")
        self._copied.add(name)

    def execute(self, plan: Plan, limits: Limits | None = None, outputs: list[Output] | None = None,
                deadline: Deadline | None = None, keep="all") -> DuckDBExecution:
        """As ``planner.execute.execute``; results other than the outputs' are fetched when read."""
        limits = limits or Limits()
        outputs = plan.outputs if outputs is None else outputs
        deadline = deadline or Deadline(limits.timeout)
        # Ids hash their inputs' ids: the same output ids need the same nodes, in the same order.
        with self._lock:  # the caches too: another thread may be evicting or clearing them
            order = self.translations.remember(("needed", tuple(o.node for o in outputs)), lambda: plan.needed(outputs))
            run = _Run(self, plan, limits, deadline, order)
            self._bound_memory(limits)
            try:
                if (risk := self._overflow_risk(plan, order)) is not None:
                    raise _Refused(risk)
                with run.active(deadline):
                    run.prepare()
                    values = [(output, run.output(output)) for output in outputs]
            except _Refused as refused:
                return self._on_pandas(plan, limits, outputs, deadline, keep, str(refused))
            except RecursionError:  # pandas says whether the plan itself is too deep to run
                return self._on_pandas(plan, limits, outputs, deadline, keep, "the plan nests too deeply to translate")
        kept = set(run.order) if keep == "all" else set(keep) | {o.node for o in outputs if o.node}
        return DuckDBExecution(values, _LazyFrames(run, [n for n in run.order if n in kept]), run.fallbacks)

    def _overflow_risk(self, plan: Plan, order: list[str]) -> str | None:
        """planner/bounds.py's verdict on a plan's steps, and each table's bounds, read once."""
        return self.translations.remember(("overflow", tuple(order)), lambda: overflow_risk(plan, order, self.tables, self.translations))

    def _on_pandas(self, plan, limits, outputs, deadline, keep, why: str) -> DuckDBExecution:
        execution = execute(plan, self.tables, limits, None, outputs, deadline, keep)
        return DuckDBExecution(execution.outputs, execution.frames, [f"the whole plan ran on pandas: {why}"])

    def register(self, nid: str, frame: pd.DataFrame) -> None:
        """A result computed on pandas, readable by later queries as ``relation(nid)``; only
        the latest REGISTERED are kept (a run re-registers what it still needs)."""
        self._registered[nid] = frame
        self.connection.register(relation(nid), frame.assign(**{ROW: np.arange(len(frame), dtype=np.int64)}))
        while len(self._registered) > REGISTERED:
            old, _ = self._registered.popitem(last=False)
            self.connection.unregister(relation(old))

    def _bound_memory(self, limits: Limits) -> None:
        # The loaded tables are not the program's: its bound comes on top of them (as on pandas).
        wanted = None if limits.max_bytes is None else self._loaded_bytes + limits.max_bytes
        if wanted != self._memory_limit:
            setting = f"'{wanted}B'" if wanted is not None else "'80%'"
            self.connection.execute(f"SET memory_limit = {setting}")
            self._memory_limit = wanted

    def query(self, sql: str, deadline: Deadline, span=None, fetch: str = "arrow", prepare: bool = False):
        """Run one query within the deadline, DuckDB's failures as DslErrors or ``_Refused``;
        ``fetch``: "arrow" (a frame), "numpy" (few rows: arrays), or "one" (the only row, or None);
        ``prepare``: keep the query prepared for the next run (it reads the loaded tables only)."""
        duckdb = self._duckdb
        deadline.check("before a query", span)
        try:
            if prepare:
                sql = self._statement(sql)
            if fetch != "arrow":
                result = self.connection.execute(sql)
                if fetch == "numpy":
                    return result.fetchnumpy()
                rows = result.fetchall()  # not fetchone: a result left unfinished blocks the connection
                return rows[0] if rows else None
            relation = self.connection.sql(sql)
            # Through Arrow: 2-3x faster than .df() on wide results (the hooks read whole tables).
            table = relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()
            # Threads pay off on many rows; on a few, handing them out costs more than it saves.
            return table.to_pandas(types_mapper=_ARROW_TYPES.get, use_threads=table.num_rows > SMALL_RESULT)
        except duckdb.InterruptException:
            raise timeout_error(deadline.timeout, "in the middle of a query", span) from None
        except duckdb.OutOfMemoryException as error:
            raise LimitError("too-many-bytes", f"the query needs more memory than the limit allows: {_first_line(error)}",
                             span=span, hint="filter or aggregate earlier, or raise --max-bytes N (or Limits(max_bytes=...))") from None
        except duckdb.Error as error:
            raise _Refused(f"DuckDB: {type(error).__name__}: {_first_line(error)}") from None

    def _statement(self, sql: str) -> str:
        """``sql`` as the EXECUTE of a prepared statement, prepared the first time. DuckDB binds a
        prepared statement again once the tables it reads change (``copy_in``)."""
        name = self._prepared.get(sql)
        if name is None:
            name = f"__csvdsl_{next(self._names)}"
            self.connection.execute(f"PREPARE {name} AS {sql}")
            self._prepared[sql] = name
            while len(self._prepared) > PREPARED:
                self.connection.execute(f"DEALLOCATE {self._prepared.popitem(last=False)[1]}")
        else:
            self._prepared.move_to_end(sql)
        return f"EXECUTE {name}"


def _arrow_types() -> None:
    import pyarrow as pa

    text = pd.StringDtype("pyarrow", na_value=np.nan)  # what "str" columns are
    kinds = [pa.string(), pa.large_string()] + ([pa.string_view()] if hasattr(pa, "string_view") else [])
    _ARROW_TYPES.update(dict.fromkeys(kinds, text))


_arrow_types()


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__


class _Watchdog:
    """One thread for every connection: it interrupts a connection's running query once that
    connection's deadline passes (a timer thread per query would cost milliseconds to start)."""

    def __init__(self):
        self._ends: dict[int, tuple[float, weakref.ref]] = {}
        self._wake = threading.Condition()
        self._thread = None
        self._next_wake: float | None = None  # when the thread wakes by itself (None: only when notified)

    @contextmanager
    def until(self, connection, deadline: Deadline):
        if deadline.end is None:
            yield
            return
        key = id(connection)
        with self._wake:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="csvdsl-duckdb-deadline", daemon=True)
                self._thread.start()
            self._ends[key] = (deadline.end, weakref.ref(connection))
            # Waking the thread hands it the GIL (milliseconds on a busy machine): only when it
            # would otherwise sleep past this deadline.
            if self._next_wake is None or deadline.end < self._next_wake:
                self._wake.notify()
        try:
            yield
        finally:
            with self._wake:
                self._ends.pop(key, None)

    def _watch(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                for key, (end, connection) in list(self._ends.items()):
                    if end <= now:
                        del self._ends[key]
                        alive = connection()
                        if alive is not None:
                            alive.interrupt()
                soonest = min((end for end, _ in self._ends.values()), default=None)
                self._next_wake = soonest
                self._wake.wait(None if soonest is None else max(soonest - now, 0.001))


_WATCHDOG = _Watchdog()


class _Run:
    """One plan's run: which nodes are SQL and which ran on pandas, and the frames fetched."""

    def __init__(self, backend: DuckDBBackend, plan: Plan, limits: Limits, deadline: Deadline, order: list[str]):
        self.backend, self.plan, self.limits, self.deadline, self.order = backend, plan, limits, deadline, order
        self.on_pandas: set[str] = set()
        self.frames: dict[str, pd.DataFrame] = {}
        # The rows fetched out of DuckDB (or computed on pandas) stay alive for the outputs:
        # they count against max_bytes as the pandas executor counts its results.
        self.budget = Budget(limits.max_bytes)
        self.fallbacks: list[str] = []
        self._active = False

    @contextmanager
    def active(self, deadline: Deadline | None = None):
        """Hold the connection, interrupted at ``deadline`` (a fetch after the run, when hooks
        or the REPL read a result, gets a deadline of its own)."""
        if self._active:
            yield
            return
        deadline = deadline or Deadline(self.limits.timeout)
        with self.backend._lock, _WATCHDOG.until(self.backend.connection, deadline):
            self._active, saved, self.deadline = True, self.deadline, deadline
            try:
                yield
            finally:
                self._active, self.deadline = False, saved

    def prepare(self) -> None:
        """Check that each node translates; one the translation does not cover runs on pandas now."""
        for nid in self.order:
            attrs = self.plan.node(nid)
            if attrs["op"] == "source":
                source_table(attrs, self.backend.tables, self.limits)
                self.backend.copy_in(attrs["spec"])
                continue
            if any(name == ROW for name, _ in getattr(attrs["schema"], "columns", ())):
                raise _Refused(f"{attrs['op']} node {nid[:8]} makes a column named {ROW}, the name the SQL keeps the row order in")
            if attrs["op"] in _ON_PANDAS:
                continue
            why = self._translation(nid, True)
            if isinstance(why, Unsupported):
                self.fallbacks.append(f"{attrs['op']} node {nid[:8]} ran on pandas: the SQL translation does not cover {why}")
                self._run_on_pandas(nid)

    def _translation(self, nid: str, ordered: bool):
        """A node's SELECT, keeping its order or not, or the ``Unsupported`` that says why none."""
        def translate():
            try:
                return node_select(self.plan, nid, ordered)
            except Unsupported as why:
                return why

        return self.backend.translations.remember(("select", nid, ordered), translate)

    def _run_on_pandas(self, nid: str) -> None:
        """A node DuckDB cannot run: computed on pandas (a node id names one computation on these
        tables, so a result registered by an earlier run is reused) and registered for the rest."""
        frame = self.backend._registered.get(nid)
        if frame is None:
            frame = self._pandas_node(nid)
            self.backend.register(nid, frame)
        else:
            self.backend._registered.move_to_end(nid)
        self._hold(nid, frame, self.plan.node(nid))
        self.frames[nid] = frame
        self.on_pandas.add(nid)

    def _hold(self, key: str, frame: pd.DataFrame, attrs) -> None:
        if key not in self.budget.sizes:  # a result read twice is held once
            self.budget.hold(key, frame, attrs)

    def output(self, output: Output):
        if output.kind == "tables":
            tables = self.backend.tables
            listing = pd.DataFrame([(name, len(frame), frame.shape[1]) for name, frame in tables.items()],
                                   columns=TABLES_TYPE.names)
            return table_value(listing, output.schema)
        if output.kind == "answer":
            return self._answer(output.node)
        result = self.frame(output.node)
        if output.kind in ("show", "describe", "binding"):
            return table_value(result, output.schema or self.plan.node(output.node)["schema"])
        return result

    def frame(self, nid: str, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
        """A node's rows as the pandas executor would hold them (only ``columns``, if given)."""
        if nid in self.frames:
            return self.frames[nid]
        attrs = self.plan.node(nid)
        if attrs["op"] == "source":
            return self.backend.tables[attrs["spec"]]
        if attrs["op"] in _ON_PANDAS:
            self.frames[nid] = frame = self._pandas_node(nid)
            self._hold(nid, frame, attrs)
            return frame
        cache, key = self.backend.cache, nid if columns is None else f"{nid}#{json.dumps(columns)}"
        frame = cache.get(key) if cache is not None else None
        if frame is None:
            with self.active():
                frame = self._fetch(nid, columns)
            if cache is not None:
                cache.put(key, frame)
        self._hold(key, frame, attrs)
        if columns is None:
            self.frames[nid] = frame
        return frame

    def _fetch(self, nid: str, columns) -> pd.DataFrame:
        attrs = self.plan.node(nid)
        schema = attrs["schema"]
        kinds = dict(schema.columns)
        names = list(columns) if columns is not None else [name for name, _ in schema.columns]
        limit = self.limits.max_rows
        key = (nid, tuple(names), limit, frozenset(self.on_pandas))
        translations = self.backend.translations
        sql, numpy, bounded = translations.remember(("fetch",) + key, lambda: self._fetch_sql(nid, names, kinds, limit))
        # Small as the plan bounds it, or as it came out before (the same query on the same tables).
        small = numpy and (bounded or translations.get(("rows",) + key, SMALL_RESULT + 1) <= SMALL_RESULT)
        result = self._query(sql, attrs, "numpy" if small else "arrow")
        result = numpy_frame(result, kinds) if small else typed_frame(result, kinds)
        if numpy and not bounded:
            translations.remember(("rows",) + key, lambda: len(result))
        if limit is not None and len(result) > limit:
            raise LimitError("too-many-rows", f"{attrs['op']} node {nid[:8]} produced more than {limit:,} rows",
                             span=node_span(attrs), hint="raise the limit with --max-rows N (or Limits(max_rows=...)), or filter earlier")
        return result

    def _fetch_sql(self, nid: str, names: list[str], kinds: dict, limit: int | None) -> tuple[str, bool, bool]:
        """The query of a node's rows in order; whether numpy can carry its columns; whether the
        plan bounds it to a small result (see ``query``)."""
        select = ", ".join(_result_column(name, kinds[name]) for name in names)
        bound = row_bound(self.plan, nid)
        # One row (or none) needs no order, nor its __rn (ordered_nodes): a sort costs ~0.4 ms.
        sql = self._with(nid) + f"SELECT {select} FROM {input_relation(self.plan, nid)}"
        if bound is None or bound > 1:
            sql += f" ORDER BY {ROW}"
        if limit is not None:
            sql += f" LIMIT {limit + 1}"
        return sql, bool(names) and all(kinds[n] in _NUMPY_KINDS for n in names), bound is not None and bound <= SMALL_RESULT

    def _query(self, sql: str, attrs, fetch: str):
        for needed in self.on_pandas - self.backend._registered.keys():  # evicted since: register again
            self.backend.register(needed, self.frames[needed])
        # A query over results registered from pandas is not kept prepared: they change from run to run.
        return self.backend.query(sql, self.deadline, node_span(attrs), fetch, prepare=not self.on_pandas)

    def _with(self, nid: str) -> str:
        """The CTEs ``nid`` reads: its ancestors back to the tables or to results registered from
        pandas, each keeping its row order only where a later step reads it."""
        wanted, stack = set(), [nid]
        while stack:
            top = stack.pop()
            if top in wanted or top in self.on_pandas:
                continue
            wanted.add(top)
            stack.extend(self.plan.node(top)["inputs"])
        return with_clause(self.plan, [n for n in self.order if n in wanted], ordered_nodes(self.plan, [nid]),
                           lambda plan, n, ordered: self._translation(n, ordered))

    def _answer(self, nid: str):
        """The answer: one cell from DuckDB where ``_answer_in_sql`` decides it, else computed as
        the pandas executor computes it from the rows it reads (its own node runner: the same
        errors, without building a plan around one node)."""
        attrs = self.plan.node(nid)
        value = self._answer_in_sql(nid, attrs)
        if value is not None:
            return value
        frames = self._input_frames(attrs)
        self.deadline.check(f"before answer node {nid[:8]}", node_span(attrs))
        return run_node(nid, attrs, {}, frames, self._pandas_limits(), None)

    def _answer_in_sql(self, nid: str, attrs):
        """The answer as planner/sql_answer.py computes it, or None where pandas decides: no such
        SELECT, an input with no rows (whose values pandas reads as null), a value pandas refuses
        (``answer_value``), or DuckDB refusing the query (an integer overflow, say)."""

        def translate():
            select = answer_select(self.plan, nid)
            return None if select is None else self._with(nid) + select

        sql = self.backend.translations.remember(("answer", nid, frozenset(self.on_pandas)), translate)
        if sql is None:
            return None
        try:
            with self.active():
                row = self._query(sql, attrs, "one")
        except _Refused:
            return None
        return None if row is None else answer_value(row[0], attrs["schema"])

    def _pandas_node(self, nid: str):
        """Run one node on pandas over its inputs' rows (fetched, or the tables themselves)."""
        attrs = self.plan.node(nid)
        tables = self._input_frames(attrs)
        graph = nx.DiGraph()
        for source in tables:
            graph.add_node(source, op="source", spec=source, inputs=(), spans=(), params={},
                           schema=self.plan.node(source)["schema"])
        graph.add_edges_from((source, nid) for source in attrs["inputs"])
        graph.add_node(nid, **attrs)
        kind = "answer" if attrs["op"] == "answer" else "node"
        sub = Plan(graph, root=nid if kind == "answer" else None)
        execution = execute(sub, tables, self._pandas_limits(), outputs=[Output(0, kind, nid)], deadline=self.deadline, keep=())
        return execution.outputs[0][1]

    def _input_frames(self, attrs) -> dict[str, pd.DataFrame]:
        """A node's inputs' rows by node id: an answer's only the columns it reads from an input
        it reads once."""
        needs = _answer_columns(attrs) if attrs["op"] == "answer" else {}
        frames = {}
        for position, source in enumerate(attrs["inputs"]):
            if source not in frames:
                read_twice = attrs["inputs"].count(source) > 1
                frames[source] = self.frame(source, None if read_twice else needs.get(position))
        return frames

    def _pandas_limits(self) -> Limits:
        # Rows are counted where they are fetched; the deadline and the bytes hold on pandas too.
        return Limits(max_rows=None, timeout=self.limits.timeout, max_bytes=self.limits.max_bytes)


def _answer_columns(attrs) -> dict[int, tuple[str, ...]]:
    """The columns an answer reads from each input (an input read whole is left out: all of them)."""
    refs = [e for e in ast.walk(attrs["spec"].expr) if isinstance(e, ast.InputRef)]
    whole = {r.index for r in refs if r.column is None}
    columns: dict[int, list[str]] = {}
    for ref in refs:
        if ref.index not in whole and ref.column not in columns.setdefault(ref.index, []):
            columns[ref.index].append(ref.column)
    return {index: tuple(names) for index, names in columns.items()}


def _result_column(name: str, kind: str) -> str:
    cast = _RESULT_TYPES.get(kind)
    return f"CAST({quote(name)} AS {cast}) AS {quote(name)}" if cast else quote(name)


def typed_frame(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """DuckDB's result in the executor's storage: int64 (float64 when a value is null), float64,
    bool (nullable boolean when a value is null), str, datetime64[us]."""
    changes = {}
    for name in frame.columns:
        column, kind = frame[name], kinds.get(name)
        nulls = bool(column.isna().any())
        if kind == "int":
            target = "float64" if nulls else "int64"
        elif kind == "float":
            target = "float64"
        elif kind == "bool":
            target = "boolean" if nulls else bool
        elif kind == "string":
            target = "str"
        elif kind in ("date", "datetime"):
            target = "datetime64[us]"
        else:
            continue
        if column.dtype != target:
            changes[name] = column.astype(target)
    frame = frame.assign(**changes) if changes else frame
    return frame.reset_index(drop=True)


def _filled(data, mask, dtype, fill):
    values = data.astype(dtype)  # a copy: the fill must not write into DuckDB's buffer
    values[mask] = fill
    return values


# kind -> (values, null mask or None) -> the column typed_frame would give
_NUMPY_TYPES = {
    "int": lambda data, mask: data.astype(np.int64, copy=False) if mask is None else _filled(data, mask, np.float64, np.nan),
    "float": lambda data, mask: data.astype(np.float64, copy=False) if mask is None else _filled(data, mask, np.float64, np.nan),
    "bool": lambda data, mask: data.astype(bool, copy=False) if mask is None else pd.arrays.BooleanArray(data.astype(bool), mask),
    "string": lambda data, mask: pd.array(data if mask is None else _filled(data, mask, object, None), dtype="str"),
    "date": lambda data, mask: data.astype("datetime64[us]") if mask is None else _filled(data, mask, "datetime64[us]", np.datetime64("NaT")),
}
_NUMPY_TYPES["datetime"] = _NUMPY_TYPES["date"]


def numpy_frame(arrays: dict, kinds: dict[str, str]) -> pd.DataFrame:
    """``fetchnumpy``'s arrays (masked where null) in the storage ``typed_frame`` gives, built
    once (a DataFrame per step costs more than the few rows it holds)."""
    columns = {}
    for name, values in arrays.items():
        mask = np.ma.getmaskarray(values) if np.ma.isMaskedArray(values) else None
        data = np.ma.getdata(values)
        columns[name] = _NUMPY_TYPES[kinds[name]](data, mask if mask is not None and mask.any() else None)
    return pd.DataFrame(columns, copy=False)


class _LazyFrames(Mapping):
    """Node results fetched from DuckDB the first time they are read (hooks, the REPL)."""

    def __init__(self, run: _Run, nodes: list[str]):
        self._run, self._nodes = run, dict.fromkeys(nodes)

    def __getitem__(self, nid: str) -> pd.DataFrame:
        if nid not in self._nodes:
            raise KeyError(nid)
        try:
            return self._run.frame(nid)
        except _Refused:  # the pandas executor decides what DuckDB refused
            run = self._run
            execution = execute(run.plan, run.backend.tables, run.limits, None, [Output(0, "node", nid)], keep=())
            frame = run.frames[nid] = execution.outputs[0][1]
            return frame

    def __contains__(self, nid) -> bool:
        return nid in self._nodes

    def fetched(self) -> set[str]:
        """The nodes whose rows are held so far (read, or needed by an output)."""
        return {n for n in self._run.frames if n in self._nodes}

    def __iter__(self):
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)


