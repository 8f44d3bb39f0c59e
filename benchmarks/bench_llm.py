"""The agent loop against a local OpenAI-compatible server: solves per second at concurrency
1, 8 and 32 with 200 ms of simulated latency per request (the ratio to concurrency 1 should
grow nearly linearly until the server saturates), and the harness's overhead per turn with
a server that answers at once, next to a bare ``openai`` client round trip (the peer)."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import openai
from common import report

from csvdsl.engine import Engine
from csvdsl.models.agent import solve
from csvdsl.models.llm import ModelClient
from csvdsl.session import Session
from csvdsl.testing.server import ScriptedServer

ROOT = Path(__file__).resolve().parents[1]
TABLES = {"airlines": str(ROOT / "examples" / "data" / "airlines.csv")}
EXPLORE = "```csvdsl\n# look first\nua = airlines | filter carrier == \"UA\"\nua | take 3\n```"
ANSWER = "```csvdsl\nn = airlines | aggregate n = count()\nanswer n.n\n```"
QUESTION = "How many airlines are there?"


def two_turns(request):
    """Explore, then answer: decided by the conversation, so any number of solves can interleave."""
    return ANSWER if any(m["role"] == "assistant" for m in request.messages) else EXPLORE


async def solves(client: ModelClient, engine: Engine, count: int) -> list:
    return await asyncio.gather(*(solve(client, Session(engine), QUESTION) for _ in range(count)))


def throughput(url: str, engine: Engine, concurrency: int, count: int) -> float:
    client = ModelClient("bench", base_url=url, api_key="x", concurrency=concurrency)

    async def go():
        try:
            started = time.perf_counter()
            results = await solves(client, engine, count)
            assert all(r.answer is not None for r in results)
            return time.perf_counter() - started
        finally:
            await client.aclose()

    return count / asyncio.run(go())


def per_turn(url: str, engine: Engine, repeat: int = 60) -> tuple[float, float]:
    """Median seconds per turn of the agent loop, and of a bare SDK round trip."""
    client = ModelClient("bench", base_url=url, api_key="x")
    bare = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0)
    messages = [{"role": "user", "content": QUESTION}]

    async def go():
        ours, peer = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            result = await solve(client, Session(engine), QUESTION)
            ours.append((time.perf_counter() - started) / result.turns)
            started = time.perf_counter()
            await bare.chat.completions.create(model="bench", messages=messages)
            peer.append(time.perf_counter() - started)
        await client.aclose()
        await bare.close()
        return statistics.median(ours[5:]), statistics.median(peer[5:])

    return asyncio.run(go())


def main(directory: Path | None = None):
    engine = Engine(TABLES)
    with ScriptedServer(two_turns, latency=0.2) as server:
        rates = {}
        for concurrency in (1, 8, 32):
            rates[concurrency] = throughput(server.url, engine, concurrency, count=max(6, 4 * concurrency))
            print(f"{'agent loop, 2-turn solves, 200 ms latency':<46} concurrency {concurrency:3d}: "
                  f"{rates[concurrency]:6.2f} solves/s   ratio to concurrency 1 {rates[concurrency] / rates[1]:5.2f}x "
                  f"(linear would be {concurrency}x)", flush=True)
    with ScriptedServer(two_turns) as server:
        ours, peer = per_turn(server.url, engine)
    report("agent loop, one turn, instant server", ours, peer, "bare openai request")


if __name__ == "__main__":
    main()
