"""The model client and the agent loop, against a local OpenAI-compatible server started by
each test and reached through the real ``openai`` client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from csvdsl.models.agent import NO_PROGRAM, find_program, solve
from csvdsl.models.constrain import gbnf_grammar, lark_grammar
from csvdsl.models.llm import ModelClient, ModelError, load_prices, request_key
from csvdsl.session import Session
from csvdsl.testing.server import Fail, Hang, ScriptedServer

DATA = Path(__file__).parent / "data"
QUESTION = "Tables: people (6 rows)\n\nQuestion: How many people live in London?"
EXPLORE = "```csvdsl\n# look first\nlondon = people | filter city == \"London\"\nlondon | take 3\n```"
ANSWER = "I will count them.\n```csvdsl\nn = london | aggregate n = count()\nanswer n.n\n```"


def run(coroutine):
    return asyncio.run(coroutine)


def client_for(server, tmp_path=None, **options) -> ModelClient:
    options.setdefault("backoff", 0.01)
    return ModelClient("scripted-model", base_url=server.url, api_key="test",
                       cache_dir=(tmp_path / "cache") if tmp_path else None, **options)


def session() -> Session:
    return Session({"people": str(DATA / "people.csv")})


async def solve_once(client, **options):
    try:
        return await solve(client, session(), QUESTION, **options)
    finally:
        await client.aclose()


def test_a_normal_multi_turn_solve():
    with ScriptedServer([EXPLORE, ANSWER]) as server:
        result = run(solve_once(client_for(server)))
    assert result.stop == "answer" and result.turns == 2 and result.errors == 0
    assert result.answer.kind == "number" and result.answer.value == 2
    roles = [m["role"] for m in result.messages]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert "bound london: 2 rows" in result.messages[3]["content"]  # the observation went back
    assert "# look first" in result.messages[2]["content"]  # comments stay in the transcript
    # The second request carried the whole conversation so far.
    assert [m["role"] for m in server.requests[1].body["messages"]] == roles[:4]
    assert server.requests[0].body["messages"][0]["content"].startswith("You answer questions about CSV tables")
    assert result.program == '# look first\nlondon = people | filter city == "London"\nlondon | take 3\nn = london | aggregate n = count()\nanswer n.n'


def test_a_reply_without_a_program_is_told_so():
    with ScriptedServer(["There are two people in London.", ANSWER.replace("london |", "people |")]) as server:
        result = run(solve_once(client_for(server)))
    assert result.messages[3]["content"] == NO_PROGRAM
    assert result.stop == "answer" and result.errors == 1 and result.answer.value == 6


def test_a_failing_program_is_repaired_on_the_next_turn():
    broken = "```csvdsl\nn = people | aggregate n = count(nmae)\nanswer n.n\n```"
    with ScriptedServer([broken, ANSWER.replace("london |", "people |")]) as server:
        result = run(solve_once(client_for(server)))
    feedback = result.messages[3]["content"]
    assert "The program failed" in feedback and "program:1:34: check error [unknown-column]" in feedback
    assert "^^^^" in feedback and "`name`?" in feedback
    assert result.stop == "answer" and result.answer.value == 6 and result.errors == 1


def test_the_loop_stops_at_the_turn_budget():
    with ScriptedServer([EXPLORE]) as server:
        result = run(solve_once(client_for(server), max_turns=3))
    assert result.stop == "turns" and result.turns == 3 and result.answer is None and len(server.requests) == 3


def test_the_loop_stops_at_the_token_budget():
    with ScriptedServer([EXPLORE]) as server:
        result = run(solve_once(client_for(server), max_turns=50, token_budget=2000))
    assert result.stop == "tokens" and result.turns < 50
    assert result.prompt_tokens + result.completion_tokens >= 2000


def test_429_waits_as_long_as_retry_after_says():
    with ScriptedServer([Fail(429, retry_after=1), "```csvdsl\nanswer 1\n```"]) as server:
        client = client_for(server)
        started = asyncio.run(_timed(solve_once(client)))
    elapsed, result = started
    assert result.answer.value == 1 and len(server.requests) == 2
    assert 1.0 <= elapsed < 5  # the backoff alone would have waited 0.01 s
    assert client.usage["scripted-model"].retries == 1


def test_500s_are_retried_with_backoff_then_reported():
    with ScriptedServer([Fail(500), Fail(503), "```csvdsl\nanswer 1\n```"]) as server:
        client = client_for(server)
        result = run(solve_once(client))
    assert result.answer.value == 1 and len(server.requests) == 3 and client.usage["scripted-model"].retries == 2
    with ScriptedServer([Fail(500)]) as server:
        with pytest.raises(ModelError) as error:
            run(solve_once(client_for(server, retries=2)))
    assert error.value.code == "model-http-500" and len(server.requests) == 3


@pytest.mark.parametrize("headers,seconds", [
    ({"retry-after": "2"}, 2.0), ({"retry-after-ms": "1500"}, 1.5), ({"retry-after-ms": "soon", "retry-after": "3"}, 3.0),
    ({"retry-after": "nan"}, None), ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0), ({}, None),
])
def test_retry_after_headers(headers, seconds):
    from types import SimpleNamespace

    from csvdsl.models.llm import _retry_after

    class Failure(Exception):
        response = SimpleNamespace(headers=headers)

    assert _retry_after(Failure()) == seconds


def test_max_tokens_is_named_for_the_server():
    assert "max_tokens" not in ModelClient("m", api_key="k").request([])[1]  # unset: the server decides
    assert ModelClient("m", api_key="k", max_tokens=50).request([])[1]["max_completion_tokens"] == 50  # OpenAI
    assert ModelClient("m", base_url="http://localhost:8000/v1", max_tokens=50).request([])[1]["max_tokens"] == 50
    with pytest.raises(ModelError):
        ModelClient("m", api_key="k", retries=-1)


def test_a_client_error_is_not_retried_and_says_what_to_check():
    with ScriptedServer([Fail(404, message="model not found")]) as server:
        with pytest.raises(ModelError) as error:
            run(solve_once(client_for(server)))
    assert len(server.requests) == 1
    assert error.value.code == "model-http-404" and "model name" in error.value.hint


def test_a_hung_request_hits_the_timeout_and_is_retried():
    with ScriptedServer([Hang(), "```csvdsl\nanswer 1\n```"]) as server:
        client = client_for(server, timeout=0.5)
        elapsed, result = run(_timed(solve_once(client)))
    assert result.answer.value == 1 and 0.5 <= elapsed < 5
    with ScriptedServer([Hang()]) as server:
        with pytest.raises(ModelError) as error:
            run(solve_once(client_for(server, timeout=0.2, retries=1)))
    assert error.value.code == "model-timeout"


def test_an_unreachable_server_is_a_model_error():
    client = ModelClient("m", base_url="http://127.0.0.1:9/v1", api_key="x", retries=1, backoff=0.01, timeout=2)
    with pytest.raises(ModelError) as error:
        run(solve_once(client))
    assert error.value.code == "model-unreachable" and "--base-url" in error.value.hint


def test_a_rerun_is_served_entirely_from_the_cache(tmp_path):
    with ScriptedServer([EXPLORE, ANSWER]) as server:
        first = run(solve_once(client_for(server, tmp_path)))
        assert len(server.requests) == 2
    with ScriptedServer([Fail(500)]) as server:  # a new server: any request would fail
        client = client_for(server, tmp_path)
        second = run(solve_once(client))
        assert len(server.requests) == 0
    assert second.messages == first.messages and second.answer.value == first.answer.value
    assert client.usage["scripted-model"].cached == 2 and client.usage["scripted-model"].requests == 0


def test_the_sample_index_and_sampling_parameters_are_part_of_the_cache_key(tmp_path):
    with ScriptedServer(["```csvdsl\nanswer 1\n```"]) as server:
        client = client_for(server, tmp_path)
        run(solve(client, session(), QUESTION, sample=0))
        run(solve(client, session(), QUESTION, sample=1))
        run(solve(client, session(), QUESTION, sample=1, temperature=0.7))
        run(solve(client, session(), QUESTION, sample=1))
        assert len(server.requests) == 3
    assert request_key("chat", {"a": 1}, 0) != request_key("chat", {"a": 1}, 1)


def test_concurrency_is_bounded():
    with ScriptedServer(["```csvdsl\nanswer 1\n```"], latency=0.2) as server:
        client = client_for(server, concurrency=4)

        async def many():
            try:
                return await asyncio.gather(*(solve(client, session(), QUESTION) for _ in range(8)))
            finally:
                await client.aclose()

        elapsed, results = run(_timed(many()))
    assert all(r.answer.value == 1 for r in results)
    assert 0.4 <= elapsed < 1.5  # two waves of four, not one of eight nor eight of one


@pytest.mark.parametrize("mode", ["off", "vllm", "openai", "llama"])
def test_request_bodies_for_each_constrain_mode(mode):
    program = 'london = people | filter city == "London" | aggregate n = count()\nanswer london.n'
    reply = program if mode != "off" else f"```csvdsl\n{program}\n```"
    with ScriptedServer([reply]) as server:
        result = run(solve_once(client_for(server, constrain=mode, temperature=0.5)))
    assert result.answer.value == 2
    request = server.requests[0]
    body = request.body
    assert body["temperature"] == 0.5
    if mode == "openai":
        assert request.path == "/v1/responses"
        tool = body["tools"][0]
        assert tool["type"] == "custom" and tool["format"] == {"type": "grammar", "syntax": "lark", "definition": lark_grammar()}
        assert body["tool_choice"] == {"type": "custom", "name": "csvdsl"}
        assert body["instructions"].startswith("You answer") and body["input"][0]["role"] == "user"
    else:
        assert request.path == "/v1/chat/completions"
        if mode == "vllm":
            assert body["structured_outputs"] == {"grammar": lark_grammar()}
        elif mode == "llama":
            assert body["grammar"] == gbnf_grammar()
        else:
            assert "grammar" not in body and "structured_outputs" not in body
    # A constrained reply is the program; the transcript stores it fenced, like any other, and
    # keeps the plain system prompt: only the request says the reply is the bare program.
    assert find_program(result.messages[2]["content"]) == program
    sent_system = body["instructions"] if mode == "openai" else body["messages"][0]["content"]
    assert ("no fence" in sent_system) is (mode != "off")
    assert "no fence" not in result.messages[0]["content"]


def test_usage_and_cost_are_counted(tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"scripted-model": {"input": 1.0, "output": 2.0}}))
    with ScriptedServer([EXPLORE, ANSWER]) as server:
        client = client_for(server, prices=load_prices(str(prices)))
        result = run(solve_once(client))
    [row] = client.usage_table()
    assert row["requests"] == 2 and row["prompt_tokens"] == result.prompt_tokens > 0
    assert row["cost"] == pytest.approx((row["prompt_tokens"] * 1.0 + row["completion_tokens"] * 2.0) / 1e6)
    prices.write_text("{not json")
    with pytest.raises(ModelError):
        load_prices(str(prices))


def test_no_key_and_no_server_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ModelError) as error:
        ModelClient("m")
    assert error.value.code == "no-api-key" and "OPENAI_API_KEY" in error.value.hint
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8000/v1")
    assert ModelClient("m").base_url == "http://localhost:8000/v1"


async def _timed(coroutine):
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await coroutine
    return loop.time() - started, result
