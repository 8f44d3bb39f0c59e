"""The supervised worker: model-written programs run in a child process that is killed and
replaced when a program overruns its deadline, so no single pandas call can hold a reward
loop, ``solve`` or ``ask`` past it.

    worker = Worker()
    run = worker.run({"flights": "flights.csv"}, text, limits)      # a ProgramRun, or raises DslError
    session = worker.session({"flights": "flights.csv"}, limits)    # .run(text) -> Observation
    value = worker.call(module_level_function, *args, timeout=5.0)  # any picklable call

Inside the child, each program also runs under the in-process deadline with the alarm's hard
stop (the child's main thread), so most overruns come back as an ordinary ``timeout`` error
with its position; the kill at deadline + ``grace`` is the backstop for a call that does not
return to Python. Tables are named by path and loaded once per child (``child_engine``)."""

from __future__ import annotations

import contextlib
import copyreg
import json
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
import warnings

from csvdsl.engine import Engine
from csvdsl.errors import DslError, ExecutionError, LimitError
from csvdsl.limits import Limits, timeout_error
from csvdsl.program import ProgramRun, prepare
from csvdsl.render import content_sha256
from csvdsl.session import MAX_CHARS, MAX_ROWS, Observation, Session, error_observation
from planner import stats
from planner.cache import LruDict
from planner.execute import Execution, Value

GRACE = 2.0  # seconds past the deadline before the child is killed
STARTUP_TIMEOUT = 300.0  # seconds a new child may take to import and build the parser
SHIPPED_ROWS = 10_000  # rows of a table value sent back to the parent (the rest is counted and hashed)
_HEADER = struct.Struct("!Q")


class Worker:
    """A supervised child process; use from one thread at a time (a lock guards it)."""

    def __init__(self, limits: Limits | None = None, grace: float = GRACE):
        self.limits = limits or Limits()
        self.grace = grace
        self.restarts = 0  # children killed at a deadline or lost, and replaced
        self._process: subprocess.Popen | None = None
        self._replies: _Reader | None = None  # the current child's output
        self._loaded: set[str] = set()  # tables keys the current child has loaded
        self._lock = threading.Lock()
        self.interrupted = False  # set by interrupt(): map answers no more items until it is cleared

    # ------------------------------------------------------------------ the API

    def run(self, tables: dict[str, str], text: str, limits: Limits | None = None) -> ProgramRun:
        """Run a program over the tables (names to CSV paths); a ProgramRun whose execution
        holds the outputs only (no intermediate tables), or raises its ``DslError``."""
        limits = limits or self.limits
        self.load(tables)
        return self.call(_run_program, dict(tables), text, limits, timeout=limits.timeout)

    def load(self, tables: dict[str, str]) -> None:
        """Load tables in the child (without a deadline: reading data is not the program's time)."""
        key = json.dumps(dict(tables), sort_keys=True)
        if key not in self._loaded:
            self.call(_load, dict(tables))
            self._loaded.add(key)

    def session(self, tables: dict[str, str], limits: Limits | None = None, max_rows: int = MAX_ROWS,
                max_chars: int = MAX_CHARS) -> "WorkerSession":
        """A multi-turn Session whose turns run in the worker (bindings are kept here, in the
        parent, so a replaced child loses nothing)."""
        return WorkerSession(self, dict(tables), limits or self.limits, max_rows, max_chars)

    def call(self, function, *args, timeout: float | None = None):
        """``function(*args)`` in the child (a module-level function: pickled by name); its
        result, or its ``DslError`` raised here. Past ``timeout`` + grace the child is killed
        and a ``timeout`` error raised."""
        result = self.map(function, [args], timeout)[0]
        if isinstance(result, DslError):
            raise result
        return result

    def map(self, function, items: list[tuple], timeout: float | None = None) -> list:
        """``function(*item)`` for each item, in the child, sent as one request (a reward
        call's completions: one round trip instead of one each); the results in order, each
        item's ``DslError`` in its place. An item past ``timeout`` + grace kills the child and
        gets a ``timeout`` error; the items after it go to a new child. Each item is pickled
        on its own, here and in the child, so one that cannot travel fails alone."""
        results: list = [None] * len(items)
        blobs = {}
        for index, args in enumerate(items):
            try:
                blobs[index] = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as error:  # noqa: BLE001 - any pickling failure is this item's
                results[index] = ExecutionError("unsendable", f"a call's arguments cannot be sent to the worker: {error}",
                                                hint="pass plain values (text, numbers, lists, dicts)")
        callee = pickle.dumps(function, protocol=pickle.HIGHEST_PROTOCOL)
        pending = list(blobs)
        while pending:
            if self.interrupted:
                for index in pending:
                    results[index] = LimitError("interrupted", "scoring was interrupted before this item ran",
                                                hint="run it again")
                return results
            request = pickle.dumps((callee, [blobs[index] for index in pending]), protocol=pickle.HIGHEST_PROTOCOL)
            with self._lock:
                try:
                    process = self._ensure()
                except LimitError as error:  # no child to run them: each item gets why
                    for index in pending:
                        results[index] = error
                    return results
                done = 0
                try:
                    _write(process.stdin, request)
                    for index in pending:  # each item's reply within its own timeout
                        results[index] = _unpack_reply(self._replies.message(None if timeout is None else timeout + self.grace))
                        done += 1
                except TimeoutError:
                    self._kill()
                    results[pending[done]] = timeout_error(timeout, "by the supervisor: the worker was replaced")
                    done += 1
                except (EOFError, OSError):
                    code = self._kill()
                    results[pending[done]] = LimitError(
                        "worker-lost", f"the program's worker process ended unexpectedly (exit status {code})",
                        hint="the program probably needed more memory than the machine has: filter or aggregate earlier")
                    done += 1
                except BaseException:  # Ctrl-C mid-batch: the unread replies must not answer a later request
                    self._kill()
                    raise
                pending = pending[done:]
        return results

    def interrupt(self) -> None:
        """From another thread: kill the child a ``map`` is waiting on, and let that ``map``
        send nothing more (its unanswered items get an ``interrupted`` error) until
        ``interrupted`` is cleared. A pool's threads cannot be reached by Ctrl-C themselves."""
        self.interrupted = True
        process = self._process
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()

    @property
    def running(self) -> bool:
        """Whether a child is up (else one starts on the next call)."""
        process = self._process
        return process is not None and process.poll() is None

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                try:
                    self._process.stdin.close()
                    self._process.wait(timeout=2)
                except (OSError, subprocess.TimeoutExpired):
                    self._process.kill()
                    self._process.wait()
                self._process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.kill()

    # ------------------------------------------------------------------ the child process

    def _ensure(self) -> subprocess.Popen:
        """The child, started if needed; it says it is ready once its imports and the parser are
        built, so no deadline counts a child's start."""
        if self._process is None or self._process.poll() is not None:
            self._loaded.clear()
            self._process = subprocess.Popen([sys.executable, "-m", "csvdsl.worker"], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, env=_child_environment())
            self._replies = _Reader(self._process.stdout)
            try:
                self._replies.message(STARTUP_TIMEOUT)
            except (TimeoutError, EOFError, OSError):
                self._kill()
                raise LimitError("worker-lost", "the program worker process did not start",
                                 hint="check that `python -m csvdsl.worker` runs in this environment") from None
        return self._process

    def _kill(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        process.kill()
        code = process.wait()
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):  # the pipe broke with the child; nothing is left to flush
                stream.close()
        self.restarts += 1
        return code


