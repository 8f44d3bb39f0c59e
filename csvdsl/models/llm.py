"""Talking to a model behind any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama,
SGLang) through the ``openai`` SDK's async client: bounded concurrency, retries with backoff
that honour ``Retry-After``, a request timeout, an on-disk response cache keyed by the whole
request, grammar-constrained decoding, and token and cost accounting per model."""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import openai

from csvdsl.errors import DslError
from csvdsl.models.constrain import MODES, grammar_for

RETRY_STATUS = frozenset({408, 409, 429})  # and every 5xx but 501 (not implemented: it will not change)
TOOL_NAME = "csvdsl"
MAX_WAIT = 300.0  # never sleep longer than this on one Retry-After


REQUEST_ERRORS = frozenset({"model-http-400", "model-http-413", "model-http-422"})  # this request's fault, not the run's


class ModelError(DslError):
    """A model server could not be reached, refused the request, or kept failing."""

    phase = "model"


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens."""

    input: float
    output: float


@dataclass
class Usage:
    requests: int = 0  # sent to the server and answered
    cached: int = 0  # answered from the cache
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None


@dataclass(frozen=True)
class Reply:
    text: str  # the program itself when decoding is constrained
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    cached: bool


def load_prices(path: str | None) -> dict[str, Price]:
    """Prices from a JSON file ``{"model": {"input": 2.5, "output": 10.0}}`` (dollars per
    million tokens); the file named by ``CSVDSL_PRICES`` when no path is given."""
    path = path or os.environ.get("CSVDSL_PRICES")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {model: Price(float(p["input"]), float(p["output"])) for model, p in data.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelError("bad-prices", f"cannot read prices from {path}: {error}",
                         hint='write {"model-name": {"input": 2.5, "output": 10.0}} in dollars per million tokens') from None


class ResponseCache:
    """Replies on disk, one JSON file per request key, written atomically so a killed run
    leaves whole entries only (and concurrent processes can share the directory)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.{id(value)}.tmp")
        temporary.write_text(json.dumps(value), encoding="utf-8")
        os.replace(temporary, path)


