"""A scripted OpenAI-compatible model: each test's trigger word selects the tool calls to make.

OpenClaw sends every turn to ``/v1/chat/completions`` with ``stream: true`` and appends user-role
nudges after tool results, so the script is keyed on the user message that carries the trigger,
and the step is the number of tool results that follow it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeModel", "ToolCall", "serve"]

MODEL_ID = "fake-1"


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass
class _Script:
    calls: list[ToolCall]
    results: list[str] = field(default_factory=list)  # what the tools answered, in order


class FakeModel:
    """The scripts, and what the tools answered to each."""

    def __init__(self) -> None:
        self._scripts: dict[str, _Script] = {}
        self._lock = threading.Lock()
        self.offered: dict[str, Any] = {}  # the latest request's tools: name -> parameters

    def script(self, trigger: str, *calls: ToolCall) -> None:
        with self._lock:
            self._scripts[trigger] = _Script(calls=list(calls))

    def results(self, trigger: str) -> list[str]:
        """The tool results the model was shown after ``trigger``, one per call made."""
        with self._lock:
            return list(self._scripts[trigger].results)

    def reply(self, messages: list[dict[str, Any]]) -> tuple[ToolCall | None, str]:
        """The next tool call of the conversation's script, or the final text."""
        with self._lock:
            for index in range(len(messages) - 1, -1, -1):
                message = messages[index]
                if message.get("role") != "user":
                    continue
                text = _text(message.get("content"))
                # The longest: one trigger may be the start of another.
                found = sorted((t for t in self._scripts if t in text), key=len)
                if not found:
                    continue
                trigger = found[-1]
                script = self._scripts[trigger]
                answered = [
                    _text(m.get("content"))
                    for m in messages[index + 1 :]
                    if m.get("role") == "tool"
                ]
                script.results = answered
                if len(answered) < len(script.calls):
                    return script.calls[len(answered)], ""
                return None, f"done {trigger}"
        return None, "no script for this conversation"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _chunks(call: ToolCall | None, text: str, step: int) -> Iterator[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-{step}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
    }
    base["model"] = MODEL_ID
    if call is None:
        delta: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "stop"
    else:
        function = {"name": call.name, "arguments": json.dumps(call.arguments)}
        tool_call = {"index": 0, "id": f"call_{step}", "type": "function", "function": function}
        delta = {"role": "assistant", "tool_calls": [tool_call]}
        finish = "tool_calls"
    yield {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}], "usage": usage}


def _handler(model: FakeModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        counter = 0

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the test's output is what matters

        def do_GET(self) -> None:
            self._json({"object": "list", "data": [{"id": MODEL_ID, "object": "model"}]})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            functions = [t.get("function", {}) for t in body.get("tools", [])]
            model.offered = {f.get("name", ""): f.get("parameters") for f in functions}
            call, text = model.reply(body.get("messages", []))
            Handler.counter += 1
            chunks = list(_chunks(call, text, Handler.counter))
            if not body.get("stream"):
                message = {"role": "assistant", "content": text or None}
                if call is not None:
                    message["tool_calls"] = chunks[0]["choices"][0]["delta"]["tool_calls"]
                finish = chunks[-1]["choices"][0]["finish_reason"]
                choice = {"index": 0, "message": message, "finish_reason": finish}
                self._json({**chunks[-1], "object": "chat.completion", "choices": [choice]})
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.end_headers()
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

        def _json(self, value: dict[str, Any]) -> None:
            data = json.dumps(value).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def serve(model: FakeModel, port: int = 0) -> Iterator[int]:
    """Serves ``model`` on loopback; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(model))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
