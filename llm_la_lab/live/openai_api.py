"""The slice of the OpenAI HTTP API the engines, the proxy and the replayer share.

Token counts of text are approximated by whitespace-separated words: the mock engines have no
tokenizer, and the replayer builds prompts of exactly N words for an N-token trace row.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

COMPLETIONS = "/v1/completions"
CHAT = "/v1/chat/completions"
PREDICTED_HEADER = "x-predicted-output-tokens"
DEFAULT_MAX_TOKENS = 16


def error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "code": status}}, status=status)


def count_words(text: Any) -> int:
    if isinstance(text, list):
        return sum(count_words(t) for t in text)
    return len(str(text).split())


def parse_body(path: str, body: Any) -> tuple[int, int, bool]:
    """(prompt tokens, max output tokens, stream) of a completion request; ValueError if malformed."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    if path.endswith(CHAT):
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValueError("'messages' must be a non-empty list")
        prompt = sum(count_words(m.get("content", "")) if isinstance(m, dict) else 0 for m in messages)
    else:
        if "prompt" not in body:
            raise ValueError("'prompt' is required")
        prompt = count_words(body["prompt"])
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens", DEFAULT_MAX_TOKENS))
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError("'max_tokens' must be a positive integer")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ValueError("'stream' must be true or false")
    return max(prompt, 1), max_tokens, stream


def sse(data: Any) -> bytes:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()
