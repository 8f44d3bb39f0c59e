"""``csvdsl ask``: one question answered by a model through the agent loop, its transcript
streamed to the terminal as it happens."""

from __future__ import annotations

import asyncio
import json
import sys

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from csvdsl.models.agent import solve
from csvdsl.models.llm import ModelClient, usage_report
from csvdsl.models.prompts import user_prompt
from csvdsl.render import terminal_safe, to_json
from csvdsl.reply import find_program
from csvdsl.tables import Catalog, table_info
from csvdsl.worker import Worker


def ask(client: ModelClient, specs: list[str], question: str, *, hint: str | None = None, max_turns: int = 6,
        token_budget: int | None = None, fmt: str = "text", limits=None) -> int:
    """Answer ``question`` about the tables; 0 when an answer ran, 1 when a budget ran out."""
    catalog = Catalog.from_specs(specs)
    # The model's programs run in a supervised worker: killed and replaced at the deadline.
    worker = Worker(limits)
    session = worker.session({name: catalog[name].path for name in catalog.names()}, limits)
    tables = [table_info(catalog, name) for name in catalog.names()]
    out, err = Console(highlight=False, soft_wrap=True), Console(stderr=True, highlight=False, soft_wrap=True)
    stream = fmt == "text"

    def show(kind: str, text: str) -> None:
        if not stream:
            return
        # A model's text is printed as text: never as Rich markup, control characters escaped.
        if kind == "assistant":
            out.rule(Text(terminal_safe(client.model), style="bold"), style="cyan")
            program = find_program(text)
            prose = text.split("```", 1)[0].strip() if program is not None else text
            if prose:
                out.print(Text(terminal_safe(prose)))
            if program is not None:
                out.print(Syntax(terminal_safe(program), "python", theme="ansi_dark", background_color="default", word_wrap=True))
        else:
            out.rule({"user": "question", "observation": "csvdsl", "answer": "answer"}[kind], style="dim")
            out.print(Text(terminal_safe(text), style="green" if kind == "answer" else ""))

    async def go():
        try:
            return await solve(client, session, user_prompt(question, tables, hint), max_turns=max_turns,
                               token_budget=token_budget, on_event=show)
        finally:
            await client.aclose()

    try:
        result = asyncio.run(go())
    finally:
        worker.close()
    usage = client.usage_table()
    if fmt == "json":
        print(json.dumps({"answer": to_json(result.answer) if result.answer else None, "stop": result.stop,
                          "turns": result.turns, "program": result.program, "messages": result.messages,
                          "usage": usage}, ensure_ascii=False))
    elif result.answer is None:
        err.print(f"no answer: the model stopped at the {'turn' if result.stop == 'turns' else 'token'} budget "
                  f"after {result.turns} turns (raise --max-turns or --token-budget)")
    print(usage_report(usage), file=sys.stderr)
    return 0 if result.answer is not None else 1