class WorkerSession:
    """A ``Session`` lookalike (``run``, ``bindings``, ``transcript``, ``answer``, ``reset``)
    whose turns run in a ``Worker``."""

    def __init__(self, worker: Worker, tables: dict[str, str], limits: Limits, max_rows: int, max_chars: int):
        self.worker, self.tables, self.limits = worker, tables, limits
        self.max_rows, self.max_chars = max_rows, max_chars
        self.bindings: list = []
        self.transcript: list[tuple[str, Observation]] = []
        self.answer: Value | None = None

    def run(self, text: str) -> Observation:
        try:
            self.worker.load(self.tables)
            observation, self.bindings = self.worker.call(
                _session_turn, self.tables, self.limits, self.max_rows, self.max_chars, self.bindings, text,
                timeout=self.limits.timeout)
        except DslError as error:  # the supervisor's own: a timeout or a lost worker
            observation = error_observation(error, text, self.max_chars)
        if observation.answer is not None:
            self.answer = observation.answer
        self.transcript.append((text, observation))
        return observation

    def reset(self) -> None:
        self.bindings = []
        self.answer = None


# ---------------------------------------------------------------------- what runs in the child

_ENGINES = LruDict(8)  # tables key -> Engine, in the child


def child_engine(tables: dict[str, str]) -> Engine:
    """The child's Engine for a set of tables (names to CSV paths), loaded on first use."""
    key = json.dumps(tables, sort_keys=True)
    return _ENGINES.remember(key, lambda: Engine(tables))


def _load(tables) -> None:
    child_engine(tables)


def _run_program(tables, text, limits):
    run = child_engine(tables).run(text, limits, keep=(), hard=True)
    outputs = [(output, shippable(value)) for output, value in run.execution.outputs]
    return ProgramRun(run.checked, run.plan, Execution(outputs=outputs))


def _session_turn(tables, limits, max_rows, max_chars, bindings, text):
    session = Session(child_engine(tables), limits, max_rows, max_chars)
    session.bindings = list(bindings)
    observation = session.run(text)  # the alarm's hard stop applies: this is the child's main thread
    observation.values = [shippable(v) for v in observation.values]
    if observation.answer is not None:
        observation.answer = shippable(observation.answer)
    return observation, session.bindings


def shippable(value: Value, rows: int = SHIPPED_ROWS) -> Value:
    """A value small enough to send: a table cut to ``rows`` rows, its full size in
    ``rows_total`` and the hash of its full content in ``sha256``."""
    if value.kind != "table" or len(value.value) <= rows:
        return value
    return Value(value.kind, value.value.head(rows), value.dtype, value.ordered, value.table,
                 rows_total=len(value.value), sha256=content_sha256(value))


