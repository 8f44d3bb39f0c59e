"""The agent loop: a model talks to a ``Session``. It writes a program, the harness runs it
and sends back the bounded observation (or the error with its caret and hint), until an
``answer`` statement has run or a turn or token budget is spent. The conversation is the
transcript that records keep."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from csvdsl.models.llm import ModelClient, Reply
from csvdsl.models.prompts import system_prompt
from csvdsl.reply import fenced, find_program
from csvdsl.session import Observation, Session
from planner.execute import Value

NO_PROGRAM = ("Your reply has no program. Reply with one program in a ```csvdsl fenced block; "
              "end it with an `answer` statement when you know the answer.")
CONSTRAINED_NOTE = ("Your reply is the program itself, with no fence and no prose around it: "
                    "write your reasoning as `#` comments inside it.")
CONTINUE = "The program ran. Continue; end with an `answer` statement when you know the answer."

# Programs run on one worker thread: the event loop stays free for network I/O, and the
# tables' Engine (shared between solves) is never used by two threads at once.
_RUNNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csvdsl-run")


async def off_loop(fn, *args):
    """``fn(*args)`` on the program thread (running programs, verifying them)."""
    return await asyncio.get_running_loop().run_in_executor(_RUNNER, fn, *args)


@dataclass
class Solve:
    """The outcome of one agent loop."""

    messages: list[dict]  # the whole conversation, system prompt first
    answer: Value | None = None
    stop: str = "turns"  # answer | turns | tokens
    turns: int = 0
    errors: int = 0  # replies without a program, or programs that failed
    prompt_tokens: int = 0
    completion_tokens: int = 0
    programs: list[str] = field(default_factory=list)  # every program that ran without error

    @property
    def program(self) -> str:
        """The programs that ran, as one program (a Session keeps bindings between turns)."""
        return "\n".join(self.programs)


Event = Callable[[str, str], None]  # (role or kind, text), for streaming a transcript


async def solve(client: ModelClient, session: Session, user: str, *, system: str | None = None,
                max_turns: int = 6, token_budget: int | None = None, sample: int = 0,
                temperature: float | None = None, on_event: Event | None = None) -> Solve:
    """Run the loop for one user message (the question, the tables, the hint)."""
    constrained = client.constrain != "off"
    system = system if system is not None else system_prompt()
    emit = on_event or (lambda kind, text: None)
    result = Solve(messages=[{"role": "system", "content": system}, {"role": "user", "content": user}])
    emit("user", user)
    while result.turns < max_turns:
        # The transcript keeps the plain system prompt (training data is the same in every
        # mode); only the request says that the reply is the bare program.
        sent = [{"role": "system", "content": f"{system}\n\n{CONSTRAINED_NOTE}"}] + result.messages[1:] \
            if constrained else result.messages
        reply: Reply = await client.complete(sent, sample=sample, temperature=temperature)
        result.turns += 1
        result.prompt_tokens += reply.prompt_tokens
        result.completion_tokens += reply.completion_tokens
        program = reply.text if constrained else find_program(reply.text)
        # A constrained reply is stored fenced, so transcripts look the same in every mode.
        content = fenced(reply.text) if constrained else reply.text
        result.messages.append({"role": "assistant", "content": content})
        emit("assistant", content)
        if program is None or not program.strip():
            feedback = NO_PROGRAM
            result.errors += 1
        else:
            observation: Observation = await off_loop(session.run, program)
            if observation.ok:
                result.programs.append(program)
                if observation.answer is not None:
                    # The transcript ends with the program that answered: what a student learns to write.
                    result.answer, result.stop = observation.answer, "answer"
                    emit("answer", observation.text)
                    return result
                feedback = f"{observation.text}\n\n{CONTINUE}"
            else:
                result.errors += 1
                feedback = f"The program failed:\n{observation.text}\n\nFix it and reply with the corrected program."
        result.messages.append({"role": "user", "content": feedback})
        emit("observation", feedback)
        if token_budget is not None and result.prompt_tokens + result.completion_tokens >= token_budget:
            result.stop = "tokens"
            return result
    return result
