"""A local OpenAI-compatible HTTP server that plays scripted replies, for tests and
benchmarks: ``/v1/chat/completions`` and ``/v1/responses`` (custom tool calls), with
simulated latency, rate limits, server errors and hung requests. It records every request
it answers so tests can count them and read their bodies.

    with ScriptedServer(lambda request: "```csvdsl\\nanswer 1\\n```") as server:
        client = ModelClient("m", base_url=server.url)
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass(frozen=True)
class Fail:
    """Answer with an HTTP error (``Fail(429, retry_after=1)``)."""

    status: int
    retry_after: float | None = None
    message: str = "scripted failure"


@dataclass(frozen=True)
class Hang:
    """Do not answer for ``seconds`` (or until the server stops)."""

    seconds: float = 3600.0


@dataclass
class Request:
    path: str
    body: dict
    headers: dict = field(default_factory=dict)

    @property
    def messages(self) -> list[dict]:
        """The conversation, whichever endpoint it came to (instructions first)."""
        if "messages" in self.body:
            return self.body["messages"]
        system = [{"role": "system", "content": self.body["instructions"]}] if self.body.get("instructions") else []
        return system + list(self.body.get("input", []))

    @property
    def last_user(self) -> str:
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")


def tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: four characters a token."""
    return max(1, len(text) // 4)


class ScriptedServer:
    """``responder(request) -> str | Fail | Hang`` decides every answer; a list of answers is
    played in order (the last one repeats)."""

    def __init__(self, responder: Callable[[Request], object] | list, latency: float = 0.0):
        if isinstance(responder, list):
            script, lock = list(responder), threading.Lock()

            def play(_request):
                with lock:
                    return script.pop(0) if len(script) > 1 else script[0]

            responder = play
        self.responder = responder
        self.latency = latency
        self.requests: list[Request] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real server
            disable_nagle_algorithm = True  # else headers and body wait on a delayed ACK (40 ms)

            def log_message(self, *args):
                """Quiet: tests read ``server.requests``, not a request log on stderr."""

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?")[0]
                request = Request(path, body, dict(self.headers))
                with server._lock:
                    server.requests.append(request)
                if not path.endswith(("/chat/completions", "/responses")):
                    return self._send(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
                if server.latency:
                    time.sleep(server.latency)
                action = server.responder(request)
                if isinstance(action, Hang):
                    server._stopping.wait(action.seconds)
                    return
                if isinstance(action, Fail):
                    headers = {"retry-after": f"{action.retry_after:g}"} if action.retry_after is not None else {}
                    return self._send(action.status, {"error": {"message": action.message, "type": "scripted"}}, headers)
                text = str(action)
                if path.endswith("/responses"):
                    return self._send(200, _response_body(body, text))
                return self._send(200, _chat_body(body, text))

            def _send(self, status, payload, headers=None):
                # A client that gave up meanwhile makes these raise: Server.handle_error knows.
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # A client that timed out and hung up is part of the script; anything else is news.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "ScriptedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _prompt_tokens(body: dict) -> int:
    messages = body.get("messages") or body.get("input") or []
    return sum(tokens(m.get("content", "")) for m in messages) + tokens(body.get("instructions", ""))


def _chat_body(body: dict, text: str) -> dict:
    prompt, completion = _prompt_tokens(body), tokens(text)
    return {"id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": body.get("model", ""),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}


def _response_body(body: dict, text: str) -> dict:
    prompt, completion = _prompt_tokens(body), tokens(text)
    return {"id": "resp-scripted", "object": "response", "created_at": 0, "model": body.get("model", ""),
            "status": "completed", "parallel_tool_calls": False, "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools", []),
            "output": [{"type": "custom_tool_call", "id": "ctc-scripted", "call_id": "call-scripted",
                        "name": "csvdsl", "input": text, "status": "completed"}],
            "usage": {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion,
                      "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}}