def request_key(endpoint: str, body: dict, sample: int) -> str:
    """The cache key: the whole request (model, messages, sampling parameters, grammar) and
    the sample index, but not the server's address."""
    payload = json.dumps({"endpoint": endpoint, "body": body, "sample": sample}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _retry_after(error: Exception) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``Retry-After``)."""
    response = getattr(error, "response", None)
    if response is None:
        return None
    headers = response.headers
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if not value:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            try:  # Retry-After may be an HTTP date
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


@dataclass
class ModelClient:
    """One model on one server. ``await client.complete(messages, sample=i)`` -> Reply."""

    model: str
    base_url: str | None = None
    api_key: str | None = None
    constrain: str = "off"
    concurrency: int = 8
    timeout: float = 120.0
    retries: int = 6
    backoff: float = 0.5  # first wait; doubles per retry, with full jitter
    max_backoff: float = 30.0
    cache_dir: str | os.PathLike | None = None
    prices: dict[str, Price] = field(default_factory=dict)
    temperature: float | None = None
    max_tokens: int | None = None  # per reply; None leaves it to the server
    usage: dict[str, Usage] = field(default_factory=dict)

    def __post_init__(self):
        if self.retries < 0 or self.concurrency < 1 or self.timeout <= 0:
            raise ModelError("bad-client-settings", "retries must be 0 or more, concurrency 1 or more, the timeout above 0")
        if self.constrain not in MODES:
            raise ModelError("bad-constrain", f"unknown --constrain mode {self.constrain!r}",
                             hint="one of " + ", ".join(MODES))
        self.base_url = self.base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.api_key = self.api_key or os.environ.get("OPENAI_API_KEY")
        if not self.api_key:
            if not self.base_url:
                raise ModelError("no-api-key", "no API key and no server address",
                                 hint="set OPENAI_API_KEY, or give --base-url for a local server (vLLM, llama.cpp, Ollama)")
            self.api_key = "none"  # local servers accept any key
        self.cache = ResponseCache(self.cache_dir) if self.cache_dir else None
        self._client = self._semaphore = self._loop = None

    def _sdk(self) -> openai.AsyncOpenAI:
        # Made inside the running event loop (its connections belong to it), again when a
        # later asyncio.run brings a new loop; retries are ours, not the SDK's.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key,
                                              timeout=self.timeout, max_retries=0)
            self._semaphore = asyncio.Semaphore(self.concurrency)
            self._loop = loop
        return self._client

    def request(self, messages: list[dict], temperature: float | None = None,
                constrain: str | None = None) -> tuple[str, dict]:
        """(endpoint, body) of the request for these messages, in this client's mode or in
        ``constrain`` (``"off"`` for a reply in prose, such as a teacher's task list)."""
        temperature = self.temperature if temperature is None else temperature
        mode = constrain or self.constrain
        grammar = grammar_for(mode)
        if mode == "openai":
            system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
            body = {"model": self.model, "input": [m for m in messages if m["role"] != "system"],
                    "tools": [{"type": "custom", "name": TOOL_NAME,
                               "description": "Run a csvdsl program against the tables.",
                               "format": {"type": "grammar", "syntax": "lark", "definition": grammar}}],
                    "tool_choice": {"type": "custom", "name": TOOL_NAME}}
            if system:
                body["instructions"] = system
            if self.max_tokens:
                body["max_output_tokens"] = self.max_tokens
        else:
            body = {"model": self.model, "messages": messages}
            if self.max_tokens:
                # OpenAI's reasoning models refuse max_tokens; other servers may not know its successor.
                openai_hosted = self.base_url is None or "api.openai.com" in self.base_url
                body["max_completion_tokens" if openai_hosted else "max_tokens"] = self.max_tokens
            if mode == "vllm":
                body["extra_body"] = {"structured_outputs": {"grammar": grammar}}
            elif mode == "llama":
                body["extra_body"] = {"grammar": grammar}
        if temperature is not None:
            body["temperature"] = temperature
        return ("responses" if mode == "openai" else "chat.completions"), body

    async def complete(self, messages: list[dict], sample: int = 0, temperature: float | None = None,
                       constrain: str | None = None) -> Reply:
        """The model's reply, from the cache when this exact request (and sample) was made before."""
        endpoint, body = self.request(messages, temperature, constrain)
        key = request_key(endpoint, body, sample)
        usage = self.usage.setdefault(self.model, Usage())
        if self.cache and (hit := self.cache.get(key)) is not None:
            usage.cached += 1
            return Reply(hit["text"], hit["prompt_tokens"], hit["completion_tokens"], hit.get("finish_reason"), True)
        reply = await self._send(endpoint, body, usage)
        usage.requests += 1
        usage.prompt_tokens += reply.prompt_tokens
        usage.completion_tokens += reply.completion_tokens
        price = self.prices.get(self.model)
        if price:
            usage.cost = (usage.cost or 0.0) + (reply.prompt_tokens * price.input + reply.completion_tokens * price.output) / 1e6
        if self.cache:
            self.cache.put(key, {"text": reply.text, "prompt_tokens": reply.prompt_tokens,
                                 "completion_tokens": reply.completion_tokens, "finish_reason": reply.finish_reason})
        return reply

    async def _send(self, endpoint: str, body: dict, usage: Usage) -> Reply:
        sdk = self._sdk()
        for attempt in range(self.retries + 1):
            try:
                async with self._semaphore:
                    if endpoint == "responses":
                        return _from_response(await sdk.responses.create(**body))
                    return _from_chat(await sdk.chat.completions.create(**body))
            except openai.APIStatusError as error:
                retryable = error.status_code in RETRY_STATUS or (error.status_code >= 500 and error.status_code != 501)
                if not retryable or attempt == self.retries:
                    raise self._failure(error) from None
                wait = _retry_after(error)
            except openai.APIConnectionError as error:  # includes timeouts
                if attempt == self.retries:
                    raise self._failure(error) from None
                wait = None
            usage.retries += 1
            if wait is None:
                wait = random.uniform(0, min(self.max_backoff, self.backoff * 2 ** attempt))
            await asyncio.sleep(min(wait, MAX_WAIT))
        raise AssertionError("unreachable")

    def _failure(self, error: Exception) -> ModelError:
        where = self.base_url or "the OpenAI API"
        if isinstance(error, openai.APITimeoutError):
            return ModelError("model-timeout", f"{self.model} at {where} did not answer within {self.timeout:g} s "
                              f"({self.retries + 1} attempts)", hint="raise --timeout, or check the server's load")
        if isinstance(error, openai.APIConnectionError):
            return ModelError("model-unreachable", f"cannot reach {where}: {error}",
                              hint="check --base-url (or OPENAI_BASE_URL) and that the server is running")
        status = getattr(error, "status_code", None)
        hints = {401: "check OPENAI_API_KEY (or --api-key)", 403: "check the key's permissions",
                 404: f"check the model name {self.model!r} and --base-url (it usually ends in /v1)",
                 400: "the server refused the request; with --constrain, check that the server supports that mode"}
        message = getattr(error, "message", str(error))
        return ModelError(f"model-http-{status}", f"{where} answered {status}: {message}",
                          hint=hints.get(status, "the server kept failing; try again later or lower --concurrency"))

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close()
        self._client = None

    def usage_table(self) -> list[dict]:
        """One row per model: requests, cached, retries, tokens, cost (None when no price)."""
        return [{"model": model, "requests": u.requests, "cached": u.cached, "retries": u.retries,
                 "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "cost": u.cost}
                for model, u in self.usage.items()]


def _from_chat(completion) -> Reply:
    choice = completion.choices[0] if completion.choices else None
    text = (choice.message.content or "") if choice else ""
    usage = completion.usage
    return Reply(text, getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0,
                 choice.finish_reason if choice else None, False)


def _from_response(response) -> Reply:
    # The custom tool's input is the program; plain text is kept when the model wrote no call.
    calls = [item.input for item in response.output if getattr(item, "type", None) == "custom_tool_call"]
    text = calls[-1] if calls else (response.output_text or "")
    usage = response.usage
    return Reply(text, getattr(usage, "input_tokens", 0) or 0, getattr(usage, "output_tokens", 0) or 0,
                 getattr(response, "status", None), False)


def usage_report(rows: list[dict]) -> str:
    """The usage table as text, for the end of every command that talked to a model."""
    lines = []
    for row in rows:
        cost = f"${row['cost']:.4f}" if row["cost"] is not None else "cost unknown (no price; see --prices)"
        lines.append(f"{row['model']}: {row['requests']:,} requests ({row['cached']:,} cached, {row['retries']:,} retries), "
                     f"{row['prompt_tokens']:,} prompt + {row['completion_tokens']:,} completion tokens, {cost}")
    return "\n".join(lines)