def _pack_error(error: DslError) -> tuple:
    # A DslError's constructor takes keyword-only fields, which pickle cannot call it with.
    return type(error), str(error), dict(error.__dict__)


def _reduce_error(error: DslError):
    return _unpack_error, (_pack_error(error),)


def _picklable_errors() -> None:
    """Every DslError class pickles through ``_pack_error``, wherever one sits in a result
    (an Observation's error, a report's)."""
    pending = [DslError]
    while pending:
        kind = pending.pop()
        copyreg.pickle(kind, _reduce_error)
        pending.extend(kind.__subclasses__())


def _unpack_reply(reply: bytes):
    """A reply read whole: the result, or the DslError in its place (also when the result
    cannot be rebuilt here, so the replies after it still answer their own items)."""
    try:
        status, payload = pickle.loads(reply)
    except Exception as error:  # noqa: BLE001 - whatever unpickling raised is this item's
        return ExecutionError("internal", f"the worker's result cannot be read here: {type(error).__name__}: {error}",
                              hint="return plain values from functions run in the worker")
    return _unpack_error(payload) if status == "error" else payload


def _unpack_error(packed: tuple) -> DslError:
    kind, message, fields = packed
    error = kind.__new__(kind)
    Exception.__init__(error, message)
    error.__dict__.update(fields)
    return error


def _child_environment() -> dict:
    env = dict(os.environ)
    # The child must import this csvdsl, wherever the parent found it.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _write(stream, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


class _Reader:
    """Framed messages from a pipe, read in chunks of whatever has arrived: a batch's replies
    take a few reads, not a select and a read for each header and each body."""

    def __init__(self, stream):
        self.fd, self.buffer = stream.fileno(), bytearray()

    def message(self, timeout: float | None) -> bytes:
        end = None if timeout is None else time.monotonic() + timeout
        header = self._take(_HEADER.size, end)
        return self._take(_HEADER.unpack(header)[0], end)

    def _take(self, size: int, end: float | None) -> bytes:
        while len(self.buffer) < size:
            if end is not None:
                ready, _, _ = select.select([self.fd], [], [], max(end - time.monotonic(), 0))
                if not ready:
                    raise TimeoutError
            chunk = os.read(self.fd, min(max(size - len(self.buffer), 1 << 16), 1 << 20))
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


def _serve() -> None:
    """The child's loop: a request (a function and the items to call it on) in, a reply per
    item out, until the parent closes the pipe."""
    warnings.simplefilter("ignore")  # pandas' performance warnings are not the parent's business
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing a call prints may corrupt the replies
    prepare()
    stats.load()  # a statistical test's first call would otherwise pay scipy's import within its deadline
    _write(sink, b"ready")
    requests = _Reader(source)
    while True:
        try:
            request = requests.message(None)
        except EOFError:
            return
        callee, items = pickle.loads(request)  # pickled bytes, which always load
        for args in items:
            _write(sink, _reply(callee, args))


def _reply(callee: bytes, args: bytes) -> bytes:
    """The pickled function's result on the pickled arguments, or its error as a DslError,
    pickled for the parent."""
    try:
        function, arguments = pickle.loads(callee), pickle.loads(args)
    except Exception as error:  # noqa: BLE001 - e.g. a class only the parent's __main__ defines
        return pickle.dumps(("error", _pack_error(ExecutionError(
            "unsendable", f"a call's arguments cannot be read in the worker: {type(error).__name__}: {error}",
            hint="pass plain values (text, numbers, lists, dicts)"))))
    try:
        reply = ("ok", function(*arguments))
    except DslError as error:
        reply = ("error", error)
    except RecursionError:
        reply = ("error", LimitError("program-too-deep", "the program nests too deeply to process",
                                     hint="split deep expressions with derive or bindings"))
    except MemoryError:
        reply = ("error", LimitError("memory", "the program needs more memory than this machine has",
                                     hint="filter or aggregate earlier"))
    except Exception as error:  # noqa: BLE001 - the parent gets an error, never a dead worker
        reply = ("error", ExecutionError("internal", f"{type(error).__name__}: {error}",
                                         hint="this is a bug in csvdsl; please report the program and data"))
    if reply[0] == "error":
        reply = ("error", _pack_error(reply[1]))
    _picklable_errors()  # classes imported by this call are registered too
    try:
        return pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # noqa: BLE001 - an unpicklable result is reported, not lost
        return pickle.dumps(("error", _pack_error(ExecutionError("internal", f"the worker's result cannot be sent: {error}"))))


if __name__ == "__main__":
    # Serve from the imported module, not from __main__: what the replies pickle by name
    # (_unpack_error) and the engines the calls share must be csvdsl.worker's own.
    from csvdsl.worker import _serve as serve

    try:
        serve()
    except (BrokenPipeError, KeyboardInterrupt):
        # The parent is gone (killed) or stopping (Ctrl-C reaches its whole process group): it
        # wants no reply and no traceback. _exit skips the flush of replies no one will read.
        os._exit(0)
