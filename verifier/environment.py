"""A multi-turn environment for TRL's GRPOTrainer (``environment_factory=CsvdslEnv``): each
rollout gets a Session on its row's tables, run in a supervised worker process, the model
calls the ``run`` tool with programs,
and ``get_reward`` scores the last answer with the test-suite check of ``answer_reward``.
The prompt for it is ``csvdsl.models.prompts.environment_prompt(row)``."""

from __future__ import annotations

import json

from csvdsl.limits import Limits
from csvdsl.tables.info import ColumnInfo, TableInfo, task_text
from csvdsl.worker import Worker, WorkerSession
from verifier.rewards import answer_reward, engine_for_tables
from verifier.table_store import resolve

MAX_TURNS = 8
MAX_ROWS = 1_000_000  # rows any step of a program may produce
TIMEOUT = 10.0  # seconds per program
SHOW_ROWS = 10  # rows shown of a table in an observation
_WORKER: list[Worker] = []  # one supervised worker for every rollout of this process


def _worker() -> Worker:
    if not _WORKER:
        _WORKER.append(Worker())
    return _WORKER[0]


def task_tables(refs) -> list[TableInfo]:
    """What the task's prompt says about its tables: names, rows and columns (as the export's prompts do)."""
    engine = engine_for_tables(refs)
    refs = json.loads(refs) if isinstance(refs, str) else refs
    return [TableInfo(name=name, sha256=str(refs[name]), rows=len(engine.tables[name]),
                      columns=[ColumnInfo(name=c, type=k) for c, k in engine.catalog[name].schema.items()])
            for name in refs]


class CsvdslEnv:
    """One rollout's environment. Limits come from the row (``max_turns``, ``max_rows``,
    ``timeout`` columns) or from the constructor: ``environment_factory=lambda:
    CsvdslEnv(max_turns=4)``. Tables are found as the rewards find them (``use_dataset``)."""

    def __init__(self, max_turns: int = MAX_TURNS, max_rows: int = MAX_ROWS, timeout: float = TIMEOUT,
                 show_rows: int = SHOW_ROWS):
        self.defaults = {"max_turns": max_turns, "max_rows": max_rows, "timeout": timeout}
        self.show_rows = show_rows
        self.session: WorkerSession | None = None
        self.row: dict = {}
        self.turns = 0
        self.programs: list[str] = []  # every program the model sent, in order

    def reset(self, **row) -> str:
        """Start a rollout on the row's tables; returns the task: the tables and the question."""
        self.row = row
        limit = {name: row.get(name) if row.get(name) is not None else value for name, value in self.defaults.items()}
        self.max_turns = int(limit["max_turns"])
        # The model's programs run in the supervised worker: one that overruns is stopped there.
        tables = resolve(json.loads(row["tables"]) if isinstance(row["tables"], str) else row["tables"])
        self.session = _worker().session(tables, Limits(max_rows=int(limit["max_rows"]), timeout=float(limit["timeout"])),
                                         max_rows=self.show_rows)
        self.turns = 0
        self.programs = []
        return task_text(row.get("question") or "", task_tables(row["tables"]))

    def run(self, program: str) -> str:
        """Run a csvdsl program on the task's tables and see its result.

        Bindings made by earlier calls stay available. End with a program whose last statement
        is `answer <expression>` once you know the answer.

        Args:
            program: The csvdsl program to run, one statement per line.

        Returns:
            The program's result (tables cut to a few rows), or the error with a caret under
            the mistake and a hint.
        """
        if self.session is None:
            return "No task: the environment was not reset."
        if self.turns >= self.max_turns:
            return f"No turns left (the limit is {self.max_turns}): the last answer counts."
        self.turns += 1
        self.programs.append(program)
        observation = self.session.run(program)
        return observation.text if observation.ok else f"The program failed:\n{observation.text}"

    def get_reward(self) -> float | None:
        """The test-suite answer score of the last answer: 1.0 when it agrees with the teacher's
        on the tables and on every variant of them, else 0.0 (None when the row's own program fails)."""
        if self.session is None or self.session.answer is None or not self.programs:
            return 0.0
        conversation = [{"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "run", "arguments": {"program": p}}}]} for p in self.programs]
        return answer_reward([conversation], answer=[self.row["answer"]], tables=[self.row["tables"]],
                             program=[self.row.get("program")])[0]
