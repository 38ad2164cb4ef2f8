"""A local OpenAI-compatible chat-completions server for the real litellm client.

It speaks HTTP on a free localhost port (:class:`tests.fakes.http.FakeHTTP`), so litellm's and
the openai SDK's request building, response parsing and error mapping all run exactly as
against a provider. Tests script the answers
(JSON content, HTTP errors, a stall past the client's timeout) and read back every request.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from tests.fakes.http import FakeHTTP, Request, Response

CHAT_PATH = "/v1/chat/completions"


def chat_completion(
    content: str | None, *, model: str, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` object whose message text is ``content``."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class FakeOpenAI:
    """Answers ``POST /v1/chat/completions`` from a script; ``api_base`` goes to the client.

    Each request takes the next scripted answer; when the script is empty the request gets a
    500, so a test that did not expect a call fails loudly instead of hanging.
    """

    def __init__(self, *, prompt_tokens: int = 120, completion_tokens: int = 30) -> None:
        self.http = FakeHTTP()
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self._script: deque[Response] = deque()
        self.http.route("POST", CHAT_PATH, self._chat)

    @property
    def api_base(self) -> str:
        return self.http.url + "/v1"

    @property
    def requests(self) -> list[Request]:
        return self.http.requests("POST", CHAT_PATH)

    def answer(self, content: dict[str, Any] | str | None) -> None:
        """Queue a 200 whose message text is ``content`` (a dict is sent as its JSON)."""
        text = json.dumps(content) if isinstance(content, dict) else content
        # The model name is filled from the request, as a provider echoes it.
        self._script.append(Response(200, {"content": text}))

    def fail(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        """Queue an OpenAI-style error answer."""
        body = {"error": {"message": message, "type": "fake_error", "code": None}}
        self._script.append(Response(status, body, headers=headers or {}))

    def stall(self, seconds: float, content: dict[str, Any]) -> None:
        """Queue an answer that only comes after ``seconds`` (to outlast a client timeout)."""
        self._script.append(Response(200, {"content": json.dumps(content)}, delay=seconds))

    def _chat(self, request: Request) -> Response:
        if not self._script:
            return Response(500, {"error": {"message": "no scripted answer", "type": "fake"}})
        scripted = self._script.popleft()
        if scripted.status != 200:
            return scripted
        body = chat_completion(
            scripted.body["content"],
            model=request.body["model"],
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
        )
        return Response(200, body, delay=scripted.delay)

    def close(self) -> None:
        self.http.close()
