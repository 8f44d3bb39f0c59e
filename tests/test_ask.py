"""`csvdsl ask` as a user runs it, against a local scripted server."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import csvdsl
from csvdsl.testing.server import Fail, ScriptedServer
from tests.test_llm import ANSWER, EXPLORE

PEOPLE = str(Path(__file__).parent / "data" / "people.csv")


def ask(*args, env=None):
    environment = {**os.environ, "OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", **(env or {})}
    return csvdsl("ask", *args, env=environment)


def test_ask_streams_the_transcript_and_the_answer(tmp_path):
    with ScriptedServer([EXPLORE, ANSWER]) as server:
        done = ask(PEOPLE, "How many people live in London?", "--model", "m", "--base-url", server.url,
                   "--cache", str(tmp_path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.index("How many people live in London?") < out.index("# look first") < out.index("bound london: 2 rows")
    assert out.index("bound london") < out.index("I will count them.") < out.index("answer (number): 2")
    assert "m: 2 requests (0 cached, 0 retries)" in done.stderr and "Traceback" not in done.stderr


def test_ask_json_and_the_cache(tmp_path):
    with ScriptedServer([EXPLORE, ANSWER]) as server:
        first = ask(PEOPLE, "How many people live in London?", "--model", "m", "--cache", str(tmp_path),
                    "--format", "json", env={"OPENAI_BASE_URL": server.url})
    result = json.loads(first.stdout)
    assert result["answer"] == {"type": "number", "value": 2} and result["stop"] == "answer"
    assert [m["role"] for m in result["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    with ScriptedServer([Fail(500)]) as server:
        again = ask(PEOPLE, "How many people live in London?", "--model", "m", "--cache", str(tmp_path),
                    "--format", "json", "--base-url", server.url)
        assert len(server.requests) == 0
    assert json.loads(again.stdout)["messages"] == result["messages"]
    assert "0 requests (2 cached" in again.stderr


def test_ask_without_an_answer_exits_1(tmp_path):
    with ScriptedServer([EXPLORE]) as server:
        done = ask(PEOPLE, "How many?", "--model", "m", "--base-url", server.url, "--no-cache", "--max-turns", "2")
    assert done.returncode == 1 and "no answer: the model stopped at the turn budget after 2 turns" in done.stderr


def test_ask_errors_are_messages_not_tracebacks(tmp_path):
    done = ask(PEOPLE, "How many?", "--model", "m", "--no-cache")
    assert done.returncode == 1 and "[no-api-key]" in done.stderr and "OPENAI_API_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    done = ask(PEOPLE, "How many?", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--no-cache", "--retries", "0")
    assert done.returncode == 1 and "[model-unreachable]" in done.stderr and "Traceback" not in done.stderr
    done = ask("How many?", "--model", "m")
    assert done.returncode == 2


def test_ask_prints_model_prose_as_text_with_options_anywhere(tmp_path):
    hostile = "Closing [/] and [bold red]loud[/bold red] \x1b[2Jcleared?\n```csvdsl\nn = people | aggregate n = count()\nanswer n.n\n```"
    with ScriptedServer([hostile]) as server:
        # The options come between the CSV and the question, as people write them.
        done = ask(PEOPLE, "--model", "m", "--base-url", server.url, "How many people?", "--no-cache")
    assert done.returncode == 0, done.stderr
    assert "Closing [/] and [bold red]loud[/bold red]" in done.stdout  # markup printed as text
    assert "\x1b[2J" not in done.stdout and "\\x1b[2J" in done.stdout
    assert "answer (number): 6" in done.stdout and "Traceback" not in done.stderr
